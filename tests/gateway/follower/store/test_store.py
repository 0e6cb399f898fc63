"""A store writes a batch once: again (a commit whose answer was lost) is a no-op, a
batch from elsewhere is refused. SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.follower.replay import Batch
from gateway.follower.rows import Rows
from gateway.follower.store import StaleBatch, Store, open_store, redact
from gateway.follower.store.schema import MIGRATIONS


def _batch(after: int, last: int) -> Batch:
    rows = Rows()
    for seq in range(after + 1, last + 1):
        rows.venue_events.append((seq, 0, "test.kind", "subject", "{}", seq * 10))
    return Batch(after, last, 1000 + last, last * 10, rows)


async def test_a_batch_is_written_once(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    assert await store.position() == (0, 0)
    assert await store.write(_batch(0, 3))
    assert not await store.write(_batch(0, 3))  # already there: nothing written twice
    with pytest.raises(StaleBatch):
        await store.write(_batch(1, 5))  # starts inside what is stored
    with pytest.raises(StaleBatch):
        await store.write(_batch(4, 6))  # would leave a hole
    assert await store.write(_batch(3, 6))
    assert await store.position() == (6, 1006)
    rows = await store.fetch("SELECT seq FROM venue_events ORDER BY seq")
    assert [seq for (seq,) in rows] == [1, 2, 3, 4, 5, 6]
    await store.close()
    await store.open()  # migrations are not applied twice
    assert await store.position() == (6, 1006)
    await store.close()


def test_urls_are_logged_without_their_password() -> None:
    assert (
        redact("postgresql://venue:s3cret@db:5432/venue") == "postgresql://venue:***@db:5432/venue"
    )
    assert redact("postgresql://venue@db/venue") == "postgresql://venue@db/venue"
    assert redact("sqlite:var/store.sqlite3") == "sqlite:var/store.sqlite3"


def test_an_unknown_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        open_store("mysql://db/venue", tmp_path)


def _history_batch(after: int, last: int) -> Batch:
    rows = Rows()
    for seq in range(after + 1, last + 1):
        rows.orders.append(
            (seq, 0, "accepted", seq, "A", "BTC-USD", f"c{seq}", "", 1, 2, 1, 100, 5, 5, 0, 0,
             0, "", "", seq * 10, "7")
        )  # fmt: skip
        rows.fills.append(
            (seq, 1, seq, "maker", "BTC-USD", seq, "A", f"c{seq}", 1, 100, 5, 1, "", 5, 500, 0,
             seq * 10)
        )  # fmt: skip
        rows.ledger.append((seq, 0, "A", "USD", -500, -500 * seq, "trade", "B", seq, seq * 10))
    return Batch(after, last, 1000 + last, last * 10, rows)


async def _indexes(store_url: str, store: Store) -> set[str]:
    if store_url.startswith("postgresql"):
        sql = "SELECT indexname FROM pg_indexes WHERE tablename IN ('orders', 'fills', 'ledger')"
    else:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('orders', 'fills', 'ledger')"
        )
    return {str(name) for (name,) in await store.fetch(sql)}


async def test_a_store_written_before_the_index_diet_keeps_its_rows(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 7 (fewer B-trees per history row) on a store that already holds rows:
    every row is still there, the history indexes too, the unused ones are gone."""
    backend = "postgres" if store_url.startswith("postgresql") else "sqlite"
    module = f"gateway.follower.store.{backend}.MIGRATIONS"
    monkeypatch.setattr(module, [m for m in MIGRATIONS if m[0] < 7])
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    assert await store.write(_history_batch(0, 50))
    before = {
        t: await store.fetch(f"SELECT * FROM {t} ORDER BY seq")
        for t in ("orders", "fills", "ledger")
    }
    assert "orders_account_ts" in await _indexes(store_url, store)
    await store.close()
    monkeypatch.setattr(module, [m for m in MIGRATIONS if m[0] < 8])
    await store.open()
    for table, rows in before.items():
        assert await store.fetch(f"SELECT * FROM {table} ORDER BY seq") == rows
    indexes = await _indexes(store_url, store)
    assert not indexes & {"orders_account_ts", "orders_order_id", "fills_account_ts"}
    assert {"orders_account_seq", "fills_account_seq", "ledger_account_seq"} <= indexes
    assert "ledger_account_asset" in indexes
    assert await store.write(_history_batch(50, 60))  # and it takes new rows
    assert await store.position() == (60, 1060)
    await store.close()


async def test_migration_8_drops_the_ledgers_account_seq_index_and_keeps_the_rows(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One index fewer per ledger leg, on a store that already holds rows: the rows are
    all there, the (account, asset, seq) index serves every ledger read."""
    backend = "postgres" if store_url.startswith("postgresql") else "sqlite"
    module = f"gateway.follower.store.{backend}.MIGRATIONS"
    monkeypatch.setattr(module, [m for m in MIGRATIONS if m[0] < 8])
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    assert await store.write(_history_batch(0, 50))
    before = await store.fetch("SELECT * FROM ledger ORDER BY seq, leg")
    await store.close()
    monkeypatch.setattr(module, MIGRATIONS)
    await store.open()
    assert await store.fetch("SELECT * FROM ledger ORDER BY seq, leg") == before
    indexes = await _indexes(store_url, store)
    assert "ledger_account_seq" not in indexes
    assert {"ledger_account_asset", "orders_account_seq", "fills_account_seq"} <= indexes
    assert await store.write(_history_batch(50, 60))
    await store.close()


async def test_large_batches_store_every_row_once_in_order(store_url: str, tmp_path: Path) -> None:
    """SQLite inserts the append-only tables many rows per statement (MULTI_ROWS): a batch
    of several such chunks and a remainder holds every row exactly; a duplicate row in a
    chunk still fails the whole batch, position included."""
    rows = Rows()
    legs = [
        (seq, leg, "AB"[leg % 2], "USD", 1 - 2 * (leg % 2), seq, "trade", "BA"[leg % 2], 0, seq)
        for seq in range(1, 61)
        for leg in range(5)
    ]  # 300 legs: three statements of 99 and 3 rows alone
    rows.ledger += legs
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    assert await store.write(Batch(0, 60, 7, 600, rows))
    assert await store.fetch("SELECT * FROM ledger ORDER BY seq, leg") == legs
    again = Rows()
    again.ledger += [legs[0], *[(seq + 60, *rest) for seq, *rest in legs[1:150]]]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await store.write(Batch(60, 90, 8, 900, again))
    assert await store.position() == (60, 7)
    assert len(await store.fetch("SELECT seq FROM ledger")) == 300
    await store.close()
