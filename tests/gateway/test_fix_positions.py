"""RequestForPositions (AN) over a real FIX session: the ack (AO), then one
PositionReport (AP) per open perpetual position of the account."""

from __future__ import annotations

from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from gateway.app import App
from tests.conftest import submit_applied
from tests.fix.conftest import ClientMessage
from tests.gateway.conftest import Connect

SYMBOL = "BTC-PERP"
QPT = 10_000  # tick 0.1 x lot 0.001
AN = [(710, "pr1"), (724, 0), (453, 1), (448, "ACC1"), (447, "D"), (452, 24), (1, "ACC1"),
      (581, 1), (715, "20261203"), (60, "20261203-00:00:00")]  # fmt: skip


def tags(msg: ClientMessage, *wanted: int) -> dict[int, str]:
    return {t: (msg.get_str(t) or "") for t in wanted}


async def _perp(app: App) -> None:
    await app.perp_ticker.stop()  # this test sends its own ticks
    await submit_applied(app, AddPerpInstrument(SYMBOL, "BTC", "USD", "0.1", "0.001",
                                                tiers="0:0.005:20"))  # fmt: skip
    await submit_applied(app, SetIndexPrice(SYMBOL, 600_000))
    await submit_applied(app, PerpTick(SYMBOL))


def _hold(app: App, account: str, size: int, entry_notional: int) -> None:
    """A position as settlement would leave it (perp trading lands with lane 2)."""
    pos = app.host.engine.perps.position(account, SYMBOL)
    pos.size, pos.entry = size, entry_notional


async def test_positions_are_acked_then_reported(app: App, fix_login: Connect) -> None:
    await _perp(app)
    _hold(app, "ACC1", -1_500, 1_500 * 590_001 * QPT // 2)  # short 1.5 from 29500.05
    client = await fix_login("CLIENT1")
    await client.send("AN", AN)
    ack = await client.expect("AO")
    assert tags(ack, 710, 727, 728, 729, 1, 581) == {
        710: "pr1", 727: "1", 728: "0", 729: "0", 1: "ACC1", 581: "1"}  # fmt: skip
    report = await client.expect("AP")
    assert tags(report, 710, 724, 727, 728, 715, 1, 55, 15, 730, 731, 734, 702, 703, 704,
                705, 753, 707, 708) == {
        710: "pr1", 724: "0", 727: "1", 728: "0", 715: "20261203", 1: "ACC1", 55: SYMBOL,
        15: "USD", 730: "60000", 731: "2", 734: "29500.05", 702: "1", 703: "TOT",
        704: "0", 705: "1.5", 753: "1", 707: "IMTM",
        708: "-45749.925",  # short 1.5 entered at 29500.05, marked at 60000
    }  # fmt: skip
    assert report.get_str(721) and report.get_str(721) != ack.get_str(721)
    assert tags(report, 453, 448, 447, 452) == {453: "1", 448: "ACC1", 447: "D", 452: "24"}


async def test_no_position_unsupported_type_and_foreign_account(
    app: App, fix_login: Connect
) -> None:
    await _perp(app)
    _hold(app, "ACC2", 1_000, 1_000 * 600_000 * QPT)  # someone else's
    client = await fix_login("CLIENT1")
    await client.send("AN", AN)
    none = await client.expect("AO")
    assert tags(none, 727, 728, 729, 58) == {727: "0", 728: "2", 729: "0", 58: "no open positions"}
    await client.expect_nothing()
    await client.send("AN", [(724, 1) if t == 724 else (t, v) for t, v in AN])
    assert tags(await client.expect("AO"), 728, 729) == {728: "4", 729: "2"}
    foreign = [(t, "ACC2" if t in (1, 448) else v) for t, v in AN]
    await client.send("AN", foreign)
    assert tags(await client.expect("AO"), 728, 729) == {728: "3", 729: "2"}
    md = await fix_login("MD1")
    await md.send("AN", AN)
    assert tags(await md.expect("j"), 372, 380) == {372: "AN", 380: "3"}
