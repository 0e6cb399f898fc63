"""Canonical engine state: to JSON-ready data (snapshots, state hash) and back.

Orders are listed per book side in priority order (best level first, oldest first),
so restoring them by appending rebuilds identical queues.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final, Protocol

from engine.book import Listing, Order
from engine.model import Instrument, TradingStatus, units_to_decimal
from engine.risk import Account, Balance

__all__ = [
    "FeesPart",
    "PerpPart",
    "ReviewsPart",
    "Snapshottable",
    "VenuePart",
    "accounts_from_state",
    "engine_state",
    "listings_from_state",
    "restore_state",
]


class VenuePart(Protocol):
    """One operator-side state object (engine/venue): it stores and loads itself."""

    def to_state(self) -> Any: ...

    def from_state(self, state: Any) -> None: ...


class PerpPart(VenuePart, Protocol):
    """The perpetual swaps' state (engine/perp), stored only once a perp is listed."""

    @property
    def markets(self) -> Mapping[str, object]: ...


class FeesPart(VenuePart, Protocol):
    """The fee book (engine/venue/fees): the rates an account pays, resolved or not yet."""

    def rates(self, account_id: str, account: Account) -> tuple[int, int, int]: ...


class ReviewsPart(VenuePart, Protocol):
    """Surveillance alert reviews (engine/venue/reviews), stored once one exists."""

    @property
    def states(self) -> Mapping[str, object]: ...


class SessionsPart(VenuePart, Protocol):
    """Open client sessions (engine/venue/sessions), stored while any is open."""

    @property
    def open(self) -> Mapping[int, object]: ...


class Snapshottable(Protocol):
    """What a snapshot reads of an engine, and the public hook that loads one.

    A Protocol, so that this module needs nothing above it: the engine imports it."""

    @property
    def last_seq(self) -> int: ...
    @property
    def last_ts_us(self) -> int: ...
    @property
    def halted(self) -> bool: ...
    @property
    def trade_id(self) -> int: ...
    @property
    def fees(self) -> dict[str, int]: ...
    @property
    def listings(self) -> dict[str, Listing]: ...
    @property
    def accounts(self) -> dict[str, Account]: ...
    @property
    def tenancy(self) -> VenuePart: ...
    @property
    def credentials(self) -> VenuePart: ...
    @property
    def fee_book(self) -> FeesPart: ...
    @property
    def funds(self) -> VenuePart: ...
    @property
    def operators(self) -> VenuePart: ...
    @property
    def reviews(self) -> ReviewsPart: ...
    @property
    def perps(self) -> PerpPart: ...
    @property
    def sessions(self) -> SessionsPart: ...

    def restore(self, state: dict[str, Any]) -> None: ...


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


def engine_state(engine: Snapshottable) -> dict[str, Any]:
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
    fee_book = engine.fee_book
    for account_id, acct in engine.accounts.items():
        maker, taker, _ = fee_book.rates(account_id, acct)  # resolved lazily or not
        accounts[account_id] = {
            "settings": [
                acct.enabled,
                acct.stp,
                maker,
                taker,
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
    if engine.sessions.open:  # absent when none is open, for the same reason
        state["sessions"] = engine.sessions.to_state()
    return state


def _order(order: Order) -> list[Any]:
    """The order's row; a reduce-only order's ends with True (the flag is appended
    only when set, so that snapshots and hashes from before it stay valid)."""
    row = [getattr(order, name) for name in _ORDER_FIELDS]
    if order.reduce_only:
        row.append(True)
    return row


def restore_state(engine: Snapshottable, state: dict[str, Any]) -> None:
    """Load state into a fresh engine (its sequencer resumes after last_seq)."""
    engine.restore(state)


def accounts_from_state(accounts: dict[str, Any]) -> list[Account]:
    """The saved accounts, in the saved order (dicts keep insertion order), which keeps
    later iteration, and so the state hash, identical."""
    restored = []
    for account_id, data in accounts.items():
        enabled, stp, maker, taker, max_qty, max_notional, max_open = data["settings"]
        acct = Account(account_id, stp, maker, taker, max_qty, max_notional, max_open)
        acct.enabled = enabled
        acct.balances = {a: Balance(t, h) for a, (t, h) in data["balances"].items()}
        acct.open_orders = data["open_orders"]
        acct.recent_client_ids = deque(data["recent_client_ids"])
        acct.recent_client_set = set(acct.recent_client_ids)
        acct.fee_volume = data.get("fee_volume", 0)
        restored.append(acct)
    return restored


def listings_from_state(listings: dict[str, Any]) -> tuple[list[Listing], list[Order]]:
    """The saved listings with their books rebuilt, and their live orders by order id
    (the engine's order index is insertion-ordered by id: ids grow with seq)."""
    restored: list[Listing] = []
    orders: list[Order] = []
    for symbol, data in listings.items():
        base, quote, tick, lot, min_qty, min_notional, collar = data["instrument"]
        inst = Instrument.from_decimals(
            symbol, base, quote, tick, lot, min_qty, min_notional, collar
        )
        listing = Listing(inst)
        listing.status = TradingStatus(data["status"])
        listing.book.md_seq = data["md_seq"]
        listing.book.last_price = data["last_price"]
        restored.append(listing)
        for key in ("bids", "asks"):
            for row in data[key]:
                order = _make_order(row)
                listing.book.side(order.side).add(order)
                orders.append(order)
    orders.sort(key=lambda o: o.order_id)
    return restored, orders


def _make_order(row: list[Any]) -> Order:
    count = len(_ORDER_FIELDS)
    values = dict(zip(_ORDER_FIELDS, row[:count], strict=True))
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
    order.reduce_only = bool(row[count]) if len(row) > count else False
    return order
