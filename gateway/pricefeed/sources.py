"""Price source adapters: the interface, a simulated source, and generic HTTP-poll and
WebSocket-stream adapters that a real venue is configured into.

An adapter is anything with a ``name``, a ``weight`` and ``async run(publish)``: it
runs until canceled and calls ``publish(price)`` with every price it learns. Its
failures are its own business: it logs, waits and retries, and meanwhile its last
price ages until the index rules call it stale. So a new venue needs only a new
``run``; nothing else in the feeder changes.

Prices are parsed from JSON as Decimals (never floats: ``"60000.1"`` and
``60000.1`` both give exactly 60000.1).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol

import aiohttp
import structlog
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from gateway.pricefeed.index import SourcePrice

__all__ = [
    "MAX_PRICE",
    "Board",
    "HttpPollSource",
    "Publish",
    "SimulatedSource",
    "Source",
    "WsStreamSource",
    "price_at",
]

log = structlog.get_logger("gateway.pricefeed")

Publish = Callable[[Decimal], None]


class Source(Protocol):
    name: str
    weight: int

    async def run(self, publish: Publish) -> None: ...


class Board:
    """Every source's last price and when it arrived; the clock is passed in."""

    def __init__(self, sources: list[Source]) -> None:
        self._weights = {s.name: s.weight for s in sources}
        self._last: dict[str, tuple[Decimal, int]] = {}

    def publisher(self, source: str, clock_ms: Callable[[], int]) -> Publish:
        def publish(price: Decimal) -> None:
            self._last[source] = (price, clock_ms())

        return publish

    def prices(self) -> list[SourcePrice]:
        out = []
        for name, weight in self._weights.items():
            last = self._last.get(name)
            out.append(
                SourcePrice(name, weight, None)
                if last is None
                else SourcePrice(name, weight, last[0], last[1])
            )
        return out


#: no venue quotes this much; a larger exponent ("1e999990", eight bytes) would hold
#: the feeder for minutes turning it into ticks, or overflow the round
MAX_PRICE: Final = Decimal(10) ** 18


def price_at(message: Any, path: str) -> Decimal | None:
    """The positive price below :data:`MAX_PRICE` at a dotted path ("data.0.price"), None
    when the message has none there (a heartbeat, a subscription answer) or it is no
    such number."""
    node = message
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if isinstance(node, bool) or not isinstance(node, (str, Decimal, int)):
        return None
    try:
        price = Decimal(node)
    except InvalidOperation:
        return None
    return price if price.is_finite() and 0 < price < MAX_PRICE else None


def _parse(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class SimulatedSource:
    """The demo's source: a random walk around ``start`` (at most ``step_bps`` a step,
    pulled back toward it), one price every ``interval_ms``, on a ``quantum`` grid."""

    def __init__(
        self, name: str, weight: int, start: Decimal, *, step_bps: int = 5,
        interval_ms: int = 1000, quantum: Decimal = Decimal("0.01"), seed: int = 0,
    ) -> None:  # fmt: skip
        self.name = name
        self.weight = weight
        self.start = self.price = start
        self.step_bps = step_bps
        self.interval_ms = interval_ms
        self.quantum = quantum
        self._rng = random.Random(seed)

    def step(self) -> Decimal:
        reach = int(self.price * self.step_bps / 10_000 / self.quantum)
        move = self._rng.randint(-reach, reach) * self.quantum
        pull = ((self.start - self.price) / 20).quantize(self.quantum)
        self.price = max(self.quantum, self.price + move + pull)
        return self.price

    async def run(self, publish: Publish) -> None:
        while True:
            publish(self.step())
            await asyncio.sleep(self.interval_ms / 1000)


class _Retrying:
    """Backoff between failures: 0.5 s doubling to ``max_backoff_s``, reset by success."""

    name: str
    max_backoff_s = 30.0

    def __init__(self) -> None:
        self._backoff = 0.5

    async def failed(self, error: BaseException) -> None:
        log.warning("pricefeed.source_failed", source=self.name, error=repr(error))
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, self.max_backoff_s)

    def succeeded(self) -> None:
        self._backoff = 0.5


class HttpPollSource(_Retrying):
    """GET ``url`` every ``interval_ms``; the price is at ``price_path`` of the JSON
    answer (Binance ``/api/v3/ticker/price?symbol=BTCUSDT``: ``price``)."""

    def __init__(
        self, name: str, weight: int, url: str, price_path: str, *,
        interval_ms: int = 1000, timeout_s: float = 5.0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.name = name
        self.weight = weight
        self.url = url
        self.price_path = price_path
        self.interval_ms = interval_ms
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def run(self, publish: Publish) -> None:
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            while True:
                try:
                    async with http.get(self.url) as response:
                        response.raise_for_status()
                        price = price_at(_parse(await response.read()), self.price_path)
                    if price is None:
                        raise ValueError(f"no price at {self.price_path!r}")
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    await self.failed(exc)
                    continue
                self.succeeded()
                publish(price)
                await asyncio.sleep(self.interval_ms / 1000)


class WsStreamSource(_Retrying):
    """Connect to ``url``, send ``subscribe`` (a JSON text, if any), and publish the
    price at ``price_path`` of every message that has one; reconnect on loss
    (Coinbase ``ticker``: subscribe ``{"type": "subscribe", "product_ids": ["BTC-USD"],
    "channels": ["ticker"]}``, path ``price``)."""

    def __init__(
        self, name: str, weight: int, url: str, price_path: str, subscribe: str = ""
    ) -> None:
        super().__init__()
        self.name = name
        self.weight = weight
        self.url = url
        self.price_path = price_path
        self.subscribe = subscribe

    async def run(self, publish: Publish) -> None:
        while True:
            try:
                async with connect(self.url, open_timeout=10) as ws:
                    if self.subscribe:
                        await ws.send(self.subscribe)
                    async for message in ws:
                        self.succeeded()
                        price = price_at(_parse(message), self.price_path)
                        if price is not None:
                            publish(price)
                raise ConnectionError("the venue closed the stream")
            except (OSError, TimeoutError, ValueError, WebSocketException) as exc:
                await self.failed(exc)
