"""Garbage collection on the gateway's schedule, in small steps, instead of CPython's.

CPython starts a young collection when tracked allocations minus deallocations pass
700. In the gateway most new objects live on (orders, views, stored messages) while
about as many old ones die (closed orders leaving the tracker window, filled orders
leaving the book), so that net count hardly moves, collections are rare, and each
one walks every object created since the last: 40,000+ objects, 5-28 ms in a
3,000 orders/s soak (``gw_gc_pause_seconds``), every session stalled meanwhile.

So automatic collection is off, and every ``interval_s`` the pacer collects
generations 0 and 1 itself. The young generation then holds only what the last
interval created: at 25,000 orders/s and 50 ms, ~1,250 orders' worth of objects,
well under a millisecond. The survivors go to generation 2, which only a full
collection walks. A full collection of a heap of hundreds of MiB takes a long time,
so the pacer runs one only while no command has arrived for ``idle_s`` and at
most every ``full_every_s``, to reclaim reference cycles that were already old when
they became garbage. Objects alive at start-up are frozen (``gc.freeze``) out of
every collection's way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable

__all__ = ["GcPacer"]


class GcPacer:
    """``start()`` takes over the collector; ``stop()`` gives it back to CPython."""

    name = "gcpacer"

    def __init__(
        self,
        activity: Callable[[], int],
        interval_s: float = 0.05,
        idle_s: float = 2.0,
        full_every_s: float = 600.0,
    ) -> None:
        """``activity`` returns a number that changes whenever work arrives (the
        engine's last seq): while it stands still the gateway is idle."""
        self.activity = activity
        self.interval_s = interval_s
        self.idle_s = idle_s
        self.full_every_s = full_every_s
        self.young_collections = 0
        self.full_collections = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        gc.collect()
        gc.freeze()
        gc.disable()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gcpacer")

    async def stop(self) -> None:
        if self._task is None:
            return  # never started: the collector was never ours
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        gc.unfreeze()
        gc.enable()

    async def _run(self) -> None:
        now = time.monotonic()
        last_full = now
        last_activity, active_at = self.activity(), now
        while True:
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            activity = self.activity()
            if activity != last_activity:
                last_activity, active_at = activity, now
            if now - active_at >= self.idle_s and now - last_full >= self.full_every_s:
                gc.collect()
                self.full_collections += 1
                last_full = now
            else:
                gc.collect(1)
                self.young_collections += 1
