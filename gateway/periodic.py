"""A callback run every ``interval_ms`` on the event loop until stopped: the gateway's
schedulers (PerpTick, the demo liquidity provider) share it. A failing call is logged
and the next one still runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

__all__ = ["Periodic"]

log = structlog.get_logger("gateway.periodic")


class Periodic:
    def __init__(self, name: str, interval_ms: int, call: Callable[[], object]) -> None:
        self.name = name
        self.interval_ms = interval_ms
        self.call = call
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """The first call comes one interval from now."""
        self.task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_ms / 1000)
            try:
                self.call()
            except Exception:  # one failed call must not stop the schedule
                log.exception("periodic.failed", task=self.name)
