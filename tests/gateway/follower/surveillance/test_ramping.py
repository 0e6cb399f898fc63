"""Ramping / pump-and-dump: +20 % within 4 h, -15 % within 12 h, one owner profits."""

from __future__ import annotations

import pytest

from gateway.follower.surveillance import Kind, PerInstrument, RampParams, SurveillanceConfig
from tests.gateway.follower.surveillance.floor import BUY, HOUR_US, SELL, Floor, usd


def pump(
    floor: Floor,
    *,
    bought_at: float = 50_000,
    peak: float = 60_000,
    reverted: float = 50_000,
    lots: int = 40,
    revert_after_us: int = 2 * HOUR_US,
    sells_at_peak: bool = True,
) -> None:
    """P buys early, others push the price up, P sells at the top, the price falls back."""
    floor.open("P", "X", "Y")
    floor.at(10 * HOUR_US)
    floor.cross("Y", "P", BUY, usd(bought_at), lots)  # P lifts Y's offer
    for hour, price in ((1, 52_000), (2, 56_000)):
        floor.at((10 + hour) * HOUR_US)
        floor.cross("Y", "X", BUY, usd(price), 2)
    floor.at(13 * HOUR_US)
    if sells_at_peak:
        floor.cross("P", "X", BUY, usd(peak), lots)  # X lifts P's offer at the top
        floor.at(13 * HOUR_US + revert_after_us)
        floor.cross("X", "Y", SELL, usd(reverted), 2)
    else:
        floor.cross("Y", "X", BUY, usd(peak), 2)
        floor.at(13 * HOUR_US + revert_after_us)
        floor.cross("Y", "P", SELL, usd(reverted), lots)  # P sells only after the fall


def test_buying_before_a_run_up_and_selling_into_it_before_it_reverts() -> None:
    floor = Floor()
    pump(floor)
    [alert] = floor.alerts
    assert (alert.rule, alert.kind, alert.owner, alert.accounts) == (
        "ramping",
        Kind.MARKET_ABUSE,
        "P",
        ("P",),
    )
    facts = dict(alert.facts)
    assert (facts["rise_bps"], facts["revert_bps"]) == (2_000, 1_666)
    assert facts["profit_notional"] == 40 * (usd(60_000) - usd(50_000)) * floor.qpt
    assert len(alert.trade_ids) == 3  # P's two trades and the trade that showed the reversion


def test_an_owner_trading_through_sub_accounts_is_one_owner() -> None:
    floor = Floor(owners={"P": "Boss", "P2": "Boss"})
    floor.open("P2")
    floor.at(9 * HOUR_US)
    pump(floor)
    assert [a.owner for a in floor.alerts] == ["Boss"]


def test_near_miss_a_rise_under_twenty_percent() -> None:
    floor = Floor()
    pump(floor, peak=59_900, reverted=50_000)
    assert floor.alerts == []


def test_near_miss_a_reversion_under_fifteen_percent() -> None:
    floor = Floor()
    pump(floor, reverted=51_100)
    assert floor.alerts == []


def test_near_miss_reverting_after_the_window() -> None:
    floor = Floor()
    pump(floor, revert_after_us=12 * HOUR_US + 1)
    assert floor.alerts == []


def test_near_miss_the_owner_sold_no_higher_than_it_bought() -> None:
    floor = Floor()
    pump(floor, sells_at_peak=False)
    assert floor.alerts == []


def test_near_miss_a_small_position() -> None:
    floor = Floor()
    pump(floor, lots=16)  # sales of 16 x 600 USD < 10000 USD
    assert floor.alerts == []


@pytest.mark.parametrize(("bought_hour", "alerted"), [(7, True), (5, False)])
def test_only_buying_within_four_hours_before_the_trough_counts(
    bought_hour: int, alerted: bool
) -> None:
    floor = Floor()
    floor.open("P", "X", "Y")
    floor.at(bought_hour * HOUR_US)
    floor.cross("Y", "P", BUY, usd(50_500), 40)
    floor.at(9 * HOUR_US + 1)
    floor.cross("Y", "X", BUY, usd(50_000), 2)  # the trough
    floor.at(11 * HOUR_US)
    floor.cross("Y", "X", BUY, usd(56_000), 2)
    floor.at(13 * HOUR_US)
    floor.cross("P", "X", BUY, usd(60_000), 40)
    floor.at(15 * HOUR_US)
    floor.cross("X", "Y", SELL, usd(50_000), 2)
    assert [a.owner for a in floor.alerts] == (["P"] if alerted else [])


def test_a_run_up_older_than_the_trades_kept_is_not_judged() -> None:
    params = PerInstrument(RampParams(), {"BTC-USD": RampParams(max_trades=1)})
    floor = Floor(SurveillanceConfig(ramping=params))
    pump(floor)
    assert floor.alerts == []
