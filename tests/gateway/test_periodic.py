"""Periodic: a failed call is logged and the schedule goes on; stop ends it."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from gateway.periodic import Periodic


async def test_a_failed_call_does_not_stop_the_schedule() -> None:
    calls: list[int] = []
    again = asyncio.Event()

    def call() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("first call fails")
        again.set()

    periodic = Periodic("test", 1, call)
    with capture_logs() as logs:
        periodic.start()
        async with asyncio.timeout(10):  # a safety bound, not a timing assertion
            await again.wait()
        await periodic.stop()
    assert periodic.task is None and len(calls) >= 2
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["periodic.failed"]
    done = len(calls)
    await asyncio.sleep(0.01)
    assert len(calls) == done  # stopped
