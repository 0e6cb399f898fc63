"""The funding and mark arithmetic against hand-worked numbers (module docstring of
engine/perp/pricing.py has the rules)."""

from __future__ import annotations

from fractions import Fraction

from engine.perp import pricing
from engine.perp.commands import RATE_SCALE
from engine.perp.spec import PerpSpec
from tests.engine.perp.perp_setup import QPT, USDT, perp_command

PCT = RATE_SCALE // 100  # 1% in rate units


def test_binance_brackets_give_binance_cumulative_amounts() -> None:
    """BTCUSDT 2021 brackets (FUTURES.md): cum_2 = 50,000 x (0.5% - 0.4%) = 50 USDT and
    cum_3 = 50 + 250,000 x (1% - 0.5%) = 1,300 USDT; maintenance is continuous."""
    spec = PerpSpec.from_command(perp_command())
    assert [t.cum for t in spec.tiers] == [0, 50 * USDT, 1_300 * USDT]
    for edge in (50_000 * USDT, 250_000 * USDT):
        assert (
            spec.maintenance(edge - 1) <= spec.maintenance(edge) <= spec.maintenance(edge - 1) + 1
        )
    assert spec.maintenance(40_000 * USDT) == 160 * USDT  # 0.4% of 40,000
    assert spec.maintenance(100_000 * USDT) == 450 * USDT  # 0.5% x 100,000 - 50


def test_the_hand_worked_funding_example() -> None:
    """Binance/Bybit USDT-M rules (FUTURES.md), with their parameters: BTCUSDT at 125x
    has initial margin 0.8%, so impact notional = 200 USDT / 0.8% = 25,000 USDT;
    interest 0.01% per 8 h; inner clamp 0.05%; cap 0.3%.

    Index 50,000.0 USDT. Book: best bid 50,025.0 for 1 BTC, best ask 50,030.0 for
    1 BTC: each holds more than 25,000 USDT, so the impact bid and ask are those
    prices. Premium = [max(0, 50,025 - 50,000) - max(0, 50,000 - 50,030)] / 50,000
    = 25 / 50,000 = 0.05%.

    Three samples over the interval, 0.05%, 0.03% and 0.02%, weighted 1, 2, 3:
    avg P = (0.05 + 0.06 + 0.06) / 6 = 0.0283333...% -> 0.00028333 (8 decimals,
    toward zero). F = 0.00028333 + clamp(0.0001 - 0.00028333, -0.0005, 0.0005)
    = 0.00028333 - 0.00018333 = 0.0001: the interest rate, as the venues' docs say
    whenever |I - P| < 0.05%.

    Funding fee = position value x F: a 2 BTC long at mark 50,000 pays
    100,000 x 0.01% = 10 USDT; a 0.003 BTC short at the same mark (150 USDT) would
    receive 0.015 USDT.
    """
    impact = 200 * USDT * RATE_SCALE // (Fraction(8, 10) * PCT)
    assert impact == 25_000 * USDT
    ticks = 10  # 0.1 USDT
    index = 50_000 * ticks
    bid = pricing.impact_price([(50_025 * ticks, 1_000)], 25_000 * USDT, QPT)
    ask = pricing.impact_price([(50_030 * ticks, 1_000)], 25_000 * USDT, QPT)
    assert bid is not None and ask is not None
    assert (bid, ask) == (Fraction(50_025 * ticks), Fraction(50_030 * ticks))
    assert pricing.premium(bid, ask, index) == 50_000  # 0.05%
    samples = [50_000, 30_000, 20_000]
    weighted = sum(i * p for i, p in enumerate(samples, start=1))
    avg = pricing.average_premium(weighted, len(samples))
    assert avg == 28_333
    rate = pricing.funding_rate(avg, 10_000, 50_000, 30 * PCT // 100)
    assert rate == 10_000  # 0.01%
    two_btc = 2_000 * 50_000 * ticks * QPT  # 2 BTC = 2,000 lots of 0.001
    assert two_btc == 100_000 * USDT
    assert pricing.funding_amount(two_btc, rate, payer=True) == 10 * USDT
    short = 3 * 50_000 * ticks * QPT  # 0.003 BTC
    assert pricing.funding_amount(short, rate, payer=False) == 1_500_000  # 0.015 USDT


def test_the_cap_and_the_clamp() -> None:
    """avg P 0.4%: F = 0.4% + clamp(0.01% - 0.4%, +-0.05%) = 0.35%, capped to 0.3%;
    a discount of -0.2% gives -0.2% + 0.05% = -0.15%."""
    cap = 30 * PCT // 100
    assert pricing.funding_rate(40 * PCT // 100, 10_000, 50_000, cap) == cap
    assert pricing.funding_rate(40 * PCT // 100, 10_000, 50_000, PCT) == 35 * PCT // 100
    assert pricing.funding_rate(-20 * PCT // 100, 10_000, 50_000, cap) == -15 * PCT // 100


def test_rounding_favours_the_receiver_side_never() -> None:
    """A payer rounds up, a receiver down: their difference (the insurance fund's) is
    never negative and under one unit per position."""
    for notional in (1, 7, 99_999, 123_456_789):
        for rate in (1, 3, 12_345, -7):
            paid = pricing.funding_amount(notional, rate, payer=True)
            got = pricing.funding_amount(notional, rate, payer=False)
            assert 0 <= paid - got <= 1
            assert got * RATE_SCALE <= abs(notional * rate) <= paid * RATE_SCALE


def test_impact_price_over_levels_and_thin_books() -> None:
    # 1 lot = 0.001 BTC; 10 ticks = 1 USDT. Levels 100.0 x 5 lots (0.5 USDT), 99.0 x 10.
    levels = [(1_000, 5), (990, 10)]
    # 1 USDT: 0.5 at 100 (5 lots), 0.5 at 99 (5.0505.. lots) -> 1 / 0.0100505.. BTC
    price = pricing.impact_price(levels, USDT, QPT)
    assert price == Fraction(USDT, QPT) / (5 + Fraction(USDT // 2, 990 * QPT))
    assert 990 < price < 1_000
    assert pricing.impact_price(levels, 10 * USDT, QPT) is None


def test_mark_is_the_median() -> None:
    interval = 8 * 3600 * 1_000_000
    # P1: index x (1 + 0.01% x half an interval) = 500,000 + 25; P2: +100; last 499,000
    assert pricing.mark_price(500_000, 10_000, interval // 2, interval, 100, 499_000) == 500_025
    assert pricing.mark_price(500_000, 0, 0, interval, None, 0) == 500_000
    assert pricing.mark_price(500_000, 0, 0, interval, 300, 510_000) == 500_300
