"""aiohttp server: /health, /ready, /metrics and the public /api/v1 snapshots.

Book and trades come from the market-data publisher (the market as published), so
``GET /api/v1/book/{symbol}`` at ``seq`` equals a WebSocket book built from the
snapshot and deltas up to that seq.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiohttp import web

from gateway.config import Config, parse_listen
from gateway.connguard import ConnectionGuard, GuardedProtocol, GuardedServer
from gateway.edges import instrument_list
from gateway.follower.liabilities_store import latest
from gateway.host import EngineHost
from gateway.marketdata import MarketDataPublisher, levels_as_strings
from gateway.metrics import CONTENT_TYPE, Registry
from gateway.readstore import READSTORE, ReadStore, StoreUnavailable
from gateway.rest.params import error, int_query, json_response
from gateway.rest.perp import PerpRoutes, store_unavailable

__all__ = ["MAX_BOOK_DEPTH", "MAX_TRADES", "GuardedSite", "HttpServer", "serve"]

log = structlog.get_logger("gateway.rest")

MAX_BOOK_DEPTH = 1000
MAX_TRADES = 1000
_SIDE = {1: "buy", 2: "sell"}


class GuardedSite(web.BaseSite):
    """aiohttp's TCPSite, with each connection admitted by a ConnectionGuard at accept
    (a refused one never reaches aiohttp)."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        guard = self._guard
        self._server = await GuardedServer.listen(
            guard,
            lambda source: GuardedProtocol(guard, source, server()),
            self._host,
            self._port,
        )


async def serve(
    app: web.Application, listen: str, header_timeout_s: float, guard: ConnectionGuard
) -> tuple[web.AppRunner, int]:
    """Run app on listen behind guard: (its runner, the bound port)."""
    host, port = parse_listen(listen)
    # aiohttp's keep-alive timer runs from accept and from each answer and closes
    # a connection still waiting for a complete request: the header timeout.
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=header_timeout_s)
    await runner.setup()
    await GuardedSite(runner, host, port, guard).start()
    for address in runner.addresses:
        return runner, int(address[1])
    return runner, port


class HttpServer:
    """The HTTP component; `port` is the bound port once started."""

    name = "http"

    def __init__(
        self,
        config: Config,
        host: EngineHost,
        publisher: MarketDataPublisher,
        registry: Registry,
        ready: Callable[[], bool],
        readstore: ReadStore,
    ) -> None:
        self.config = config
        self.readstore = readstore
        self.host = host
        self.publisher = publisher
        self.registry = registry
        self.ready = ready
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.connection_guard = ConnectionGuard(
            "http", config.http.max_connections, config.http.max_connections_per_source, registry
        )
        app = web.Application()
        app[READSTORE] = self.readstore
        app.router.add_get("/health", self.health)
        app.router.add_get("/ready", self.readiness)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/api/v1/instruments", self.instruments)
        app.router.add_get("/api/v1/book/{symbol}", self.book)
        app.router.add_get("/api/v1/trades/{symbol}", self.trades)
        app.router.add_get("/api/v1/liabilities", self.liabilities)
        PerpRoutes(host, readstore).install(app)
        self.app = app

    @property
    def listening(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        http = self.config.http
        self._runner, self.port = await serve(
            self.app, http.listen, http.header_timeout_s, self.connection_guard
        )
        log.info("http.listening", host=parse_listen(http.listen)[0], port=self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- handlers

    async def health(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok", "seq": self.host.engine.last_seq})

    async def readiness(self, request: web.Request) -> web.Response:
        if self.ready():
            return json_response({"status": "ready", "seq": self.host.engine.last_seq})
        return json_response({"status": "starting"}, 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.registry.render().encode(),
            headers={"Content-Type": CONTENT_TYPE, "X-Content-Type-Options": "nosniff"},
        )

    async def instruments(self, request: web.Request) -> web.Response:
        return json_response({"instruments": instrument_list(self.host)})

    async def liabilities(self, request: web.Request) -> web.Response:
        """The newest published proof of liabilities (root, per-asset totals, seq), or
        the one at ``?seq=``: public, what each client checks its own proof against."""
        seq = int_query(request, "seq", 0, 2**62)
        if isinstance(seq, web.Response):
            return seq
        try:
            published = await latest(self.readstore, seq)
        except StoreUnavailable as exc:
            return store_unavailable(request, exc)
        if published is None:
            return error(404, "not_published", "no proof of liabilities is published yet")
        return json_response(published)

    async def book(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        book = self.publisher.book(symbol)
        if book is None:
            return error(404, "unknown_symbol", f"unknown symbol {symbol!r}")
        depth = int_query(request, "depth", 10, MAX_BOOK_DEPTH)
        if isinstance(depth, web.Response):
            return depth
        bids, asks = book.depth(depth)
        inst = book.instrument
        return json_response(
            {
                "symbol": symbol,
                "seq": book.seq,
                "ts_us": book.ts_us,
                "bids": levels_as_strings(inst, bids),
                "asks": levels_as_strings(inst, asks),
                "checksum": book.checksum(),
            }
        )

    async def trades(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        book = self.publisher.book(symbol)
        if book is None:
            return error(404, "unknown_symbol", f"unknown symbol {symbol!r}")
        limit = int_query(request, "limit", 100, MAX_TRADES)
        if isinstance(limit, web.Response):
            return limit
        inst = book.instrument
        recent = list(book.trades)[-limit:]
        recent.reverse()
        return json_response(
            {
                "symbol": symbol,
                "trades": [
                    {
                        "trade_id": t.trade_id,
                        "seq": t.seq,
                        "price": inst.ticks_to_price(t.price),
                        "quantity": inst.lots_to_qty(t.qty),
                        "taker_side": _SIDE[t.taker_side],
                        "ts_us": t.ts_us,
                    }
                    for t in recent
                ],
            }
        )
