"""Replaying the journal raises the same alerts, with the same ids; a resumed feed
raises nothing twice."""

from __future__ import annotations

from pathlib import Path

from engine.journal import write_snapshot
from tests.gateway.follower.surveillance.floor import (
    BUY,
    EVENTFUL_CONFIG,
    EVENTFUL_OWNERS,
    SELL,
    Floor,
    eventful_day,
    replay,
    usd,
)


def test_replaying_the_journal_raises_the_same_alerts(tmp_path: Path) -> None:
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS, journal=tmp_path)
    eventful_day(floor)
    floor.close()
    live = floor.alerts
    assert sorted(a.rule for a in live) == [
        "marking_the_close",
        "self_trade_prevention",
        "spoofing_layering",
        "wash_trades",
    ]
    replayed = replay(tmp_path, EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS)
    assert [a.to_dict() for a in replayed] == [a.to_dict() for a in live]


def test_feeding_events_again_raises_nothing_new() -> None:
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS)
    eventful_day(floor)
    assert floor.alerts
    assert floor.surv.feed_stream(ev for events in floor.commands for ev in events) == []


def test_a_journal_cut_after_a_snapshot_replays_from_the_snapshot(tmp_path: Path) -> None:
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS, journal=tmp_path)
    eventful_day(floor)
    write_snapshot(floor.engine, tmp_path)
    assert floor.writer is not None
    floor.writer.roll(floor.engine.last_seq + 1)
    before = len(floor.alerts)
    for n in range(3):
        floor.cross("S1", "S2", BUY if n % 2 else SELL, usd(50_000), 10)
    floor.close()
    [first_segment, _] = sorted(tmp_path.glob("journal-*.log"))
    first_segment.unlink()
    replayed = replay(tmp_path, EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS)
    assert [a.to_dict() for a in replayed] == [a.to_dict() for a in floor.alerts[before:]]
    assert [a.rule for a in replayed] == ["wash_trades"]
