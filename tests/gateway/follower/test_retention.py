"""A follower stopped for several snapshot intervals still catches up: the gateway's
pruning keeps the segments after its position. Beyond [journal] follower_retain_mb
they are pruned, the gateway says so, and the follower stops with JournalGap.

A real `python -m gateway` with its supervised follower; the follower is frozen with
SIGSTOP while FIX orders pass several snapshots, then let go.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from engine.journal import segment_files
from loadtest.fix_bench import Bench
from loadtest.gateway_runner import GatewayProcess
from tests.gateway.follower.supervised import events as _events
from tests.gateway.follower.supervised import spawned as _spawned
from tests.gateway.follower.supervised import until as _until

SNAPSHOT_EVERY = 40


def _gateway(tmp_path: Path, retain_mb: int) -> GatewayProcess:
    return GatewayProcess(
        tmp_path,
        load_sessions=0,
        log_level="info",
        fsync="never",
        overrides={
            "store": {"follower": True},
            "journal": {"snapshot_every": SNAPSHOT_EVERY, "follower_retain_mb": retain_mb},
        },
    ).start()


def _orders(gateway: GatewayProcess, count: int) -> None:
    async def drive() -> None:
        bench = Bench([("CLIENT1", b"1", "ACC1"), ("CLIENT2", b"2", "ACC2")], gateway.pid)
        await bench.connect(gateway.fix_port)
        await bench.run_level(8, count, 0, 120.0)
        assert bench.failure is None, bench.failure
        for conn in bench.conns:
            assert conn.transport is not None
            conn.transport.close()

    asyncio.run(drive())


def _frozen_follower(gateway: GatewayProcess) -> tuple[int, int]:
    """Wait until the follower has stored the opening commands; SIGSTOP it: (pid, seq)."""
    pid = _until(lambda: _spawned(gateway, 1), "the follower")
    seq = _until(
        lambda: (
            int(m["gw_follower_applied_seq"]) or None
            if (m := gateway.metrics())["gw_follower_applied_seq"] == m["gw_engine_seq"]
            else None
        ),
        "the follower to store the opening commands",
    )
    os.kill(pid, signal.SIGSTOP)
    return pid, seq


def _resume(pid: int) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError):  # it exited
            os.kill(pid, signal.SIGCONT)


def _past_snapshots(gateway: GatewayProcess, count: int) -> None:
    """Orders until count more snapshots are written (one is skipped while the last is
    still being written, so the count of orders alone does not say)."""
    target = len(_events(gateway, "journal.snapshot")) + count
    _until(
        lambda: (
            True
            if len(_events(gateway, "journal.snapshot")) >= target
            else _orders(gateway, SNAPSHOT_EVERY)
        ),
        "the snapshots",
    )


def test_a_follower_behind_several_snapshots_catches_up(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, retain_mb=1024)
    pid = 0
    try:
        pid, seq = _frozen_follower(gateway)
        _past_snapshots(gateway, 4)
        # the segment holding the follower's next record is still there
        (first, _), *_ = segment_files(gateway.journal_dir)
        assert first <= seq + 1
        os.kill(pid, signal.SIGCONT)
        _until(
            lambda: (
                m
                if (m := gateway.metrics())["gw_follower_applied_seq"] == m["gw_engine_seq"]
                else None
            ),
            "the follower to catch up",
        )
        assert _events(gateway, "follower.exited") == []
        assert _events(gateway, "journal.follower_retention_exceeded") == []
        # caught up, it no longer holds old segments: the next snapshots prune them
        _past_snapshots(gateway, 2)
        assert segment_files(gateway.journal_dir)[0][0] > seq + 1
    finally:
        _resume(pid)
        code = gateway.stop()
    assert code == 0, gateway.log_tail()


def test_beyond_the_cap_the_segments_go_and_the_follower_says_journal_gap(
    tmp_path: Path,
) -> None:
    gateway = _gateway(tmp_path, retain_mb=0)
    pid = 0
    try:
        pid, seq = _frozen_follower(gateway)
        _past_snapshots(gateway, 4)
        (exceeded, *_) = _events(gateway, "journal.follower_retention_exceeded")
        assert exceeded["follower_seq"] == seq
        os.kill(pid, signal.SIGCONT)
        (exited, *_) = _until(lambda: _events(gateway, "follower.exited") or None, "an exit")
        assert exited["code"] == 1
        (gap, *_) = _events(gateway, "follower.cannot_follow")
        assert "pruned" in gap["error"]
    finally:
        _resume(pid)
        code = gateway.stop()
    assert code == 0, gateway.log_tail()
