"""Snapshots are written by a forked child: the state at the fork, files on disk, and a
failed child costs nothing but the snapshot."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from engine.commands import NewOrder
from engine.core import Engine
from engine.journal import recover
from engine.model import OrdType, Side
from gateway.config import load_config
from gateway.host import EngineHost
from gateway.metrics import Counter, Registry
from tests.gateway.durability import Driver, children, process_alive, resting_client_ids


def _host(tmp_path: Path, snapshot_every: int) -> EngineHost:
    cfg = load_config()
    journal = dataclasses.replace(
        cfg.journal, dir=str(tmp_path / "j"), fsync="never", snapshot_every=snapshot_every
    )
    return EngineHost(dataclasses.replace(cfg, journal=journal), Registry())


def _rest(host: EngineHost, n: int, start: int = 0) -> None:
    """n resting bids (far below any ask), so the snapshot has orders to carry."""
    for i in range(start, start + n):
        order = NewOrder(
            "ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 1_000, 9_000 - i, client_order_id=f"r{i}"
        )
        host.submit(order)


def _snapshot_files(journal_dir: Path) -> list[str]:
    return sorted(p.name for p in journal_dir.glob("snapshot-*.json"))


async def test_the_child_writes_the_state_as_of_the_fork_while_commands_go_on(
    tmp_path: Path,
) -> None:
    host = _host(tmp_path, snapshot_every=0)  # taken by hand, at a known point
    host.start()
    _rest(host, 50)
    await asyncio.sleep(0)  # group commit
    seq, expected_hash = host.engine.last_seq, host.engine.state_hash()
    assert host.snapshot()
    assert host.snapshots.running and not host.snapshot()  # one at a time
    _rest(host, 50, start=50)  # the parent goes on; the child's copy does not move
    await asyncio.sleep(0)
    result = await host.snapshots.wait()
    assert result is not None and result.ok and result.seq == seq
    assert result.pid != os.getpid()  # written by the child, not on the loop
    journal_dir = tmp_path / "j"
    doc = orjson.loads((journal_dir / f"snapshot-{seq:020d}.json").read_bytes())
    assert doc["seq"] == seq and doc["state_hash"] == expected_hash
    assert len(doc["state"]["listings"]["BTC-USD"]["bids"]) == 50
    final_hash = host.engine.state_hash()
    await host.stop()
    report = recover(Engine(), journal_dir)  # snapshot + the segment rolled at the fork
    assert (report.snapshot_seq, report.replayed) == (seq, 50)
    assert report.state_hash == final_hash


async def test_snapshot_every_starts_one_from_the_group_commit(tmp_path: Path) -> None:
    host = _host(tmp_path, snapshot_every=40)
    host.start()
    _rest(host, 30)
    await asyncio.sleep(0)
    assert not host.snapshots.running and host.snapshots.last is None
    _rest(host, 30, start=30)  # 60 commands since start (plus the seeding): due
    await asyncio.sleep(0)
    result = await host.snapshots.wait()
    assert result is not None and result.ok and result.seq == host.engine.last_seq
    assert _snapshot_files(tmp_path / "j") == [f"snapshot-{result.seq:020d}.json"]
    await host.stop()


async def test_a_failed_child_leaves_the_journal_whole_and_the_next_snapshot_works(
    tmp_path: Path,
) -> None:
    host = _host(tmp_path, snapshot_every=0)
    host.start()
    _rest(host, 20)
    await asyncio.sleep(0)
    seq = host.engine.last_seq
    journal_dir = tmp_path / "j"
    blocker = journal_dir / f"snapshot-{seq:020d}.tmp"
    blocker.mkdir()  # the child cannot create its temp file: it fails and exits 1
    assert host.snapshot()
    result = await host.snapshots.wait()
    assert result is not None and not result.ok and result.seq == seq
    failures = host.snapshots._m_failed
    assert isinstance(failures, Counter) and sum(failures.values.values()) == 1
    assert _snapshot_files(journal_dir) == []
    _rest(host, 20, start=20)  # the gateway goes on
    await asyncio.sleep(0)
    blocker.rmdir()
    assert host.snapshot()
    retry = await host.snapshots.wait()
    assert retry is not None and retry.ok and retry.seq == host.engine.last_seq
    final_hash = host.engine.state_hash()
    await host.stop()
    assert recover(Engine(), journal_dir).state_hash == final_hash


async def test_a_fork_that_fails_is_logged_and_the_host_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fork() can fail (EAGAIN, ENOMEM) and cannot be made to fail for real here (root
    ignores RLIMIT_NPROC): so os.fork is replaced for this one case."""
    host = _host(tmp_path, snapshot_every=0)
    host.start()
    _rest(host, 5)
    await asyncio.sleep(0)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert not host.snapshot()
    failures = host.snapshots._m_failed
    assert isinstance(failures, Counter) and sum(failures.values.values()) == 1
    assert not host.snapshots.running
    monkeypatch.undo()
    _rest(host, 5, start=5)
    await asyncio.sleep(0)
    assert host.snapshot()
    result = await host.snapshots.wait()
    assert result is not None and result.ok
    final_hash = host.engine.state_hash()
    await host.stop()
    assert recover(Engine(), tmp_path / "j").state_hash == final_hash


def test_a_snapshot_child_dies_with_its_killed_gateway_and_a_restart_is_clean(
    tmp_path: Path,
) -> None:
    """kill -9 of the gateway while its child writes a snapshot: the child must not
    go on changing the journal directory under the next gateway."""
    journal_dir = tmp_path / "j"
    driver = Driver(journal_dir)
    assert driver.order("before")
    answer = driver.control("!seq")
    assert answer is not None
    seq = int(answer.split()[1])
    fifo = journal_dir / f"snapshot-{seq:020d}.tmp"
    os.mkfifo(fifo)  # the child blocks opening its temp file: a snapshot in progress
    assert driver.control("!snapshot") == "snapshot started"
    (child,) = children(driver.proc.pid)
    try:
        os.kill(driver.proc.pid, signal.SIGKILL)
        driver.proc.wait()
        for _ in range(200):
            if not process_alive(child):
                break
            time.sleep(0.05)
        assert not process_alive(child)
    finally:
        if process_alive(child):
            os.kill(child, signal.SIGKILL)
    fifo.unlink()
    restarted = Driver(journal_dir)  # the directory lock is free again
    assert restarted.order("after")
    code, stderr = restarted.finish()
    assert code == 0, stderr
    engine = Engine()
    recover(engine, journal_dir)
    assert {"before", "after"} <= resting_client_ids(engine)
