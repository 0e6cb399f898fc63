"""RequestForPositions (AN) over a real FIX session: the ack (AO), then one
PositionReport (AP) per open perpetual position of the account."""

from __future__ import annotations

from decimal import Decimal

from engine.commands import AdjustBalance, NewOrder
from engine.model import OrdType, Side
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import SetMarketState
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


async def test_the_drop_copy_carries_a_liquidation_fill(app: App, fix_login: Connect) -> None:
    """ACC1 (1,005 USDT, long 0.4 from 50,000 as maker) is liquidated in 0.1 slices when
    the mark gaps to 47,600 while ACC3 bids 48,500 (the engine's partial-liquidation
    case, plus the demo's maker fee): DC1, the drop copy of ACC1..ACC3, gets the
    liquidation fill like any other."""
    await app.perp_ticker.stop()
    usd = 10  # ticks per USDT
    commands = [
        AddPerpInstrument(SYMBOL, "BTC", "USDT", "0.1", "0.001", max_leverage=125,
                          tiers="0:0.004:125,50000:0.005:100,250000:0.01:50",
                          liquidation_slice_lots=100, liquidation_fee_rate="0.001"),
        SetMarketState("DEMO", SYMBOL, MarketState.ENABLED),
        AdjustBalance("ACC1", "USDT", 1_005 * 10**8),
        AdjustBalance("ACC2", "USDT", 100_000 * 10**8),
        AdjustBalance("ACC3", "USDT", 1_000_000 * 10**8),
        SetIndexPrice(SYMBOL, 50_000 * usd), PerpTick(SYMBOL),
        NewOrder("ACC1", SYMBOL, Side.BUY, OrdType.LIMIT, 400, 50_000 * usd),
        NewOrder("ACC2", SYMBOL, Side.SELL, OrdType.LIMIT, 400, 50_000 * usd),
        NewOrder("ACC3", SYMBOL, Side.BUY, OrdType.LIMIT, 100, 48_500 * usd),
    ]  # fmt: skip
    for command in commands:
        events = await submit_applied(app, command)
        assert not [e for e in events if type(e).__name__ == "OrderRejected"], events
    dc = await fix_login("DC1")
    events = await submit_applied(app, SetIndexPrice(SYMBOL, 47_600 * usd))
    steps = [e.data["step"] for e in events if getattr(e, "kind", "") == "perp.liquidation"]
    assert steps == ["canceled", "slice", "recovered"]
    (slice_step,) = [e for e in events if getattr(e, "kind", "") == "perp.liquidation"
                     and e.data["step"] == "slice"]  # fmt: skip
    fills = []
    while len(fills) < 2:
        er = await dc.expect("8")
        if er.get_str(150) == "F":
            fills.append(tags(er, 1, 55, 54, 31, 32))
            if er.get_str(1) == "ACC1":  # the liquidation order's own id, on its fill
                assert er.get_str(37) == str(slice_step.data["order_id"])
                assert (er.get_str(11) or "").startswith("liq-")
    assert fills == [
        {1: "ACC1", 55: SYMBOL, 54: "2", 31: "48500", 32: "0.1"},
        {1: "ACC3", 55: SYMBOL, 54: "1", 31: "48500", 32: "0.1"},
    ] or fills == [
        {1: "ACC3", 55: SYMBOL, 54: "1", 31: "48500", 32: "0.1"},
        {1: "ACC1", 55: SYMBOL, 54: "2", 31: "48500", 32: "0.1"},
    ]
    client = await fix_login("CLIENT1")
    await client.send("AN", AN)
    await client.expect("AO")
    assert tags(await client.expect("AP"), 704, 705) == {704: "0.3", 705: "0"}


async def test_the_drop_copy_carries_both_sides_of_a_deleveraging(
    app: App, fix_login: Connect
) -> None:
    """ACC1 (1,000 USDT) is long 0.4 from 50,000 against ACC2; the index gaps to 47,000
    with no bid and no insurance fund: ACC2 is deleveraged at the bankruptcy price
    (about 47,500). DC1 gets a fill for each side, each on an order of its own (accepted
    first), flagged by its ``adl-`` ClOrdID."""
    await app.perp_ticker.stop()
    usd = 10
    commands = [
        AddPerpInstrument(SYMBOL, "BTC", "USDT", "0.1", "0.001", max_leverage=125,
                          tiers="0:0.004:125"),
        SetMarketState("DEMO", SYMBOL, MarketState.ENABLED),
        AdjustBalance("ACC1", "USDT", 1_005 * 10**8),
        AdjustBalance("ACC2", "USDT", 100_000 * 10**8),
        SetIndexPrice(SYMBOL, 50_000 * usd), PerpTick(SYMBOL),
        NewOrder("ACC2", SYMBOL, Side.SELL, OrdType.LIMIT, 400, 50_000 * usd),
        NewOrder("ACC1", SYMBOL, Side.BUY, OrdType.LIMIT, 400, 50_000 * usd),
    ]  # fmt: skip
    for command in commands:
        events = await submit_applied(app, command)
        assert not [e for e in events if type(e).__name__ == "OrderRejected"], events
    dc = await fix_login("DC1")
    events = await submit_applied(app, SetIndexPrice(SYMBOL, 47_000 * usd))
    liquidation = [e for e in events if getattr(e, "kind", "") == "perp.liquidation"]
    assert [e.data["step"] for e in liquidation] == ["canceled", "adl", "deleveraged"]
    price = format(Decimal(liquidation[1].data["price"]).scaleb(-1).normalize(), "f")
    news: dict[str, str] = {}
    fills: dict[str, dict[int, str]] = {}
    while len(fills) < 2:
        er = await dc.expect("8")
        if er.get_str(150) == "0":
            news[er.get_str(1) or ""] = er.get_str(37) or ""
        elif er.get_str(150) == "F":
            fills[er.get_str(1) or ""] = tags(er, 37, 11, 54, 31, 32, 39)
    for account, side in (("ACC1", "2"), ("ACC2", "1")):
        fill = fills[account]
        assert fill[37] == news[account]  # the fill's order was accepted first
        assert fill[11].startswith("adl-")
        assert (fill[54], fill[31], fill[32], fill[39]) == (side, price, "0.4", "2")
    assert fills["ACC1"][37] != fills["ACC2"][37]
