"""Operator reports over the store, streamed: account statements, the trade blotter, fee
revenue per tenant and venue, and the order and trade export for regulators.

Each report is an async iterator of rows (dicts with the report's columns, in the
order of its ``*_COLUMNS``), read from the store a page at a time by key (seq, idx):
a report over years holds one page in memory, never the range. Amounts are decimal
strings, prices and quantities too (through the instrument); timestamps are µs since
the epoch (``ts_us``) and the same instant as ISO 8601 UTC with six decimals
(``time``). docs/REPORTS.md documents every column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Container, Mapping
from typing import Any, Final, Protocol

from engine.model import Instrument, OrdType, Side, TimeInForce, units_to_decimal
from gateway.follower.rows import FEES

__all__ = [
    "BLOTTER_COLUMNS",
    "EXPORT_COLUMNS",
    "EXPORT_SCHEMA",
    "FEE_COLUMNS",
    "PAGE",
    "STATEMENT_COLUMNS",
    "Reader",
    "blotter",
    "day_range",
    "fee_revenue",
    "first_seq_at",
    "iso_us",
    "keyset",
    "regulator_export",
    "statement",
]

#: rows fetched per query while streaming
PAGE: Final = 1000
#: no upper time bound
_END: Final = 1 << 62

STATEMENT_COLUMNS: Final = (
    "account", "asset", "line", "seq", "leg", "ts_us", "time", "reason", "contra", "trade_id",
    "amount", "balance",
)  # fmt: skip
BLOTTER_COLUMNS: Final = (
    "seq", "idx", "trade_id", "ts_us", "time", "symbol", "price", "qty", "notional",
    "fee_asset", "aggressor_side", "buyer_account", "seller_account", "maker_account",
    "maker_order_id", "maker_client_order_id", "maker_fee", "taker_account", "taker_order_id",
    "taker_client_order_id", "taker_fee",
)  # fmt: skip
FEE_COLUMNS: Final = (
    "party", "tenant", "revenue_account", "asset", "fees_charged", "rebates_paid", "revenue",
)  # fmt: skip
#: the regulator export's schema name; a change of columns is a new version
EXPORT_SCHEMA: Final = "venue-order-trade-export/1"
EXPORT_COLUMNS: Final = (
    "record", "seq", "idx", "ts_us", "time", "symbol", "account", "tenant", "order_id",
    "client_order_id", "orig_client_order_id", "event", "side", "ord_type", "tif", "price",
    "qty", "leaves", "filled", "trade_id", "liquidity", "counterparty_account", "fee",
    "fee_asset", "reason_code", "text", "origin",
)  # fmt: skip

Row = dict[str, Any]


class Reader(Protocol):
    """What reports need of a store: the follower's Store or the gateway's ReadStore."""

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...


def iso_us(ts_us: int) -> str:
    """µs since the epoch as ISO 8601 UTC with six decimals (2026-12-03T15:55:17.000123Z)."""
    seconds, micros = divmod(ts_us, 1_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{micros:06d}Z"


def day_range(day: str) -> tuple[int, int]:
    """A UTC day (YYYY-MM-DD) as [from_us, to_us); ValueError if it is not one."""
    start = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    from_us = int(start.timestamp()) * 1_000_000
    return from_us, from_us + 86_400 * 1_000_000


async def keyset(
    store: Reader,
    select: str,
    where: list[str],
    params: list[Any],
    key: tuple[str, ...],
    page: int = 0,
    grouped: bool = False,
) -> AsyncIterator[tuple[Any, ...]]:
    """Every row of ``select`` (whose first columns are ``key``) in key order, fetched
    ``page`` (default PAGE) rows at a time after the last key seen: stable while the
    follower appends.
    ``grouped``: the rows are aggregates GROUP BY ``key``."""
    page = page or PAGE
    after: list[Any] = []
    width = len(key)
    while True:
        clauses, args = list(where), list(params)
        if after:
            clauses.append(f"({', '.join(key)}) > ({', '.join('?' * width)})")
            args += after
        sql = (
            f"{select} WHERE {' AND '.join(clauses) or '1 = 1'} "
            f"{'GROUP BY ' + ', '.join(key) if grouped else ''} ORDER BY {', '.join(key)} LIMIT ?"
        )
        rows = await store.fetch(sql, *args, page)
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = list(rows[-1][:width])


def _upper(to_us: int) -> int:
    return to_us or _END


# ---------------------------------------------------------------- statements


async def statement(store: Reader, account: str, from_us: int, to_us: int) -> AsyncIterator[Row]:
    """One account's statement over [from_us, to_us), per asset: the opening balance
    (the running balance before from_us), every ledger movement, the closing balance."""
    where, params = await _window(store, "ledger", "ledger", from_us, to_us)
    start = params[0]  # the range's first seq: the opening balance is the one before it
    assets = await store.fetch(
        "SELECT DISTINCT asset FROM ledger WHERE account = ? AND ts_us < ? ORDER BY asset",
        account,
        _upper(to_us),
    )
    for (asset,) in assets:
        found = await store.fetch(
            "SELECT balance FROM ledger WHERE account = ? AND asset = ? AND seq < ? "
            "ORDER BY seq DESC, leg DESC LIMIT 1",
            account,
            asset,
            start,
        )
        opening = int(found[0][0]) if found else 0
        balance = opening
        moved = False
        movements = keyset(
            store,
            "SELECT seq, leg, ts_us, amount, reason, contra, trade_id FROM ledger",
            ["account = ?", "asset = ?", *where],
            [account, asset, *params],
            ("seq", "leg"),
        )
        async for seq, leg, ts_us, amount, reason, contra, trade_id in movements:
            if not moved:
                moved = True
                yield _balance_line(account, asset, "opening", opening)
            balance += amount
            yield {
                "account": account, "asset": asset, "line": "movement", "seq": seq,
                "leg": leg, "ts_us": ts_us, "time": iso_us(ts_us), "reason": reason,
                "contra": contra, "trade_id": trade_id or None,
                "amount": units_to_decimal(amount), "balance": units_to_decimal(balance),
            }  # fmt: skip
        if not moved and not opening:
            continue  # nothing held and nothing moved: the asset is not on the statement
        if not moved:
            yield _balance_line(account, asset, "opening", opening)
        yield _balance_line(account, asset, "closing", balance)


def _balance_line(account: str, asset: str, line: str, balance: int) -> Row:
    row: Row = dict.fromkeys(STATEMENT_COLUMNS)
    row.update(account=account, asset=asset, line=line, balance=units_to_decimal(balance))
    return row


# ---------------------------------------------------------------- trade blotter


def _price(instruments: Mapping[str, Instrument], symbol: str, ticks: int) -> str:
    inst = instruments.get(symbol)
    return inst.ticks_to_price(ticks) if inst is not None else str(ticks)


def _qty(instruments: Mapping[str, Instrument], symbol: str, lots: int) -> str:
    inst = instruments.get(symbol)
    return inst.lots_to_qty(lots) if inst is not None else str(lots)


def _quote(instruments: Mapping[str, Instrument], symbol: str) -> str:
    inst = instruments.get(symbol)
    return inst.quote if inst is not None else ""


def _name(enum: Any, value: int) -> str:
    try:
        return str(enum(value).name.lower())
    except ValueError:
        return "" if not value else str(value)


async def first_seq_at(store: Reader, table: str, ts_us: int) -> int:
    """A seq that splits ``table`` at ts_us: its rows from that seq on are exactly those
    at or after ts_us. Time never goes back as seq goes up (the sequencer's rule), so a
    binary search over the primary key finds it in a few dozen index lookups, and a
    time range becomes a key range: a day's report reads that day's rows only."""
    found = await store.fetch(f"SELECT MAX(seq) FROM {table}")
    lo, hi = 0, int(found[0][0] or 0) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = await store.fetch(
            f"SELECT ts_us FROM {table} WHERE seq >= ? ORDER BY seq LIMIT 1", mid
        )
        if not row or row[0][0] >= ts_us:
            hi = mid
        else:
            lo = mid + 1
    return lo


async def _window(
    store: Reader, table: str, alias: str, from_us: int, to_us: int, symbol: str = ""
) -> tuple[list[str], list[Any]]:
    """The WHERE terms of a time range (and symbol) over ``table`` as ``alias``."""
    where = [f"{alias}.seq >= ?", f"{alias}.ts_us >= ?", f"{alias}.ts_us < ?"]
    params: list[Any] = [await first_seq_at(store, table, from_us) if from_us else 0, from_us,
                         _upper(to_us)]  # fmt: skip
    if to_us:
        where.append(f"{alias}.seq < ?")
        params.append(await first_seq_at(store, table, to_us))
    if symbol:
        where.append(f"{alias}.symbol = ?")
        params.append(symbol)
    return where, params


def _fee(units: int | None) -> str:
    return "" if units is None else units_to_decimal(units)


async def blotter(
    store: Reader,
    instruments: Mapping[str, Instrument],
    from_us: int,
    to_us: int,
    symbol: str = "",
    accounts: Container[str] | None = None,
    shown: Container[str] | None = None,
) -> AsyncIterator[Row]:
    """Every trade in [from_us, to_us), one row each, in seq order; with ``accounts``,
    only trades with a side in them (a tenant's blotter). With ``shown``, a side whose
    account is not in it has its account, order ids and fee left empty: a tenant sees
    that its account traded, never with whom."""
    where, params = await _window(store, "fills", "m", from_us, to_us, symbol)
    rows = keyset(
        store,
        "SELECT m.seq, m.idx, m.trade_id, m.ts_us, m.symbol, m.price, m.qty, t.side, "
        "m.account, m.order_id, m.client_order_id, m.fee, t.account, t.order_id, "
        "t.client_order_id, t.fee FROM fills m JOIN fills t ON t.seq = m.seq "
        "AND t.idx = m.idx AND t.liquidity = 'taker'",
        ["m.liquidity = 'maker'", *where],
        params,
        ("m.seq", "m.idx"),
    )
    async for (seq, idx, trade_id, ts_us, sym, price, qty, taker_side, maker, maker_order,
               maker_cl, maker_fee, taker, taker_order, taker_cl, taker_fee) in rows:  # fmt: skip
        if accounts is not None and maker not in accounts and taker not in accounts:
            continue
        if shown is not None and maker not in shown:
            maker, maker_order, maker_cl, maker_fee = "", "", "", None
        if shown is not None and taker not in shown:
            taker, taker_order, taker_cl, taker_fee = "", "", "", None
        inst = instruments.get(sym)
        notional = inst.notional(price, qty) if inst is not None else 0
        buyer, seller = (taker, maker) if taker_side == Side.BUY else (maker, taker)
        yield {
            "seq": seq, "idx": idx, "trade_id": trade_id, "ts_us": ts_us,
            "time": iso_us(ts_us), "symbol": sym, "price": _price(instruments, sym, price),
            "qty": _qty(instruments, sym, qty), "notional": units_to_decimal(notional),
            "fee_asset": _quote(instruments, sym), "aggressor_side": _name(Side, taker_side),
            "buyer_account": buyer, "seller_account": seller, "maker_account": maker,
            "maker_order_id": maker_order, "maker_client_order_id": maker_cl,
            "maker_fee": _fee(maker_fee), "taker_account": taker,
            "taker_order_id": taker_order, "taker_client_order_id": taker_cl,
            "taker_fee": _fee(taker_fee),
        }  # fmt: skip


# ---------------------------------------------------------------- fee revenue


async def fee_revenue(
    store: Reader,
    from_us: int,
    to_us: int,
    venue_account: str,
    tenant_accounts: Mapping[str, str],
    tenant_of: Callable[[str], str],
) -> AsyncIterator[Row]:
    """Fees over [from_us, to_us) per asset: for the venue (every fee charged, every
    rebate paid, what its revenue account received), for each tenant (what its
    accounts were charged and got back, what its revenue account received: the
    markup), and ``unallocated`` (what stayed in ``@fees``: no revenue account yet).

    ``tenant_accounts`` maps each tenant to its revenue account, ``tenant_of`` an
    account to its tenant ("" for none)."""
    charged: dict[tuple[str, str], int] = {}
    rebates: dict[tuple[str, str], int] = {}
    revenue: dict[tuple[str, str], int] = {}
    where, params = await _window(store, "ledger", "ledger", from_us, to_us)
    window, bounds = ["contra = ?", *where], [FEES, *params]
    # Credits from @fees outside a trade's own legs (trade_id 0) go to revenue accounts.
    for account, asset, total in await store.fetch(
        "SELECT account, asset, SUM(amount) FROM ledger WHERE "
        + " AND ".join([*window, "trade_id = 0", "reason = 'fee'"])
        + " GROUP BY account, asset",
        *bounds,
    ):
        revenue[(account, asset)] = int(total)
    # A trade's fee legs are its payers': per account, a page of accounts at a time.
    paid = keyset(
        store,
        "SELECT account, asset, reason, SUM(amount) FROM ledger",
        [*window, "trade_id > 0", "reason IN ('fee', 'rebate')"],
        bounds,
        ("account", "asset", "reason"),
        grouped=True,
    )
    async for account, asset, reason, total in paid:
        tenant = tenant_of(account)
        book = charged if reason == "fee" else rebates
        for party in ("", tenant) if tenant else ("",):
            book[(party, asset)] = book.get((party, asset), 0) + abs(int(total))
    assets = sorted({asset for _, asset in (*charged, *rebates, *revenue)})
    parties = [("venue", "", venue_account)] + [
        ("tenant", tenant, account) for tenant, account in sorted(tenant_accounts.items())
    ]
    credited: dict[str, int] = {}
    for asset in assets:
        for party, tenant, account in parties:
            key = (tenant, asset)
            got = revenue.get((account, asset), 0) if account else 0
            credited[asset] = credited.get(asset, 0) + got
            if party == "tenant" and not (charged.get(key) or rebates.get(key) or got):
                continue
            yield _fee_row(party, tenant, account, asset, charged.get(key, 0),
                           rebates.get(key, 0), got)  # fmt: skip
        kept = charged.get(("", asset), 0) - rebates.get(("", asset), 0) - credited[asset]
        if kept:
            yield _fee_row("unallocated", "", FEES, asset, 0, 0, kept)


def _fee_row(
    party: str, tenant: str, account: str, asset: str, charged: int, rebates: int, revenue: int
) -> Row:
    return {
        "party": party, "tenant": tenant or None, "revenue_account": account or None,
        "asset": asset, "fees_charged": units_to_decimal(charged),
        "rebates_paid": units_to_decimal(rebates), "revenue": units_to_decimal(revenue),
    }  # fmt: skip


# ---------------------------------------------------------------- regulator export


async def regulator_export(
    store: Reader,
    instruments: Mapping[str, Instrument],
    from_us: int,
    to_us: int,
    tenant_of: Callable[[str], str],
    symbol: str = "",
    accounts: Container[str] | None = None,
) -> AsyncIterator[Row]:
    """Every order state change and every fill (each side, with its counterparty) in
    [from_us, to_us), merged in (seq, idx) order: schema :data:`EXPORT_SCHEMA`."""
    orders = _order_records(store, instruments, from_us, to_us, symbol, tenant_of)
    fills = _fill_records(store, instruments, from_us, to_us, symbol, tenant_of)
    async for row in _merge(orders, fills):
        if accounts is None or row["account"] in accounts:
            yield row


async def _order_records(
    store: Reader,
    instruments: Mapping[str, Instrument],
    from_us: int,
    to_us: int,
    symbol: str,
    tenant_of: Callable[[str], str],
) -> AsyncIterator[Row]:
    where, params = await _window(store, "orders", "o", from_us, to_us, symbol)
    rows = keyset(
        store,
        "SELECT o.seq, o.idx, o.ts_us, o.symbol, o.account, o.order_id, o.client_order_id, "
        "o.orig_client_order_id, o.event, o.side, o.ord_type, o.tif, o.price, o.qty, "
        "o.leaves, o.filled, o.code, o.text, o.origin FROM orders o",
        where,
        params,
        ("o.seq", "o.idx"),
    )
    async for (seq, idx, ts_us, sym, account, order_id, cl_id, orig_cl_id, event, side,
               ord_type, tif, price, qty, leaves, filled, code, text, origin) in rows:  # fmt: skip
        yield {
            "record": "order", "seq": seq, "idx": idx, "ts_us": ts_us, "time": iso_us(ts_us),
            "symbol": sym, "account": account, "tenant": tenant_of(account) or None,
            "order_id": order_id, "client_order_id": cl_id,
            "orig_client_order_id": orig_cl_id or None, "event": event,
            "side": _name(Side, side) or None, "ord_type": _name(OrdType, ord_type) or None,
            "tif": _name(TimeInForce, tif) or None,
            "price": _price(instruments, sym, price) if price else None,
            "qty": _qty(instruments, sym, qty) if qty else None,
            "leaves": _qty(instruments, sym, leaves), "filled": _qty(instruments, sym, filled),
            "trade_id": None, "liquidity": None, "counterparty_account": None, "fee": None,
            "fee_asset": None, "reason_code": code or None, "text": text or None,
            "origin": origin,
        }  # fmt: skip


async def _fill_records(
    store: Reader,
    instruments: Mapping[str, Instrument],
    from_us: int,
    to_us: int,
    symbol: str,
    tenant_of: Callable[[str], str],
) -> AsyncIterator[Row]:
    where, params = await _window(store, "fills", "f", from_us, to_us, symbol)
    rows = keyset(
        store,
        "SELECT f.seq, f.idx, f.liquidity, f.ts_us, f.symbol, f.account, f.order_id, "
        "f.client_order_id, f.side, f.price, f.qty, f.leaves, f.filled, f.trade_id, f.fee, "
        "c.account FROM fills f JOIN fills c ON c.seq = f.seq AND c.idx = f.idx "
        "AND c.liquidity <> f.liquidity",
        where,
        params,
        ("f.seq", "f.idx", "f.liquidity"),
    )
    async for (seq, idx, liquidity, ts_us, sym, account, order_id, cl_id, side, price, qty,
               leaves, filled, trade_id, fee, counterparty) in rows:  # fmt: skip
        yield {
            "record": "fill", "seq": seq, "idx": idx, "ts_us": ts_us, "time": iso_us(ts_us),
            "symbol": sym, "account": account, "tenant": tenant_of(account) or None,
            "order_id": order_id, "client_order_id": cl_id, "orig_client_order_id": None,
            "event": "fill", "side": _name(Side, side), "ord_type": None, "tif": None,
            "price": _price(instruments, sym, price), "qty": _qty(instruments, sym, qty),
            "leaves": _qty(instruments, sym, leaves), "filled": _qty(instruments, sym, filled),
            "trade_id": trade_id, "liquidity": liquidity, "counterparty_account": counterparty,
            "fee": units_to_decimal(fee), "fee_asset": _quote(instruments, sym),
            "reason_code": None, "text": None, "origin": None,
        }  # fmt: skip


def _order(row: Row) -> tuple[int, int, str]:
    return row["seq"], row["idx"], row["liquidity"] or ""


async def _merge(a: AsyncIterator[Row], b: AsyncIterator[Row]) -> AsyncIterator[Row]:
    """Two row streams, each in (seq, idx) order, as one."""
    left = await anext(a, None)
    right = await anext(b, None)
    while left is not None or right is not None:
        if right is None or (left is not None and _order(left) <= _order(right)):
            assert left is not None
            yield left
            left = await anext(a, None)
        else:
            yield right
            right = await anext(b, None)
