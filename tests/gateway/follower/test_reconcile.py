"""Reconciliation over the store: a faithful store reconciles to the last unit; a ledger
row edited afterwards (its amount, or its running balance) is caught, and the first
diverging seq named is that row's. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.reconcile import (
    ReconcileAlerts,
    Reconciliation,
    Scheduled,
    engine_balances,
    reconcile,
)
from gateway.follower.surveillance.settings import SurveillanceSettings
from gateway.follower.surveillance.store import record_alerts
from tests.gateway.follower.venue import LiveVenue, catch_up, follow_flow, random_flow


@pytest.fixture
async def followed(store_url: str, tmp_path: Path) -> tuple[LiveVenue, Follower]:
    return await follow_flow(tmp_path / "journal", store_url, 5, 500)


async def _check(f: Follower) -> Reconciliation:
    engine = f.replayer.engine
    return await reconcile(
        f.store, engine_balances(engine), engine.last_seq, f.settings.journal_dir
    )


async def test_a_faithful_store_reconciles(followed: tuple[LiveVenue, Follower]) -> None:
    venue, f = followed
    result = await _check(f)
    assert result.ok, result.to_dict()
    assert result.pairs == len(engine_balances(venue.engine)) > 0
    await f.close()


@pytest.mark.parametrize("column", ["amount", "balance"])
async def test_a_corrupted_ledger_row_is_caught_at_its_seq(
    followed: tuple[LiveVenue, Follower], column: str
) -> None:
    venue, f = followed
    legs = await f.store.fetch(
        "SELECT seq, leg, account, asset FROM ledger WHERE reason = 'trade' "
        "AND account NOT LIKE '@%' ORDER BY seq, leg"
    )
    seq, leg, account, asset = legs[len(legs) // 3]
    await f.store.fetch(
        f"UPDATE ledger SET {column} = {column} + 1 WHERE seq = ? AND leg = ?", seq, leg
    )
    result = await _check(f)
    report = result.to_dict()
    assert not report["ok"]
    assert report["first_diverging_seq"] == seq, report
    (mismatch,) = report["mismatches"]
    assert (mismatch["account"], mismatch["asset"], mismatch["first_seq"]) == (account, asset, seq)
    assert mismatch["engine"] == venue.engine.accounts[account].balances[asset].total
    if column == "amount":
        assert mismatch["ledger_sum"] == mismatch["engine"] + 1
        assert sum(mismatch["flows"].values()) == mismatch["ledger_sum"]
        assert report["unbalanced"] == {asset: 1}  # double entry broken too
    await f.close()


async def test_a_deleted_leg_is_caught_at_its_seq(followed: tuple[LiveVenue, Follower]) -> None:
    _, f = followed
    legs = await f.store.fetch(
        "SELECT seq, leg FROM ledger WHERE account = 'B' AND asset = 'USD' ORDER BY seq, leg"
    )
    seq, leg = legs[len(legs) // 2]
    await f.store.fetch("DELETE FROM ledger WHERE seq = ? AND leg = ?", seq, leg)
    report = (await _check(f)).to_dict()
    assert report["first_diverging_seq"] == seq, report
    await f.close()


async def test_the_schedule_raises_one_stored_alert_and_reports_each_result(
    followed: tuple[LiveVenue, Follower],
) -> None:
    venue, f = followed
    recorder = record_alerts(f.replayer, SurveillanceSettings())
    reported: list[dict[str, Any]] = []
    alerts = ReconcileAlerts(f.store, f.replayer.engine, recorder, reported.append)
    journal = f.settings.journal_dir
    scheduled = Scheduled(f.store, f.replayer.engine, journal, 3600.0, alerts)
    await scheduled(f.applied_seq)
    await scheduled(f.applied_seq)  # within the hour: not again
    assert [r["reconciliation"]["ok"] for r in reported] == [True]
    ((seq, leg),) = await f.store.fetch(
        "SELECT seq, leg FROM ledger WHERE account = 'C' AND reason = 'trade' "
        "ORDER BY seq DESC, leg DESC LIMIT 1"
    )
    await f.store.fetch("UPDATE ledger SET amount = amount * 2 WHERE seq = ? AND leg = ?", seq, leg)
    for _ in range(2):  # the same finding twice: one alert
        scheduled.last = -3600.0
        await scheduled(f.applied_seq)
    assert [r["reconciliation"]["first_diverging_seq"] for r in reported[1:]] == [seq, seq]
    random_flow(random.Random(6), venue, 20)
    await catch_up(f)  # the alert rides with the next batch
    stored = await f.store.fetch(
        "SELECT first_seq, last_seq, severity FROM alerts WHERE rule = 'reconciliation'"
    )
    assert stored == [(seq, reported[1]["reconciliation"]["seq"], "high")]
    await f.close()


async def test_the_follower_runs_its_checkpoints_at_the_stored_seq(
    store_url: str, tmp_path: Path
) -> None:
    venue = LiveVenue(tmp_path / "journal")
    random_flow(random.Random(3), venue, 50)
    f = Follower(FollowerSettings(tmp_path / "journal", store_url=store_url))
    stop = asyncio.Event()
    seen: list[tuple[int, int]] = []

    async def checkpoint(seq: int) -> None:
        seen.append((seq, f.replayer.engine.last_seq))
        if seq == venue.engine.last_seq:
            stop.set()

    f.checkpoints.append(checkpoint)
    await asyncio.wait_for(f.run(stop), 60)
    assert seen and all(stored == engine for stored, engine in seen)
    await f.close()
