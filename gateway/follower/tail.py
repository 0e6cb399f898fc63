"""Read the journal while the gateway writes it: read only, never repairs anything.

engine.journal.read_records is for recovery: it truncates a torn tail. A follower
must not touch the writer's files, and a record it finds incomplete is usually one
being written. So the tail stops before any record that is short or fails its CRC
and tries again later; it moves to the next segment only when one starting at the
next seq exists (the writer rolls only after the old segment is complete). Damage
before the end is the gateway's recovery's business: it refuses to start on it.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from engine.commands import Command, command_from_record
from engine.core import Engine
from engine.journal import MANIFEST, replay_guard, segment_files, snapshot_files

__all__ = ["Guard", "JournalGap", "JournalTail", "Record", "segments", "snapshots"]

#: engine.journal.replay_guard's check, called before each record is applied
Guard = Callable[[Engine, int, Command], None]

_HEADER: Final = struct.Struct("<II")
_CHUNK: Final = 1 << 20


class JournalGap(Exception):
    """The records the store needs next are no longer (or not yet) in the journal."""


@dataclass(slots=True, init=False)
class Record:
    """One journal record. Its __init__ is written by hand (mypyc compiles it; a
    dataclass's generated one stays interpreted) and it is not frozen (a frozen one
    sets each field through object.__setattr__): one is built per record read."""

    seq: int
    ts_us: int
    command: Command
    crc: int  # the record's CRC-32: identifies it on resume

    def __init__(self, seq: int, ts_us: int, command: Command, crc: int) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.command = command
        self.crc = crc


def segments(directory: Path) -> list[tuple[int, Path]]:
    """(first seq, path) of every segment, oldest first."""
    return segment_files(directory)


def snapshots(directory: Path) -> list[tuple[int, Path]]:
    """(seq, path) of every snapshot, oldest first."""
    return snapshot_files(directory)


def load_snapshot(path: Path) -> dict[str, Any] | None:
    """A snapshot document, or None if it is cut short (a crash while it was written)."""
    try:
        doc: dict[str, Any] = orjson.loads(path.read_bytes())
    except (orjson.JSONDecodeError, FileNotFoundError):
        return None
    return doc


class JournalTail:
    """A cursor over the journal: read() returns the next complete records."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.next_seq = 1
        self._path: Path | None = None
        self._offset = 0
        self._probe_path: Path | None = None
        self._probe_offset = 0
        self.head_seq = 0  # the newest complete record seen (by read or probe)
        self._guard: Guard | None = None
        self._manifest_id: tuple[int, int, int] | None = None

    def guard(self) -> Guard:
        """The engine semantics check for the records read so far (engine.journal's
        replay_guard, as recovery applies it). Rebuilt whenever the manifest was
        replaced: a writer of another version that takes over the journal (it may append
        to the same segment) records where its records begin there before writing any,
        so a manifest read after the records describes them."""
        try:
            st = os.stat(self.directory / MANIFEST)
            found: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            found = None
        if self._guard is None or found != self._manifest_id:
            self._guard = replay_guard(self.directory)
            self._manifest_id = found
        return self._guard

    def seek(self, after_seq: int) -> None:
        """Position before the record after_seq + 1; JournalGap if no segment holds it."""
        found = segments(self.directory)
        start = [(first, path) for first, path in found if first <= after_seq + 1]
        if not start:
            if not found and after_seq == 0:
                self._path, self._offset, self.next_seq = None, 0, 1
                return
            oldest = found[0][0] if found else "none"
            raise JournalGap(
                f"{self.directory}: the journal holds no record {after_seq + 1} "
                f"(oldest segment starts at {oldest})"
            )
        self._path, self._offset = start[-1][1], 0
        self.next_seq = start[-1][0]
        while self.next_seq <= after_seq:
            if not self.read(min(after_seq - self.next_seq + 1, 10_000)):
                raise JournalGap(f"{self.directory}: the journal ends before seq {after_seq}")

    def read(self, limit: int) -> list[Record]:
        """Up to ``limit`` records from the cursor on, in seq order; [] if none is complete."""
        out: list[Record] = []
        while len(out) < limit:
            if self._path is None and not self._next_segment():
                break
            assert self._path is not None
            got = self._read_segment(limit - len(out), out)
            if not got and not self._next_segment():
                break
        if out:
            self.head_seq = max(self.head_seq, out[-1].seq)
        return out

    def _next_segment(self) -> bool:
        """Move on to the segment that starts at next_seq, if the writer has opened it.
        JournalGap if the segment being read was pruned and none starts at next_seq:
        the records after it are gone (the gateway logs why), waiting cannot bring them."""
        for first, path in segments(self.directory):
            if first == self.next_seq and path != self._path:
                self._path, self._offset = path, 0
                return True
        if self._path is not None and not self._path.exists():
            raise JournalGap(
                f"{self._path} was pruned before the follower read past seq "
                f"{self.next_seq - 1} (over [journal] follower_retain_mb, or no gateway "
                "retention for this follower); rebuild the store"
            )
        return False

    def _read_segment(self, limit: int, out: list[Record]) -> int:
        assert self._path is not None
        try:
            with open(self._path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(_CHUNK)
        except FileNotFoundError:
            return 0  # pruned under us: the next segment (or a gap) tells
        got = offset = 0
        while got < limit:
            record = _parse(data, offset)
            if record is None:
                break
            end, record_ = record
            if record_.seq != self.next_seq:
                raise JournalGap(f"{self._path}: expected seq {self.next_seq}, found {record_.seq}")
            out.append(record_)
            self.next_seq += 1
            offset = end
            got += 1
        self._offset += offset
        return got

    def probe_head(self) -> int:
        """The newest complete seq in the journal, without keeping the records (lag)."""
        found = segments(self.directory)
        if not found:
            return self.head_seq
        first, path = found[-1]
        if path != self._probe_path:
            self._probe_path, self._probe_offset = path, 0
            self.head_seq = max(self.head_seq, first - 1)
        try:
            with open(path, "rb") as fh:
                fh.seek(self._probe_offset)
                data = fh.read()
        except FileNotFoundError:
            return self.head_seq
        offset = 0
        while (header := _complete(data, offset)) is not None:
            end, seq = header
            self.head_seq = max(self.head_seq, seq)
            offset = end
        self._probe_offset += offset
        return self.head_seq


def _complete(data: bytes, offset: int) -> tuple[int, int] | None:
    """(end, seq) of a complete, intact record at offset, else None."""
    if len(data) - offset < _HEADER.size:
        return None
    length, crc = _HEADER.unpack_from(data, offset)
    end = offset + _HEADER.size + length
    if length == 0 or end > len(data):
        return None
    payload = data[offset + _HEADER.size : end]
    if zlib.crc32(payload) != crc:
        return None
    seq = int(payload[1 : payload.index(b",")])
    return end, seq


def _parse(data: bytes, offset: int) -> tuple[int, Record] | None:
    if len(data) - offset < _HEADER.size:
        return None
    length, crc = _HEADER.unpack_from(data, offset)
    end = offset + _HEADER.size + length
    if length == 0 or end > len(data):
        return None  # being written (or a tail the gateway's recovery will cut)
    payload = data[offset + _HEADER.size : end]
    if zlib.crc32(payload) != crc:
        return None
    fields: list[Any] = orjson.loads(payload)
    return end, Record(fields[0], fields[1], command_from_record(fields[2:]), crc)
