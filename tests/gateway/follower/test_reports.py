"""Operator reports over the store: statements add up to the engine's balances, the
blotter and the regulator export hold every trade and order change once, in order,
however the pages are cut. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.events import OrderAccepted, Trade
from engine.model import Instrument, units_to_decimal
from gateway.follower import reports
from gateway.follower.follower import Follower
from gateway.follower.reports import (
    BLOTTER_COLUMNS,
    EXPORT_COLUMNS,
    FEE_COLUMNS,
    STATEMENT_COLUMNS,
    Reader,
    blotter,
    day_range,
    fee_revenue,
    first_seq_at,
    iso_us,
    keyset,
    regulator_export,
    statement,
)
from tests.engine.streams import ACCOUNTS
from tests.gateway.follower.venue import LiveVenue, follow_flow


@pytest.fixture
async def followed(store_url: str, tmp_path: Path) -> tuple[LiveVenue, Follower]:
    return await follow_flow(tmp_path / "journal", store_url, 17, 600)


def _instruments(venue: LiveVenue) -> dict[str, Instrument]:
    return {s: listing.instrument for s, listing in venue.engine.listings.items()}


async def _all(rows: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row async for row in rows]


async def test_a_statement_opens_and_closes_at_the_engines_balances(
    followed: tuple[LiveVenue, Follower],
) -> None:
    venue, f = followed
    times = [int(t) for (t,) in await f.store.fetch("SELECT ts_us FROM ledger ORDER BY seq")]
    middle = times[len(times) // 2]
    for account in ACCOUNTS:
        early = await _all(statement(f.store, account, 0, middle))
        late = await _all(statement(f.store, account, middle, 0))
        assert all(tuple(row) == STATEMENT_COLUMNS for row in early + late)
        for asset, bal in venue.engine.accounts[account].balances.items():
            lines = [r for r in late if r["asset"] == asset]
            assert lines[0]["line"] == "opening" and lines[-1]["line"] == "closing"
            assert lines[-1]["balance"] == units_to_decimal(bal.total)
            moves = [r for r in lines if r["line"] == "movement"]
            opening = Decimal(str(lines[0]["balance"]))
            assert opening + sum(Decimal(str(r["amount"])) for r in moves) == Decimal(
                bal.total
            ).scaleb(-8)
            (closed_early,) = [r for r in early if r["asset"] == asset and r["line"] == "closing"]
            assert closed_early["balance"] == lines[0]["balance"]  # periods join up
            stored = await f.store.fetch(
                "SELECT COUNT(*) FROM ledger WHERE account = ? AND asset = ? AND ts_us >= ?",
                account, asset, middle,
            )  # fmt: skip
            assert len(moves) == stored[0][0]
            assert all(m["time"] == iso_us(int(str(m["ts_us"]))) for m in moves)
    await f.close()


async def test_the_blotter_holds_every_trade_once_in_order(
    followed: tuple[LiveVenue, Follower],
) -> None:
    venue, f = followed
    trades = [ev for ev in venue.events if isinstance(ev, Trade)]
    assert trades
    rows = await _all(blotter(f.store, _instruments(venue), 0, 0))
    assert [r["trade_id"] for r in rows] == [t.trade_id for t in trades]
    inst = venue.engine.listings[trades[0].symbol].instrument
    first = rows[0]
    assert tuple(first) == BLOTTER_COLUMNS
    assert first["price"] == inst.ticks_to_price(trades[0].price)
    assert first["taker_fee"] == units_to_decimal(trades[0].taker_fee)
    buyer = trades[0].taker_account if trades[0].taker_side == 1 else trades[0].maker_account
    assert first["buyer_account"] == buyer
    only_a = await _all(blotter(f.store, _instruments(venue), 0, 0, accounts={"A"}))
    assert [r["trade_id"] for r in only_a] == [
        t.trade_id for t in trades if "A" in (t.maker_account, t.taker_account)
    ]
    btc = await _all(blotter(f.store, _instruments(venue), 0, 0, symbol="BTC-USD"))
    assert {r["symbol"] for r in btc} == {"BTC-USD"} and 0 < len(btc) < len(rows)
    await f.close()


async def test_the_regulator_export_merges_orders_and_fills_in_seq_order(
    followed: tuple[LiveVenue, Follower],
) -> None:
    venue, f = followed
    rows = await _all(regulator_export(f.store, _instruments(venue), 0, 0, lambda a: "T-" + a))
    assert all(tuple(r) == EXPORT_COLUMNS for r in rows)
    keys = [(r["seq"], r["idx"], r["liquidity"] or "") for r in rows]
    assert keys == sorted(keys)
    (orders,) = await f.store.fetch("SELECT COUNT(*) FROM orders")
    trades = [ev for ev in venue.events if isinstance(ev, Trade)]
    assert sum(r["record"] == "order" for r in rows) == orders[0]
    assert sum(r["record"] == "fill" for r in rows) == 2 * len(trades)
    fill = next(r for r in rows if r["record"] == "fill")
    trade = trades[0]
    assert (fill["trade_id"], fill["tenant"]) == (trade.trade_id, "T-" + str(fill["account"]))
    sides = {trade.maker_account, trade.taker_account}
    assert {fill["account"], fill["counterparty_account"]} == sides or len(sides) == 1
    accepted = next(ev for ev in venue.events if isinstance(ev, OrderAccepted))
    row = next(r for r in rows if r["event"] == "accepted")
    assert (row["order_id"], row["ts_us"], row["time"]) == (
        accepted.order_id, accepted.ts_us, iso_us(accepted.ts_us),
    )  # fmt: skip
    await f.close()


async def test_fee_revenue_splits_what_was_charged(followed: tuple[LiveVenue, Follower]) -> None:
    """No revenue account is configured in this venue: what was charged and not paid
    back stays in @fees, and the report says so."""
    venue, f = followed
    trades = [ev for ev in venue.events if isinstance(ev, Trade)]
    charged = sum(max(t.maker_fee, 0) + max(t.taker_fee, 0) for t in trades)
    assert charged
    rows = await _all(fee_revenue(f.store, 0, 0, "", {}, lambda a: "T1" if a == "B" else ""))
    assert all(tuple(r) == FEE_COLUMNS for r in rows)
    (venue_row,) = [r for r in rows if r["party"] == "venue"]
    assert venue_row["fees_charged"] == units_to_decimal(charged)
    (kept,) = [r for r in rows if r["party"] == "unallocated"]
    assert kept["revenue"] == units_to_decimal(charged)
    # T1 has no revenue account: not a party to the split
    assert not [r for r in rows if r["party"] == "tenant"]
    await f.close()


@pytest.mark.parametrize("page", [1, 7, 1000])
async def test_keyset_pages_hold_every_row_once(
    followed: tuple[LiveVenue, Follower], page: int
) -> None:
    _, f = followed
    every = await f.store.fetch("SELECT seq, leg, amount FROM ledger ORDER BY seq, leg")
    paged = [
        row
        async for row in keyset(
            f.store, "SELECT seq, leg, amount FROM ledger", [], [], ("seq", "leg"), page=page
        )
    ]
    assert paged == every
    await f.close()


def test_a_day_is_a_utc_day_in_microseconds() -> None:
    assert day_range("1970-01-02") == (86_400_000_000, 172_800_000_000)
    assert iso_us(86_400_000_001) == "1970-01-02T00:00:00.000001Z"
    with pytest.raises(ValueError):
        day_range("2026-13-01")


async def test_a_time_range_is_the_key_range_of_the_same_rows(
    followed: tuple[LiveVenue, Follower],
) -> None:
    venue, f = followed
    stamps = await f.store.fetch("SELECT seq, ts_us FROM fills ORDER BY seq")
    times = sorted({int(t) for _, t in stamps})
    probes = [0, times[0], times[len(times) // 3], times[len(times) // 3] + 1, times[-1],
              times[-1] + 1]  # fmt: skip
    for ts in probes:
        first = await first_seq_at(f.store, "fills", ts)
        assert [s for s, _ in stamps if s >= first] == [s for s, t in stamps if t >= ts], ts
    instruments = _instruments(venue)
    every = await _all(blotter(f.store, instruments, 0, 0))
    low, high = times[len(times) // 4], times[3 * len(times) // 4]
    ranged = await _all(blotter(f.store, instruments, low, high))
    assert ranged == [r for r in every if low <= r["ts_us"] < high] and ranged
    export = await _all(regulator_export(f.store, instruments, 0, 0, str))
    part = await _all(regulator_export(f.store, instruments, low, high, str))
    assert part == [r for r in export if low <= r["ts_us"] < high] and part
    await f.close()


class _Counting:
    """A store that records the queries a report makes, in order."""

    def __init__(self, store: Reader) -> None:
        self.store = store
        self.queries: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        self.queries.append((sql, params))
        return await self.store.fetch(sql, *params)


async def test_a_report_reads_one_page_at_a_time_as_it_is_consumed(
    followed: tuple[LiveVenue, Follower], monkeypatch: pytest.MonkeyPatch
) -> None:
    venue, f = followed
    monkeypatch.setattr(reports, "PAGE", 10)
    store = _Counting(f.store)
    rows = regulator_export(store, _instruments(venue), 0, 0, str)
    for _ in range(15):
        await anext(rows)
    pages = [params for sql, params in store.queries if "LIMIT" in sql]
    assert all(params[-1] == 10 for params in pages)
    assert len(pages) <= 4  # orders and fills: at most two pages each so far
    rest = [row async for row in rows]
    (orders,) = await f.store.fetch("SELECT COUNT(*) FROM orders")
    assert 15 + len(rest) > orders[0] > 100
    assert len([sql for sql, _ in store.queries if "LIMIT" in sql]) > 10
    await f.close()
