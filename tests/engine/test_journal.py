"""Journal records, group commit, torn tails, corruption, snapshots."""

from __future__ import annotations

import dataclasses
import os
import random
import struct
import typing
import zlib
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path

import orjson
import pytest

import engine
from engine import commands
from engine.commands import (
    COMMAND_TYPES,
    Cancel,
    Command,
    NewOrder,
    OpenAccount,
    SetInstrumentStatus,
    Tick,
    command_from_record,
    command_to_record,
)
from engine.core import Engine
from engine.journal import (
    JournalCorrupt,
    JournalGap,
    JournalWriter,
    read_records,
    recover,
    write_snapshot,
)
from engine.model import OrdType, Side, Stp, TimeInForce, TradingStatus
from engine.sequencer import Sequencer
from tests.diskfull import fill, tmpfs
from tests.engine.helpers import Clock
from tests.engine.streams import random_command, setup_commands


def venue(directory: Path) -> tuple[Engine, JournalWriter, Clock]:
    """An engine journaling to directory (fsync never), its venue set up, not flushed."""
    clock = Clock()
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(directory, fsync="never")
    eng.on_command = writer.append
    for c in setup_commands():
        eng.submit(c)
    return eng, writer, clock


def run(directory: Path, n: int, seed: int = 7) -> tuple[Engine, JournalWriter]:
    eng, writer, clock = venue(directory)
    rng = random.Random(seed)
    for _ in range(n):
        clock.now += rng.randint(0, 400)
        eng.submit(random_command(rng, clock.now, eng.last_seq))
        if rng.random() < 0.2:
            writer.flush()
    writer.flush()
    return eng, writer


def segment(directory: Path) -> Path:
    (path,) = sorted(directory.glob("journal-*.log"))
    return path


def test_command_record_roundtrip() -> None:
    cmd = NewOrder("A", "BTC-USD", Side.BUY, OrdType.LIMIT, 3, 100, stp=Stp.DECREMENT)
    rec = orjson.loads(orjson.dumps(command_to_record(cmd)))
    assert rec[0] == 1
    assert command_from_record(rec) == cmd


@pytest.mark.parametrize(
    "command",
    [
        NewOrder("A", "BTC-USD", Side.SELL, OrdType.MARKET, 3, 0, TimeInForce.IOC, stp=Stp.NONE),
        NewOrder("A", "BTC-USD", Side.BUY, OrdType.LIMIT, 3, 100),  # stp None
        OpenAccount("A", Stp.EXPIRE_MAKER),
        SetInstrumentStatus("BTC-USD", TradingStatus.HALTED),
    ],
    ids=lambda c: type(c).__name__,
)
def test_enum_fields_come_back_as_enums(command: Command) -> None:
    """Records hold enums as ints; the compiled commands take only the enum."""
    back = command_from_record(orjson.loads(orjson.dumps(command_to_record(command))))
    assert back == command
    for f in dataclasses.fields(command):
        value = getattr(command, f.name)
        assert type(getattr(back, f.name)) is type(value), f.name


@pytest.mark.skipif(engine.NATIVE, reason="compiled, `Stp | None` annotations read as `type`")
@pytest.mark.parametrize("cls", list(COMMAND_TYPES.values()), ids=lambda c: c.__name__)
def test_the_decoded_enum_fields_are_every_enum_field(cls: type) -> None:
    """command_from_record's table is kept by hand: a new enum field left out of it
    would replay as an int, which the native build refuses."""
    expected = {}
    for name, hint in typing.get_type_hints(cls).items():
        for candidate in (hint, *typing.get_args(hint)):
            if isinstance(candidate, type) and issubclass(candidate, IntEnum):
                expected[name] = candidate
    assert commands._ENUM_FIELDS.get(cls, {}) == expected


def test_an_enum_value_that_is_no_member_replays_as_recorded() -> None:
    """For the engine to reject it as it did live (pure build); the compiled command
    cannot hold it, so there the record cannot be read."""
    record = [1, "A", "BTC-USD", 3, int(OrdType.LIMIT), 1, 100, 1, "", 0, False, None, 0]
    if engine.NATIVE:
        with pytest.raises(TypeError):
            command_from_record(record)
    else:
        assert command_from_record(record).side == 3


def test_group_commit_and_read_back(tmp_path: Path) -> None:
    eng, writer = run(tmp_path, 200)
    assert writer.pending == 0
    assert writer.stats.records == eng.last_seq
    assert writer.stats.flushes < eng.last_seq
    records = list(read_records(tmp_path))
    assert [r[0] for r in records] == list(range(1, eng.last_seq + 1))
    assert next(iter(read_records(tmp_path, after_seq=150)))[0] == 151
    writer.close()
    fresh = Engine()
    report = recover(fresh, tmp_path)
    assert (report.snapshot_seq, report.replayed, report.last_seq) == (
        0,
        eng.last_seq,
        eng.last_seq,
    )
    assert report.state_hash == fresh.state_hash() == eng.state_hash()
    assert fresh.sequencer.next()[0] == eng.last_seq + 1


def test_unflushed_records_are_not_durable(tmp_path: Path) -> None:
    eng, writer = run(tmp_path, 50)
    eng.submit(Tick())
    assert writer.pending == 1
    assert [r[0] for r in read_records(tmp_path)][-1] == eng.last_seq - 1


def test_replay_twice_same_hash(tmp_path: Path) -> None:
    eng, writer = run(tmp_path, 300, seed=3)
    writer.close()
    a, b = Engine(), Engine()
    recover(a, tmp_path)
    recover(b, tmp_path)
    assert a.state_hash() == b.state_hash() == eng.state_hash()
    assert a.state() == eng.state()


@pytest.mark.parametrize(
    "tail",
    [
        b"\x05\x00",  # short header
        struct.pack("<II", 100, 0) + b"{abc",  # short payload
        struct.pack("<II", 4, 12345) + b"[1,]",  # checksum mismatch
        b"\x00" * 32,  # zero-filled blocks after a crash
    ],
)
def test_torn_tail_truncated(tmp_path: Path, tail: bytes) -> None:
    eng, writer = run(tmp_path, 100)
    writer.close()
    path = segment(tmp_path)
    good = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(tail)
    fresh = Engine()
    assert recover(fresh, tmp_path).last_seq == eng.last_seq
    assert fresh.state_hash() == eng.state_hash()
    assert path.stat().st_size == good


def test_torn_tail_then_continue(tmp_path: Path) -> None:
    eng, writer = run(tmp_path, 100)
    writer.close()
    path = segment(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data + data[-30:-3])  # a partial copy of a real record
    fresh = Engine(Sequencer(Clock(10**12)))
    recover(fresh, tmp_path)
    w2 = JournalWriter(tmp_path, fsync="batch")
    fresh.on_command = w2.append
    fresh.submit(Tick())
    w2.close()
    again = Engine()
    assert recover(again, tmp_path).last_seq == eng.last_seq + 1
    assert again.state_hash() == fresh.state_hash()


def test_corrupt_middle_record_raises(tmp_path: Path) -> None:
    _, writer = run(tmp_path, 100)
    writer.close()
    path = segment(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt, match="offset"):
        recover(Engine(), tmp_path)


def test_corrupt_header_middle_raises(tmp_path: Path) -> None:
    _, writer = run(tmp_path, 30)
    writer.close()
    path = segment(tmp_path)
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack_from("<I", data, 0)
    struct.pack_into("<I", data, 0, length + 1)  # first record's length now wrong
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt):
        list(read_records(tmp_path))


def test_record_format(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path)
    writer.append(1, 42, Tick())
    assert writer.flush() == 1
    assert writer.stats.fsyncs == 1
    data = segment(tmp_path).read_bytes()
    length, crc = struct.unpack_from("<II", data)
    payload = data[8:]
    assert length == len(payload) and crc == zlib.crc32(payload)
    assert orjson.loads(payload) == [1, 42, 5]
    writer.close()
    with pytest.raises(ValueError):
        JournalWriter(tmp_path, fsync="sometimes")


def test_snapshot_recover_and_prune(tmp_path: Path) -> None:
    clock = Clock()
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(tmp_path, fsync="never")
    eng.on_command = writer.append
    for c in setup_commands():
        eng.submit(c)
    rng = random.Random(11)
    snaps = []
    for i in range(1, 601):
        clock.now += rng.randint(0, 400)
        eng.submit(random_command(rng, clock.now, eng.last_seq))
        if i % 150 == 0:
            writer.flush()
            writer.roll(eng.last_seq + 1)
            snaps.append(write_snapshot(eng, tmp_path, keep=2))
    writer.close()
    assert sorted(tmp_path.glob("snapshot-*.json")) == snaps[-2:]
    # segments wholly before the oldest kept snapshot are gone
    firsts = sorted(int(p.name[8:28]) for p in tmp_path.glob("journal-*.log"))
    assert firsts[0] == int(snaps[-2].name[9:29]) + 1
    fresh = Engine()
    report = recover(fresh, tmp_path)
    assert report.snapshot_seq == int(snaps[-1].name[9:29])
    assert report.replayed == eng.last_seq - report.snapshot_seq
    assert fresh.state_hash() == eng.state_hash()
    # a damaged snapshot (hash mismatch) is refused
    doc = orjson.loads(snaps[-1].read_bytes())
    doc["state"]["trade_id"] += 1
    snaps[-1].write_bytes(orjson.dumps(doc))
    with pytest.raises(JournalCorrupt, match="state hash"):
        recover(Engine(), tmp_path)
    # a truncated (unparsable) newest snapshot falls back to the older one
    snaps[-1].write_bytes(b'{"seq": 1')
    fresh = Engine()
    report = recover(fresh, tmp_path)
    assert report.snapshot_seq == int(snaps[-2].name[9:29])
    assert fresh.state_hash() == eng.state_hash()


def test_record_with_valid_crc_but_undecodable_payload_is_corruption(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import struct
    import zlib

    from engine.journal import JournalCorrupt, read_records

    good = b"[1,1000,5]"  # a Tick
    bad = b"[2,1001,999]"  # unknown command type 999, CRC is valid
    with open(tmp_path / "journal-00000000000000000001.log", "wb") as fh:
        for payload in (good, bad):
            fh.write(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload)
    records = read_records(tmp_path)
    assert next(records)[0] == 1
    try:
        next(records)
    except JournalCorrupt as exc:
        assert "undecodable record" in str(exc)
    else:
        raise AssertionError("expected JournalCorrupt")


def test_write_then_fsync_split_and_policies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.commands import Tick
    from engine.journal import JournalWriter, read_records

    batch = JournalWriter(tmp_path / "b", fsync="batch")
    never = JournalWriter(tmp_path / "n", fsync="never")
    interval = JournalWriter(tmp_path / "i", fsync="interval", interval_ms=60_000)
    for writer in (batch, never, interval):
        writer.append(1, 10, Tick())
        writer.append(2, 11, Tick())
        assert writer.write() == 2 and writer.pending == 0
        assert writer.write() == 0  # nothing buffered: no empty write
        assert [r[0] for r in read_records(writer.directory)] == [1, 2]  # in the OS already
    assert batch.fsync_due() is True
    assert never.fsync_due() is False
    assert interval.fsync_due() is True  # never synced yet
    interval.fsync()
    assert interval.fsync_due() is False  # synced just now, interval is a minute
    assert (batch.stats.fsyncs, interval.stats.fsyncs) == (0, 1)


def test_a_command_the_journal_refuses_gives_its_seq_back(tmp_path: Path) -> None:
    """orjson refuses integers beyond 64 bits. The refused command must not be applied
    nor leave a sequence gap: before, every later command failed with 'sequence gap'."""
    eng, writer = run(tmp_path, 50)
    last = eng.last_seq
    huge = NewOrder("A", "BTC-USD", Side.BUY, OrdType.LIMIT, 10**30, 100)
    with pytest.raises(orjson.JSONEncodeError):
        eng.submit(huge)
    assert (eng.last_seq, eng.sequencer.last_seq) == (last, last)
    eng.submit(Tick())  # the next command takes the number back
    assert eng.last_seq == last + 1
    writer.flush()
    replayed = Engine(Sequencer(Clock()))
    recover(replayed, tmp_path)
    assert replayed.state_hash() == eng.state_hash()


def test_a_deferred_roll_hands_the_old_segment_to_its_job(tmp_path: Path) -> None:
    """roll(defer=...) writes the old segment's buffer, opens the new segment at once and
    leaves fsync + close of the old one to the job, which the gateway runs off the loop."""
    writer = JournalWriter(tmp_path, fsync="never")
    writer.append(1, 10, Tick())
    writer.append(2, 20, Tick())
    old_fd = writer._fd
    jobs: list[Callable[[], None]] = []
    writer.roll(3, defer=jobs.append)
    assert len(jobs) == 1 and writer.path.name == f"journal-{3:020d}.log"
    assert [r[0] for r in read_records(tmp_path)] == [1, 2]  # written before the roll
    os.fstat(old_fd)  # still open: the job owns it
    writer.append(3, 30, Tick())
    writer.flush()
    jobs[0]()
    with pytest.raises(OSError):
        os.fstat(old_fd)  # the job fsynced and closed it
    writer.close()
    assert [r[0] for r in read_records(tmp_path)] == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.glob("journal-*.log")) == [
        f"journal-{1:020d}.log",
        f"journal-{3:020d}.log",
    ]


def test_a_failed_write_leaves_whole_records_and_no_later_write(tmp_path: Path) -> None:
    """ENOSPC on a real full filesystem: the partial group is cut off, and once space is
    back no later group lands behind a torn record (which recovery must refuse)."""
    with tmpfs(tmp_path / "disk") as disk:
        eng, writer, _ = venue(disk)
        writer.flush()
        filler = fill(disk / "filler")
        durable = eng.last_seq
        with pytest.raises(OSError):
            for _ in range(10_000):  # the segment's last page fills, then ENOSPC
                for _ in range(7):
                    eng.submit(Tick())
                writer.flush()
                durable = eng.last_seq
        filler.unlink()
        eng.submit(Tick())
        with pytest.raises(OSError):
            writer.flush()  # stays failed: the owner must stop
        assert [r[0] for r in read_records(disk)] == list(range(1, durable + 1))


def _three_segments(directory: Path) -> Engine:
    """Records 1..N in three segments, the writer closed."""
    eng, writer, clock = venue(directory)
    for _ in range(2):
        for _ in range(50):
            clock.now += 10
            eng.submit(Tick())
        writer.flush()
        writer.roll(eng.last_seq + 1)
    for _ in range(50):
        eng.submit(Tick())
    writer.close()
    return eng


def test_a_deleted_newest_segment_refuses_to_start(tmp_path: Path) -> None:
    """Without the newest segment the journal replays a shorter, valid history: the
    manifest written at the roll names the segment, so recovery refuses instead."""
    _three_segments(tmp_path)
    newest = sorted(tmp_path.glob("journal-*.log"))[-1]
    newest.unlink()
    with pytest.raises(JournalGap, match=rf"{newest.name} is missing"):
        recover(Engine(), tmp_path)


def test_a_deleted_middle_segment_is_a_named_gap(tmp_path: Path) -> None:
    _three_segments(tmp_path)
    sorted(tmp_path.glob("journal-*.log"))[1].unlink()
    with pytest.raises(JournalGap, match=r"records \d+ to \d+ are missing"):
        recover(Engine(), tmp_path)


def test_a_crash_at_any_point_of_a_roll_leaves_a_journal_that_starts(tmp_path: Path) -> None:
    """The new segment exists before the manifest names it, and the manifest is
    replaced atomically: every state a kill -9 can leave behind recovers."""
    writer = JournalWriter(tmp_path, fsync="never")
    for seq in (1, 2):
        writer.append(seq, seq * 10, Tick())
    jobs: list[Callable[[], None]] = []
    writer.roll(3, defer=jobs.append)
    writer.append(3, 30, Tick())
    writer.write()
    assert recover(Engine(), tmp_path).last_seq == 3  # killed before the job ran
    (tmp_path / "journal-manifest.tmp").write_bytes(b'{"segm')  # killed mid-manifest
    assert recover(Engine(), tmp_path).last_seq == 3
    jobs[0]()
    assert recover(Engine(), tmp_path).last_seq == 3  # after it
    writer.close()
    assert recover(Engine(), tmp_path).last_seq == 3


def test_a_journal_from_before_origin_replays(tmp_path: Path) -> None:
    """Order commands gained ``origin`` as their last field, then NewOrder
    ``reduce_only``: records written before them (shorter) replay to the same state,
    with origin 0 and reduce_only False."""
    eng, writer = run(tmp_path, 300)
    writer.close()
    path = segment(tmp_path)
    data, out, at, shortened = path.read_bytes(), bytearray(), 0, 0
    while at < len(data):
        size, _ = struct.unpack_from("<II", data, at)
        record = orjson.loads(data[at + 8 : at + 8 + size])
        at += 8 + size
        if record[2] == 1:  # NewOrder: reduce_only came last
            assert record.pop() is False
        if record[2] in (1, 2, 3, 4):  # NewOrder, Cancel, Replace, MassCancel
            assert record.pop() == 0
            shortened += 1
        payload = orjson.dumps(record)
        out += struct.pack("<II", len(payload), zlib.crc32(payload)) + payload
    path.write_bytes(bytes(out))
    assert shortened > 200
    fresh = Engine()
    assert recover(fresh, tmp_path).last_seq == eng.last_seq
    assert fresh.state_hash() == eng.state_hash()
    orders = [c for _, _, c in read_records(tmp_path) if isinstance(c, (NewOrder, Cancel))]
    assert orders and all(c.origin == 0 for c in orders)
    assert all(c.reduce_only is False for c in orders if isinstance(c, NewOrder))
