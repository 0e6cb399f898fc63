"""Per-session on-disk message store: sequence numbers and outbound application
messages (for resends), surviving gateway restarts.

Layout of ``<store_dir>/<BeginString>-<SenderCompID>-<TargetCompID>/``:

``seqnums``
    ``"<next sender seq> <next target seq>\\n"``, two 20-digit fields rewritten in
    place. The file is fixed width and memory-mapped (shared), so a rewrite is a
    store into the page cache, not a system call: as durable against a process
    crash as a ``pwrite``, and on the ack path of every message.
``messages``
    append-only records ``"<seq> <msgtype> <sending time> <body len>\\n<body>\\n"``
    where ``body`` is the encoded body (everything after the standard header, up to
    but excluding CheckSum). Only application messages are stored; admin messages
    are answered with SequenceReset-GapFill on resend, as the FIX spec asks.

Writes are buffered; :meth:`FileStore.flush` pushes them to the OS (and fsyncs if
the store was opened with ``fsync=True``). The acceptor flushes once per event-loop
iteration in which something changed. On open, a torn record at the end of
``messages`` (crash mid-write) is truncated away, and the next sender sequence
number is never lower than the last stored message + 1.
"""

from __future__ import annotations

import mmap
import os
import re
from array import array
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileStore", "StoredMessage", "session_dir_name"]

_SEQ_FMT = b"%020d %020d\n"
_SEQ_SIZE = 42  # len(_SEQ_FMT % (0, 0))


def _parse_record(data: bytes, pos: int) -> tuple[int, bytes, bytes, int, int] | None:
    """The ``messages`` record at ``pos``: (seq, msg type, sending time, body start,
    record end), or None if it is torn or malformed."""
    nl = data.find(b"\n", pos)
    if nl == -1:
        return None
    head = data[pos:nl].split(b" ")
    if len(head) != 4 or not head[0].isdigit() or not head[3].isdigit():
        return None
    end = nl + 1 + int(head[3]) + 1
    if end > len(data) or data[end - 1 : end] != b"\n":
        return None
    return int(head[0]), head[1], head[2], nl + 1, end


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq_num: int
    msg_type: bytes
    sending_time: bytes
    body: bytes


def session_dir_name(begin_string: str, sender_comp_id: str, target_comp_id: str) -> str:
    raw = f"{begin_string}-{sender_comp_id}-{target_comp_id}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", raw)


class FileStore:
    """The store of one session. Not thread-safe; owned by the event loop."""

    def __init__(self, directory: Path, fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._seq_path = self.directory / "seqnums"
        self._msg_path = self.directory / "messages"
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self._seq_dirty = False
        # Where each stored message starts in ``messages``: _offsets[seq - _first_seq],
        # -1 for a sequence number that was not stored (admin). 8 bytes a message: a
        # dict of tuples cost ~150, which grew the gateway by ~0.7 KB per order under load.
        # Records are appended in increasing seq order, so a record ends where the
        # next stored one starts (or at the end of the file).
        self._first_seq = 1
        self._offsets = array("q")
        self._pending: list[bytes] = []
        self._size = 0
        self._load()
        self._seq_fd = os.open(self._seq_path, os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(self._seq_fd).st_size != _SEQ_SIZE:  # new (or foreign): lay it out
            os.ftruncate(self._seq_fd, _SEQ_SIZE)
            os.pwrite(self._seq_fd, self._seq_record(), 0)
            if fsync:
                os.fsync(self._seq_fd)
        self._seq_map = mmap.mmap(self._seq_fd, _SEQ_SIZE)
        self._msg_fd = os.open(self._msg_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)

    def _load(self) -> None:
        if self._seq_path.exists():
            parts = self._seq_path.read_bytes().split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                self.next_sender_seq, self.next_target_seq = int(parts[0]), int(parts[1])
        if not self._msg_path.exists():
            return
        data = self._msg_path.read_bytes()
        pos = 0
        last_seq = 0
        while pos < len(data):
            record = _parse_record(data, pos)
            if record is None:
                break
            seq, _, _, _, end = record
            self._index(seq, pos)
            last_seq = max(last_seq, seq)
            pos = end
        if pos < len(data):  # torn tail
            with open(self._msg_path, "r+b") as f:
                f.truncate(pos)
        self._size = pos
        self.next_sender_seq = max(self.next_sender_seq, last_seq + 1)

    # -- sequence numbers ------------------------------------------------------------

    def set_next_sender_seq(self, seq: int) -> None:
        self.next_sender_seq = seq
        self._seq_dirty = True

    def set_next_target_seq(self, seq: int) -> None:
        self.next_target_seq = seq
        self._seq_dirty = True

    def incr_next_target_seq(self) -> None:
        self.next_target_seq += 1
        self._seq_dirty = True

    def next_sender(self) -> int:
        """Take the next outbound sequence number."""
        seq = self.next_sender_seq
        self.next_sender_seq = seq + 1
        self._seq_dirty = True
        return seq

    # -- messages ----------------------------------------------------------------

    def save(self, seq_num: int, msg_type: bytes, sending_time: bytes, body: bytes) -> None:
        """Append one outbound application message (buffered until :meth:`flush`)."""
        record = b"%d %s %s %d\n%s\n" % (seq_num, msg_type, sending_time, len(body), body)
        self._index(seq_num, self._size)
        self._size += len(record)
        self._pending.append(record)

    def _index(self, seq: int, offset: int) -> None:
        offsets = self._offsets
        if not offsets:
            self._first_seq = seq
        i = seq - self._first_seq
        if i < 0:  # numbers went back without a reset: only this new history counts
            offsets = self._offsets = array("q")
            self._first_seq, i = seq, 0
        elif i < len(offsets):
            del offsets[i:]
        if i > len(offsets):
            offsets.extend(array("q", [-1]) * (i - len(offsets)))
        offsets.append(offset)

    def get_range(self, begin: int, end: int) -> list[StoredMessage]:
        """Stored messages with ``begin <= seq <= end``, ascending: one read of the
        span of the log they occupy."""
        if self._pending:
            self.flush()
        offsets, first = self._offsets, self._first_seq
        lo, hi = max(begin - first, 0), min(end - first, len(offsets) - 1)
        while lo <= hi and offsets[lo] < 0:
            lo += 1
        if lo > hi:
            return []
        stop = hi + 1  # the span ends where the next stored message starts
        while stop < len(offsets) and offsets[stop] < 0:
            stop += 1
        start = offsets[lo]
        span_end = offsets[stop] if stop < len(offsets) else self._size
        data = os.pread(self._msg_fd, span_end - start, start)
        out: list[StoredMessage] = []
        pos = 0
        while pos < len(data):
            record = _parse_record(data, pos)
            if record is None:  # not expected: _load validated the log, we wrote the rest
                break
            seq, msg_type, sending_time, body_start, end = record
            i = seq - first
            # a record the index does not point at was superseded (numbers reused)
            if lo <= i <= hi and offsets[i] == start + pos:
                out.append(StoredMessage(seq, msg_type, sending_time, data[body_start : end - 1]))
            pos = end
        return out

    @property
    def dirty(self) -> bool:
        return self._seq_dirty or bool(self._pending)

    def flush(self) -> None:
        """Write buffered messages and sequence numbers to the OS (fsync if configured)."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            view = memoryview(data)
            while view:
                written = os.write(self._msg_fd, view)
                view = view[written:]
            if self.fsync:
                os.fsync(self._msg_fd)
        if self._seq_dirty:
            self._seq_dirty = False
            self._seq_map[:] = self._seq_record()
            if self.fsync:
                self._seq_map.flush()

    def reset(self) -> None:
        """Sequence numbers back to 1/1 and an empty message log (141=Y)."""
        self._pending.clear()
        del self._offsets[:]
        os.ftruncate(self._msg_fd, 0)
        self._size = 0
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self._seq_dirty = True
        self.flush()

    def _seq_record(self) -> bytes:
        return _SEQ_FMT % (self.next_sender_seq, self.next_target_seq)

    def close(self) -> None:
        self.flush()
        self._seq_map.close()
        os.close(self._msg_fd)
        os.close(self._seq_fd)
