"""Self-trade prevention counts per account, instrument and UTC day."""

from __future__ import annotations

from engine.model import Stp, TimeInForce
from gateway.follower.surveillance import Kind, PerInstrument, StpParams, SurveillanceConfig
from tests.gateway.follower.surveillance.floor import BUY, DAY_US, SELL, Floor, usd

PRICE = usd(50_000)
CONFIG = SurveillanceConfig(stp=PerInstrument(StpParams(), {"BTC-USD": StpParams(max_per_day=3)}))


def prevent(floor: Floor, times: int) -> None:
    """Each buy meets the account's own resting sell: STP expires the buy."""
    for _ in range(times):
        floor.limit("A", BUY, PRICE, 1, TimeInForce.IOC)
        floor.later(1_000)


def test_more_prevented_self_trades_in_a_day_than_allowed_raise_one_alert() -> None:
    floor = Floor(CONFIG)
    floor.open("A", stp=Stp.EXPIRE_TAKER)
    floor.limit("A", SELL, PRICE, 10)
    prevent(floor, 6)
    [alert] = floor.of("self_trade_prevention")
    assert (alert.kind, alert.accounts, dict(alert.facts)["count"]) == (Kind.CONTROL, ("A",), 4)
    assert {o.action for o in alert.orders} == {"stp_taker", "stp_maker"}
    assert len(alert.order_ids) == 5  # four expired takers and the resting maker


def test_near_miss_at_the_threshold() -> None:
    floor = Floor(CONFIG)
    floor.open("A", stp=Stp.EXPIRE_TAKER)
    floor.limit("A", SELL, PRICE, 10)
    prevent(floor, 3)
    assert floor.alerts == []


def test_near_miss_the_count_starts_again_each_utc_day() -> None:
    floor = Floor(CONFIG, start_us=DAY_US - 10_000_000)
    floor.open("A", stp=Stp.EXPIRE_TAKER)
    floor.limit("A", SELL, PRICE, 10)
    prevent(floor, 3)
    floor.at(DAY_US)
    prevent(floor, 3)
    assert floor.alerts == []


def test_the_default_tolerates_fifty_a_day() -> None:
    floor = Floor()
    floor.open("A", stp=Stp.EXPIRE_TAKER)
    floor.limit("A", SELL, PRICE, 10)
    prevent(floor, 50)
    assert floor.alerts == []
    prevent(floor, 1)
    assert floor.rules() == ["self_trade_prevention"]
