"""Shared fixtures: a real gateway App on ephemeral ports with a temp journal dir.

``make_gateway(**sections)`` overrides config sections field by field, e.g.
``await make_gateway(ws={"max_requests_per_s": 5})``; listen addresses default to
127.0.0.1:0 and the bound ports are on the components (``app.ws.port``,
``app.http.port``, ``app.fix.acceptor.port``). Every App started is stopped at the
end of the test.

``store_url`` is a fresh follower store of each backend (``backend``: a SQLite file, or
a database of the session's throwaway PostgreSQL cluster ``pg_cluster``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from gateway.app import App
from gateway.config import Config, load_config
from gateway.follower.follower import Follower, FollowerSettings
from tests.gateway.follower.pg import PgCluster, running_cluster

MakeGateway = Callable[..., Awaitable[App]]


def test_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    """The demo config on ephemeral ports and temp dirs, with per-section overrides."""
    base = load_config()
    defaults: dict[str, dict[str, Any]] = {
        "journal": {"dir": str(tmp_path / "journal"), "fsync": "never"},
        "fix": {"listen": "127.0.0.1:0", "store_dir": str(tmp_path / "fix")},
        "ws": {"listen": "127.0.0.1:0"},
        "http": {"listen": "127.0.0.1:0"},
        "admin": {"listen": "127.0.0.1:0"},
        "perp": {"tick_ms": 0},  # tests submit their PerpTicks (gateway/perp_ticks.py)
    }
    for name, values in sections.items():
        defaults.setdefault(name, {}).update(values)
    changes: dict[str, Any] = {
        name: {**current, **values}  # a table its own parser reads ([surveillance])
        if isinstance(current := getattr(base, name), dict)
        else dataclasses.replace(current, **values)
        for name, values in defaults.items()
    }
    return dataclasses.replace(base, **changes)


async def catch_up(journal_dir: Path, store_url: str = "") -> int:
    """Run a journal follower until it has stored every journaled command (then stop
    it), as the supervised follower process would: the seq it stored up to."""
    follower = Follower(FollowerSettings(journal_dir, store_url=store_url))
    try:
        await follower.start(asyncio.Event())
        while await follower.step(asyncio.Event()):
            pass
    finally:
        await follower.close()
    return follower.applied_seq


async def follow(app: App) -> int:
    """catch_up for a running gateway's journal and configured store."""
    return await catch_up(Path(app.config.journal.dir), app.config.store.url)


async def submit_applied(app: App, command: Any) -> list[Any]:
    """Submit ``command`` as the admin API does and wait until every host listener has
    seen its events (the live views follow it); its events."""
    events = app.host.submit(command)
    done = asyncio.get_running_loop().create_future()
    app.host.defer(lambda: done.set_result(None))
    await done
    return events


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``configure_logging`` (benchmarks call it in-process) sets process-wide state:
    every test gets back the logging set-up it started with."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    structlog_config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**structlog_config)


@pytest.fixture
async def make_gateway(tmp_path: Path) -> AsyncIterator[MakeGateway]:
    apps: list[App] = []

    async def make(**sections: dict[str, Any]) -> App:
        app = App(test_config(tmp_path, **sections))
        await app.start()
        apps.append(app)
        return app

    yield make
    for app in reversed(apps):
        await app.stop()


@pytest.fixture
async def gateway(make_gateway: MakeGateway) -> App:
    """A running demo gateway (instruments BTC-USD, ETH-USD; accounts ACC1..ACC3)."""
    return await make_gateway()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    with running_cluster() as cluster:
        yield cluster


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
