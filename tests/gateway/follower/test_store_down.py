"""The database goes away mid-run: the follower keeps its batch, retries with backoff,
reports how far behind the journal it is, and catches up when the server is back."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.follower.follower import Follower, FollowerSettings
from tests.gateway.follower.checks import assert_store_matches
from tests.gateway.follower.pg import PgCluster, running_cluster
from tests.gateway.follower.venue import LiveVenue, random_flow

HANG_GUARD_S = 120


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A cluster of this test's own: stopping it disturbs no other test."""
    with running_cluster() as cluster:
        yield cluster


async def _until(condition: Callable[[], bool], what: str, task: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD_S
    while not condition():
        if task.done():
            task.result()  # the follower died: its exception, not a hang
            raise AssertionError(f"the follower stopped while waiting for {what}")
        assert loop.time() < deadline, f"hang guard: still waiting for {what}"
        await asyncio.sleep(0.01)


async def test_postgresql_stopped_mid_run_is_caught_up_after(
    own_cluster: PgCluster, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    rng = random.Random(99)
    random_flow(rng, venue, 200)
    url = await own_cluster.new_database()
    settings = FollowerSettings(journal, store_url=url, batch=20, poll_s=0.01, retry_max_s=0.2)
    follower = Follower(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(follower.run(stop))
    try:
        await _until(
            lambda: follower.applied_seq == venue.engine.last_seq, "the first catch-up", task
        )
        own_cluster.stop("fast")
        random_flow(rng, venue, 300)  # trading goes on: the journal is the truth
        await _until(lambda: follower.retries >= 3, "retries while the server is down", task)
        assert follower.lag > 0  # it knows how far behind it is
        behind = follower.applied_seq
        assert behind < venue.engine.last_seq
        own_cluster.start()
        random_flow(rng, venue, 50)
        await _until(lambda: follower.applied_seq == venue.engine.last_seq, "the catch-up", task)
        assert follower.retries == 0
    finally:
        stop.set()
        await task
    await assert_store_matches(follower.store, venue.events, venue.engine)
    await follower.close()
    venue.close()
