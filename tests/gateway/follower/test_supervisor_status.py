"""The supervisor hands each stored position the follower reports to its listener (the
console pushes the alerts the follower stored from it)."""

from __future__ import annotations

import asyncio
import sys

from gateway.config import load_config
from gateway.follower.supervisor import FollowerSupervisor
from gateway.metrics import Registry


async def test_each_reported_position_is_told_to_the_listener() -> None:
    told: list[int] = []
    supervisor = FollowerSupervisor(load_config(), Registry(), lambda: 9, on_stored=told.append)
    lines = (
        '{"applied_seq": 4, "journal_seq": 9, "store_up": true}\n'
        "not a status line\n"
        '{"applied_seq": 9, "journal_seq": 9, "store_up": true}\n'
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"import sys; sys.stdout.write({lines!r})",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await supervisor._read_status(child)
    await child.wait()
    assert told == [4, 9]
    assert supervisor.applied_seq == 9
