"""FIX decimal fields take the one grammar of every edge (gateway/decimals.py): a value
outside it is a session Reject (373=6) from the dictionary, and a value of the grammar
longer than its bound is refused by the order-entry translation, unparsed."""

from __future__ import annotations

from gateway.decimals import MAX_LEN
from gateway.fix.codec import FieldValue
from tests.gateway.conftest import Connect

TT = (60, "20261123-00:00:00")
LONG_ONE = "0" * MAX_LEN + "1"  # the value 1, one character over the bound


def limit(clordid: str, qty: str, price: FieldValue) -> list[tuple[int, FieldValue]]:
    return [(11, clordid), (55, "BTC-USD"), (54, 1), (38, qty), (40, 2), (44, price), (59, 1),
            TT]  # fmt: skip


async def test_decimals_outside_the_grammar_are_session_rejects(fix_login: Connect) -> None:
    client = await fix_login()
    for bad in ("1e3", "+1", " 1", "1_0", "\u0661".encode(), "NaN", "1.2.3"):
        await client.send("D", limit("bad", "1", bad))
        reject = await client.expect("3")
        assert (reject.get(371), reject.get(373)) == (b"44", b"6"), bad


async def test_overlong_decimals_are_refused_by_order_entry(fix_login: Connect) -> None:
    client = await fix_login()
    for qty, price, reason in ((LONG_ONE, "40000", b"13"), ("1", LONG_ONE + "0000", b"99")):
        await client.send("D", limit("long", qty, price))
        reject = await client.expect("8")
        assert (reject.get(150), reject.get(103)) == (b"8", reason)
        assert f"at most {MAX_LEN} characters".encode() in (reject.get(58) or b"")
    await client.send("D", [(11, "cash"), (55, "BTC-USD"), (54, 1), (40, 1), (152, LONG_ONE),
                            (59, 3), TT])  # fmt: skip
    reject = await client.expect("8")
    assert (reject.get(150), reject.get(103)) == (b"8", b"13")

    await client.send("D", limit("rest", "1", "40000"))
    assert (await client.expect("8")).get(150) == b"0"
    await client.send("G", [(11, "rest2"), (41, "rest"), (55, "BTC-USD"), (54, 1),
                            (38, LONG_ONE), (40, 2), (44, "40000"), TT])  # fmt: skip
    refused = await client.expect("9")
    assert (refused.get(39), refused.get(434)) == (b"8", b"2")
    assert f"at most {MAX_LEN} characters".encode() in (refused.get(58) or b"")
