"""Surveillance as a listener on the journal follower's Replayer."""

from __future__ import annotations

from pathlib import Path

from engine.journal import write_snapshot
from gateway.follower.replay import Replayer
from gateway.follower.surveillance import Alert, Kind
from gateway.follower.surveillance.listener import SurveillanceListener
from gateway.follower.surveillance.settings import SurveillanceSettings
from tests.gateway.follower.surveillance.floor import (
    BUY,
    EVENTFUL_CONFIG,
    EVENTFUL_OWNERS,
    SELL,
    Floor,
    eventful_day,
    sub_accounts,
    usd,
)


def follow(journal: Path, settings: SurveillanceSettings) -> list[Alert]:
    """What the follower's Replayer raises from an empty store to the journal's end."""
    replayer = Replayer(journal)
    alerts: list[Alert] = []
    replayer.listeners.append(SurveillanceListener(replayer.engine, settings, alerts.append))
    replayer.start(0, 0, {})
    while records := replayer.tail.read(1_000):
        replayer.apply(records)
    return alerts


def test_the_followers_replay_raises_the_live_alerts(tmp_path: Path) -> None:
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS, journal=tmp_path)
    eventful_day(floor)
    floor.close()
    settings = SurveillanceSettings(EVENTFUL_CONFIG, EVENTFUL_OWNERS)
    assert [a.to_dict() for a in follow(tmp_path, settings)] == [a.to_dict() for a in floor.alerts]


def test_started_from_a_snapshot_it_knows_sub_accounts_opened_before(tmp_path: Path) -> None:
    floor = Floor(journal=tmp_path)
    sub_accounts(floor, "P", "P.1", "P.2")
    write_snapshot(floor.engine, tmp_path)
    assert floor.writer is not None
    floor.writer.roll(floor.engine.last_seq + 1)
    for n in range(3):
        floor.cross("P.1", "P.2", BUY if n % 2 else SELL, usd(50_000), 10)
    floor.close()
    [first_segment, _] = sorted(tmp_path.glob("journal-*.log"))
    first_segment.unlink()
    [alert] = follow(tmp_path, SurveillanceSettings())
    assert (alert.rule, alert.owner, alert.kind) == ("wash_trades", "P", Kind.MARKET_ABUSE)
    assert alert.to_dict() == floor.alerts[0].to_dict()
