"""Data-dictionary rejects (test case 14): each invalid message answered over a real
socket with Reject (3) carrying the right SessionRejectReason, RefTagID and text;
the inbound sequence number is consumed and the session survives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fix.codec import FieldValue, FixMessage, FrameReader, build_message
from gateway.fix.dictionary import REJECT_TEXTS, load_dictionary
from tests.fix.conftest import CLIENT, FIX44_AND_FIXT, GATEWAY, Harness, new_order_single, now_ts

NOS = new_order_single()


def without(tag: int) -> list[tuple[int, FieldValue]]:
    return [(t, v) for t, v in NOS if t != tag]


def replaced(tag: int, value: FieldValue) -> list[tuple[int, FieldValue]]:
    return [(t, value if t == tag else v) for t, v in NOS]


CASES = [
    pytest.param([*replaced(44, "100"), (0, "x")], 0, 0, id="invalid-tag-number"),
    pytest.param(without(11), 1, 11, id="required-tag-missing"),
    pytest.param([*NOS, (112, "x")], 2, 112, id="tag-not-defined-for-message"),
    pytest.param([*NOS, (9999, "x")], 0, 9999, id="undefined-tag"),
    pytest.param([*NOS, (3999, "x")], 0, 3999, id="undefined-tag-3999"),
    pytest.param([*NOS, (5000, "x")], 0, 5000, id="undefined-user-defined-tag-5000"),
    pytest.param([*NOS, (-1, "x")], 0, -1, id="negative-tag"),
    pytest.param(replaced(55, ""), 4, 55, id="tag-without-value"),
    pytest.param(replaced(54, "Z"), 5, 54, id="value-out-of-range"),
    pytest.param(replaced(38, "abc"), 6, 38, id="incorrect-data-format"),
    pytest.param(replaced(60, "2024-01-01"), 6, 60, id="bad-timestamp"),
    pytest.param([*NOS, (55, "ETH-USD")], 13, 55, id="tag-repeated"),
    pytest.param([*NOS, (50, "trader")], 14, 50, id="header-tag-in-body"),
    pytest.param(
        [*NOS, (453, 2), (448, "P1"), (447, "D"), (452, 1)], 16, 453, id="numingroup-count-mismatch"
    ),
    pytest.param(
        [*NOS, (453, 1), (447, "D"), (448, "P1")], 15, 447, id="group-delimiter-not-first"
    ),
    pytest.param(
        [*NOS, (453, 1), (448, "P1"), (452, 1), (447, "D")],
        15,
        447,
        id="group-field-out-of-order",
    ),
    pytest.param([*NOS, (7928, 9)], 5, 7928, id="stp-mode-out-of-range"),
]


@FIX44_AND_FIXT
@pytest.mark.parametrize(("body", "reason", "ref_tag"), CASES)
async def test_dictionary_reject_over_socket(
    harness: Harness, body: list[tuple[int, FieldValue]], reason: int, ref_tag: int
) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", body)
    rj = await c.expect("3")
    assert rj.get_int(45) == 2
    assert rj.get_int(373) == reason
    assert rj.get_int(371) == ref_tag
    assert rj.get(372) == b"D"
    assert rj.get_str(58) == REJECT_TEXTS[reason]
    assert harness.app.messages == []
    await c.send("1", [(112, "alive")])  # seq 3: the rejected message consumed 2
    assert (await c.expect("0")).get(112) == b"alive"


async def test_trailer_out_of_order_rejected(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    raw = c.build("D", [*NOS[:3], (93, 2), (89, "ab"), *NOS[3:]])
    await c.send_raw(raw)
    rj = await c.expect("3")
    assert (rj.get_int(373), rj.get_int(371)) == (14, 60)


async def test_numingroup_zero_and_standard_ignored_fields_accepted(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    # NumInGroup 0 and standard fields we do not use (Currency, Text, HandlInst) are fine
    await c.send(
        "D", [*NOS, (453, 0), (15, "USD"), (58, "note"), (21, "1"), (18, "6 A"), (7928, 2)]
    )
    er = await c.expect("8")
    assert er.get(11) == b"C1"
    assert harness.app.messages[-1].get(7928) == b"2"


def _msg(fields: list[tuple[int, FieldValue]]) -> bytes:
    return build_message(
        "FIX.4.4", [(35, "D"), (49, CLIENT), (56, GATEWAY), (34, 2), (52, now_ts()), *fields]
    )


def test_nested_groups_validate() -> None:
    d = load_dictionary("FIX.4.4")
    # Parties with nested PtysSubGrp
    body = [
        *NOS,
        (453, 2),
        (448, "P1"),
        (447, "D"),
        (452, 1),
        (802, 1),
        (523, "S"),
        (803, 1),
        (448, "P2"),
        (447, "D"),
        (452, 3),
    ]
    [msg] = FrameReader().feed(_msg(body))
    assert d.validate(msg) is None  # type: ignore[arg-type]
    bad = [*NOS, (453, 1), (448, "P1"), (802, 2), (523, "S")]
    [msg] = FrameReader().feed(_msg(bad))
    r = d.validate(msg)  # type: ignore[arg-type]
    assert r is not None and (r.reason, r.ref_tag) == (16, 802)


def test_required_field_inside_group() -> None:
    d = load_dictionary("FIX.4.4")
    # NoMDEntryTypes (267) group of MarketDataRequest requires MDEntryType (269)
    body: list[tuple[int, FieldValue]] = [
        (262, "R1"),
        (263, "1"),
        (264, 0),
        (267, 1),
        (269, "0"),
        (146, 1),
        (55, "BTC-USD"),
    ]
    raw = build_message(
        "FIX.4.4", [(35, "V"), (49, CLIENT), (56, GATEWAY), (34, 2), (52, now_ts()), *body]
    )
    [msg] = FrameReader().feed(raw)
    assert d.validate(msg) is None  # type: ignore[arg-type]


def _validate(msg_type: str, body: list[tuple[int, FieldValue]]) -> tuple[int, int | None] | None:
    raw = build_message(
        "FIX.4.4", [(35, msg_type), (49, CLIENT), (56, GATEWAY), (34, 2), (52, now_ts()), *body]
    )
    [msg] = FrameReader().feed(raw)
    assert isinstance(msg, FixMessage)
    r = load_dictionary("FIX.4.4").validate(msg)
    return None if r is None else (r.reason, r.ref_tag)


def test_group_fields_follow_dictionary_order() -> None:
    """Inside a group instance a field before one it follows in the dictionary is
    reason 15 with that tag; skipping optional fields is fine; each instance and each
    nested group starts over."""
    parties: list[tuple[int, FieldValue]] = [
        (453, 2), (448, "P1"), (447, "D"), (452, 1), (448, "P2"), (452, 3)
    ]  # fmt: skip
    assert _validate("D", [*NOS, *parties]) is None
    assert _validate("D", [*NOS, (453, 1), (448, "P1"), (452, 1), (447, "D")]) == (15, 447)
    # second instance out of order, the first in order
    body = [*NOS, (453, 2), (448, "P1"), (447, "D"), (448, "P2"), (452, 3), (447, "D")]
    assert _validate("D", body) == (15, 447)
    # a field after a nested group (PtysSubGrp 802) it precedes in the dictionary
    body = [*NOS, (453, 1), (448, "P1"), (802, 1), (523, "S"), (803, 1), (447, "D")]
    assert _validate("D", body) == (15, 447)
    # MarketDataRequest: in NoRelatedSym (146) SymbolSfx (65) comes before SecurityID (48)
    md: list[tuple[int, FieldValue]] = [(262, "R1"), (263, "1"), (264, 0), (267, 1), (269, "0")]
    assert _validate("V", [*md, (146, 1), (55, "BTC-USD"), (65, "X"), (48, "Y")]) is None
    assert _validate("V", [*md, (146, 1), (55, "BTC-USD"), (48, "Y"), (65, "X")]) == (15, 65)


async def test_group_field_out_of_order_market_data_request(harness: Harness) -> None:
    """A MarketDataRequest whose NoRelatedSym instance is out of order: Reject 373=15,
    371 = the misplaced tag; the session goes on."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    md: list[tuple[int, FieldValue]] = [(262, "R1"), (263, "1"), (264, 0), (267, 1), (269, "0")]
    await c.send("V", [*md, (146, 1), (55, "BTC-USD"), (48, "Y"), (65, "X")])
    rj = await c.expect("3")
    assert (rj.get_int(45), rj.get(372), rj.get_int(373), rj.get_int(371)) == (2, b"V", 15, 65)
    assert rj.get_str(58) == "Repeating group fields out of order"
    await c.send("1", [(112, "alive")])
    assert (await c.expect("0")).get(112) == b"alive"


async def test_stray_soh_in_value_is_invalid_tag_number(harness: Harness) -> None:
    """A non-data value containing SOH (58=ab<SOH>cd<SOH>) cannot be told apart from
    two fields: the remainder `cd` has no `=`, so it is answered as reason 0 (Invalid
    tag number) with RefTagID 0, never as reason 17."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    raw = c.build("D", [*NOS, (58, "ab\x01cd")])
    await c.send_raw(raw)
    rj = await c.expect("3")
    assert (rj.get_int(45), rj.get_int(373), rj.get_int(371)) == (2, 0, 0)
    assert rj.get_str(58) == "Invalid tag number"
    assert harness.app.messages == []
    await c.send("1", [(112, "alive")])
    assert (await c.expect("0")).get(112) == b"alive"


_NUMERIC_TYPES = ("SEQNUM", "LENGTH", "NUMINGROUP", "PRICE", "QTY", "FLOAT", "AMT", "INT")


@settings(max_examples=500)
@given(st.binary(max_size=8) | st.text(alphabet="0123456789.-+e ", max_size=8).map(str.encode))
def test_fast_value_checks_are_never_looser_than_the_full_check(value: bytes) -> None:
    """The cached plans check values with cheap predicates; one may refuse a valid value
    (the full check then decides) but must never pass a value the full check rejects."""
    d = load_dictionary("FIX.4.4")
    for fd in d.fields.values():
        if fd.type not in _NUMERIC_TYPES or fd.values is not None:
            continue
        check = d._check_for(fd.number)
        if check is not None and check(value):
            assert d.check_value(fd.number, value) is None, (fd.type, value)
        if fd.type in ("SEQNUM", "LENGTH", "NUMINGROUP") and value.isdigit():
            assert check is not None and check(value)  # the common case stays fast
