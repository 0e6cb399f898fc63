"""Wash trades: no change of beneficial owner, counted per day with a notional floor."""

from __future__ import annotations

from engine.model import Stp
from gateway.follower.surveillance import Kind, PerInstrument, Severity, SurveillanceConfig
from gateway.follower.surveillance.wash import WashParams
from tests.gateway.follower.surveillance.floor import (
    BUY,
    DAY_US,
    HOUR_US,
    SELL,
    Floor,
    sub_accounts,
    usd,
)

PRICE = usd(50_000)  # one lot (0.01 BTC) is 500 USD


def wash_three(floor: Floor, a: str, b: str, lots: int = 10, gap_us: int = HOUR_US) -> None:
    for n in range(3):
        floor.cross(a, b, BUY if n % 2 else SELL, PRICE, lots)
        floor.later(gap_us)


def test_sub_accounts_of_one_owner_trading_each_other_raise_a_high_alert() -> None:
    floor = Floor(owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    wash_three(floor, "S1", "S2")
    [alert] = floor.of("wash_trades")
    assert (alert.owner, alert.accounts, alert.instrument) == ("P", ("S1", "S2"), "BTC-USD")
    assert (alert.kind, alert.severity) == (Kind.MARKET_ABUSE, Severity.HIGH)
    assert len(alert.trade_ids) == 3
    assert dict(alert.facts)["notional"] == 3 * 10 * PRICE * floor.qpt
    assert alert.first_seq < alert.last_seq


def test_accounts_of_a_declared_group_are_one_link() -> None:
    floor = Floor(groups={"ring": ["X", "Y"]})
    floor.open("X", "Y")
    wash_three(floor, "X", "Y")
    [alert] = floor.of("wash_trades")
    assert alert.owner == "group:ring"


def test_a_group_can_name_owners_whose_sub_accounts_then_link() -> None:
    floor = Floor(owners={"X1": "X"}, groups={"ring": ["X", "Y"]})
    floor.open("X1", "Y")
    wash_three(floor, "X1", "Y")
    assert [a.owner for a in floor.of("wash_trades")] == ["group:ring"]


def test_the_same_account_on_both_sides_is_a_self_trade_pattern_to_review() -> None:
    floor = Floor()
    floor.open("A", stp=Stp.NONE)
    wash_three(floor, "A", "A")
    [alert] = floor.of("wash_trades")
    assert (alert.kind, alert.severity, alert.accounts) == (Kind.CONTROL, Severity.MEDIUM, ("A",))


def test_each_set_of_trades_is_alerted_once() -> None:
    floor = Floor(owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    wash_three(floor, "S1", "S2")
    wash_three(floor, "S1", "S2")
    first, second = floor.of("wash_trades")
    assert not set(first.trade_ids) & set(second.trade_ids)
    assert first.alert_id != second.alert_id


def test_near_miss_two_trades_are_below_the_minimum_count() -> None:
    floor = Floor(owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    floor.cross("S1", "S2", BUY, PRICE, 30)
    floor.cross("S2", "S1", BUY, PRICE, 30)
    assert floor.alerts == []


def test_near_miss_below_the_minimum_notional() -> None:
    floor = Floor(owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    wash_three(floor, "S1", "S2", lots=6)  # 3 x 3000 USD < 10000 USD
    assert floor.alerts == []


def test_near_miss_trades_spread_over_more_than_the_window() -> None:
    floor = Floor(owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    wash_three(floor, "S1", "S2", gap_us=DAY_US // 2 + 1)
    assert floor.alerts == []


def test_near_miss_different_owners_trading_each_other() -> None:
    floor = Floor(owners={"S1": "P", "S2": "Q"})
    floor.open("S1", "S2")
    wash_three(floor, "S1", "S2")
    assert floor.alerts == []


def test_thresholds_are_per_instrument() -> None:
    params = PerInstrument(WashParams(), {"BTC-USD": WashParams(min_count=4)})
    floor = Floor(SurveillanceConfig(wash=params), owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    wash_three(floor, "S1", "S2")
    assert floor.alerts == []
    floor.cross("S1", "S2", BUY, PRICE, 10)
    assert len(floor.of("wash_trades")) == 1


def test_sub_accounts_opened_on_the_operator_side_are_owned_by_their_parent() -> None:
    floor = Floor()  # no owner map given: the operator side's events tell
    sub_accounts(floor, "P", "P.1", "P.2")
    wash_three(floor, "P.2", "P.1")
    [alert] = floor.of("wash_trades")
    assert (alert.owner, alert.accounts, alert.kind) == ("P", ("P.1", "P.2"), Kind.MARKET_ABUSE)
