"""The gateway's read-only view of the follower's store, opened once for every edge.

The journal follower (gateway/follower) writes the history tables; the gateway process
only reads them, for client history (REST, WS), reports, audit, alerts and the
console. The store is found by the follower's rules (``[store] url``: empty = SQLite
beside the journal dir, ``sqlite:PATH`` or ``postgresql://...``) and opened read-only
(SQLite ``mode=ro`` + ``query_only``; PostgreSQL ``default_transaction_read_only``).

How to use it
-------------
The App builds one ``ReadStore`` (``app.readstore``) and hands it to the REST, WS and
admin servers; an admin route reaches it as ``call.readstore``, any aiohttp handler of
the HTTP and admin servers as ``request.app[READSTORE]``, the WS sessions as
``venue.readstore``::

    rows = await store.fetch("SELECT seq, amount FROM ledger WHERE account = ?", acc)
    async for chunk in store.stream("SELECT ... ORDER BY seq", chunk=1000):
        ...  # lists of tuples: large exports never load into memory at once
    seq, ts_us = await store.position()  # what the rows are complete up to
    page = await store.history.fills(Query(account, limit=100))  # paged client history

SQL uses ``?`` placeholders in both backends (numbered for PostgreSQL here). Nothing
touches the database at construction: the first query connects, so the gateway starts
(and trades) whether or not the database is up. Every query runs off the event loop
(SQLite on worker threads, PostgreSQL through asyncpg). When the store cannot answer
(not created yet, not migrated yet, server down) a query raises
:class:`~gateway.follower.store.StoreUnavailable`: answer 503 / ``store_unavailable``
and let the client retry; the next query reconnects.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aiohttp import web

from gateway.follower.follower import default_sqlite_path
from gateway.follower.history import History
from gateway.follower.store import StoreUnavailable, sqlite_path_of

if TYPE_CHECKING:
    import asyncpg

    from gateway.config import Config

__all__ = ["READSTORE", "ReadStore", "StoreUnavailable"]

T = TypeVar("T")

#: concurrent reads (SQLite worker threads, PostgreSQL connections)
_READERS: Final = 4
_POSITION: Final = "SELECT seq, ts_us FROM follower_state WHERE id = 1"


class ReadStore:
    """Read-only access to the follower's store; see the module docstring."""

    def __init__(self, url: str, default_path: Path) -> None:
        path = sqlite_path_of(url, default_path)
        self._backend: _Sqlite | _Postgres = _Sqlite(path) if path else _Postgres(url)
        self.history = History(self)

    @classmethod
    def from_config(cls, config: Config) -> ReadStore:
        return cls(config.store.url, default_sqlite_path(Path(config.journal.dir)))

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if isinstance(self._backend, _Sqlite) else "postgresql"

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Every row of one query."""
        return await self._backend.fetch(sql, params)

    def stream(
        self, sql: str, *params: Any, chunk: int = 1000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows of one query in lists of at most ``chunk``, read as they are consumed
        (one consistent read of the whole result)."""
        return self._backend.stream(sql, params, chunk)

    async def position(self) -> tuple[int, int]:
        """(seq, ts_us) of the last command whose rows are stored; (0, 0) when empty."""
        rows = await self.fetch(_POSITION)
        return int(rows[0][0]), int(rows[0][1])

    async def close(self) -> None:
        await self._backend.close()


#: where an aiohttp handler of the gateway finds the App's ReadStore
READSTORE: Final = web.AppKey("readstore", ReadStore)


class _Sqlite:
    """One read-only connection per worker thread, reopened when the file is replaced
    (a rebuild: the store deleted and the follower started again)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="readstore")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        db.execute("PRAGMA query_only=1")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the file now at path."""
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise StoreUnavailable(f"sqlite: {exc.strerror}: {self.path}") from exc
        identity = (stat.st_dev, stat.st_ino)
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None and self._local.identity == identity:
            return db
        if db is not None:
            db.close()
        db = self._connect()
        self._local.db, self._local.identity = db, identity
        with self._lock:
            self._all.append(db)
        return db

    async def _run(self, fn: Callable[[], T]) -> T:
        def call() -> T:
            try:
                return fn()
            except sqlite3.ProgrammingError:
                raise
            except sqlite3.DatabaseError as exc:  # missing, locked, not migrated yet
                raise StoreUnavailable(f"sqlite: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return await self._run(lambda: self._connection().execute(sql, params).fetchall())

    async def stream(
        self, sql: str, params: tuple[Any, ...], chunk: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        # A connection of its own: the cursor lives across calls on any worker thread.
        def start() -> tuple[sqlite3.Connection, sqlite3.Cursor]:
            if not self.path.exists():
                raise sqlite3.OperationalError(f"no store at {self.path}")
            db = self._connect()
            try:
                db.execute("BEGIN")  # one snapshot of the file for the whole result
                return db, db.execute(sql, params)
            except BaseException:
                db.close()
                raise

        db, cursor = await self._run(start)
        try:
            while rows := await self._run(lambda: cursor.fetchmany(chunk)):
                yield rows
        finally:
            await asyncio.get_running_loop().run_in_executor(self._pool, db.close)

    async def close(self) -> None:
        if self._closed:
            return  # an App may be stopped twice
        self._closed = True

        def close_all() -> None:
            with self._lock:
                for db in self._all:
                    db.close()
                self._all.clear()

        await asyncio.get_running_loop().run_in_executor(self._pool, close_all)
        self._pool.shutdown(wait=False)


class _Postgres:
    """A small asyncpg pool, created at the first query, holding no idle connection
    it did not need: a server that is down costs nothing until someone reads."""

    def __init__(self, url: str) -> None:
        from gateway.follower.store import postgres

        self.url = url
        self._numbered = postgres.numbered
        self._transient = postgres.TRANSIENT
        self._pool: asyncpg.Pool | None = None
        self._creating = asyncio.Lock()

    async def _get_pool(self) -> asyncpg.Pool:
        import asyncpg

        async with self._creating:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=0,
                    max_size=_READERS,
                    timeout=5,
                    command_timeout=60,
                    server_settings={
                        "default_transaction_read_only": "on",
                        "application_name": "venue-gateway-read",
                    },
                )
            return self._pool

    async def fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            pool = await self._get_pool()
            return [tuple(r) for r in await pool.fetch(self._numbered(sql), *params)]
        except self._transient as exc:
            raise StoreUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc

    async def stream(
        self, sql: str, params: tuple[Any, ...], chunk: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        try:
            pool = await self._get_pool()
            async with pool.acquire() as db, db.transaction(isolation="repeatable_read"):
                cursor = await db.cursor(self._numbered(sql), *params)
                while rows := await cursor.fetch(chunk):
                    yield [tuple(r) for r in rows]
        except self._transient as exc:
            raise StoreUnavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()  # never waits on a server that is gone
