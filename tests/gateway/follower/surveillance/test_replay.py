"""Replaying the journal raises the same alerts, with the same ids; a resumed feed
raises nothing twice."""

from __future__ import annotations

from pathlib import Path

from engine.model import Stp, TimeInForce
from gateway.follower.surveillance import PerInstrument, StpParams, SurveillanceConfig
from tests.gateway.follower.surveillance.floor import (
    BUY,
    DAY_US,
    HOUR_US,
    S_US,
    SELL,
    Floor,
    replay,
    usd,
)

CONFIG = SurveillanceConfig(stp=PerInstrument(StpParams(max_per_day=2)))
OWNERS = {"S1": "P", "S2": "P"}


def eventful_day(floor: Floor) -> None:
    """Wash trades, prevented self-trades, a spoof and a marked close."""
    floor.open("S1", "S2", "M", "B", "C")
    floor.open("T", stp=Stp.EXPIRE_TAKER)
    floor.at(HOUR_US)
    for n in range(3):
        floor.cross("S1", "S2", BUY if n % 2 else SELL, usd(50_000), 10)
    floor.limit("T", SELL, usd(50_100), 5)
    for _ in range(3):
        floor.limit("T", BUY, usd(50_100), 1, TimeInForce.IOC)
    floor.mass_cancel("T", SELL)
    floor.limit("M", BUY, usd(49_990), 5)
    bait = floor.limit("B", BUY, usd(49_995), 100)
    floor.cross("B", "M", BUY, usd(50_005), 10)
    floor.later(S_US)
    floor.cancel("B", bait)
    for n, price in enumerate((50_300, 50_500, 50_700)):
        floor.at(DAY_US - 200 * S_US + n * S_US)
        floor.cross("M", "C", BUY, usd(price), 2)
    floor.at(DAY_US + 1)
    floor.tick()


def test_replaying_the_journal_raises_the_same_alerts(tmp_path: Path) -> None:
    floor = Floor(CONFIG, owners=OWNERS, journal=tmp_path)
    eventful_day(floor)
    floor.close()
    live = floor.alerts
    assert sorted(a.rule for a in live) == [
        "marking_the_close",
        "self_trade_prevention",
        "spoofing_layering",
        "wash_trades",
    ]
    replayed = replay(tmp_path, CONFIG, owners=OWNERS)
    assert [a.to_dict() for a in replayed] == [a.to_dict() for a in live]


def test_feeding_events_again_raises_nothing_new() -> None:
    floor = Floor(CONFIG, owners=OWNERS)
    events = []
    original = floor.engine.submit

    def recording(command):  # type: ignore[no-untyped-def]
        out = original(command)
        events.extend(out)
        return out

    floor.engine.submit = recording  # type: ignore[method-assign]
    eventful_day(floor)
    assert floor.alerts
    assert floor.surv.feed_stream(events) == []
