"""Canonical engine state: to JSON-ready data (snapshots, state hash) and back.

Orders are listed per book side in priority order (best level first, oldest first),
so restoring them by appending rebuilds identical queues.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from engine.book import Order
from engine.model import Instrument, TimeInForce, TradingStatus, units_to_decimal
from engine.risk import Account, Balance

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = ["engine_state", "restore_state"]

_ORDER_FIELDS: Final = (
    "order_id",
    "account",
    "symbol",
    "side",
    "ord_type",
    "price",
    "qty",
    "leaves",
    "filled",
    "notional",
    "tif",
    "client_order_id",
    "stp",
    "post_only",
    "expire_ts_us",
    "quote_qty",
    "hold",
)


def engine_state(engine: Engine) -> dict[str, Any]:
    listings = {}
    for symbol, listing in engine.listings.items():
        inst = listing.instrument
        book = listing.book
        listings[symbol] = {
            "instrument": [
                inst.base,
                inst.quote,
                str(inst.tick_size),
                str(inst.lot_size),
                str(inst.min_qty * inst.lot_size),
                units_to_decimal(inst.min_notional),
                str(inst.collar_pct),
            ],
            "status": int(listing.status),
            "md_seq": book.md_seq,
            "last_price": book.last_price,
            "bids": [_order(o) for lvl in book.bids.iter_levels() for o in lvl],
            "asks": [_order(o) for lvl in book.asks.iter_levels() for o in lvl],
        }
    accounts = {}
    for account_id, acct in engine.accounts.items():
        accounts[account_id] = {
            "settings": [
                acct.enabled,
                acct.stp,
                acct.maker_fee_ppm,
                acct.taker_fee_ppm,
                acct.max_order_qty,
                acct.max_order_notional,
                acct.max_open_orders,
            ],
            "balances": {a: [b.total, b.held] for a, b in acct.balances.items()},
            "open_orders": acct.open_orders,
            "recent_client_ids": list(acct.recent_client_ids),
        }
        if acct.fee_volume:
            accounts[account_id]["fee_volume"] = acct.fee_volume
    state: dict[str, Any] = {
        "last_seq": engine.last_seq,
        "last_ts_us": engine.last_ts_us,
        "halted": engine.halted,
        "trade_id": engine.trade_id,
        "fees": engine.fees,
        "listings": listings,
        "accounts": accounts,
        "venue": {
            "tenancy": engine.tenancy.to_state(),
            "credentials": engine.credentials.to_state(),
            "fees": engine.fee_book.to_state(),
            "funds": engine.funds.to_state(),
            "operators": engine.operators.to_state(),
        },
    }
    if engine.reviews.states:  # absent until an alert is reviewed: older hashes hold
        state["venue"]["reviews"] = engine.reviews.to_state()
    if engine.perps.markets:  # absent without perpetuals: older snapshots keep their hash
        state["perp"] = engine.perps.to_state()
    return state


def _order(order: Order) -> list[Any]:
    return [getattr(order, name) for name in _ORDER_FIELDS]


def restore_state(engine: Engine, state: dict[str, Any]) -> None:
    """Load state into a fresh engine (its sequencer resumes after last_seq)."""
    from engine.core import Listing

    engine.last_seq = state["last_seq"]
    engine.last_ts_us = state["last_ts_us"]
    engine.sequencer.resume(engine.last_seq, engine.last_ts_us)
    engine.halted = state["halted"]
    engine.trade_id = state["trade_id"]
    engine.fees = dict(state["fees"])
    # Accounts are restored in the saved order (dicts keep insertion order), which
    # keeps later iteration, and so the state hash, identical.
    for account_id, data in state["accounts"].items():
        enabled, stp, maker, taker, max_qty, max_notional, max_open = data["settings"]
        acct = Account(account_id, stp, maker, taker, max_qty, max_notional, max_open)
        acct.enabled = enabled
        acct.balances = {a: Balance(t, h) for a, (t, h) in data["balances"].items()}
        acct.open_orders = data["open_orders"]
        acct.recent_client_ids = deque(data["recent_client_ids"])
        acct.recent_client_set = set(acct.recent_client_ids)
        acct.fee_volume = data.get("fee_volume", 0)
        engine.accounts[account_id] = acct
    restored: list[Order] = []
    for symbol, data in state["listings"].items():
        base, quote, tick, lot, min_qty, min_notional, collar = data["instrument"]
        inst = Instrument.from_decimals(
            symbol, base, quote, tick, lot, min_qty, min_notional, collar
        )
        listing = Listing(inst)
        listing.status = TradingStatus(data["status"])
        listing.book.md_seq = data["md_seq"]
        listing.book.last_price = data["last_price"]
        engine.listings[symbol] = listing
        for key in ("bids", "asks"):
            for row in data[key]:
                order = _make_order(row)
                listing.book.side(order.side).add(order)
                restored.append(order)
    venue = state.get("venue", {})
    engine.tenancy.from_state(venue.get("tenancy", {}))
    engine.credentials.from_state(venue.get("credentials", {}))
    engine.fee_book.from_state(venue.get("fees", {}))
    engine.funds.from_state(venue.get("funds", {}))
    engine.operators.from_state(venue.get("operators", {}))
    engine.reviews.from_state(venue.get("reviews", {}))
    engine.perps.from_state(state.get("perp", {}))
    # The order index is insertion-ordered by order id (ids grow with seq).
    for order in sorted(restored, key=lambda o: o.order_id):
        engine.orders[order.order_id] = order
        acct = engine.accounts[order.account]
        if order.client_order_id:
            acct.live_client_ids[order.client_order_id] = order.order_id
        if order.expire_ts_us and order.tif == TimeInForce.GTD:
            heapq.heappush(engine._gtd, (order.expire_ts_us, order.order_id))


def _make_order(row: list[Any]) -> Order:
    values = dict(zip(_ORDER_FIELDS, row, strict=True))
    order = Order(
        values["order_id"],
        values["account"],
        values["symbol"],
        values["side"],
        values["ord_type"],
        values["price"],
        values["qty"],
        values["tif"],
        values["client_order_id"],
        values["stp"],
        values["post_only"],
        values["expire_ts_us"],
        values["quote_qty"],
    )
    order.leaves = values["leaves"]
    order.filled = values["filled"]
    order.notional = values["notional"]
    order.hold = values["hold"]
    return order
