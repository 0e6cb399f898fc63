"""The PerpTick scheduler: one journaled ``PerpTick`` per perpetual every ``tick_ms``.

The engine reads no clock, so the mark price, premium samples, funding settlements,
stale-index halts and liquidation checks happen when a tick arrives, at the
sequencer's time: a replay of the journal makes the same ticks at the same times.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from engine.perp.commands import PerpTick
from gateway.host import EngineHost

__all__ = ["ORIGIN", "PerpTicker"]

log = structlog.get_logger("gateway.perp_ticks")

#: the origin the host's listeners see on a scheduled tick
ORIGIN = "perp-ticker"


class PerpTicker:
    """A Component; ``tick_ms`` 0 = no scheduled ticks (tests submit their own)."""

    name = "perp_ticks"

    def __init__(self, host: EngineHost, tick_ms: int) -> None:
        self.host = host
        self.tick_ms = tick_ms
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.tick_ms:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="perp-ticks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_ms / 1000)
            try:
                self.tick()
            except Exception:  # a broken tick must not stop the next ones
                log.exception("perp_ticks.failed")

    def tick(self) -> int:
        """Submit one PerpTick per perpetual, in listing order; how many."""
        symbols = list(self.host.engine.perps.markets)
        for symbol in symbols:
            self.host.submit(PerpTick(symbol), ORIGIN)
        return len(symbols)
