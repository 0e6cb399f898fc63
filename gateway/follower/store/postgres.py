"""PostgreSQL store through asyncpg: an asyncio driver, so waiting on the server costs
the follower's loop nothing and a dead server surfaces as an exception to retry on."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import asyncpg
import asyncpg.exceptions as pgexc

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

__all__ = ["TRANSIENT", "PostgresStore", "numbered"]

T = TypeVar("T")

#: what a server that is down, restarting or out of resources raises: retry later
TRANSIENT: Final = (
    OSError,
    asyncio.TimeoutError,
    pgexc.PostgresConnectionError,
    pgexc.OperatorInterventionError,
    pgexc.InsufficientResourcesError,
    pgexc.InterfaceError,
    # The connection's protocol state after the server dropped it mid-operation
    # ("another operation is in progress"): this connection is done, a new one works.
    pgexc.InternalClientError,
    # A reader before the follower's first migration (a writer creates them itself).
    pgexc.UndefinedTableError,
)
_PLACEHOLDER: Final = re.compile(r"\?")
#: the tables a batch only appends to, written with COPY (binary): far less work for the
#: server than one INSERT per row; a duplicate key still fails the batch's transaction
COPIED: Final = {
    table: TABLE_COLUMNS[table]
    for table in ("orders", "fills", "ledger", "venue_events", "audit", "sessions")
}


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's $1, $2, ..."""
    count = iter(range(1, 1 << 16))
    return _PLACEHOLDER.sub(lambda _m: f"${next(count)}", sql)


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._db: asyncpg.Connection | None = None

    async def _run(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._db is None:
            raise StoreUnavailable("store is closed")
        try:
            return await fn(self._db)
        except TRANSIENT as exc:
            await self.close()
            raise StoreUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc

    async def open(self) -> None:
        try:
            self._db = await asyncpg.connect(self.url, timeout=5, command_timeout=60)
        except TRANSIENT as exc:
            raise StoreUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc
        await self._run(_migrate)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.terminate()  # never waits on a server that is gone

    async def position(self) -> tuple[int, int]:
        rows = await self.fetch("SELECT seq, crc FROM follower_state WHERE id = 1")
        return int(rows[0][0]), int(rows[0][1])

    async def pseudo_balances(self) -> dict[tuple[str, str], int]:
        async def read(db: asyncpg.Connection) -> dict[tuple[str, str], int]:
            out = {}
            for account, asset in await db.fetch(PSEUDO_PAIRS):
                balance = await db.fetchval(numbered(PSEUDO_BALANCE), account, asset)
                out[(account, asset)] = int(balance)
            return out

        return await self._run(read)

    async def write(self, batch: Batch) -> bool:
        return await self._run(lambda db: _write(db, batch))

    async def insert(self, tables: list[tuple[str, list[Any]]]) -> None:
        async def insert(db: asyncpg.Connection) -> None:
            async with db.transaction():
                for table, values in tables:
                    await db.executemany(numbered(STATEMENTS[table]), values)

        await self._run(insert)

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        async def query(db: asyncpg.Connection) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in await db.fetch(numbered(sql), *params)]

        return await self._run(query)


async def _migrate(db: asyncpg.Connection) -> None:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)"
    )
    async with db.transaction():
        # One migrator at a time (two followers starting together).
        await db.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
        done = await db.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        for version, name, statements in MIGRATIONS:
            if version <= done:
                continue
            for statement in migration_statements(statements, "postgresql"):
                await db.execute(statement)
            await db.execute("INSERT INTO schema_migrations VALUES ($1, $2)", version, name)


async def _write(db: asyncpg.Connection, batch: Batch) -> bool:
    async with db.transaction():
        seq = await db.fetchval("SELECT seq FROM follower_state WHERE id = 1 FOR UPDATE")
        if not is_new(seq, batch):
            return False
        for table, values in batch.rows.by_table():
            if table in COPIED:
                await db.copy_records_to_table(table, records=values, columns=COPIED[table])
            else:
                await db.executemany(numbered(STATEMENTS[table]), values)
        await db.execute(
            "UPDATE follower_state SET seq = $1, crc = $2, ts_us = $3 WHERE id = 1",
            batch.last_seq,
            batch.last_crc,
            batch.last_ts_us,
        )
    return True
