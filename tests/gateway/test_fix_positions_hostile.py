"""RequestForPositions (AN) from a hostile FIX client: an account that is not ASCII,
oversized, or another session's, and a symbol that is no perpetual, each get an ack
(AO) that reports nothing, and the session stays up."""

from __future__ import annotations

from engine.perp.commands import AddPerpInstrument
from gateway.app import App
from tests.conftest import submit_applied
from tests.gateway.conftest import Connect

AN = [(710, "pr1"), (724, 0), (1, "ACC1"), (581, 1), (715, "20261203"),
      (60, "20261203-00:00:00")]  # fmt: skip


def _with(tag: int, value: str) -> list[tuple[int, object]]:
    return [(t, value if t == tag else v) for t, v in AN]


async def test_hostile_position_requests_are_acked_and_report_nothing(
    app: App, fix_login: Connect
) -> None:
    await app.perp_ticker.stop()
    await submit_applied(app, AddPerpInstrument("BTC-PERP", "BTC", "USD", "0.1", "0.001",
                                                tiers="0:0.005:20"))  # fmt: skip
    client = await fix_login("CLIENT1")
    for account in ("ACC2", "ÀCC1", "A" * 4000, "ACC1\u202e"):
        await client.send("AN", _with(1, account))
        ack = await client.expect("AO")
        assert (ack.get_str(728), ack.get_str(729)) == ("3", "2"), account  # not authorized
    for symbol in ("BTC-USD", "é" * 100, "S" * 4000):
        await client.send("AN", [*AN, (55, symbol)])
        ack = await client.expect("AO")
        assert (ack.get_str(728), ack.get_str(729)) == ("2", "0"), symbol  # none found
    await client.expect_nothing()
    await client.send("AN", AN)  # the session still answers
    assert (await client.expect("AO")).get_str(710) == "pr1"
