"""A local fake venue over real HTTP and WebSocket: a ticker the test sets, served as
``GET /ticker`` ({"data": {"price": ...}}) and pushed on ``/stream`` to a client that
sent the subscribe message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

SUBSCRIBE = '{"op": "subscribe", "channel": "ticker"}'


class FakeVenue:
    def __init__(self) -> None:
        self.price: Any = "60000.10"
        self.status = 200
        self.polls = 0
        self.streams: list[web.WebSocketResponse] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def ticker(self, request: web.Request) -> web.Response:
        self.polls += 1
        if self.status != 200:
            return web.json_response({"error": "down"}, status=self.status)
        return web.json_response({"data": {"price": self.price}})

    async def stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive_str()
        if first != SUBSCRIBE:
            await ws.close()
            return ws
        await ws.send_str('{"event": "subscribed"}')  # no price: skipped
        self.streams.append(ws)
        async for _ in ws:
            pass
        return ws

    async def push(self, price: str) -> None:
        for ws in self.streams:
            if not ws.closed:
                await ws.send_str(f'{{"type": "ticker", "price": {price}}}')

    async def drop_streams(self) -> None:
        for ws in self.streams:
            await ws.close()
        self.streams.clear()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ticker"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"


@pytest.fixture
async def fake_venue() -> AsyncIterator[FakeVenue]:
    venue = FakeVenue()
    app = web.Application()
    app.router.add_get("/ticker", venue.ticker)
    app.router.add_get("/stream", venue.stream)
    venue.runner = web.AppRunner(app)
    await venue.runner.setup()
    site = web.TCPSite(venue.runner, "127.0.0.1", 0)
    await site.start()
    venue.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield venue
    await venue.drop_streams()
    await venue.runner.cleanup()


async def until(predicate: Any, timeout: float = 5.0) -> None:
    """Wait until predicate() is true (a safety timeout, not a timing assertion)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
