"""Perpetuals as the JSON edges show them (WS, REST, admin): one rendering each.

Prices are decimal strings on the perp's grid ("" = none yet), quantities signed
decimal strings of contracts (> 0 long, < 0 short), amounts decimal strings of the
quote asset, funding rates decimal strings (the engine's RATE_SCALE units, exact).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from engine.model import Instrument, units_to_decimal
from engine.perp.commands import RATE_SCALE
from engine.perp.state import Market, Position

__all__ = ["funding_view", "mark_view", "perp_view", "position_view", "rate_text"]

_SCALE: Final = Decimal(RATE_SCALE)


def rate_text(rate: int) -> str:
    """An integer rate in RATE_SCALE units as an exact decimal string ("0.0001")."""
    return format((Decimal(rate) / _SCALE).normalize(), "f")


def _price(inst: Instrument, ticks: Any) -> str:
    return inst.ticks_to_price(ticks) if isinstance(ticks, int) and ticks > 0 else ""


def _qty(inst: Instrument, lots: int) -> str:
    text = inst.lots_to_qty(abs(lots)) if lots else "0"
    return "-" + text if lots < 0 else text


def _amount(units: int) -> str:
    return "-" + units_to_decimal(-units) if units < 0 else units_to_decimal(units)


def perp_view(market: Market) -> dict[str, Any]:
    """A perpetual's grid and prices now."""
    inst = market.spec.instrument
    return {
        "symbol": market.symbol,
        "base": inst.base,
        "quote": inst.quote,
        "tick_size": str(inst.tick_size),
        "lot_size": str(inst.lot_size),
        "index_price": _price(inst, market.index),
        "index_ts_us": market.index_ts_us,
        "mark_price": _price(inst, market.mark),
        "funding_rate": rate_text(market.last_rate),
        "next_funding_us": market.next_funding_us,
        "insurance_fund": _amount(market.insurance),
        "reduce_only": market.reduce_only,
    }


def mark_view(inst: Instrument, data: dict[str, Any], ts_us: int) -> dict[str, Any]:
    """A ``perp.mark`` event (or the mark now); ``reduce_only`` with its ``reason``
    (``index_stale``, else "") says whether a stale index halts new risk."""
    reduce_only = bool(data.get("reduce_only", False))
    return {
        "symbol": inst.symbol,
        "mark_price": _price(inst, data.get("mark")),
        "index_price": _price(inst, data.get("index")),
        "last_price": _price(inst, data.get("last")),
        "funding_rate": rate_text(int(data.get("funding_rate", 0))),
        "next_funding_us": data.get("next_funding_us", 0),
        "reduce_only": reduce_only,
        "reason": "index_stale" if reduce_only else "",
        "ts_us": ts_us,
    }


def funding_view(inst: Instrument, data: dict[str, Any], ts_us: int) -> dict[str, Any]:
    """A ``perp.funding`` settlement: the rate, the mark it used, what moved."""
    return {
        "symbol": inst.symbol,
        "funding_rate": rate_text(int(data.get("rate", 0))),
        "mark_price": _price(inst, data.get("mark")),
        "longs_paid": _amount(int(data.get("longs_paid", 0))),
        "shorts_received": _amount(int(data.get("shorts_received", 0))),
        "to_insurance": _amount(int(data.get("to_insurance", 0))),
        "funding_us": data.get("funding_us", 0),
        "ts_us": ts_us,
    }


def position_view(inst: Instrument, data: dict[str, Any], mark: int = 0) -> dict[str, Any]:
    """A position (a ``perp.position`` event's data, or Position.data()); with the mark,
    its unrealized PnL at the mark: size x contract value x (mark - entry)."""
    size = int(data.get("size", 0))
    entry = int(data.get("entry_notional", 0))
    view = {
        "symbol": inst.symbol,
        "size": _qty(inst, size),
        "entry_notional": _amount(entry),
        "margin_mode": "isolated" if data.get("isolated") else "cross",
        "leverage": data.get("leverage", 0),
        "margin": _amount(int(data.get("margin", 0))),
        "realized_pnl": _amount(int(data.get("realized_pnl", 0))),
        "funding": _amount(int(data.get("funding", 0))),
    }
    if mark:
        notional = abs(size) * mark * inst.quote_per_tick_lot
        pnl = notional - entry if size > 0 else entry - notional if size < 0 else 0
        view["mark_price"] = inst.ticks_to_price(mark)
        view["unrealized_pnl"] = _amount(pnl)
    return view


def positions_of(markets: dict[str, Market], positions: list[Position]) -> list[dict[str, Any]]:
    """An account's positions, each with its market's mark."""
    out = []
    for pos in positions:
        market = markets[pos.symbol]
        out.append(position_view(market.spec.instrument, pos.data(), market.mark))
    return out
