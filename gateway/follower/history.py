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
        where: list[str] = []
        params: list[Any] = []
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
        if query.cursor:  # rows after the cursor's, in key order (a row value comparison;
            # seq >= bounds the range of an index that does not hold every key column)
            after = _parse_cursor(query.cursor, key)
            where.append(f"seq >= ? AND ({', '.join(key)}) > ({', '.join('?' * len(key))})")
            params += [after[0], *after]
        order = ", ".join(key)
        if table == "ledger" and not query.kind:
            found = await self._every_asset(query.account, columns, where, params, query.limit)
        else:
            sql = (
                f"SELECT {', '.join(columns)} FROM {table} "
                f"WHERE {' AND '.join(['account = ?', *where])} ORDER BY {order} LIMIT ?"
            )
            found = await self.store.fetch(sql, query.account, *params, query.limit + 1)
        rows = [dict(zip(columns, row, strict=True)) for row in found[: query.limit]]
        more = len(found) > query.limit
        next_cursor = ".".join(str(rows[-1][name]) for name in key) if more else ""
        return Page(rows, next_cursor)

    async def _every_asset(
        self,
        account: str,
        columns: tuple[str, ...],
        where: list[str],
        params: list[Any],
        limit: int,
    ) -> list[tuple[Any, ...]]:
        """A ledger page over all of an account's assets. The ledger is indexed by
        (account, asset, seq) only (one index fewer for every leg the follower writes),
        so the page is the merge of each asset's first rows in (seq, leg) order: one
        bounded index range per asset, whatever the account's history holds."""
        assets = [asset for (asset,) in await self.store.fetch(_ASSETS_OF, account, account)]
        if not assets:
            return []
        conditions = " AND ".join(["account = ?", "asset = ?", *where])
        part = (
            f"SELECT * FROM (SELECT {', '.join(columns)} FROM ledger WHERE {conditions} "
            "ORDER BY seq, leg LIMIT ?) AS p{}"
        )
        sql = " UNION ALL ".join(part.format(i) for i in range(len(assets)))
        args: list[Any] = []
        for asset in assets:
            args += [account, asset, *params, limit + 1]
        return await self.store.fetch(f"{sql} ORDER BY seq, leg LIMIT ?", *args, limit + 1)


#: the assets of an account's ledger legs, one index seek each (a skip scan of the
#: (account, asset, seq) index, which SQLite and PostgreSQL do not do by themselves)
_ASSETS_OF: Final = (
    "WITH RECURSIVE assets (asset) AS ("
    "SELECT MIN(asset) FROM ledger WHERE account = ? "
    "UNION ALL SELECT (SELECT MIN(asset) FROM ledger WHERE account = ? AND asset > assets.asset) "
    "FROM assets WHERE assets.asset IS NOT NULL"
    ") SELECT asset FROM assets WHERE asset IS NOT NULL"
)
