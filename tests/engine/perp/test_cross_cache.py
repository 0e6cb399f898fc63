"""Hypothesis: PerpRisk caches each account's cross-margin figures (unrealized PnL,
maintenance, initial margin at mark) instead of recomputing them over every position
per order. After every command of random sequences over two perpetuals sharing a
quote asset (fills, resting and reduce-only orders, index moves, ticks, funding,
leverage and margin-mode changes, liquidations), the cached figures equal the
recomputed ones for every account. The check itself fills the cache, so each next
command meets a warm cache it must invalidate correctly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.commands import MassCancel, NewOrder
from engine.core import Engine
from engine.model import OrdType, Side, TimeInForce
from engine.perp.commands import PerpTick, SetIndexPrice, SetLeverage, SetMarginMode
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import SYMBOL, USDT, open_trader, order, perp_command

ETH = "ETH-PERP"
MARKETS = (SYMBOL, ETH)
TRADERS = ("T0", "T1", "T2")
START = {SYMBOL: 500_000, ETH: 30_000}  # ticks of 0.1

step = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(MARKETS), st.integers(-400, 400)),
    st.tuples(st.just("trade"), st.sampled_from(TRADERS), st.sampled_from(MARKETS),
              st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 300)),
    st.tuples(st.just("rest"), st.sampled_from(TRADERS), st.sampled_from(MARKETS),
              st.integers(-50, 50)),
    st.tuples(st.just("reduce"), st.sampled_from(TRADERS), st.sampled_from(MARKETS),
              st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 300)),
    st.tuples(st.just("leverage"), st.sampled_from(TRADERS), st.sampled_from(MARKETS),
              st.integers(1, 50)),
    st.tuples(st.just("mode"), st.sampled_from(TRADERS), st.sampled_from(MARKETS),
              st.booleans()),
    st.tuples(st.just("cancel"), st.sampled_from(TRADERS)),
    st.tuples(st.just("funding"), st.sampled_from(MARKETS)),
)  # fmt: skip


def agree(eng: Engine) -> None:
    risk = eng.perp_risk
    for name in (*TRADERS, "MM"):
        assert risk.cross(name, "USDT") == risk.cross_now(name, "USDT"), name
        assert risk.cross_cache[name]["USDT"] == risk.cross_now(name, "USDT")  # filled


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wallets=st.lists(st.integers(300, 20_000), min_size=3, max_size=3),
    steps=st.lists(step, min_size=1, max_size=50),
)
def test_cached_cross_margin_equals_the_recomputation(
    wallets: list[int],
    steps: list[tuple],  # type: ignore[type-arg]
) -> None:
    clock = Clock(1_000_000)
    eng = Engine(Sequencer(clock))
    for symbol in MARKETS:
        eng.submit(perp_command(symbol=symbol, base=symbol.split("-")[0]))
    for name, usdt in zip(TRADERS, wallets, strict=True):
        open_trader(eng, name, usdt * USDT, taker_bps="5")
    open_trader(eng, "MM", 10_000_000 * USDT)
    index = dict(START)
    for symbol in MARKETS:
        eng.submit(SetIndexPrice(symbol, index[symbol]))
        eng.submit(PerpTick(symbol))
    agree(eng)
    for action in steps:
        kind, *args = action
        if kind == "move":
            symbol, bps = args
            index[symbol] = max(10, index[symbol] + index[symbol] * bps // 10_000)
            eng.submit(SetIndexPrice(symbol, index[symbol]))
        elif kind == "trade":
            who, symbol, side, lots = args
            eng.submit(MassCancel("MM", symbol))
            agree(eng)
            eng.submit(order("MM", Side.BUY, index[symbol] - 20, 5_000, symbol=symbol))
            eng.submit(order("MM", Side.SELL, index[symbol] + 20, 5_000, symbol=symbol))
            agree(eng)
            eng.submit(order(who, side, 0, lots, symbol=symbol))
        elif kind == "rest":
            who, symbol, offset = args
            side = Side.BUY if offset < 0 else Side.SELL
            eng.submit(order(who, side, index[symbol] + offset, 40, TimeInForce.GTC, symbol))
        elif kind == "reduce":
            who, symbol, side, lots = args
            eng.submit(NewOrder(who, symbol, side, OrdType.LIMIT, lots, index[symbol],
                                reduce_only=True))  # fmt: skip
        elif kind == "leverage":
            eng.submit(SetLeverage(*args))
        elif kind == "mode":
            eng.submit(SetMarginMode(*args))
        elif kind == "cancel":
            eng.submit(MassCancel(args[0], ""))
        else:
            clock.now = max(clock.now, eng.perps.markets[args[0]].next_funding_us)
            for symbol in MARKETS:
                eng.submit(SetIndexPrice(symbol, index[symbol]))
        agree(eng)
        for symbol in MARKETS:
            eng.submit(PerpTick(symbol))
            agree(eng)
