"""The perp-edges lane's routes: list perpetuals, and the price feeder's index.

``POST /perp/index`` is what ``python -m gateway.pricefeed`` calls each round: the
index becomes a journaled ``SetIndexPrice`` (so replay is exact), and a price off the
perp's tick grid is refused, never rounded (the feeder rounds, by its documented
rule, before it sends).
"""

from __future__ import annotations

from typing import Any, Final

from engine.model import GridError
from engine.perp.commands import AddPerpInstrument, SetIndexPrice
from gateway.admin.problems import Problem
from gateway.admin.routes import OPS, STAFF, VENUE_ADMIN, Call, Outcome, Route
from gateway.admin.schema import DECIMAL, ID, obj
from gateway.perp_views import perp_view

__all__ = ["ROUTES"]

_INT: Final = {"type": "integer", "minimum": 0}
_TEXT: Final = {"type": "string", "maxLength": 1024}


async def list_perps(call: Call) -> dict[str, Any]:
    return {"perps": [perp_view(m) for m in call.host.engine.perps.markets.values()]}


async def add_perp(call: Call) -> Outcome:
    return await call.submit(AddPerpInstrument(**call.body))


async def set_index(call: Call) -> Outcome:
    symbol, text = call.body["symbol"], call.body["price"]
    market = call.host.engine.perps.markets.get(symbol)
    if market is None:
        raise Problem("unknown-object", f"no perpetual {symbol!r}")
    try:
        ticks = market.spec.instrument.price_to_ticks(text)
    except GridError as exc:
        raise Problem("invalid-request", f"price: {exc}") from None
    return await call.submit(SetIndexPrice(symbol, ticks))


_PERP: Final = obj(
    ["symbol", "base", "quote", "tick_size", "lot_size", "index_price", "index_ts_us",
     "mark_price", "funding_rate", "next_funding_us", "insurance_fund", "reduce_only"],
    symbol={"type": "string"}, base={"type": "string"}, quote={"type": "string"},
    tick_size={"type": "string"}, lot_size={"type": "string"},
    index_price={"type": "string"}, index_ts_us={"type": "integer"},
    mark_price={"type": "string"}, funding_rate={"type": "string"},
    next_funding_us={"type": "integer"}, insurance_fund={"type": "string"},
    reduce_only={"type": "boolean"},
)  # fmt: skip

# fmt: off
ROUTES: Final = [
    Route(
        "GET",
        "/perps",
        list_perps,
        roles=STAFF,
        summary="Perpetuals: grid, index and mark prices, next funding, reduce-only halt",
        response=obj(["perps"], perps={"type": "array", "items": _PERP}),
        cli="perps",
    ),
    Route(
        "POST",
        "/perps",
        add_perp,
        roles=frozenset({VENUE_ADMIN}),
        summary="List a linear perpetual (engine/perp/commands.py AddPerpInstrument)",
        request=obj(
            ["symbol", "base", "quote", "tick_size", "lot_size"],
            symbol=ID,
            base=ID,
            quote=ID,
            tick_size=DECIMAL,
            lot_size=DECIMAL,
            contract_size=DECIMAL,
            min_qty=DECIMAL,
            max_leverage=_INT,
            tiers=_TEXT,
            funding_interval_s=_INT,
            interest_rate=DECIMAL,
            funding_cap=DECIMAL,
            funding_clamp=DECIMAL,
            impact_notional=DECIMAL,
            liquidation_fee_rate=DECIMAL,
            premium_sample_s=_INT,
            mark_window=_INT,
            index_stale_s=_INT,
            liquidation_slice_lots=_INT,
            insurance_max_notional=DECIMAL,
        ),
        cli="add-perp",
    ),
    Route(
        "POST",
        "/perp/index",
        set_index,
        roles=frozenset({VENUE_ADMIN, OPS}),
        summary="The price feeder's index price of a perpetual (journaled SetIndexPrice)",
        request=obj(["symbol", "price"], symbol=ID, price=DECIMAL),
        cli="set-index",
    ),
]
# fmt: on
