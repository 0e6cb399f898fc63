"""The follower's SQL store: SQLite (default, embedded) or PostgreSQL (asyncpg).

Both run the same migrations (store/schema.py) and offer the same coroutines. A write
is one transaction holding a batch's rows and the new position (seq and CRC of the
last command applied): exactly once, whatever crashes when.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from gateway.follower.replay import Batch

__all__ = [
    "Reader",
    "StaleBatch",
    "Store",
    "StoreUnavailable",
    "is_new",
    "open_store",
    "redact",
    "sqlite_path_of",
]


class StoreUnavailable(Exception):
    """The database cannot be reached or refused the write: retry later."""


class StaleBatch(Exception):
    """The store's position is not where the batch starts (another writer?)."""


class Reader(Protocol):
    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query (``?`` placeholders)."""


class Store(Reader, Protocol):
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None: ...

    async def position(self) -> tuple[int, int]:
        """(seq, crc) of the last command whose rows are stored; (0, 0) when empty."""

    async def pseudo_balances(self) -> dict[tuple[str, str], int]:
        """The running balance of every pseudo account (``@fees``, ``@external``)."""

    async def write(self, batch: Batch) -> bool:
        """Store the batch and its position in one transaction. False if the store
        already holds it (a commit whose answer was lost); StaleBatch if the store is
        elsewhere."""

    async def insert(self, tables: list[tuple[str, list[Any]]]) -> None:
        """Insert (table, rows) pairs in one transaction: rows that are not replayed from
        the journal (published proofs of liabilities)."""


def is_new(stored_seq: int, batch: Batch) -> bool:
    """Whether a batch is still to be written, given the store's position (read in the
    write's transaction): False if it is already stored, StaleBatch if the store is
    neither before nor past it."""
    if stored_seq >= batch.last_seq:
        return False
    if stored_seq != batch.after_seq:
        raise StaleBatch(f"store at seq {stored_seq}, batch starts after {batch.after_seq}")
    return True


def sqlite_path_of(url: str, default_path: Path) -> Path | None:
    """The SQLite file a store URL names ("" = default_path, ``sqlite:PATH``), or None
    for ``postgresql://...``: the one reading of the URL, for the follower and readers."""
    if url.startswith(("postgresql://", "postgres://")):
        return None
    if url.startswith("sqlite:"):
        return Path(url.removeprefix("sqlite:").removeprefix("//"))
    if url:
        raise ValueError("store url: expected postgresql://... or sqlite:PATH")
    return default_path


def open_store(url: str, default_path: Path) -> Store:
    """The store a URL names: "" = SQLite at default_path, ``sqlite:PATH``, or
    ``postgresql://...``."""
    path = sqlite_path_of(url, default_path)
    if path is None:
        from gateway.follower.store.postgres import PostgresStore

        return PostgresStore(url)
    from gateway.follower.store.sqlite import SqliteStore

    return SqliteStore(path)


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
