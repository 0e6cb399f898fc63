"""What the follower tells its supervisor: the seq it has stored, also the last one of
a burst written faster than it reports; and its one write in flight."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.replay import Batch
from gateway.follower.store import StoreUnavailable
from gateway.follower.store.sqlite import SqliteStore
from tests.gateway.follower.venue import LiveVenue, follow_flow, random_flow


async def test_the_last_seq_of_a_burst_is_reported_once_idle(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(1), venue, 200)
    reports: list[tuple[int, int, bool]] = []
    settings = FollowerSettings(journal, store_url=f"sqlite:{tmp_path / 's.db'}", batch=10)
    follower = Follower(settings, status=lambda *report: reports.append(report))
    stop = asyncio.Event()
    task = asyncio.create_task(follower.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a hang guard only
    last = venue.engine.last_seq
    while not reports or reports[-1][0] != last:
        assert not task.done() and loop.time() < deadline, reports[-3:]
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert reports[-1] == (last, last, True)
    assert len(reports) < last // 10  # throttled: not one report per transaction
    await follower.close()
    venue.close()


async def test_a_restarted_follower_tells_its_stored_seq_before_replaying_to_it(
    tmp_path: Path,
) -> None:
    """The gateway's pruning keeps what the told position needs (gateway/retention.py):
    a restart replay can be long, so the position is told before it, not after."""
    journal = tmp_path / "journal"
    url = f"sqlite:{tmp_path / 's.db'}"
    venue, first = await follow_flow(journal, url, seed=2, count=50)
    await first.close()
    reports: list[tuple[int, int, bool]] = []
    told_at_replay: list[list[tuple[int, int, bool]]] = []
    follower = Follower(
        FollowerSettings(journal, store_url=url), status=lambda *r: reports.append(r)
    )
    follower.replayer.listeners.append(lambda _r, _e: told_at_replay.append(list(reports)))
    await follower.start(asyncio.Event())
    assert told_at_replay, "the restart replayed the stored records"
    assert told_at_replay[0] == [(venue.engine.last_seq, venue.engine.last_seq, True)]
    await follower.close()
    venue.close()


class _HeldStore(SqliteStore):
    """A SQLite store whose writes wait until ``release`` is set."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = asyncio.Event()

    async def write(self, batch: Batch) -> bool:
        await self.release.wait()
        return await super().write(batch)


async def test_the_next_batch_is_replayed_while_the_previous_one_is_written(
    tmp_path: Path,
) -> None:
    """One write in flight: step() returns once it has started writing its batch, and
    returns 0 only once everything replayed is stored."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(2), venue, 50)
    store = _HeldStore(tmp_path / "s.db")
    follower = Follower(FollowerSettings(journal, batch=20), store=store)
    stop = asyncio.Event()
    store.release.set()
    assert await follower.start(stop)
    store.release.clear()
    # a hang guard only: before the overlap, step() waited for its write
    assert await asyncio.wait_for(follower.step(stop), 30) == 20
    assert follower.replayer.engine.last_seq > follower.applied_seq  # its write is held
    store.release.set()
    while await follower.step(stop):
        pass
    assert follower.applied_seq == follower.replayer.engine.last_seq == venue.engine.last_seq
    assert await store.position() == (venue.engine.last_seq, follower.replayer.last_crc)
    await follower.close()
    venue.close()


async def test_close_does_not_wait_for_a_store_that_keeps_failing(tmp_path: Path) -> None:
    """A write retrying against a failing store is given up at close: the next start
    replays what is not stored."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(3), venue, 30)
    store = _HeldStore(tmp_path / "s.db")
    store.release.set()
    settings = FollowerSettings(journal, batch=10, retry_min_s=0.01, retry_max_s=60)
    follower = Follower(settings, store=store)
    stop = asyncio.Event()
    assert await follower.start(stop)

    async def failing(batch: Batch) -> bool:
        raise StoreUnavailable("down")

    store.write = failing  # type: ignore[method-assign]
    assert await follower.step(stop) == 10
    while not follower.retries:  # the write is in its backoff
        await asyncio.sleep(0.01)
    await asyncio.wait_for(follower.close(), 30)  # a hang guard only
    assert follower.applied_seq < venue.engine.last_seq
    venue.close()
