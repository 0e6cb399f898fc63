"""History pages: one account's rows only, each exactly once and in order, however the
pages are cut and whatever the follower writes between them. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest

from engine.events import Event, Trade
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.history import BadQuery, History, Page, Query
from gateway.follower.store.schema import MIGRATIONS
from tests.engine.streams import ACCOUNTS
from tests.gateway.follower.venue import LiveVenue, random_flow


async def _catch_up(f: Follower) -> None:
    while await f.step(asyncio.Event()):
        pass


async def _all_pages(fetch: object, query: Query) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    cursor = query.cursor
    while True:
        page: Page = await fetch(dataclasses.replace(query, cursor=cursor))  # type: ignore[operator]
        rows += page.rows
        if not page.next_cursor:
            return rows
        assert len(page.rows) == query.limit
        cursor = page.next_cursor


def _fills_of(events: list[Event], account: str) -> list[tuple[int, int, str]]:
    out = []
    for ev in events:
        if isinstance(ev, Trade):
            if ev.maker_account == account:
                out.append((ev.seq, ev.idx, "maker"))
            if ev.taker_account == account:
                out.append((ev.seq, ev.idx, "taker"))
    return out


@pytest.fixture
async def followed(store_url: str, tmp_path: Path) -> tuple[LiveVenue, Follower]:
    venue = LiveVenue(tmp_path / "journal")
    random_flow(random.Random(42), venue, 800)
    f = Follower(FollowerSettings(tmp_path / "journal", store_url=store_url))
    await f.start(asyncio.Event())
    await _catch_up(f)
    return venue, f


@pytest.mark.parametrize("limit", [1, 7, 1000])
async def test_pages_hold_each_of_the_accounts_rows_once_in_order(
    followed: tuple[LiveVenue, Follower], limit: int
) -> None:
    venue, f = followed
    history = History(f.store)
    total_fills = 0
    for account in ACCOUNTS:
        orders = await _all_pages(history.orders, Query(account, limit=limit))
        everything = await f.store.fetch(
            "SELECT seq, idx FROM orders WHERE account = ? ORDER BY seq, idx", account
        )
        assert [(r["seq"], r["idx"]) for r in orders] == [tuple(r) for r in everything]
        assert {r["account"] for r in orders} == {account}
        fills = await _all_pages(history.fills, Query(account, limit=limit))
        assert [(r["seq"], r["idx"], r["liquidity"]) for r in fills] == _fills_of(
            venue.events, account
        )  # self-trades too: both sides of one trade are the same account's
        total_fills += len(fills)
        ledger = await _all_pages(history.ledger, Query(account, kind="USD", limit=limit))
        balance = venue.engine.accounts[account].balances["USD"].total
        assert ledger[-1]["balance"] == balance
        assert sum(int(str(r["amount"])) for r in ledger) == balance
        every_leg = await _all_pages(history.ledger, Query(account, limit=limit))
        stored = await f.store.fetch(
            "SELECT seq, leg FROM ledger WHERE account = ? ORDER BY seq, leg", account
        )
        assert [(r["seq"], r["leg"]) for r in every_leg] == [tuple(r) for r in stored]
        assert len({r["asset"] for r in every_leg}) > 1  # pages merged over the assets
    assert total_fills == 2 * sum(isinstance(ev, Trade) for ev in venue.events)
    await f.close()


async def test_filters_by_time_symbol_and_kind(followed: tuple[LiveVenue, Follower]) -> None:
    _, f = followed
    history = History(f.store)
    every = await _all_pages(history.orders, Query("A", limit=1000))
    times = sorted(int(str(r["ts_us"])) for r in every)
    low, high = times[len(times) // 4], times[3 * len(times) // 4]
    ranged = await _all_pages(history.orders, Query("A", from_us=low, to_us=high, limit=50))
    assert ranged == [r for r in every if low <= int(str(r["ts_us"])) < high]
    assert ranged
    btc = await _all_pages(history.orders, Query("A", symbol="BTC-USD", kind="rejected"))
    assert btc == [r for r in every if r["symbol"] == "BTC-USD" and r["event"] == "rejected"]
    legs = await _all_pages(history.ledger, Query("A", limit=1000))
    ranged = await _all_pages(history.ledger, Query("A", from_us=low, to_us=high, limit=9))
    assert ranged == [r for r in legs if low <= int(str(r["ts_us"])) < high]
    assert len({r["asset"] for r in ranged}) > 1
    assert await _all_pages(history.ledger, Query("nobody")) == []
    await f.close()


async def test_paging_is_stable_while_the_follower_appends(store_url: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    rng = random.Random(8)
    random_flow(rng, venue, 300)
    f = Follower(FollowerSettings(journal, store_url=store_url))
    await f.start(asyncio.Event())
    await _catch_up(f)
    history = History(f.store)
    page = await history.orders(Query("B", limit=10))
    random_flow(rng, venue, 300)
    await _catch_up(f)  # rows appended between the pages
    rest = await _all_pages(history.orders, Query("B", cursor=page.next_cursor, limit=10))
    assert page.rows + rest == await _all_pages(history.orders, Query("B", limit=1000))
    await f.close()


@pytest.mark.parametrize(
    "query",
    [
        Query("A", cursor="12"),
        Query("A", cursor="x.1"),
        Query("A", cursor="1.2.3"),
        Query("A", cursor="1" * 40 + ".1"),
        Query("A", limit=0),
        Query("A", limit=1001),
        Query("A", from_us=-1),
    ],
)
async def test_bad_queries_are_refused(followed: tuple[LiveVenue, Follower], query: Query) -> None:
    _, f = followed
    with pytest.raises(BadQuery):
        await History(f.store).orders(query)
    with pytest.raises(BadQuery):
        await History(f.store).fills(dataclasses.replace(query, cursor="1.2.sideways"))
    await f.close()


async def test_every_migration_ran(followed: tuple[LiveVenue, Follower]) -> None:
    _, f = followed
    versions = await f.store.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [v for (v,) in versions] == [version for version, _, _ in MIGRATIONS]
    await f.close()


async def test_a_ledger_page_reads_bounded_index_ranges(
    followed: tuple[LiveVenue, Follower], store_url: str
) -> None:
    """The page over all of an account's assets never scans the ledger or sorts an
    account's whole history: each asset's part is a range of (account, asset, seq)."""
    _, f = followed
    if store_url.startswith("postgresql"):
        pytest.skip("the plan checked is SQLite's (PostgreSQL's planner weighs row counts)")
    sent: list[tuple[str, tuple[object, ...]]] = []
    fetch = f.store.fetch

    async def spy(sql: str, *params: object) -> list[tuple[object, ...]]:
        sent.append((sql, params))
        return await fetch(sql, *params)

    f.store.fetch = spy  # type: ignore[method-assign]
    page = await History(f.store).ledger(Query("A", limit=3))
    await History(f.store).ledger(Query("A", limit=3, cursor=page.next_cursor, from_us=1))
    f.store.fetch = fetch  # type: ignore[method-assign]
    pages = [(sql, params) for sql, params in sent if "ORDER BY seq, leg LIMIT" in sql]
    assert len(pages) == 2
    for sql, params in pages:
        plan = [str(row[-1]) for row in await fetch("EXPLAIN QUERY PLAN " + sql, *params)]
        reads = [step for step in plan if "ledger" in step]
        assert reads, plan
        assert all("INDEX ledger_account_asset (account=? AND asset=?" in s for s in reads), plan
    await f.close()
