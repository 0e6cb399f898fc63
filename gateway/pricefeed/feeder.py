"""The feeder loop: every ``interval_ms``, each perp's index from its sources' last
prices (gateway/pricefeed/index.py), submitted through ``submit`` (the admin API).

It runs in its own process (``python -m gateway.pricefeed``), away from the gateway's
event loop: venues' sockets and their outages never touch order handling. A round
without an index submits nothing and says why; the engine's own staleness rule then
turns the perp reduce-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from gateway.pricefeed.index import IndexResult, IndexRules, compute_index
from gateway.pricefeed.sources import Board, Source

__all__ = ["Feeder", "IndexFeed", "Submit", "monotonic_ms"]

log = structlog.get_logger("gateway.pricefeed")

#: (symbol, index price as a decimal string on the perp's tick grid) -> None
Submit = Callable[[str, str], Awaitable[None]]


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


@dataclass
class IndexFeed:
    symbol: str
    tick_size: Decimal
    rules: IndexRules
    sources: list[Source]

    def __post_init__(self) -> None:
        self.board = Board(self.sources)


class Feeder:
    def __init__(
        self,
        feeds: list[IndexFeed],
        submit: Submit,
        interval_ms: int = 1000,
        clock_ms: Callable[[], int] = monotonic_ms,
    ) -> None:
        self.feeds = feeds
        self.submit = submit
        self.interval_ms = interval_ms
        self.clock_ms = clock_ms
        self._missing: dict[str, str] = {}  # symbol -> the reason last logged

    async def run(self) -> None:
        """Run every source and the rounds until canceled."""
        tasks = [
            asyncio.create_task(source.run(feed.board.publisher(source.name, self.clock_ms)))
            for feed in self.feeds
            for source in feed.sources
        ]
        try:
            while True:
                await asyncio.sleep(self.interval_ms / 1000)
                await self.round()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def round(self) -> list[tuple[str, IndexResult]]:
        """One index per feed; each submitted (or its absence logged once per reason)."""
        now = self.clock_ms()
        results = []
        for feed in self.feeds:
            result = compute_index(feed.board.prices(), feed.tick_size, now, feed.rules)
            results.append((feed.symbol, result))
            if result.price is None:
                if self._missing.get(feed.symbol) != result.reason:
                    log.warning("pricefeed.no_index", symbol=feed.symbol, reason=result.reason)
                    self._missing[feed.symbol] = result.reason
                continue
            if self._missing.pop(feed.symbol, None) is not None:
                log.info("pricefeed.index_back", symbol=feed.symbol, used=result.used)
            price = format((result.price * feed.tick_size).normalize(), "f")
            try:
                await self.submit(feed.symbol, price)
            except Exception as exc:  # the venue is down or refuses: next round retries
                log.warning("pricefeed.submit_failed", symbol=feed.symbol, error=repr(exc))
        return results
