"""EngineHost group commit: events leave only after the journal has them, in order."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from engine.commands import Tick
from engine.core import Engine
from engine.journal import JournalGap, read_records, recover
from gateway.config import load_config
from gateway.host import EngineHost, EventBatch
from gateway.metrics import Registry
from tests.diskfull import fill, tmpfs
from tests.gateway.durability import Driver, resting_client_ids


def _host(tmp_path: Path, fsync: str) -> EngineHost:
    cfg = load_config()
    cfg = dataclasses.replace(
        cfg, journal=dataclasses.replace(cfg.journal, dir=str(tmp_path / "j"), fsync=fsync)
    )
    return EngineHost(cfg, Registry())


async def test_pipelined_commit_releases_after_fsync_and_groups_the_next(tmp_path: Path) -> None:
    host = _host(tmp_path, "batch")
    host.start()
    seen: list[int] = []
    host.listeners.append(lambda batch: seen.append(batch.seq))
    first = host.engine.last_seq + 1
    host.submit(Tick())
    await asyncio.sleep(0)  # the flush runs: record written, fsync handed to the thread
    assert host._syncing is not None
    assert seen == []  # not acknowledged before the fsync completes
    journal_dir = Path(host.config.journal.dir)
    assert [r[0] for r in read_records(journal_dir)][-1] == first  # written (OS) already
    host.submit(Tick())  # arrive while the fsync runs: the next group
    host.submit(Tick())
    for _ in range(200):
        await asyncio.sleep(0.005)
        if len(seen) == 3:
            break
    assert seen == [first, first + 1, first + 2]
    assert host._m_fsync_us.count == 2  # two groups, two fsyncs (1 command, then 2)
    await host.stop()


async def test_stop_commits_what_is_held(tmp_path: Path) -> None:
    host = _host(tmp_path, "batch")
    host.start()
    released: list[EventBatch] = []
    host.listeners.append(released.append)
    host.submit(Tick())
    host.submit(Tick())
    last = host.engine.last_seq
    await host.stop()  # no loop turn in between: stop must write, fsync and release
    assert [b.seq for b in released] == [last - 1, last]
    assert [r[0] for r in read_records(tmp_path / "j")][-2:] == [last - 1, last]


async def test_fsync_never_releases_right_after_the_write(tmp_path: Path) -> None:
    host = _host(tmp_path, "never")
    host.start()
    seen: list[int] = []
    host.listeners.append(lambda batch: seen.append(batch.seq))
    host.submit(Tick())
    await asyncio.sleep(0)
    assert host._syncing is None and seen == [host.engine.last_seq]
    assert host._m_fsync_us.count == 0
    await host.stop()


def test_a_full_disk_stops_the_host_and_every_acknowledged_order_survives(tmp_path: Path) -> None:
    """A journal write that fails (ENOSPC, here on a real full tmpfs) is fail-stop like a
    failed fsync: exit 70, nothing torn left in front of later records, and once space
    is back the journal replays with every order that was acknowledged."""
    with tmpfs(tmp_path / "disk") as disk:
        journal_dir = disk / "journal"
        driver = Driver(journal_dir)
        filler = fill(disk / "filler")
        acked = []
        for i in range(1000):  # a few KB at most fit in the segment's last page
            if not driver.order(f"o{i}"):
                break
            acked.append(f"o{i}")
        filler.unlink()  # space comes back while the host may still be up
        for i in range(1000, 1005):
            if driver.order(f"o{i}"):
                acked.append(f"o{i}")
        code, stderr = driver.finish()
        assert code == 70, stderr
        assert "journal.write_failed" in stderr
        assert acked  # some orders were acknowledged before the disk filled
        engine = Engine()
        recover(engine, journal_dir)  # no JournalCorrupt: the restart succeeds
        assert set(acked) <= resting_client_ids(engine)


async def test_a_deleted_newest_segment_stops_the_next_start(tmp_path: Path) -> None:
    """400 commands, a snapshot (and roll) after 300: without the newest segment the
    last 100 would be silently gone. The next start refuses and names the file."""
    host = _host(tmp_path, "never")
    host.start()
    for _ in range(300):
        host.submit(Tick())
    await asyncio.sleep(0)
    assert host.snapshot()
    await host.snapshots.wait()
    for _ in range(100):
        host.submit(Tick())
    await host.stop()
    newest = sorted((tmp_path / "j").glob("journal-*.log"))[-1]
    newest.unlink()
    restarted = _host(tmp_path, "never")
    with pytest.raises(JournalGap, match=rf"{newest.name} is missing"):
        restarted.start()


def test_kill_9_at_any_point_leaves_a_journal_that_starts(tmp_path: Path) -> None:
    """Killed right after a roll (its durability job and the snapshot child in flight)
    or between orders: every restart succeeds with every acknowledged order."""
    journal_dir = tmp_path / "j"
    acked: list[str] = []
    for cycle in range(3):
        driver = Driver(journal_dir)  # asserts it started
        for i in range(20):
            assert driver.order(f"c{cycle}-{i}")
            acked.append(f"c{cycle}-{i}")
            if i == 10:
                assert driver.control("!snapshot") == "snapshot started"
        if cycle == 1:
            answer = driver.control("!snapshot")  # the kill lands on the roll
            assert answer is not None and answer.startswith("snapshot")
        driver.proc.kill()
        driver.proc.communicate(timeout=60)
    engine = Engine()
    recover(engine, journal_dir)
    assert set(acked) <= resting_client_ids(engine)


async def test_the_config_bootstraps_an_empty_journal_only(tmp_path: Path) -> None:
    """After the first start the journal is the truth: a config account added later is
    not opened, and a changed opening balance is not applied."""
    host = _host(tmp_path, "never")
    host.start()
    assert "ACC1" in host.engine.accounts
    first_hash, first_seq = host.engine.state_hash(), host.engine.last_seq
    await host.stop()

    cfg = host.config
    extra = dataclasses.replace(cfg.accounts[0], id="LATE1", balances={"USD": "5"})
    richer = dataclasses.replace(cfg.accounts[0], balances={"USD": "1"})
    cfg = dataclasses.replace(cfg, accounts=[richer, *cfg.accounts[1:], extra])
    again = EngineHost(cfg, Registry())
    again.start()
    assert "LATE1" not in again.engine.accounts
    assert again.engine.last_seq == first_seq
    assert again.engine.state_hash() == first_hash
    await again.stop()


async def test_a_read_is_committed_at_its_end_not_on_a_later_loop_pass(tmp_path: Path) -> None:
    """Inside begin_input/end_input nothing is scheduled: end_input writes the journal
    and releases the events itself, so a lone order is answered in the pass that read
    it. Outside a read, a submit is flushed on the next pass, as before."""
    host = _host(tmp_path, "never")
    host.start()
    seen: list[int] = []
    host.listeners.append(lambda batch: seen.append(batch.seq))
    host.begin_input()
    host.submit(Tick())
    host.submit(Tick())
    assert host._flush_handle is None and seen == []  # held until the read's end
    host.end_input()
    last = host.engine.last_seq
    assert seen == [last - 1, last]  # one group, released without a loop pass
    assert [r[0] for r in read_records(Path(host.config.journal.dir))][-1] == last
    host.submit(Tick())
    assert host._flush_handle is not None and seen[-1] == last  # outside a read: next pass
    await asyncio.sleep(0)
    assert seen[-1] == last + 1
    await host.stop()


async def test_end_input_cancels_a_flush_already_scheduled(tmp_path: Path) -> None:
    """A command submitted before the read (already call_soon'd) is committed with the
    read's, and the scheduled pass is cancelled rather than run for nothing."""
    host = _host(tmp_path, "never")
    host.start()
    seen: list[int] = []
    host.listeners.append(lambda batch: seen.append(batch.seq))
    host.submit(Tick())
    handle = host._flush_handle
    assert handle is not None
    host.begin_input()
    host.submit(Tick())
    host.end_input()
    assert len(seen) == 2 and handle.cancelled() and host._flush_handle is None
    await host.stop()
