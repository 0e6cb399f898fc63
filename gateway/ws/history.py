"""Client history (``orders.history``, ``fills.history``, ``ledger.history``): a page of
the follower's store, rendered in the API's decimal shapes.

The session (gateway/ws/protocol.py) parses the params and picks the account: the
caller's own, or one of its sub-accounts, never any other. This module reads the page
off the event loop and renders it. A ledger leg's ``contra`` is shown only when it is
a pseudo account (``@fees``, ``@external``) or the caller's own account family: a
trade's counterparty is nobody's business. REST serves the same methods through the
same session code (gateway/rest/client.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any, Final

from engine.model import Instrument, OrdType, Side, TimeInForce, units_to_decimal
from gateway.follower.history import BadQuery, Page, Query
from gateway.follower.liabilities_store import proof
from gateway.readstore import ReadStore
from gateway.ws.errors import ApiError, ErrorCode, close_reason_name, engine_error

__all__ = ["CATCH_UP_S", "HISTORY_METHODS", "ORDER_EVENTS", "Table", "client_proof", "read_page"]

#: the order state changes the orders table holds (its ``status`` filter)
ORDER_EVENTS: Final = ("accepted", "replaced", "canceled", "expired", "rejected", "restored")


class Table:
    """What one history method reads: its table, its filter param and that param's
    values (None = any), and whether it takes ``symbol``."""

    def __init__(
        self, name: str, filter_param: str, values: tuple[str, ...] | None, by_symbol: bool
    ) -> None:
        self.name = name
        self.filter_param = filter_param
        self.values = values
        self.by_symbol = by_symbol


HISTORY_METHODS: Final = {
    "orders.history": Table("orders", "status", ORDER_EVENTS, True),
    "fills.history": Table("fills", "liquidity", ("maker", "taker"), True),
    "ledger.history": Table("ledger", "asset", None, False),
}

#: how long a read waits for the follower to store the caller's earlier commands
CATCH_UP_S: Final = 2.0
_POLL_S: Final = 0.01

_SIDES: Final = {int(m): m.name.lower() for m in Side}
_TYPES: Final = {int(m): m.name.lower() for m in OrdType}
_TIFS: Final = {int(m): m.name.lower() for m in TimeInForce}

Lookup = Callable[[str], Instrument | None]


async def read_page(
    store: ReadStore,
    table: str,
    query: Query,
    family: Collection[str],
    instrument: Lookup,
    after: int = 0,
) -> dict[str, Any]:
    """One page of ``table`` for ``query.account``, with the seq it is complete up to:
    the position is read first, and rows are only ever appended, so every row up to
    ``as_of_seq`` is in this page or a later one. The read waits (at most
    :data:`CATCH_UP_S`) for the store to hold seq ``after``: the caller's own commands,
    answered before it asked, are in its history."""
    seq = await _position(store, after)
    try:
        if table == "orders":
            page: Page = await store.history.orders(query)
            rows = [_order(row, instrument) for row in page.rows]
        elif table == "fills":
            page = await store.history.fills(query)
            rows = [_fill(row, instrument) for row in page.rows]
        else:
            page = await store.history.ledger(query)
            rows = [_leg(row, family) for row in page.rows]
    except BadQuery as bad:
        raise ApiError(ErrorCode.INVALID_PARAMS, f"{table}.history: {bad}") from None
    return {table: rows, "next_cursor": page.next_cursor or None, "as_of_seq": seq}


async def _position(store: ReadStore, after: int) -> int:
    """The store's seq, once it is at least ``after`` or CATCH_UP_S has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_S
    seq, _ = await store.position()
    while seq < after and loop.time() < deadline:
        await asyncio.sleep(_POLL_S)
        seq, _ = await store.position()
    return seq


def _render(instrument: Lookup, symbol: str) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """(price, quantity) renderers of symbol; the store's integers if it is unknown."""
    inst = instrument(symbol)
    if inst is None:
        return str, str
    return inst.ticks_to_price, inst.lots_to_qty


def _order(row: dict[str, Any], instrument: Lookup) -> dict[str, Any]:
    price, qty = _render(instrument, row["symbol"])
    event = row["event"]
    shape: dict[str, Any] = {
        "seq": row["seq"],
        "event": event,
        "account": row["account"],
        "order_id": row["order_id"] or None,
        "client_order_id": row["client_order_id"],
        "symbol": row["symbol"],
        "ts_us": row["ts_us"],
    }
    if event == "rejected":
        error = engine_error(row["code"], row["text"])
        shape["error"] = {"code": error.code, "msg": error.msg}
        return shape
    shape.update(
        side=_SIDES.get(row["side"]),
        type=_TYPES.get(row["ord_type"]),
        time_in_force=_TIFS.get(row["tif"]),
        price=price(row["price"]) if row["price"] else None,
        quantity=qty(row["qty"]),
        remaining=qty(row["leaves"]),
        filled=qty(row["filled"]),
    )
    if event == "replaced":
        shape["orig_client_order_id"] = row["orig_client_order_id"]
        shape["priority_kept"] = bool(row["code"])
    elif event in ("canceled", "expired"):
        shape["reason"] = close_reason_name(row["code"])
    return shape


def _fill(row: dict[str, Any], instrument: Lookup) -> dict[str, Any]:
    price, qty = _render(instrument, row["symbol"])
    inst = instrument(row["symbol"])
    return {
        "seq": row["seq"],
        "trade_id": row["trade_id"],
        "account": row["account"],
        "order_id": row["order_id"],
        "client_order_id": row["client_order_id"],
        "symbol": row["symbol"],
        "side": _SIDES.get(row["side"]),
        "price": price(row["price"]),
        "quantity": qty(row["qty"]),
        "fee": units_to_decimal(row["fee"]),
        "fee_asset": inst.quote if inst is not None else None,
        "liquidity": row["liquidity"],
        "filled": qty(row["filled"]),
        "remaining": qty(row["leaves"]),
        "ts_us": row["ts_us"],
    }


def _leg(row: dict[str, Any], family: Collection[str]) -> dict[str, Any]:
    contra = row["contra"]
    return {
        "seq": row["seq"],
        "leg": row["leg"],
        "account": row["account"],
        "asset": row["asset"],
        "amount": units_to_decimal(row["amount"]),
        "balance": units_to_decimal(row["balance"]),
        "reason": row["reason"],
        "contra": contra if contra.startswith("@") or contra in family else None,
        "trade_id": row["trade_id"] or None,
        "ts_us": row["ts_us"],
    }


async def client_proof(store: ReadStore, account: str, seq: int) -> dict[str, Any]:
    """``liabilities.proof``: the account's inclusion proof (docs/LIABILITIES.md), as the
    standalone verifier reads it."""
    found = await proof(store, account, seq)
    if found is None:
        where = f"at seq {seq}" if seq else "yet"
        raise ApiError(
            ErrorCode.NOT_PUBLISHED, f"no proof of liabilities for {account!r} is published {where}"
        )
    return found
