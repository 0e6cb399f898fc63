"""Alerts in the follower's store: written once with their batch, kept across a
restart, and a store rebuilt from the same journal holds the same alerts, review
states and notes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from engine.commands import command_to_record
from engine.venue.operators import AdminRequest, CreateOperator
from engine.venue.reviews import ReviewAlert
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.store import Store, open_store
from gateway.follower.surveillance.settings import SurveillanceSettings
from gateway.follower.surveillance.store import AlertFilter, alert_case, list_alerts, record_alerts
from tests.gateway.follower.surveillance.floor import (
    EVENTFUL_CONFIG,
    EVENTFUL_OWNERS,
    Floor,
    eventful_day,
)

SETTINGS = SurveillanceSettings(EVENTFUL_CONFIG, EVENTFUL_OWNERS)


def review(floor: Floor, key: str, alert_id: str, to: str, note: str, reason: str = "") -> None:
    record = orjson.dumps(command_to_record(ReviewAlert(alert_id, to, note, reason))).decode()
    floor.submit(AdminRequest("ana", "compliance", "", key, key, record))


def reviewed_day(journal: Path) -> Floor:
    """The eventful day, then one alert worked to reported and one closed."""
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS, journal=journal)
    floor.submit(CreateOperator("ana", "compliance", "11" * 32))
    eventful_day(floor)
    wash, stp = floor.of("wash_trades")[0], floor.of("self_trade_prevention")[0]
    review(floor, "k1", wash.alert_id, "in_review", "same owner P on both sides")
    review(floor, "k2", wash.alert_id, "escalated", "no economic purpose")
    review(floor, "k3", wash.alert_id, "reported", "STR filed")
    review(floor, "k4", stp.alert_id, "closed", "prevented", reason="STP worked as set")
    floor.close()
    return floor


async def follow(journal: Path, store: Store, batch: int) -> None:
    """Follow the journal to its end into the store, as venue-follower does."""
    follower = Follower(FollowerSettings(journal, batch=batch), store=store)
    record_alerts(follower.replayer, SETTINGS)
    stop = asyncio.Event()
    assert await follower.start(stop)
    while await follower.step(stop):
        pass
    await follower.close()


async def stored(store: Store) -> dict[str, Any]:
    await store.open()
    try:
        alerts = await store.fetch("SELECT * FROM alerts ORDER BY seq, alert_id")
        cases = {}
        for row in alerts:
            case = await alert_case(store, row[0])
            assert case is not None
            cases[row[0]] = (case.state, case.notes)
        return {"alerts": alerts, "cases": cases}
    finally:
        await store.close()


async def test_the_follower_stores_each_alert_with_its_state_and_notes(
    tmp_path: Path, store_url: str
) -> None:
    journal = tmp_path / "journal"
    floor = reviewed_day(journal)
    store = open_store(store_url, tmp_path / "unused")
    await follow(journal, store, batch=7)
    got = await stored(store)
    assert [row[0] for row in got["alerts"]] == [a.alert_id for a in floor.alerts]
    states = {
        floor_alert.rule: got["cases"][floor_alert.alert_id][0] for floor_alert in floor.alerts
    }
    assert states == {
        "wash_trades": "reported",
        "self_trade_prevention": "closed",
        "spoofing_layering": "new",
        "marking_the_close": "new",
    }
    wash = floor.of("wash_trades")[0]
    notes = got["cases"][wash.alert_id][1]
    assert [(n.actor, n.from_state, n.to_state, n.text) for n in notes] == [
        ("ana", "new", "in_review", "same owner P on both sides"),
        ("ana", "in_review", "escalated", "no economic purpose"),
        ("ana", "escalated", "reported", "STR filed"),
    ]
    await store.open()
    try:
        queue = await list_alerts(store, AlertFilter(state="new"))
        assert [e["rule"] for e in queue] == ["spoofing_layering", "marking_the_close"]
        first, rest = (
            queue[0],
            await list_alerts(
                store, AlertFilter(state="new", after=(queue[0]["seq"], queue[0]["alert_id"]))
            ),
        )
        assert [e["alert_id"] for e in rest] == [queue[1]["alert_id"]] != [first["alert_id"]]
    finally:
        await store.close()


async def test_a_restart_and_a_rebuild_hold_the_same_alerts(tmp_path: Path, store_url: str) -> None:
    journal = tmp_path / "journal"
    reviewed_day(journal)
    store = open_store(store_url, tmp_path / "unused")
    # Stopped part way, then resumed: the replay of stored records raises their alerts
    # again, which are not stored twice.
    follower = Follower(FollowerSettings(journal, batch=10), store=store)
    record_alerts(follower.replayer, SETTINGS)
    stop = asyncio.Event()
    assert await follower.start(stop)
    for _ in range(4):
        await follower.step(stop)
    await follower.close()
    await follow(journal, store, batch=3)
    resumed = await stored(store)
    rebuilt = open_store(f"sqlite:{tmp_path / 'rebuilt.sqlite3'}", tmp_path / "unused")
    await follow(journal, rebuilt, batch=1000)
    assert await stored(rebuilt) == resumed
    assert len(resumed["alerts"]) == 4
