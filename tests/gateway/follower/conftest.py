"""Fixtures of the follower tests: a PostgreSQL cluster for the session, and a fresh
store (SQLite file or PostgreSQL database) per test, for each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.follower.pg import PgCluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:{tmp_path / 'store.sqlite3'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return await cluster.new_database()
