"""A store writes a batch once: again (a commit whose answer was lost) is a no-op, a
batch from elsewhere is refused. SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.follower.replay import Batch
from gateway.follower.rows import Rows
from gateway.follower.store import StaleBatch, open_store, redact


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
