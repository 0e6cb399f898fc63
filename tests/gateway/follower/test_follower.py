"""What the follower tells its supervisor: the seq it has stored, also the last one of
a burst written faster than it reports."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from gateway.follower.follower import Follower, FollowerSettings
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
