"""Public REST routes of the perpetuals: mark, index, funding rate and insurance fund
now (from the engine), and the funding history (from the follower's store).

``GET /api/v1/perps``, ``GET /api/v1/perps/{symbol}``,
``GET /api/v1/perps/{symbol}/funding?limit=`` (newest first). An account's positions
are the signed ``GET /api/v1/positions`` (gateway/rest/client.py).
"""

from __future__ import annotations

from typing import Final

import orjson
import structlog
from aiohttp import web

from gateway.host import EngineHost
from gateway.perp_views import funding_view, perp_view
from gateway.readstore import ReadStore, StoreUnavailable
from gateway.rest.params import error, int_query, json_response

__all__ = ["MAX_FUNDING", "PerpRoutes", "store_unavailable"]

log = structlog.get_logger("gateway.rest")

MAX_FUNDING: Final = 1000
_FUNDING_SQL: Final = (
    "SELECT data, ts_us FROM venue_events WHERE subject = ? AND kind = 'perp.funding' "
    "ORDER BY seq DESC, idx DESC LIMIT ?"
)


def store_unavailable(request: web.Request, exc: StoreUnavailable) -> web.Response:
    """The public 503: why goes to the log only (it names the server's files, hosts
    and tables), as on the WS edge."""
    log.warning("rest.store_unavailable", path=request.path, error=str(exc))
    return error(503, "store_unavailable", "history store unavailable: retry later")


class PerpRoutes:
    def __init__(self, host: EngineHost, readstore: ReadStore) -> None:
        self.host = host
        self.readstore = readstore

    def install(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/perps", self.perps)
        app.router.add_get("/api/v1/perps/{symbol}", self.perp)
        app.router.add_get("/api/v1/perps/{symbol}/funding", self.funding)

    async def perps(self, request: web.Request) -> web.Response:
        markets = self.host.engine.perps.markets
        return json_response({"perps": [perp_view(m) for m in markets.values()]})

    async def perp(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        market = self.host.engine.perps.markets.get(symbol)
        if market is None:
            return error(404, "unknown_symbol", f"unknown perpetual {symbol!r}")
        return json_response(perp_view(market))

    async def funding(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        market = self.host.engine.perps.markets.get(symbol)
        if market is None:
            return error(404, "unknown_symbol", f"unknown perpetual {symbol!r}")
        limit = int_query(request, "limit", 100, MAX_FUNDING)
        if isinstance(limit, web.Response):
            return limit
        try:
            rows = await self.readstore.fetch(_FUNDING_SQL, symbol, limit)
        except StoreUnavailable as exc:
            return store_unavailable(request, exc)
        inst = market.spec.instrument
        return json_response(
            {
                "symbol": symbol,
                "funding": [funding_view(inst, orjson.loads(data), ts) for data, ts in rows],
            }
        )
