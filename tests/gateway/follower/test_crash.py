"""kill -9 the follower process at random points while the journal grows: after each
restart it resumes exactly, so no row is missing and none is duplicated."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path

from gateway.follower.store import Store, open_store
from tests.gateway.follower.checks import assert_store_matches
from tests.gateway.follower.venue import LiveVenue, random_flow

ROOT = Path(__file__).resolve().parents[3]
HANG_GUARD_S = 120  # only against a hang: the test waits on progress, never on time


def _spawn(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.follower", "--config", str(config)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for(store: Store, at_least: int, proc: subprocess.Popen[bytes]) -> int:
    """Poll the store's position until it reaches at_least; the position seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD_S
    while True:
        seq, _ = await store.position()
        if seq >= at_least:
            return seq
        assert proc.poll() is None, f"the follower exited with {proc.returncode}"
        assert loop.time() < deadline, f"no progress past seq {seq}"
        await asyncio.sleep(0.005)


async def test_kill_9_at_random_points_loses_and_duplicates_nothing(
    store_url: str, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    config = tmp_path / "follower.toml"
    config.write_text(
        f'log_level = "error"\n[journal]\ndir = "{journal}"\n'
        f'[store]\nurl = "{store_url}"\nbatch = 3\nfollower = true\n'
    )
    venue = LiveVenue(journal)
    rng = random.Random(2024)
    random_flow(rng, venue, 600)
    reader = open_store(store_url, tmp_path / "unused")
    await reader.open()
    killed_at = []
    for round_ in range(6):
        proc = _spawn(config)
        try:
            start, _ = await reader.position()
            target = rng.randint(start + 1, venue.engine.last_seq)
            await _wait_for(reader, target, proc)  # mid-run: more is left to write
        finally:
            proc.kill()
            proc.wait()
        killed_at.append((await reader.position())[0])
        random_flow(rng, venue, 150)  # the journal grows while the follower is down
        if round_ % 2:
            venue.roll()
    assert killed_at == sorted(killed_at) and killed_at[-1] < venue.engine.last_seq
    proc = _spawn(config)
    try:
        await _wait_for(reader, venue.engine.last_seq, proc)
    finally:
        proc.terminate()
        assert proc.wait(timeout=HANG_GUARD_S) == 0
    await assert_store_matches(reader, venue.events, venue.engine)
    await reader.close()
    venue.close()
