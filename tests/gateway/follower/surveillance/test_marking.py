"""Marking the close: aggressive trading in the 10 min before 00:00 UTC that moves the
last price by 100 bps or more."""

from __future__ import annotations

from gateway.follower.surveillance import Kind, MarkParams, PerInstrument, SurveillanceConfig
from tests.gateway.follower.surveillance.floor import BUY, DAY_US, HOUR_US, S_US, Floor, usd

CLOSE = DAY_US  # 00:00 UTC of day 1


def day_trading(floor: Floor) -> None:
    floor.open("C", "D", "E", "M")
    floor.at(12 * HOUR_US)
    floor.cross("M", "D", BUY, usd(50_000), 2)


def mark(floor: Floor, prices: tuple[float, ...], start_us: int = CLOSE - 300 * S_US) -> None:
    """C lifts M's offers at rising prices from start_us on, 30 s apart."""
    for n, price in enumerate(prices):
        floor.at(start_us + n * 30 * S_US)
        floor.cross("M", "C", BUY, usd(price), 2)


def reach_close(floor: Floor) -> None:
    floor.at(CLOSE + 1)
    floor.tick()


def test_buying_the_price_up_just_before_the_close() -> None:
    floor = Floor()
    day_trading(floor)
    mark(floor, (50_200, 50_400, 50_600))
    assert floor.alerts == []  # judged at the reference time
    reach_close(floor)
    [alert] = floor.alerts
    assert (alert.rule, alert.kind, alert.owner) == ("marking_the_close", Kind.MARKET_ABUSE, "C")
    facts = dict(alert.facts)
    assert (facts["move_bps"], facts["share_pct"], facts["reference_ts_us"]) == (120, 100, CLOSE)
    assert len(alert.trade_ids) == 3


def test_reference_times_are_configurable() -> None:
    at_8 = 8 * HOUR_US
    params = MarkParams(reference_times_us=(at_8, 16 * HOUR_US))
    floor = Floor(SurveillanceConfig(marking=PerInstrument(params)))
    floor.open("C", "M")
    floor.at(at_8 - 20 * 60 * S_US)
    floor.cross("M", "C", BUY, usd(50_000), 2)
    mark(floor, (50_300, 50_600), start_us=at_8 - 60 * S_US)
    floor.at(at_8)
    floor.tick()
    [alert] = floor.alerts
    facts = dict(alert.facts)
    assert (facts["reference_ts_us"], facts["price_at_reference"]) == (at_8, usd(50_600))


def test_near_miss_trading_before_the_window() -> None:
    floor = Floor()
    day_trading(floor)
    mark(floor, (50_200, 50_400, 50_600), start_us=CLOSE - 20 * 60 * S_US)
    reach_close(floor)
    assert floor.alerts == []


def test_near_miss_a_move_under_the_threshold() -> None:
    floor = Floor()
    day_trading(floor)
    mark(floor, (50_200, 50_400, 50_490))  # 98 bps
    reach_close(floor)
    assert floor.alerts == []


def test_near_miss_no_owner_makes_half_the_aggressive_buying() -> None:
    floor = Floor()
    day_trading(floor)
    for n, (buyer, price) in enumerate((("C", 50_200), ("D", 50_400), ("E", 50_600))):
        floor.at(CLOSE - 300 * S_US + n * S_US)
        floor.cross("M", buyer, BUY, usd(price), 2)
    reach_close(floor)
    assert floor.alerts == []


def test_near_miss_a_small_aggressor() -> None:
    floor = Floor()
    day_trading(floor)
    floor.at(CLOSE - 60 * S_US)
    floor.cross("M", "C", BUY, usd(50_600), 1)  # 1.2 % up, but 506 USD < 1000 USD
    reach_close(floor)
    assert floor.alerts == []
