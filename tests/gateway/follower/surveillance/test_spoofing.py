"""Spoofing and layering: large orders near the touch, the other side traded, the
large orders canceled quickly and mostly unfilled."""

from __future__ import annotations

import pytest

from gateway.follower.surveillance import Kind, Severity
from tests.gateway.follower.surveillance.floor import BUY, DAY_US, HOUR_US, S_US, SELL, Floor, usd

BID = usd(49_990)
ASK = usd(50_010)


def market(floor: Floor) -> None:
    """M quotes 5 lots each side; S (the spoofer) and B (a buyer) are ready."""
    floor.open("M", "S", "B")
    floor.limit("M", BUY, BID, 5)
    floor.limit("M", SELL, ASK, 5)


def spoof(
    floor: Floor,
    *,
    bait_price: int = usd(49_995),
    bait_lots: int = 100,
    sold_lots: int = 10,
    cancel_after_us: int = S_US,
) -> int:
    """S bids big, sells to B at its own ask, then cancels the bid."""
    bait = floor.limit("S", BUY, bait_price, bait_lots)
    floor.later(200_000)
    floor.cross("S", "B", BUY, usd(50_005), sold_lots)
    floor.later(cancel_after_us)
    floor.cancel("S", bait)
    return bait


def test_a_large_bid_canceled_right_after_selling_is_spoofing() -> None:
    floor = Floor()
    market(floor)
    bait = spoof(floor)
    [alert] = floor.alerts
    assert (alert.rule, alert.kind, alert.severity) == (
        "spoofing_layering",
        Kind.MARKET_ABUSE,
        Severity.HIGH,
    )
    assert alert.owner == "S"
    assert bait in alert.order_ids
    assert {o.action for o in alert.orders} == {"placed", "canceled"}
    assert len(alert.trade_ids) == 1
    facts = dict(alert.facts)
    assert (facts["layers"], facts["bait_unfilled_lots"], facts["traded_lots"]) == (1, 100, 10)
    assert facts["cancel_after_us"] == S_US


def test_layers_canceled_together_are_one_alert() -> None:
    floor = Floor(owners={"S1": "S", "S2": "S"})
    floor.open("M", "S1", "S2", "B")
    floor.limit("M", BUY, BID, 5)
    for price in (usd(49_995), usd(49_994), usd(49_993)):
        floor.limit("S1", BUY, price, 40)
    floor.later(100_000)
    floor.cross("S2", "B", BUY, usd(50_005), 20)  # the owner's other account sells
    floor.later(500_000)
    floor.mass_cancel("S1", BUY)
    [alert] = floor.alerts
    assert alert.owner == "S"
    assert alert.accounts == ("S1", "S2")
    assert dict(alert.facts)["layers"] == 3
    assert len(alert.order_ids) == 3


def test_near_miss_canceled_after_the_window() -> None:
    floor = Floor()
    market(floor)
    spoof(floor, cancel_after_us=5 * S_US + 1)
    assert floor.alerts == []


def test_near_miss_bait_not_large_against_the_touch() -> None:
    floor = Floor()
    market(floor)
    floor.limit("M", BUY, usd(49_995), 40)
    spoof(floor, bait_lots=100, sold_lots=10)  # 100 < 3 x 40 at the touch
    assert floor.alerts == []


def test_near_miss_bait_far_from_the_touch() -> None:
    floor = Floor()
    market(floor)
    spoof(floor, bait_price=usd(49_930))  # 12 bps below the best bid
    assert floor.alerts == []


def test_near_miss_bait_mostly_filled() -> None:
    floor = Floor()
    market(floor)
    bait = floor.limit("S", BUY, usd(49_995), 100)
    floor.cross("S", "B", BUY, usd(50_005), 10)
    floor.limit("B", SELL, usd(49_995), 20)  # 20 % of the bait trades
    floor.cancel("S", bait)
    assert floor.alerts == []


def test_near_miss_bait_small_against_the_trading() -> None:
    floor = Floor()
    market(floor)
    spoof(floor, bait_lots=100, sold_lots=30)  # 100 < 5 x 30
    assert floor.alerts == []


def test_near_miss_small_notional() -> None:
    floor = Floor()
    market(floor)
    spoof(floor, bait_lots=19, sold_lots=1)  # 19 x 500 USD < 10000 USD
    assert floor.alerts == []


def test_near_miss_the_other_side_traded_before_the_bait() -> None:
    floor = Floor()
    market(floor)
    floor.cross("S", "B", BUY, usd(50_005), 10)
    floor.later(100_000)
    bait = floor.limit("S", BUY, usd(49_995), 100)
    floor.later(100_000)
    floor.cancel("S", bait)
    assert floor.alerts == []


def test_near_miss_no_trade_on_the_other_side() -> None:
    floor = Floor()
    market(floor)
    bait = floor.limit("S", BUY, usd(49_995), 100)
    floor.later(S_US)
    floor.cancel("S", bait)
    assert floor.alerts == []


@pytest.mark.parametrize(("day_volume", "alerted"), [(69_000, True), (71_000, False)])
def test_the_bait_must_be_one_percent_of_the_average_daily_volume(
    day_volume: int, alerted: bool
) -> None:
    floor = Floor()
    market(floor)
    floor.open("X", "Y")
    floor.cross("X", "Y", BUY, usd(50_000), day_volume)  # the 7-day ADV is day_volume / 7
    floor.at(DAY_US + HOUR_US)
    floor.limit("M", BUY, BID, 5)
    spoof(floor, bait_lots=100)  # 100 lots against 1 % of 9857 or of 10142
    assert [a.rule for a in floor.alerts] == (["spoofing_layering"] if alerted else [])


def test_an_order_enlarged_into_a_bait_is_one_from_the_replace() -> None:
    floor = Floor()
    market(floor)
    order = floor.limit("S", BUY, usd(49_995), 10)  # small: not a bait
    floor.replace("S", order, 100)
    floor.cross("S", "B", BUY, usd(50_005), 10)
    floor.cancel("S", order)
    [alert] = floor.alerts
    assert [o.action for o in alert.orders] == ["enlarged", "canceled"]
    assert alert.orders[0].qty == 100


def test_a_bait_trimmed_at_the_touch_stays_a_bait() -> None:
    floor = Floor()
    market(floor)
    bait = floor.limit("S", BUY, usd(49_995), 100)
    floor.replace("S", bait, 90)
    floor.cross("S", "B", BUY, usd(50_005), 10)
    floor.cancel("S", bait)
    [alert] = floor.alerts
    assert [(o.action, o.qty) for o in alert.orders] == [("placed", 100), ("canceled", 90)]


def test_near_miss_a_bait_moved_away_from_the_touch_before_the_trade() -> None:
    floor = Floor()
    market(floor)
    bait = floor.limit("S", BUY, usd(49_995), 100)
    floor.replace("S", bait, 100, usd(49_900))  # 18 bps below the best bid
    floor.cross("S", "B", BUY, usd(50_005), 10)
    floor.cancel("S", bait)
    assert floor.alerts == []


def test_near_miss_bait_small_against_the_depth_near_the_touch() -> None:
    floor = Floor()
    market(floor)
    for ticks in range(1, 6):
        floor.limit("M", BUY, BID - 100 * ticks, 21)  # 105 lots within 10 bps below the touch
    spoof(floor, bait_lots=100)  # 100 of 210 lots near the touch: under half
    assert floor.alerts == []


def test_a_bait_of_half_the_depth_near_the_touch_is_enough() -> None:
    floor = Floor()
    market(floor)
    for ticks in range(1, 6):
        floor.limit("M", BUY, BID - 100 * ticks, 19)  # 95 + 5 at the touch
    spoof(floor, bait_lots=100)  # 100 of 200 lots near the touch
    assert [a.rule for a in floor.alerts] == ["spoofing_layering"]
