"""Per-session on-disk message store: sequence numbers and the recent outbound
application messages (for resends), surviving gateway restarts.

Layout of ``<store_dir>/<BeginString>-<SenderCompID>-<TargetCompID>/``:

``seqnums``
    ``"<next sender seq> <next target seq>\\n"``, two 20-digit fields rewritten in
    place. The file is fixed width and memory-mapped (shared), so a rewrite is a
    store into the page cache, not a system call: as durable against a process
    crash as a ``pwrite``, and on the ack path of every message.
``messages-<first seq, 20 digits>``
    segments of the message log: append-only records
    ``"<seq> <msgtype> <sending time> <body len>\\n<body>\\n"`` where ``body`` is the
    encoded body (everything after the standard header, up to but excluding
    CheckSum). Only application messages are stored; admin messages are answered
    with SequenceReset-GapFill on resend, as the FIX spec asks.

**Resend window.** A session that is never reset (141=Y) would otherwise grow its log
on disk, its index in memory and its start-up read forever: at 3,000 orders/s with a
drop copy, ~15 GiB of index a day. So only the last ``resend_window`` sequence numbers
are kept resendable: a segment holds a quarter of the window, and the oldest segment
is deleted once the newer ones cover the window. A ResendRequest for older numbers
is answered with SequenceReset-GapFill over them (FIX lets a sender gap-fill
application messages it will not resend); the client can ask for the orders'
status (H, AF) instead. A store written before segments (one ``messages`` file)
becomes the first segment on open.

Writes are buffered; :meth:`FileStore.flush` pushes them to the OS (and fsyncs if
the store was opened with ``fsync=True``).

**Inbound numbers count once durable.** With an ``after_durable`` hook (the engine
host's: it runs a callback once every command submitted before it is journaled), the
next target sequence number on disk moves only when the hook confirms it: an inbound
message counts as received once what it caused is durable. Killed in between, the
gateway restarts expecting that message again and asks for it with a ResendRequest,
instead of having counted an order that is in no journal. The acceptor flushes once per event-loop
iteration in which something changed. On open, a torn record at the end of a
segment (crash mid-write) is truncated away, and the next sender sequence number is
never lower than the last stored message + 1.
"""

from __future__ import annotations

import mmap
import os
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["MAX_SEQ_NUM", "FileStore", "StoredMessage", "session_dir_name"]

#: The largest sequence number a session takes (a signed 64-bit integer): one above it
#: still fits the 20-digit fields of ``seqnums``, and the C encoder writes it.
MAX_SEQ_NUM: Final = 2**63 - 1
_SEQ_FMT: Final = b"%020d %020d\n"
_SEQ_SIZE: Final = 42  # len(_SEQ_FMT % (0, 0))


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


_SEGMENT: Final = re.compile(r"^messages-(\d{20})$")


_RECENT_MAX: Final = 1024


class _Segment:
    """One file of the message log and its positional index: ``offsets[seq -
    first_seq]`` is where that message's record starts, -1 for a number not stored
    (admin), the newest few kept in ``recent`` until :meth:`settle`. 8 bytes a message.
    Records are appended in increasing seq order, so a record ends where the next
    stored one starts (or at the end of the file)."""

    __slots__ = ("fd", "first_seq", "offsets", "path", "pending", "recent", "size")

    def __init__(self, path: Path, first_seq: int) -> None:
        self.path = path
        self.first_seq = first_seq
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.offsets = array("q")
        # the newest offsets, moved into the array in bulk: array.append is a generic
        # method call from compiled code, list.append a native one
        self.recent: list[int] = []
        self.pending: list[bytes] = []
        self.size = 0

    def index(self, seq: int, offset: int) -> None:
        recent = self.recent
        if seq - self.first_seq == len(self.offsets) + len(recent):  # the next number
            recent.append(offset)
            if len(recent) >= _RECENT_MAX:
                self.settle()
            return
        self.settle()
        offsets = self.offsets
        i = seq - self.first_seq
        if i < 0:  # below the segment's start (an adopted single-file log): start over
            offsets = self.offsets = array("q")
            self.first_seq, i = seq, 0
        elif i < len(offsets):  # numbers went back: what followed is superseded
            del offsets[i:]
        if i > len(offsets):
            offsets.extend(array("q", [-1]) * (i - len(offsets)))
        offsets.append(offset)

    def settle(self) -> None:
        """Move the recent offsets into the array."""
        if self.recent:
            self.offsets.extend(self.recent)
            self.recent.clear()

    def read(self, begin: int, end: int) -> list[StoredMessage]:
        """This segment's stored messages with ``begin <= seq <= end``: one read of
        the span of the file they occupy."""
        self.settle()
        offsets, first = self.offsets, self.first_seq
        lo, hi = max(begin - first, 0), min(end - first, len(offsets) - 1)
        while lo <= hi and offsets[lo] < 0:
            lo += 1
        if lo > hi:
            return []
        stop = hi + 1  # the span ends where the next stored message starts
        while stop < len(offsets) and offsets[stop] < 0:
            stop += 1
        start = offsets[lo]
        span_end = offsets[stop] if stop < len(offsets) else self.size
        data = os.pread(self.fd, span_end - start, start)
        out: list[StoredMessage] = []
        pos = 0
        while pos < len(data):
            record = _parse_record(data, pos)
            if record is None:  # not expected: load validated the file, we wrote the rest
                break
            seq, msg_type, sending_time, body_start, record_end = record
            i = seq - first
            # a record the index does not point at was superseded (numbers reused)
            if lo <= i <= hi and offsets[i] == start + pos:
                out.append(
                    StoredMessage(seq, msg_type, sending_time, data[body_start : record_end - 1])
                )
            pos = record_end
        return out

    def write_pending(self, fsync: bool) -> None:
        """Write the pending records; on an OSError (a full disk) what was not written
        stays pending, in order, for the next try, and the error is raised."""
        data = b"".join(self.pending)
        self.pending.clear()
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError:
            self.pending.append(bytes(view))
            raise
        if fsync:
            os.fsync(self.fd)

    def delete(self) -> None:
        os.close(self.fd)
        self.path.unlink(missing_ok=True)


class FileStore:
    """The store of one session. Not thread-safe; owned by the event loop."""

    def __init__(
        self,
        directory: Path,
        fsync: bool = False,
        resend_window: int = 1_000_000,
        after_durable: Callable[[Callable[[], object]], object] | None = None,
    ) -> None:
        if resend_window < 1:
            raise ValueError("resend_window must be at least 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.resend_window = resend_window
        self._segment_span = -(-resend_window // 4)  # sequence numbers per segment
        self._seq_path = self.directory / "seqnums"
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self._seq_dirty = False
        self._unwritten = False  # a segment has pending records
        self._segments: list[_Segment] = []
        self._after_durable = after_durable
        #: the next target number on disk, and the newest one handed to after_durable;
        #: _epoch tells a confirmation from before a reset (141=Y) to do nothing
        self._durable_target = self._asked_target = 1
        self._epoch = 0
        self._closed = False
        #: the numbers ``seqnums`` holds (-1: not known): a flush that changes neither
        #: (an inbound number not yet durable, the common case before the journal
        #: write) leaves the file alone
        self._written_sender = self._written_target = -1
        self._load()
        self._durable_target = self._asked_target = self.next_target_seq
        self._seq_fd = os.open(self._seq_path, os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(self._seq_fd).st_size != _SEQ_SIZE:  # new (or foreign): lay it out
            os.ftruncate(self._seq_fd, _SEQ_SIZE)
            os.pwrite(self._seq_fd, self._seq_record(), 0)
            if fsync:
                os.fsync(self._seq_fd)
        self._seq_map = mmap.mmap(self._seq_fd, _SEQ_SIZE)

    def _load(self) -> None:
        if self._seq_path.exists():
            parts = self._seq_path.read_bytes().split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                self.next_sender_seq, self.next_target_seq = int(parts[0]), int(parts[1])
        self._adopt_single_file_log()
        found = []
        for path in self.directory.iterdir():
            m = _SEGMENT.match(path.name)
            if m:
                found.append((int(m.group(1)), path))
        last_seq = 0
        for first_seq, path in sorted(found):
            segment = _Segment(path, first_seq)
            data = path.read_bytes()
            pos = 0
            while pos < len(data):
                record = _parse_record(data, pos)
                if record is None:
                    break
                seq, _, _, _, end = record
                segment.index(seq, pos)
                last_seq = max(last_seq, seq)
                pos = end
            if pos < len(data):  # torn tail
                os.ftruncate(segment.fd, pos)
            segment.size = pos
            self._segments.append(segment)
        self.next_sender_seq = max(self.next_sender_seq, last_seq + 1)
        if last_seq:
            self._trim(last_seq)

    def _adopt_single_file_log(self) -> None:
        """A ``messages`` file from before segments becomes the first segment."""
        legacy = self.directory / "messages"
        if not legacy.exists():
            return
        record = _parse_record(legacy.read_bytes(), 0)
        if record is None:
            legacy.unlink()  # empty, or nothing but a torn first record
            return
        legacy.rename(self.directory / f"messages-{record[0]:020d}")

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
        segment = self._segment_for(seq_num)
        segment.index(seq_num, segment.size)
        segment.size += len(record)
        segment.pending.append(record)
        self._unwritten = True

    def _segment_for(self, seq: int) -> _Segment:
        """The segment ``seq`` is appended to: a new one every ``_segment_span``
        numbers (then the oldest leave the window), or after numbers went back
        below the newest segment's first (that segment is superseded)."""
        segments = self._segments
        while segments and seq < segments[-1].first_seq:
            segments.pop().delete()
        if segments and seq - segments[-1].first_seq < self._segment_span:
            return segments[-1]
        segment = _Segment(self.directory / f"messages-{seq:020d}", seq)
        segments.append(segment)
        self._trim(seq)
        return segment

    def _trim(self, newest_seq: int) -> None:
        """Delete the oldest segments while the newer ones still cover every number
        of the resend window ending at ``newest_seq``."""
        oldest_kept = newest_seq - self.resend_window + 1
        segments = self._segments
        while len(segments) > 1 and segments[1].first_seq <= oldest_kept:
            segments.pop(0).delete()

    def get_range(self, begin: int, end: int) -> list[StoredMessage]:
        """Stored messages with ``begin <= seq <= end``, ascending: one read per
        segment of the span they occupy there."""
        if self.dirty:
            self.flush()
        out: list[StoredMessage] = []
        segments = self._segments
        for k, segment in enumerate(segments):
            after = segments[k + 1].first_seq if k + 1 < len(segments) else None
            if after is not None and after <= begin:
                continue  # wholly before the range
            if segment.first_seq > end:
                break
            out += segment.read(begin, end)
        return out

    @property
    def dirty(self) -> bool:
        return self._seq_dirty or self._unwritten

    @property
    def awaiting_durable(self) -> bool:
        """An inbound number is counted in memory but not yet on disk."""
        return self._durable_target != self.next_target_seq

    def flush(self) -> None:
        """Write buffered messages and sequence numbers to the OS (fsync if configured).

        A message write that fails raises its OSError: the records not written stay
        buffered and the next flush tries again. The sequence numbers are written all
        the same (a store into a page the file already has), so a number sent once is
        never reused, even after a restart."""
        try:
            if self._unwritten:
                for segment in self._segments:
                    if segment.pending:
                        segment.write_pending(self.fsync)
                self._unwritten = False
        finally:
            self._flush_seqnums()

    def _flush_seqnums(self) -> None:
        if self._seq_dirty:
            self._seq_dirty = False
            target = self.next_target_seq
            hook = self._after_durable
            if hook is None:
                self._durable_target = target
            elif target != self._asked_target:
                self._asked_target = target
                epoch = self._epoch
                hook(lambda: self._target_durable(target, epoch))
            self._write_seqnums()

    def _target_durable(self, target: int, epoch: int) -> None:
        """after_durable's confirmation: what ``target`` counts is journaled."""
        if epoch == self._epoch and target > self._durable_target and not self._closed:
            self._durable_target = target
            self._write_seqnums()

    def _write_seqnums(self) -> None:
        sender, target = self.next_sender_seq, self._durable_target
        if sender == self._written_sender and target == self._written_target:
            return
        self._seq_map[:] = _SEQ_FMT % (sender, target)
        self._written_sender, self._written_target = sender, target
        if self.fsync:
            self._seq_map.flush()

    def reset(self) -> None:
        """Sequence numbers back to 1/1 and an empty message log (141=Y)."""
        for segment in self._segments:
            segment.delete()
        self._segments.clear()
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self._durable_target = self._asked_target = 1
        self._epoch += 1
        self._seq_dirty = True
        self.flush()

    def _seq_record(self) -> bytes:
        return _SEQ_FMT % (self.next_sender_seq, self._durable_target)

    def close(self) -> None:
        """Flush and close (once); the files are closed even if the flush raises."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._seq_map.close()
            for segment in self._segments:
                os.close(segment.fd)
            os.close(self._seq_fd)
