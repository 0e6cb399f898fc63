"""SQLite store (WAL) on a worker thread: the follower's loop never waits on the disk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path
from typing import Any, Final, TypeVar

from gateway.follower.replay import Batch
from gateway.follower.store import StoreUnavailable, is_new
from gateway.follower.store.schema import (
    MIGRATIONS,
    PSEUDO_BALANCE,
    PSEUDO_PAIRS,
    STATEMENTS,
    TABLE_COLUMNS,
    migration_statements,
)

__all__ = ["MULTI_ROWS", "SqliteStore"]

T = TypeVar("T")

#: the tables a batch only appends to, and how many rows one INSERT of each carries: as
#: many as fit in SQLite's smallest bound on a statement's parameters (999)
MULTI_ROWS: Final = {
    table: 999 // len(TABLE_COLUMNS[table])
    for table in ("orders", "fills", "ledger", "venue_events", "audit", "sessions")
}
_MULTI_INSERT: Final = {
    table: f"INSERT INTO {table} ({', '.join(TABLE_COLUMNS[table])}) VALUES "
    + ", ".join(["(" + ", ".join("?" * len(TABLE_COLUMNS[table])) + ")"] * rows)
    for table, rows in MULTI_ROWS.items()
}


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._db is None:
                raise StoreUnavailable("store is closed")
            try:
                return fn(self._db)
            except sqlite3.OperationalError as exc:  # locked, disk I/O, full
                if self._db.in_transaction:
                    self._db.rollback()
                raise StoreUnavailable(f"sqlite: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def open(self) -> None:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; rebuildable
            db.execute("PRAGMA busy_timeout=5000")
            self._db = db

        await asyncio.get_running_loop().run_in_executor(self._pool, connect)
        await self._run(_migrate)

    async def close(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._pool, close)

    async def position(self) -> tuple[int, int]:
        rows = await self.fetch("SELECT seq, crc FROM follower_state WHERE id = 1")
        return int(rows[0][0]), int(rows[0][1])

    async def pseudo_balances(self) -> dict[tuple[str, str], int]:
        def read(db: sqlite3.Connection) -> dict[tuple[str, str], int]:
            out = {}
            for account, asset in db.execute(PSEUDO_PAIRS).fetchall():
                (balance,) = db.execute(PSEUDO_BALANCE, (account, asset)).fetchone()
                out[(account, asset)] = int(balance)
            return out

        return await self._run(read)

    async def write(self, batch: Batch) -> bool:
        return await self._run(lambda db: _write(db, batch))

    async def insert(self, tables: list[tuple[str, list[Any]]]) -> None:
        def insert(db: sqlite3.Connection) -> None:
            with db:  # one transaction, rolled back on an error
                db.execute("BEGIN IMMEDIATE")
                for table, values in tables:
                    db.executemany(STATEMENTS[table], values)

        await self._run(insert)

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return await self._run(lambda db: db.execute(sql, params).fetchall())


def _migrate(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)"
    )
    (done,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    for version, name, statements in MIGRATIONS:
        if version <= done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration_statements(statements, "sqlite"):
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, name))
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise


def _write(db: sqlite3.Connection, batch: Batch) -> bool:
    db.execute("BEGIN IMMEDIATE")
    try:
        (seq,) = db.execute("SELECT seq FROM follower_state WHERE id = 1").fetchone()
        if not is_new(seq, batch):
            db.rollback()
            return False
        for table, values in batch.rows.by_table():
            _insert(db, table, values)
        db.execute(
            "UPDATE follower_state SET seq = ?, crc = ?, ts_us = ? WHERE id = 1",
            (batch.last_seq, batch.last_crc, batch.last_ts_us),
        )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    return True


def _insert(db: sqlite3.Connection, table: str, values: list[Any]) -> None:
    """A batch's rows of one table. The append-only tables go in statements of
    MULTI_ROWS rows each: one step of the statement (and one release of the GIL) per
    chunk instead of per row; the remainder row by row."""
    per = MULTI_ROWS.get(table, 0)
    whole = len(values) - len(values) % per if per else 0
    if whole:
        db.executemany(
            _MULTI_INSERT[table],
            [list(chain.from_iterable(values[at : at + per])) for at in range(0, whole, per)],
        )
    if whole < len(values):
        db.executemany(STATEMENTS[table], values[whole:] if whole else values)
