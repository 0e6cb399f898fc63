"""History queries over the store: one account's orders, fills or ledger legs, a page
at a time, oldest first, with filters and a cursor.

The cursor names the last row returned (its seq and index), so paging is stable while
the follower appends: a page never repeats or skips a row, whatever was written since.
Every query is scoped to one account; the edge that serves it decides which account
the caller may read. Values are the store's integers (ticks, lots, asset units); the
edge renders them as decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from gateway.decimals import ascii_int
from gateway.follower.store import Reader

__all__ = ["MAX_LIMIT", "BadQuery", "History", "Page", "Query"]

MAX_LIMIT: Final = 1000

#: per table: its key (the page order) and the columns a page returns
_TABLES: Final = {
    "orders": (
        ("seq", "idx"),
        ("seq", "idx", "event", "order_id", "account", "symbol", "client_order_id",
         "orig_client_order_id", "side", "ord_type", "tif", "price", "qty", "leaves", "filled",
         "notional", "code", "text", "request", "ts_us"),
    ),
    "fills": (
        ("seq", "idx", "liquidity"),
        ("seq", "idx", "trade_id", "liquidity", "symbol", "order_id", "account",
         "client_order_id", "side", "price", "qty", "fee", "filled", "notional", "leaves",
         "ts_us"),
    ),
    "ledger": (
        ("seq", "leg"),
        ("seq", "leg", "account", "asset", "amount", "balance", "reason", "contra", "trade_id",
         "ts_us"),
    ),
}  # fmt: skip

#: the optional equality filter of each table: orders by event, ledger by asset
_FILTER: Final = {"orders": "event", "fills": "liquidity", "ledger": "asset"}


class BadQuery(ValueError):
    """A parameter out of range or a cursor this module did not make."""


@dataclass(frozen=True)
class Query:
    account: str
    symbol: str = ""  # orders and fills
    kind: str = ""  # orders: event; fills: liquidity; ledger: asset
    from_us: int = 0  # ts_us >= from_us
    to_us: int = 0  # ts_us < to_us (0 = no bound)
    cursor: str = ""  # next_cursor of the previous page
    limit: int = 100


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str  # "" when this page is the last one so far


def _parse_cursor(cursor: str, key: tuple[str, ...]) -> list[Any]:
    parts = cursor.split(".")
    if len(parts) != len(key):
        raise BadQuery("cursor: not a cursor from a previous page")
    values: list[Any] = []
    for name, part in zip(key, parts, strict=True):
        if name == "liquidity":
            if part not in ("maker", "taker"):
                raise BadQuery("cursor: not a cursor from a previous page")
            values.append(part)
        elif (number := ascii_int(part)) is not None:
            values.append(number)
        else:
            raise BadQuery("cursor: not a cursor from a previous page")
    return values


class History:
    def __init__(self, store: Reader) -> None:
        self.store = store

    async def orders(self, query: Query) -> Page:
        return await self._page("orders", query)

    async def fills(self, query: Query) -> Page:
        return await self._page("fills", query)

    async def ledger(self, query: Query) -> Page:
        if query.symbol:
            raise BadQuery("symbol: the ledger is by asset (kind)")
        return await self._page("ledger", query)

    async def _page(self, table: str, query: Query) -> Page:
        if not 1 <= query.limit <= MAX_LIMIT:
            raise BadQuery(f"limit: expected 1..{MAX_LIMIT}")
        if query.from_us < 0 or query.to_us < 0:
            raise BadQuery("from/to: expected microseconds since the epoch")
        key, columns = _TABLES[table]
        where = ["account = ?"]
        params: list[Any] = [query.account]
        if query.symbol:
            where.append("symbol = ?")
            params.append(query.symbol)
        if query.kind:
            where.append(f"{_FILTER[table]} = ?")
            params.append(query.kind)
        if query.from_us:
            where.append("ts_us >= ?")
            params.append(query.from_us)
        if query.to_us:
            where.append("ts_us < ?")
            params.append(query.to_us)
        if query.cursor:  # rows after the cursor's, in key order (a row value comparison)
            after = _parse_cursor(query.cursor, key)
            where.append(f"({', '.join(key)}) > ({', '.join('?' * len(key))})")
            params += after
        sql = (
            f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(where)} "
            f"ORDER BY {', '.join(key)} LIMIT ?"
        )
        found = await self.store.fetch(sql, *params, query.limit + 1)
        rows = [dict(zip(columns, row, strict=True)) for row in found[: query.limit]]
        more = len(found) > query.limit
        next_cursor = ".".join(str(rows[-1][name]) for name in key) if more else ""
        return Page(rows, next_cursor)
