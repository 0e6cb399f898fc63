"""The PerpTick scheduler: one journaled ``PerpTick`` per perpetual every ``tick_ms``.

The engine reads no clock, so the mark price, premium samples, funding settlements,
stale-index halts and liquidation checks happen when a tick arrives, at the
sequencer's time: a replay of the journal makes the same ticks at the same times.
"""

from __future__ import annotations

from engine.perp.commands import PerpTick
from gateway.host import EngineHost
from gateway.periodic import Periodic

__all__ = ["PerpTicker"]


class PerpTicker:
    """A Component; ``tick_ms`` 0 = no scheduled ticks (tests submit their own)."""

    name = "perp_ticks"

    def __init__(self, host: EngineHost, tick_ms: int) -> None:
        self.host = host
        self.tick_ms = tick_ms
        self.schedule = Periodic("perp-ticks", tick_ms, self.tick)

    async def start(self) -> None:
        if self.tick_ms:
            self.schedule.start()

    async def stop(self) -> None:
        await self.schedule.stop()

    def tick(self) -> int:
        """Submit one PerpTick per perpetual, in listing order; how many."""
        symbols = list(self.host.engine.perps.markets)
        for symbol in symbols:
            self.host.submit(PerpTick(symbol))
        return len(symbols)
