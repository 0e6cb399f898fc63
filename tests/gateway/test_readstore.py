"""The gateway's read-only store: found by the follower's rules, usable before the
follower made it, never able to write, and following a rebuilt SQLite file. Both
backends, against a real follower."""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg
import pytest

from gateway.app import App
from gateway.follower.history import Query
from gateway.follower.store import StoreUnavailable
from gateway.readstore import READSTORE, ReadStore
from tests.conftest import catch_up
from tests.conftest import test_config as venue_config
from tests.gateway.follower.pg import PgCluster, running_cluster
from tests.gateway.follower.venue import LiveVenue, random_flow


@pytest.fixture
def venue(tmp_path: Path) -> LiveVenue:
    venue = LiveVenue(tmp_path / "journal")
    random_flow(random.Random(7), venue, 300)
    return venue


async def test_reads_what_the_follower_wrote_once_it_exists(
    venue: LiveVenue, store_url: str, tmp_path: Path
) -> None:
    store = ReadStore(store_url, tmp_path / "unused")
    try:
        if store.backend == "sqlite":  # a PostgreSQL database exists, without tables
            with pytest.raises(StoreUnavailable):
                await store.position()
        assert await catch_up(venue.directory, store_url) == venue.engine.last_seq
        assert await store.position() == (venue.engine.last_seq, venue.engine.last_ts_us)
        ledger = await store.fetch("SELECT seq, leg, amount FROM ledger ORDER BY seq, leg")
        assert len(ledger) > 0
        chunks = [
            chunk
            async for chunk in store.stream(
                "SELECT seq, leg, amount FROM ledger ORDER BY seq, leg", chunk=7
            )
        ]
        assert all(len(chunk) == 7 for chunk in chunks[:-1])
        assert [row for chunk in chunks for row in chunk] == ledger
        acc1 = await store.history.ledger(Query("A"))
        assert {row["account"] for row in acc1.rows} == {"A"}
    finally:
        await store.close()


async def test_before_the_first_migration_postgresql_is_unavailable(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    """A database without the follower's tables: unavailable, not an internal error."""
    store = ReadStore(await pg_cluster.new_database(), tmp_path / "unused")
    try:
        with pytest.raises(StoreUnavailable):
            await store.position()
        with pytest.raises(StoreUnavailable):
            async for _ in store.stream("SELECT * FROM ledger"):
                pass
    finally:
        await store.close()


async def test_cannot_write(venue: LiveVenue, store_url: str, tmp_path: Path) -> None:
    await catch_up(venue.directory, store_url)
    store = ReadStore(store_url, tmp_path / "unused")
    try:
        before = await store.fetch("SELECT COUNT(*) FROM ledger")
        refused = (StoreUnavailable, asyncpg.ReadOnlySQLTransactionError)
        with pytest.raises(refused, match=r"read-only|readonly"):
            await store.fetch("DELETE FROM ledger")
        with pytest.raises(refused, match=r"read-only|readonly"):
            await store.fetch("UPDATE follower_state SET seq = 0")
        assert await store.fetch("SELECT COUNT(*) FROM ledger") == before
        assert (await store.position())[0] == venue.engine.last_seq
    finally:
        await store.close()


async def test_a_rebuilt_sqlite_file_is_read_not_the_deleted_one(
    venue: LiveVenue, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    await catch_up(venue.directory, f"sqlite:{path}")
    store = ReadStore(f"sqlite:{path}", tmp_path / "unused")
    try:
        assert (await store.position())[0] == venue.engine.last_seq
        for stale in tmp_path.glob("store.sqlite3*"):
            stale.unlink()  # the operator drops the store ...
        with pytest.raises(StoreUnavailable):
            await store.position()
        random_flow(random.Random(8), venue, 20)
        await catch_up(venue.directory, f"sqlite:{path}")  # ... and the follower rebuilds
        assert (await store.position())[0] == venue.engine.last_seq
    finally:
        await store.close()


async def test_found_where_the_follower_writes_by_default(tmp_path: Path) -> None:
    config = venue_config(tmp_path)
    venue = LiveVenue(Path(config.journal.dir))
    random_flow(random.Random(9), venue, 10)
    await catch_up(Path(config.journal.dir), config.store.url)  # url "" = the default path
    store = ReadStore.from_config(config)
    try:
        assert store.backend == "sqlite"
        assert (await store.position())[0] == venue.engine.last_seq
    finally:
        await store.close()


async def test_the_edges_share_the_apps_one_store(gateway: App) -> None:
    assert gateway.http is not None and gateway.ws is not None and gateway.admin is not None
    assert gateway.http.app[READSTORE] is gateway.readstore
    assert gateway.admin.app[READSTORE] is gateway.readstore
    assert gateway.ws.venue.readstore is gateway.readstore


async def test_closing_twice_is_harmless(tmp_path: Path) -> None:
    """App.stop may run twice (a test stops it, the fixture again)."""
    store = ReadStore("", tmp_path / "store.sqlite3")
    await store.close()
    await store.close()


async def test_postgresql_stopped_then_back_is_unavailable_then_read_again(
    venue: LiveVenue, tmp_path: Path
) -> None:
    with running_cluster() as cluster:
        url = await cluster.new_database()
        await catch_up(venue.directory, url)
        store = ReadStore(url, tmp_path / "unused")
        try:
            assert (await store.position())[0] == venue.engine.last_seq
            cluster.stop("fast")
            for _ in range(2):  # the pooled connection is dead, then none can be made
                with pytest.raises(StoreUnavailable):
                    await store.position()
            cluster.start()
            assert (await store.position())[0] == venue.engine.last_seq
        finally:
            await store.close()
