"""On-disk message store: persistence across reopen, torn tails, reset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fix.store import FileStore


def test_store_persists_seqnums_and_messages(tmp_path: Path) -> None:
    s = FileStore(tmp_path / "s")
    assert (s.next_sender_seq, s.next_target_seq) == (1, 1)
    for _ in range(3):
        seq = s.next_sender()
        s.save(seq, b"8", b"20240101-00:00:00.000", b"11=A%d\x01" % seq)
    s.next_sender()  # an admin message, not stored
    s.incr_next_target_seq()
    s.close()
    s2 = FileStore(tmp_path / "s")
    assert (s2.next_sender_seq, s2.next_target_seq) == (5, 2)
    got = s2.get_range(2, 10)
    assert [(m.seq_num, m.body) for m in got] == [(2, b"11=A2\x01"), (3, b"11=A3\x01")]
    assert got[0].msg_type == b"8" and got[0].sending_time == b"20240101-00:00:00.000"
    s2.close()


def test_store_unflushed_seqnums_recovered_from_messages(tmp_path: Path) -> None:
    s = FileStore(tmp_path / "s")
    for _ in range(2):
        seq = s.next_sender()
        s.save(seq, b"8", b"t", b"x=1\x01")
    s.flush()
    (tmp_path / "s" / "seqnums").write_bytes(b"%020d %020d\n" % (1, 1))  # stale
    s2 = FileStore(tmp_path / "s")
    assert s2.next_sender_seq == 3  # never reuse a stored sequence number


def test_store_torn_tail_truncated(tmp_path: Path) -> None:
    s = FileStore(tmp_path / "s")
    s.save(s.next_sender(), b"8", b"t", b"a=1\x01")
    s.close()
    with open(tmp_path / "s" / "messages", "ab") as f:
        f.write(b"2 8 t 100\npartial")
    s2 = FileStore(tmp_path / "s")
    assert [m.seq_num for m in s2.get_range(1, 10)] == [1]
    s2.save(s2.next_sender(), b"8", b"t", b"b=2\x01")
    s2.close()
    s3 = FileStore(tmp_path / "s")
    assert [m.body for m in s3.get_range(1, 10)] == [b"a=1\x01", b"b=2\x01"]


def test_store_reset(tmp_path: Path) -> None:
    s = FileStore(tmp_path / "s", fsync=True)
    s.save(s.next_sender(), b"8", b"t", b"a=1\x01")
    s.incr_next_target_seq()
    s.reset()
    assert (s.next_sender_seq, s.next_target_seq) == (1, 1)
    assert s.get_range(1, 100) == []
    s.close()
    s2 = FileStore(tmp_path / "s")
    assert (s2.next_sender_seq, s2.next_target_seq) == (1, 1)


def test_store_range_skips_admin_gaps_and_superseded_records(tmp_path: Path) -> None:
    """The index is positional (seq -> offset, -1 for admin numbers): a range read
    returns exactly the stored numbers inside it, and a number written again without
    a reset (only the newest history counts) hides what it replaced, after reopen too."""
    s = FileStore(tmp_path / "s")
    for seq in (1, 2, 4, 5, 6, 9):  # 3, 7, 8: admin messages, not stored
        s.save(seq, b"8", b"t", b"v=%d\x01" % seq)
    assert [m.seq_num for m in s.get_range(2, 8)] == [2, 4, 5, 6]
    assert [m.seq_num for m in s.get_range(3, 3)] == []
    assert [m.seq_num for m in s.get_range(7, 100)] == [9]
    s.save(5, b"8", b"t", b"v=5b\x01")  # numbers went back: 5 replaces 5, 6 and 9
    s.flush()
    for store in (s, FileStore(tmp_path / "s")):
        got = store.get_range(1, 100)
        assert [(m.seq_num, m.body) for m in got] == [
            (1, b"v=1\x01"), (2, b"v=2\x01"), (4, b"v=4\x01"), (5, b"v=5b\x01")
        ]  # fmt: skip


def _save_all(store: FileStore, seqs: range) -> None:
    for seq in seqs:
        store.save(seq, b"8", b"t", b"v=%d\x01" % seq)
    store.flush()


def _segment_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("messages-*"))


def test_store_keeps_the_resend_window_and_deletes_older_segments(tmp_path: Path) -> None:
    """Only the last resend_window numbers must stay resendable: segments of a quarter
    window each, the oldest deleted once the newer ones cover the window, so disk,
    index and start-up read stay bounded however long the session runs."""
    s = FileStore(tmp_path / "s", resend_window=8)  # segments of 2 numbers
    _save_all(s, range(1, 31))
    kept = [m.seq_num for m in s.get_range(1, 30)]
    assert kept[-8:] == list(range(23, 31))  # the whole window
    assert kept == list(range(kept[0], 31)) and len(kept) <= 8 + 2  # and little more
    assert len(_segment_files(tmp_path / "s")) <= 5
    assert sum(len(seg.offsets) for seg in s._segments) == len(kept)
    s.close()
    reopened = FileStore(tmp_path / "s", resend_window=8)
    after = [m.seq_num for m in reopened.get_range(1, 30)]
    assert after[-8:] == list(range(23, 31)) and after == kept[-len(after) :]
    assert reopened.next_sender_seq == 31
    reopened.close()


def test_store_range_reads_across_segments_with_admin_gaps(tmp_path: Path) -> None:
    s = FileStore(tmp_path / "s", resend_window=12)  # segments of 3 numbers
    stored = [seq for seq in range(1, 13) if seq % 4]  # 4, 8, 12: admin numbers
    for seq in stored:
        s.save(seq, b"8", b"t", b"v=%d\x01" % seq)
    # a segment starts at the first number stored in it: 1, 5 and 9
    assert _segment_files(tmp_path / "s") == [f"messages-{n:020d}" for n in (1, 5, 9)]
    assert [m.seq_num for m in s.get_range(2, 10)] == [2, 3, 5, 6, 7, 9, 10]
    assert [m.seq_num for m in s.get_range(4, 4)] == []
    assert [m.body for m in s.get_range(11, 100)] == [b"v=11\x01"]
    s.close()


def test_store_going_back_across_segments_supersedes_the_newer_ones(tmp_path: Path) -> None:
    s = FileStore(tmp_path / "s", resend_window=12)
    _save_all(s, range(1, 10))  # segments 1-3, 4-6, 7-9
    s.save(5, b"8", b"t", b"v=5b\x01")  # 5.. again: segment 7-9 and 6 are superseded
    s.flush()
    assert _segment_files(tmp_path / "s") == [f"messages-{1:020d}", f"messages-{4:020d}"]
    for store in (s, FileStore(tmp_path / "s", resend_window=12)):
        got = [(m.seq_num, m.body) for m in store.get_range(1, 100)]
        assert got == [(n, b"v=%d\x01" % n) for n in range(1, 5)] + [(5, b"v=5b\x01")]


def test_store_written_as_one_file_is_adopted_as_the_first_segment(tmp_path: Path) -> None:
    directory = tmp_path / "s"
    directory.mkdir()
    (directory / "messages").write_bytes(b"3 8 t 4\nv=3\x01\n5 8 t 4\nv=5\x01\n")
    s = FileStore(directory)
    assert _segment_files(directory) == [f"messages-{3:020d}"]
    assert not (directory / "messages").exists()
    assert [(m.seq_num, m.body) for m in s.get_range(1, 10)] == [(3, b"v=3\x01"), (5, b"v=5\x01")]
    assert s.next_sender_seq == 6
    s.close()


def test_an_adopted_log_whose_numbers_went_back_keeps_only_the_newest_history(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "s"
    directory.mkdir()
    (directory / "messages").write_bytes(b"5 8 t 4\nv=5\x01\n6 8 t 4\nv=6\x01\n3 8 t 4\nv=3\x01\n")
    for _ in range(2):  # adopted, then reopened as a segment
        s = FileStore(directory)
        assert [(m.seq_num, m.body) for m in s.get_range(1, 10)] == [(3, b"v=3\x01")]
        s.close()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3000),
    st.lists(st.tuples(st.integers(1, 9000), st.integers(0, 400)), max_size=8),
)
def test_store_index_over_thousands_of_messages_with_gaps_and_rewinds(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[int],
    ranges: list[tuple[int, int]],
) -> None:
    """The index takes the next number cheaply and settles in bulk: ranges read before
    and after a reopen are what was stored, across gaps (admin numbers) and rewinds."""
    directory = tmp_path_factory.mktemp("s")
    store = FileStore(directory)
    stored: dict[int, bytes] = {}
    seq = 0
    for n, step in enumerate(steps):
        seq = seq + step if n % 500 != 499 else max(1, seq - 50)  # now and then: go back
        if seq <= max(stored, default=0):
            stored = {k: v for k, v in stored.items() if k < seq}  # superseded
        stored[seq] = b"58=%d\x01" % n
        store.save(seq, b"8", b"t", stored[seq])
        if n % 700 == 0:
            store.flush()
    store.flush()
    for reopen in (False, True):
        if reopen:
            store.close()
            store = FileStore(directory)
        for begin, span in [(1, 9000), *ranges]:
            got = [(m.seq_num, m.body) for m in store.get_range(begin, begin + span)]
            want = [(k, v) for k, v in sorted(stored.items()) if begin <= k <= begin + span]
            assert got == want
    store.close()


def _seqnums_on_disk(directory: Path) -> tuple[int, int]:
    sender, target = (directory / "seqnums").read_bytes().split()
    return int(sender), int(target)


def test_inbound_number_reaches_the_disk_only_once_after_durable_confirms(
    tmp_path: Path,
) -> None:
    confirmations: list[Callable[[], object]] = []
    s = FileStore(tmp_path / "s", after_durable=confirmations.append)
    s.next_sender()
    s.incr_next_target_seq()
    s.incr_next_target_seq()
    s.flush()
    assert (s.next_target_seq, _seqnums_on_disk(tmp_path / "s")) == (3, (2, 1))
    assert s.awaiting_durable and len(confirmations) == 1
    s.flush()  # nothing new to ask for
    assert len(confirmations) == 1
    confirmations.pop()()
    assert _seqnums_on_disk(tmp_path / "s") == (2, 3) and not s.awaiting_durable
    # a confirmation from before a reset (141=Y) does not move the new numbers
    s.incr_next_target_seq()
    s.flush()
    s.reset()
    confirmations.pop()()
    assert _seqnums_on_disk(tmp_path / "s") == (1, 1)
    s.close()
    assert FileStore(tmp_path / "s").next_target_seq == 1


def test_a_flush_that_changes_no_number_leaves_seqnums_alone(tmp_path: Path) -> None:
    """An inbound number counts on disk only once durable: the flush before that (on
    every message, ahead of the journal write) has nothing to write, and does not."""
    confirmations: list[Callable[[], object]] = []
    store = FileStore(tmp_path, after_durable=confirmations.append)
    store.next_sender()
    store.flush()
    real = store._seq_map
    writes: list[bytes] = []

    class Spy:
        def __setitem__(self, key: slice, value: bytes) -> None:
            writes.append(value)
            real[key] = value

        def flush(self) -> None:
            real.flush()

        def close(self) -> None:
            real.close()

    store._seq_map = Spy()  # type: ignore[assignment]
    store.incr_next_target_seq()
    store.flush()
    assert writes == []  # counted in memory, not yet durable: the file is unchanged
    confirmations.pop()()
    assert writes == [b"%020d %020d\n" % (2, 2)]
    store.close()
    assert (tmp_path / "seqnums").read_bytes() == b"%020d %020d\n" % (2, 2)
