"""The console's routes on the admin listener: the page, and its live event stream.

``GET /console`` (and ``/console/static/<file>``) serve the shipped assets unsigned:
they hold no data. ``GET /admin/v1/console/stream`` is a signed request like any admin
read (the same headers, checked by the same pipeline, one audit line) whose answer is
an endless ``text/event-stream``. The browser reads it with ``fetch`` (EventSource
cannot send the signature headers). Each ``state`` event is the whole console state
(views.py). A new event goes out when a committed event batch changed something, and
at least every ``HEARTBEAT_S`` (the overview's rates move with time), never more often
than every ``MIN_GAP_S`` per client: a burst of fills costs one push.

The stream ends when the operator is disabled, and when the gateway stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web

from engine.events import VenueEvent
from gateway.admin.console import views
from gateway.admin.problems import Problem
from gateway.admin.routes import STAFF
from gateway.host import EventBatch

if TYPE_CHECKING:
    from gateway.admin.server import AdminServer
    from gateway.app import App

__all__ = ["HEARTBEAT_S", "MIN_GAP_S", "STATIC", "STREAM_PATH", "ConsoleFeed"]

STATIC: Final = Path(__file__).parent / "static"
STREAM_PATH: Final = "/console/stream"
HEARTBEAT_S: Final = 1.0
MIN_GAP_S: Final = 0.1
_FUNDS_KINDS: Final = ("withdrawal.", "deposit.")
_TYPES: Final = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
#: the shipped assets, the only names served
_ASSETS: Final = frozenset(
    p.name for p in STATIC.iterdir() if p.suffix in _TYPES and not p.name.startswith(".")
)
#: the page may load its own script and style only, and talk to this origin only
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
    " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ConsoleFeed:
    """Host listener (it only notes that something changed) and the stream's server."""

    def __init__(self, server: AdminServer) -> None:
        self.server = server
        self.app: App | None = None
        self.version = 0
        self._waiting: set[asyncio.Event] = set()
        self._built: tuple[int, float, bytes] | None = None
        self._sampler: views.Sampler | None = None
        self._since: dict[str, int] = {}
        #: the funds view scans every withdrawal: rebuilt only after a funds event
        self._funds_version = 0
        self._funds: tuple[int, dict[str, Any]] | None = None
        self._closing = asyncio.Event()

    def attach(self, app: App) -> None:
        """The gateway whose edges the views read (App calls this once it built them)."""
        self.app = app
        self._sampler = views.Sampler(app.registry)

    def mount(self, app: web.Application, prefix: str) -> None:
        app.router.add_get("/console", self._page)
        app.router.add_get("/console/", self._page)
        app.router.add_get("/console/static/{name}", self._asset)
        app.router.add_get(prefix + STREAM_PATH, self._stream)

    def __call__(self, batch: EventBatch) -> None:
        self.version += 1
        if not self._waiting:
            return
        for event in batch.events:
            if type(event) is VenueEvent and event.kind.startswith(_FUNDS_KINDS):
                self._funds_version += 1
                break
        for waiting in self._waiting:
            waiting.set()

    @property
    def watching(self) -> int:
        """How many streams are open."""
        return len(self._waiting)

    def close(self) -> None:
        """End every open stream (the admin listener is stopping)."""
        self._closing.set()
        for waiting in self._waiting:
            waiting.set()

    # ---------------------------------------------------------------- assets

    async def _page(self, request: web.Request) -> web.Response:
        return self._file("index.html")

    async def _asset(self, request: web.Request) -> web.Response:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.Response:
        if name not in _ASSETS:  # never a path built from the request's
            raise web.HTTPNotFound()
        path = STATIC / name
        kind = _TYPES[path.suffix]
        return web.Response(
            body=path.read_bytes(),
            content_type=kind,
            charset="utf-8",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": _CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    # ---------------------------------------------------------------- stream

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        try:
            operator = await self.server.authorize(request, STAFF)
        except Problem as refused:
            return refused.response(request.path)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        wake = asyncio.Event()
        if not self._waiting:
            self._funds = None  # funds events are not watched while nobody looks
        self._waiting.add(wake)
        operators = self.server.host.engine.operators
        try:
            await response.write(b"retry: 2000\n\n")
            while not self._closing.is_set():
                current = operators.get(operator.operator_id)
                if current is None or not current.enabled:
                    await response.write(b'event: bye\ndata: {"reason":"operator-disabled"}\n\n')
                    break
                wake.clear()
                await response.write(b"event: state\ndata: " + self.state() + b"\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), HEARTBEAT_S)
                await asyncio.sleep(MIN_GAP_S)
        except ConnectionResetError:
            pass  # the browser went away
        finally:
            self._waiting.discard(wake)
        return response

    def state(self) -> bytes:
        """The current state as JSON: built once per change (or gap) for every client."""
        now = time.monotonic()
        built = self._built
        if built is not None and built[0] == self.version and now - built[1] < MIN_GAP_S:
            return built[2]
        body = orjson.dumps(self.snapshot())
        self._built = (self.version, now, body)
        return body

    def snapshot(self) -> dict[str, Any]:
        app = self.app
        if app is None or self._sampler is None:
            return {"seq": self.server.host.engine.last_seq}
        return {
            "seq": app.host.engine.last_seq,
            "ts_ms": time.time_ns() // 1_000_000,
            "overview": views.overview(app, self._sampler),
            "markets": views.markets(app),
            "funds": self._funds_view(app),
            "sessions": views.sessions(app, self._since),
        }

    def _funds_view(self, app: App) -> dict[str, Any]:
        cached = self._funds
        if cached is None or cached[0] != self._funds_version:
            cached = self._funds = (self._funds_version, views.funds(app))
        return cached[1]
