"""The engine's own schedules and definitions, end to end through commands: premium
samples taken once per sampling period from the book's impact prices, the funding rate
settled from them; a contract size other than one."""

from __future__ import annotations

from engine.events import RejectCode
from engine.model import Side
from engine.perp import pricing
from engine.perp.commands import PerpTick, SetIndexPrice
from tests.engine.perp.perp_setup import (
    SYMBOL,
    USDT,
    mark_at,
    open_trader,
    order,
    perp_command,
    perp_engine,
    rejected,
    trades,
    venue,
)

USD = 10  # ticks per USDT
PX = 50_000 * USD
S = 1_000_000  # us per second


def test_premium_is_sampled_once_per_period_and_funds_the_interval() -> None:
    """Bid 50,100 / ask 50,110 (1 BTC each, far more than the 100 USDT impact notional)
    against an index of 50,000: every sample is (50,100 - 50,000) / 50,000 = 0.2%, so
    F = 0.2% + clamp(0.01% - 0.2%, +-0.05%) = 0.15%, inside the 0.75% cap."""
    eng, clock = perp_engine(funding_interval_s=600, premium_sample_s=60, impact_notional="100")
    open_trader(eng, "M", 1_000_000 * USDT)
    mark_at(eng, PX)  # the first tick starts the schedules (nothing to sample yet)
    market = eng.perps.markets[SYMBOL]
    assert market.next_funding_us == 600 * S and market.premium_count == 0
    eng.submit(order("M", Side.BUY, 50_100 * USD, 1_000))
    eng.submit(order("M", Side.SELL, 50_110 * USD, 1_000))
    for minute in range(1, 10):
        for offset in (0, 20 * S, 40 * S):  # three ticks per period, one sample
            clock.now = minute * 60 * S + offset
            eng.submit(SetIndexPrice(SYMBOL, PX))
            eng.submit(PerpTick(SYMBOL))
        assert market.premium_count == minute
    assert market.premium_weighted == sum(range(1, 10)) * 200_000
    clock.now = 600 * S
    eng.submit(SetIndexPrice(SYMBOL, PX))
    (funding,) = venue(eng.submit(PerpTick(SYMBOL)), "perp.funding")
    expected = pricing.funding_rate(200_000, 10_000, 50_000, 750_000)
    assert funding.data["rate"] == expected == 150_000
    assert (market.premium_count, market.premium_weighted, market.last_rate) == (0, 0, 150_000)
    assert market.next_funding_us == 1_200 * S


def test_a_contract_size_scales_lots_into_base_units() -> None:
    """lot_size 1 contract of 0.001 BTC: 2 lots at 50,000 cost 100 USDT."""
    eng, _ = perp_engine(contract_size="0.001", lot_size="1")
    inst = eng.perps.markets[SYMBOL].spec.instrument
    assert inst.lots_to_qty(2) == "0.002" and inst.quote_per_tick_lot == 10_000
    for account in ("A", "B"):
        open_trader(eng, account, 10_000 * USDT)
    mark_at(eng, PX)
    eng.submit(order("B", Side.SELL, PX, 2))
    assert trades(eng.submit(order("A", Side.BUY, PX, 2)))
    pos = eng.perps.positions[SYMBOL]["A"]
    assert (pos.size, pos.entry) == (2, 100 * USDT)


def test_a_contract_finer_than_an_asset_unit_is_refused() -> None:
    eng, _ = perp_engine(symbol="OTHER", contract_size="1")
    events = eng.submit(perp_command(contract_size="0.000000001", lot_size="1"))
    assert rejected(events).code == RejectCode.INVALID_COMMAND
    assert SYMBOL not in eng.perps.markets
