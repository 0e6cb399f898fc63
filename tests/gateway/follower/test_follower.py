"""What the follower tells its supervisor: the seq it has stored, also the last one of
a burst written faster than it reports."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from gateway.follower.follower import Follower, FollowerSettings
from tests.gateway.follower.venue import LiveVenue, random_flow


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
