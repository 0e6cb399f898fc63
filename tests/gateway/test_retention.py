"""Journal pruning keeps what a follower behind still reads, restart included, up to
the cap (gateway/retention.py); over real journal files and a real SQLite store."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from engine.journal import write_snapshot
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.tail import JournalGap
from gateway.retention import Retention, prune_journal
from tests.gateway.follower.checks import assert_store_matches
from tests.gateway.follower.venue import LiveVenue, catch_up, follow_flow, random_flow


async def _behind(tmp_path: Path, retention: Retention | None) -> tuple[LiveVenue, str]:
    """A follower stores 60 commands and stops; four snapshots later pruned with
    ``retention`` (None: the follower's position unknown); its store URL."""
    journal = tmp_path / "journal"
    url = f"sqlite:{tmp_path / 'store.sqlite3'}"
    venue, follower = await follow_flow(journal, url, seed=7, count=60)
    await follower.close()
    rng = random.Random(8)
    for _ in range(4):
        random_flow(rng, venue, 30)
        venue.roll()
        write_snapshot(venue.engine, journal, keep=0)
        if retention is not None:
            retention = Retention(follower.applied_seq, retention.max_bytes)
        prune_journal(journal, 2, retention)
    random_flow(rng, venue, 10)
    return venue, url


async def test_a_restarted_follower_resumes_from_the_snapshot_kept_for_it(
    tmp_path: Path,
) -> None:
    venue, url = await _behind(tmp_path, Retention(0, 1 << 30))
    follower = Follower(FollowerSettings(tmp_path / "journal", store_url=url))
    await follower.start(asyncio.Event())
    await catch_up(follower)
    assert follower.applied_seq == venue.engine.last_seq
    await assert_store_matches(follower.store, venue.events, venue.engine)
    await follower.close()


@pytest.mark.parametrize("retention", [None, Retention(0, 0)], ids=["no-follower", "over-cap"])
async def test_without_retention_the_follower_cannot_resume(
    tmp_path: Path, retention: Retention | None
) -> None:
    _, url = await _behind(tmp_path, retention)
    follower = Follower(FollowerSettings(tmp_path / "journal", store_url=url))
    with pytest.raises(JournalGap):
        await follower.start(asyncio.Event())
    await follower.close()


def test_over_the_cap_prune_says_so(tmp_path: Path) -> None:
    venue = LiveVenue(tmp_path)
    rng = random.Random(1)
    for _ in range(3):
        random_flow(rng, venue, 20)
        venue.roll()
        write_snapshot(venue.engine, tmp_path, keep=0)
    assert prune_journal(tmp_path, 2, Retention(5, 1 << 30))
    assert not prune_journal(tmp_path, 2, Retention(5, 0))
    assert prune_journal(tmp_path, 2, None)
