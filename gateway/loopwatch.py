"""Event-loop stalls and garbage-collector pauses, as metrics and warnings.

Every session of the gateway shares one event loop, so anything that holds it (a long
callback, a full GC pass, a slow synchronous write) delays every acknowledgement by
that much. A load test sees such stalls only as latency outliers; these two metrics
say whether the gateway caused them, and the log says when:

- ``gw_loop_lag_seconds``: how late a timer set every ``interval_s`` fires. Resolution is
  about 1 ms (uvloop's timers count milliseconds), so read it for the tail.
  A lag of ``stall_ms`` or more also logs ``loop.stalled`` (warning).
- ``gw_gc_pause_seconds`` and ``gw_gc_collections_total{generation}``: each collection of
  the cyclic garbage collector, timed by ``gc.callbacks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any

import structlog

from gateway.metrics import Registry

__all__ = ["LoopWatch"]

log = structlog.get_logger("gateway.loopwatch")


class LoopWatch:
    """Start with :meth:`start` on the running loop; :meth:`stop` removes the GC hook."""

    name = "loopwatch"

    def __init__(self, registry: Registry, interval_s: float = 0.01, stall_ms: float = 100) -> None:
        self.interval_s = interval_s
        self.stall_us = stall_ms * 1000
        self.max_lag_us = 0.0
        self._task: asyncio.Task[None] | None = None
        self._gc_start_ns = 0
        self._m_lag = registry.duration(
            "gw_loop_lag_seconds", "How late the event loop ran a periodic timer"
        )
        self._m_gc_pause = registry.duration(
            "gw_gc_pause_seconds", "Cyclic garbage collector pauses"
        )
        counter = registry.counter("gw_gc_collections_total", "GC collections by generation")
        self._m_gc_runs = [counter.labels(generation=str(g)) for g in range(3)]

    async def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="loopwatch")

    async def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.interval_s
        due = loop.time() + interval
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            lag_us = max(0.0, (now - due) * 1e6)
            self._m_lag.observe(lag_us)
            if lag_us > self.max_lag_us:
                self.max_lag_us = lag_us
            if lag_us >= self.stall_us:
                log.warning("loop.stalled", lag_ms=round(lag_us / 1000, 1))
            due = now + interval

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start_ns = time.perf_counter_ns()
            return
        self._m_gc_pause.observe((time.perf_counter_ns() - self._gc_start_ns) / 1000)
        self._m_gc_runs[info["generation"]].inc()
