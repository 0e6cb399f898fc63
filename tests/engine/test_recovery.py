"""Crash at random points, recover, compare with an uninterrupted run of the same prefix."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.commands import Command
from engine.core import Engine
from engine.journal import JournalWriter, recover, write_snapshot
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.streams import random_command, setup_commands


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    torn=st.sampled_from(["none", "partial", "partial+garbage", "garbage", "zeros", "badcrc"]),
    snapshots=st.booleans(),
)
def test_crash_recover_equals_uninterrupted_prefix(
    seed: int, n: int, torn: str, snapshots: bool
) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        clock = Clock()
        live = Engine(Sequencer(clock))
        writer = JournalWriter(directory, fsync="never")
        stamped: list[tuple[int, int, Command]] = []

        def hook(seq: int, ts: int, cmd: Command) -> None:
            stamped.append((seq, ts, cmd))
            writer.append(seq, ts, cmd)

        live.on_command = hook
        durable = 0
        cmds = setup_commands()
        for i in range(len(cmds) + n):
            clock.now += rng.choice((0, 1, rng.randint(0, 500), -50))  # clock may step back
            live.submit(cmds[i] if i < len(cmds) else random_command(rng, clock.now, live.last_seq))
            if rng.random() < 0.15:
                writer.flush()
                durable = live.last_seq
                if snapshots and rng.random() < 0.3:
                    if rng.random() < 0.5:
                        writer.roll(live.last_seq + 1)
                    write_snapshot(live, directory, keep=rng.randint(1, 3))
        # Crash: whatever is still buffered is lost; the fd is just dropped.
        os.close(writer._fd)
        last = max(directory.glob("journal-*.log"))
        if torn != "none":
            real = stamped[-1]
            probe = JournalWriter(directory / "probe", fsync="never")
            probe.append(*real)
            record = bytes(probe._buffer)
            probe.close()
            tail = b""
            if "partial" in torn:
                tail += record[: rng.randint(1, len(record) - 1)]
            if "garbage" in torn:
                tail += rng.randbytes(rng.randint(1, 64))
            if torn == "zeros":
                tail = b"\x00" * rng.randint(1, 4096)
            if torn == "badcrc":
                tail = record[:4] + bytes([record[4] ^ 1]) + record[5:]
            with open(last, "ab") as fh:
                fh.write(tail)

        expected = Engine()
        for seq, ts, cmd in stamped[:durable]:
            expected.apply(seq, ts, cmd)

        recovered = Engine(Sequencer(Clock(0)))
        report = recover(recovered, directory)
        assert report.last_seq == durable
        assert recovered.state_hash() == expected.state_hash()
        assert recovered.state() == expected.state()

        # Recovery is repeatable, and the journal keeps working after a repaired tail.
        again = Engine()
        recover(again, directory)
        assert again.state_hash() == expected.state_hash()
        writer2 = JournalWriter(directory, fsync="batch")
        recovered.on_command = writer2.append
        expected.sequencer.resume(expected.last_seq, expected.last_ts_us)
        for _ in range(5):
            cmd = random_command(rng, recovered.last_ts_us, recovered.last_seq)
            recovered.submit(cmd)
            expected.apply(recovered.last_seq, recovered.last_ts_us, cmd)
        writer2.close()
        third = Engine()
        recover(third, directory)
        assert third.state_hash() == recovered.state_hash() == expected.state_hash()


def test_the_report_hash_is_the_state_hash_with_and_without_a_journal_tail(
    tmp_path: Path,
) -> None:
    """recover() reuses the hash it checked the snapshot with when nothing follows it."""
    live = Engine(Sequencer(Clock()))
    writer = JournalWriter(tmp_path, fsync="never")
    live.on_command = writer.append
    for cmd in setup_commands():
        live.submit(cmd)
    writer.flush()
    write_snapshot(live, tmp_path)
    restored = Engine()
    report = recover(restored, tmp_path)
    assert (report.snapshot_seq, report.replayed) == (live.last_seq, 0)
    assert report.state_hash == restored.state_hash() == live.state_hash()
    writer.roll(live.last_seq + 1)
    live.submit(setup_commands()[-1])  # refused or not, it is journaled: a tail
    writer.flush()
    replayed = Engine()
    report = recover(replayed, tmp_path)
    assert report.replayed == 1
    assert report.state_hash == replayed.state_hash() == live.state_hash()
    writer.close()
