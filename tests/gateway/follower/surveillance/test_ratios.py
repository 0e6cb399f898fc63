"""Excessive order-to-trade and cancel ratios, judged per whole window."""

from __future__ import annotations

from gateway.follower.surveillance import Kind, PerInstrument, RatioParams, SurveillanceConfig
from tests.gateway.follower.surveillance.floor import BUY, S_US, SELL, Floor, usd

WINDOW = 60 * S_US
PARAMS = RatioParams(window_us=WINDOW, min_orders=20, max_orders_per_trade=10, max_cancel_pct=90)
CONFIG = SurveillanceConfig(ratios=PerInstrument(RatioParams(), {"BTC-USD": PARAMS}))


def churn(floor: Floor, orders: int, cancels: int, trades: int = 0) -> None:
    """A places orders (canceling some) and trades with M, inside the first window."""
    ids = []
    for n in range(orders - trades):
        ids.append(floor.limit("A", BUY, usd(49_000) - n, 1))
        floor.later(1_000)
    for order_id in ids[:cancels]:
        floor.cancel("A", order_id)
    for _ in range(trades):
        floor.cross("M", "A", BUY, usd(50_000), 1)


def end_window(floor: Floor) -> None:
    floor.at(WINDOW + 1)
    floor.tick()


def test_orders_all_canceled_with_no_trade_exceed_both_ratios() -> None:
    floor = Floor(CONFIG, start_us=0)
    floor.open("A", "M")
    churn(floor, orders=25, cancels=25)
    assert floor.alerts == []  # judged only when the window is over
    end_window(floor)
    [alert] = floor.alerts
    assert (alert.rule, alert.kind, alert.accounts) == ("order_ratios", Kind.CONTROL, ("A",))
    facts = dict(alert.facts)
    assert (facts["exceeded"], facts["orders"], facts["cancels"]) == (
        "order_to_trade,cancel",
        25,
        25,
    )
    assert alert.first_seq < alert.last_seq


def test_orders_with_too_few_trades_exceed_the_order_to_trade_ratio_only() -> None:
    floor = Floor(CONFIG, start_us=0)
    floor.open("A", "M")
    churn(floor, orders=25, cancels=5, trades=2)  # 25 orders > 10 x 2 trades
    end_window(floor)
    [alert] = floor.alerts
    assert dict(alert.facts)["exceeded"] == "order_to_trade"


def test_near_miss_below_the_minimum_order_count() -> None:
    floor = Floor(CONFIG, start_us=0)
    floor.open("A", "M")
    churn(floor, orders=19, cancels=19)
    end_window(floor)
    assert floor.alerts == []


def test_near_miss_ratios_at_their_limits() -> None:
    floor = Floor(CONFIG, start_us=0)
    floor.open("A", "M")
    churn(floor, orders=30, cancels=27, trades=3)  # 30 = 10 x 3 trades, 27 = 90 % of 30
    end_window(floor)
    assert floor.alerts == []


def test_near_miss_the_same_orders_split_over_two_windows() -> None:
    floor = Floor(CONFIG, start_us=0)
    floor.open("A", "M")
    churn(floor, orders=15, cancels=15)
    floor.at(WINDOW)
    churn(floor, orders=15, cancels=15)
    floor.at(2 * WINDOW)
    floor.tick()
    assert floor.alerts == []


def test_the_maker_side_of_a_trade_counts_for_its_account() -> None:
    floor = Floor(CONFIG, start_us=0)
    floor.open("A", "M")
    for _ in range(3):
        floor.cross("A", "M", SELL, usd(50_000), 1)  # A rests, M takes
    churn(floor, orders=27, cancels=0)
    end_window(floor)
    assert floor.alerts == []  # 30 orders, 3 trades
