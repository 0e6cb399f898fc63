"""The trigger index finds exactly the positions a full screen finds, in the same order.

Hypothesis drives random traders (cross and isolated, some also holding a cross
position in a second perpetual of the same quote asset) through trades, resting orders
(what they hold), deposits and withdrawals, isolated margin moves, funding and random
index paths with gaps that liquidate some of them. After random steps (the triggers
are recomputed only when a check reads them, so those left unprobed stay stale over
the next steps' commands) and at the end, at probe marks around the current one (gaps
included), the index's breached positions equal those of a screen of every position.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.commands import AddInstrument, AdjustBalance, MassCancel, NewOrder
from engine.core import Engine
from engine.events import Trade
from engine.model import OrdType, Side, TimeInForce
from engine.perp.commands import (
    AdjustIsolatedMargin,
    DepositInsurance,
    PerpTick,
    SetIndexPrice,
    SetLeverage,
    SetMarginMode,
)
from engine.perp.state import Position
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import (
    SYMBOL,
    USDT,
    mark_at,
    open_trader,
    order,
    perp_command,
    perp_engine,
)

USD = 10
OTHER = "ETH-PERP"
TRADERS = ("T0", "T1", "T2", "T3", "T4")
PROBES = (-9_000, -5_000, -2_000, -700, -150, -40, -5, 0, 5, 40, 150, 700, 2_000, 5_000, 20_000)

step = st.one_of(
    st.tuples(st.just("move"), st.integers(-300, 300)),
    st.tuples(st.just("gap"), st.sampled_from([-1_500, -800, 800, 1_500])),
    st.tuples(
        st.just("trade"),
        st.sampled_from(TRADERS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 400),
        st.booleans(),  # in the second perpetual
    ),
    st.tuples(st.just("rest"), st.sampled_from(TRADERS), st.integers(-500, 500)),
    st.tuples(st.just("cash"), st.sampled_from(TRADERS), st.integers(-300, 300)),
    st.tuples(st.just("margin"), st.sampled_from(TRADERS), st.integers(-100, 100)),
    st.tuples(st.just("funding"), st.integers(0, 3)),
)


def names(positions: list[Position]) -> list[str]:
    return [p.account for p in positions]


def assert_index_agrees(eng: Engine) -> int:
    """Compare at every probe mark; returns how many breached positions were found."""
    liquidator = eng.perp_liquidation
    found = 0
    for market in eng.perps.markets.values():
        if not market.mark:
            continue
        current = market.mark
        for bps in PROBES:
            market.mark = mark = max(1, current + current * bps // 10_000)  # as if marked
            eng.perp_risk.marks_moved()  # as _update_mark does: cached cross margins go
            full = names(liquidator.screen(market, mark))
            assert names(liquidator.breached(market, mark)) == full, (market.symbol, mark)
            found += len(full)
        market.mark = current
        eng.perp_risk.marks_moved()
    return found


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    wallets=st.lists(st.integers(200, 5_000), min_size=5, max_size=5),
    leverages=st.lists(st.integers(1, 50), min_size=5, max_size=5),
    isolated=st.lists(st.booleans(), min_size=5, max_size=5),
    fund=st.integers(0, 2_000),
    slice_lots=st.sampled_from([0, 50, 200]),
    opening=st.lists(st.integers(-400, 400), min_size=5, max_size=5),
    other=st.lists(st.integers(-400, 400), min_size=5, max_size=5),
    steps=st.lists(step, min_size=1, max_size=40),
    probes=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_the_index_finds_what_a_full_screen_finds(
    wallets: list[int],
    leverages: list[int],
    isolated: list[bool],
    fund: int,
    slice_lots: int,
    opening: list[int],
    other: list[int],
    steps: list[tuple],  # type: ignore[type-arg]
    probes: list[bool],
) -> None:
    clock = Clock()
    eng = Engine(Sequencer(clock))
    tiers = "0:0.004:125,5000:0.01:50,15000:0.05:10"  # small brackets: edges get crossed
    eng.submit(perp_command(liquidation_slice_lots=slice_lots, tiers=tiers))
    eng.submit(perp_command(symbol=OTHER, base="ETH", tiers=tiers))
    for name, usdt, lev, iso in zip(TRADERS, wallets, leverages, isolated, strict=True):
        open_trader(eng, name, usdt * USDT, taker_bps="5")
        for symbol in (SYMBOL, OTHER):
            eng.submit(SetMarginMode(name, symbol, iso and symbol == SYMBOL))
            eng.submit(SetLeverage(name, symbol, lev))
    open_trader(eng, "MM", 10_000_000 * USDT)
    for symbol in (SYMBOL, OTHER):
        eng.submit(SetLeverage("MM", symbol, 1))
    if fund:
        eng.submit(DepositInsurance(SYMBOL, fund * USDT))
    index = {SYMBOL: 50_000 * USD, OTHER: 3_000 * USD}
    for symbol, price in index.items():
        eng.submit(SetIndexPrice(symbol, price))
        eng.submit(PerpTick(symbol))
        quote(eng, symbol, price)
    for name, lots, lots_other in zip(TRADERS, opening, other, strict=True):
        for symbol, size in ((SYMBOL, lots), (OTHER, lots_other if lots % 2 else 0)):
            if size:
                eng.submit(
                    order(name, Side.BUY if size > 0 else Side.SELL, 0, abs(size), symbol=symbol)
                )
    breached = 0
    for action, probe in zip(steps, probes, strict=False):
        kind = action[0]
        if kind in ("move", "gap"):
            for symbol in index:
                index[symbol] = max(USD, index[symbol] + index[symbol] * action[1] // 10_000)
                quote(eng, symbol, index[symbol])
                eng.submit(SetIndexPrice(symbol, index[symbol]))
        elif kind == "trade":
            _, who, side, lots, other = action
            symbol = OTHER if other else SYMBOL
            eng.submit(order(who, side, 0, lots, symbol=symbol))
        elif kind == "rest":
            _, who, offset = action
            side = Side.BUY if offset < 0 else Side.SELL
            price = index[SYMBOL] + offset * USD
            eng.submit(order(who, side, price, 50, TimeInForce.GTC))
        elif kind == "cash":
            eng.submit(AdjustBalance(action[1], "USDT", action[2] * USDT))
        elif kind == "margin":
            eng.submit(AdjustIsolatedMargin(action[1], SYMBOL, action[2] * USDT))
        else:
            market = eng.perps.markets[SYMBOL]
            clock.now = max(clock.now, market.next_funding_us) + action[1]
            for symbol in index:
                eng.submit(SetIndexPrice(symbol, index[symbol]))
                eng.submit(PerpTick(symbol))
        if probe:  # else the triggers stay stale over the next steps' commands
            breached += assert_index_agrees(eng)
    breached += assert_index_agrees(eng)
    open_positions = sum(
        1 for book in eng.perps.positions.values() for p in book.values() if p.size
    )
    event(f"open positions at the end: {min(open_positions, 4)}+")
    event(f"breached at the probes: {'some' if breached else 'none'}")


def quote(eng: Engine, symbol: str, index: int) -> None:
    eng.submit(MassCancel("MM", symbol))
    eng.submit(order("MM", Side.BUY, index - 20 * USD, 2_000, symbol=symbol))
    eng.submit(order("MM", Side.SELL, index + 20 * USD, 2_000, symbol=symbol))


def test_balance_changes_outside_the_perps_quote_assets_leave_triggers_fresh() -> None:
    """Only a change in an indexed perp's quote asset (USDT here) can move a trigger:
    spot trading in an ETH-BTC pair by an account with a perp position leaves its
    trigger fresh, so the next check recomputes nothing for it."""
    eng, _ = perp_engine()
    eng.submit(AddInstrument("ETH-BTC", "ETH", "BTC", "0.00001", "0.001"))
    open_trader(eng, "T", 10_000 * USDT)
    open_trader(eng, "MM", 10_000_000 * USDT)
    mark_at(eng, 50_000 * USD)
    eng.submit(order("MM", Side.SELL, 50_000 * USD, 100))
    eng.submit(order("T", Side.BUY, 0, 100))
    assert eng.perps.positions[SYMBOL]["T"].size == 100
    liquidator = eng.perp_liquidation
    market = eng.perps.markets[SYMBOL]
    liquidator.breached(market, market.mark)  # builds the index: every trigger fresh
    assert liquidator.stale == {}

    for asset in ("BTC", "ETH"):
        eng.submit(AdjustBalance("T", asset, 10**10))
        eng.submit(AdjustBalance("MM", asset, 10**10))
    eng.submit(NewOrder("MM", "ETH-BTC", Side.SELL, OrdType.LIMIT, 5, 5_000))
    events = eng.submit(NewOrder("T", "ETH-BTC", Side.BUY, OrdType.LIMIT, 2, 5_000))
    assert any(isinstance(e, Trade) for e in events)
    eng.submit(NewOrder("T", "ETH-BTC", Side.BUY, OrdType.LIMIT, 2, 4_000))  # holds BTC
    assert liquidator.stale == {}
    # a check inside a command notes what it changed so far the same way
    eng.dirty[("T", "ETH")] = eng.accounts["T"].balance("ETH")
    liquidator.note()
    eng.dirty = {}
    assert liquidator.stale == {}

    eng.submit(AdjustBalance("T", "USDT", USDT))  # the perp's quote asset: stale
    assert list(liquidator.stale) == ["T"]
    assert names(liquidator.breached(market, market.mark)) == []
    assert liquidator.stale == {}
