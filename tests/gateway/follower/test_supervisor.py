"""`python -m gateway` starts the follower, restarts it when it dies, stops it with
itself; a gateway killed outright does not leave it behind."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from loadtest.gateway_runner import GatewayProcess
from tests.gateway.durability import process_alive
from tests.gateway.follower.supervised import events as _events
from tests.gateway.follower.supervised import spawned as _spawned
from tests.gateway.follower.supervised import until as _until


def _store_seq(path: Path) -> int | None:
    """The store's position once the follower has written something."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as db:
            (seq,) = db.execute("SELECT seq FROM follower_state").fetchone()
    except sqlite3.OperationalError:
        return None  # not migrated yet
    return int(seq) or None


def _gateway(tmp_path: Path, **store: object) -> GatewayProcess:
    return GatewayProcess(
        tmp_path,
        load_sessions=0,
        log_level="info",
        overrides={"store": {"follower": True, **store}},
    ).start()


def test_the_gateway_restarts_a_follower_that_dies_and_stops_it_with_itself(
    tmp_path: Path,
) -> None:
    gateway = _gateway(tmp_path)
    try:
        first = _until(lambda: _spawned(gateway, 1), "the follower")
        # the demo venue's opening balances are journaled: the follower stores them
        _until(lambda: _store_seq(tmp_path / "store.sqlite3"), "the store")
        os_kill(first)
        second = _until(lambda: _spawned(gateway, 2), "a restarted follower")
        assert second != first
        (exited,) = _events(gateway, "follower.exited")
        assert exited["code"] == -signal.SIGKILL
        # /metrics: the restart, and a follower caught up with the live engine
        metrics = _until(
            lambda: m if (m := gateway.metrics()).get("gw_follower_up") == 1 else None,
            "the restarted follower to report",
        )
        assert metrics["gw_follower_restarts_total"] == 1
        _until(
            lambda: (
                m
                if (m := gateway.metrics())["gw_follower_applied_seq"] == m["gw_engine_seq"]
                else None
            ),
            "the follower to catch up",
        )
    finally:
        code = gateway.stop()
    assert code == 0, gateway.log_tail()
    assert not process_alive(second)


def test_a_follower_does_not_outlive_a_gateway_killed_outright(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path)
    try:
        pid = _until(lambda: _spawned(gateway, 1), "the follower")
        assert gateway.proc is not None
        gateway.proc.kill()
        gateway.proc.wait()
        _until(lambda: True if not process_alive(pid) else None, "the follower to exit")
    finally:
        gateway.stop()


def os_kill(pid: int) -> None:
    import os

    os.kill(pid, signal.SIGKILL)


def test_the_gateway_trades_while_its_store_is_unreachable(tmp_path: Path) -> None:
    """The journal is the truth: a database that cannot be reached holds nothing up;
    the follower retries and /metrics says how far behind it is."""
    gateway = _gateway(tmp_path, url=f"postgresql://venue@/venue?host={tmp_path / 'no-server'}")
    try:  # start() returned: the gateway is ready
        metrics = _until(
            lambda: m if (m := gateway.metrics()).get("gw_follower_up") == 1 else None,
            "the follower",
        )
        _until(lambda: _events(gateway, "store.unavailable") or None, "a retry")
        metrics = gateway.metrics()
        assert metrics["gw_follower_store_up"] == 0
        assert metrics["gw_follower_lag_commands"] == metrics["gw_engine_seq"] > 0
    finally:
        code = gateway.stop()
    assert code == 0, gateway.log_tail()
