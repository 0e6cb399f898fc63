"""The fan-out subscribers' per-message work: frame the market-data pushes and read them.

Every push of a book channel (docs/WS_API.md) starts ``{"channel":`` and carries
``"seq":N``, then (a delta) ``"prev_seq":P``, then ``"ts_us":T``; a snapshot has no
``prev_seq`` and says ``"type":"snapshot"``. :func:`scan` walks the complete server
frames of a receive buffer that are such pushes and, for each, checks the ``prev_seq``
chain and, inside the measuring window, records ``now - ts_us``. It stops at the first
frame that is anything else (a partial frame, a control frame, an answer, anything it
cannot read) and leaves that one to the caller's general frame loop.

This Python function is the reference. The native build (setup.py ``C_MODULES``)
compiles ``_cwsscan.c``, the same function in C, which the subscribers then use;
tests/loadtest/test_ws_scan.py holds the two equal on generated streams.
"""

from __future__ import annotations

import re
import time
from array import array
from collections.abc import Callable

__all__ = ["COUNTERS", "NATIVE", "Scan", "scan", "scan_reference"]

#: ``counts`` slots: frames read, gaps (a ``prev_seq`` that is not the last ``seq``),
#: snapshots, conflations (a snapshot after the first); then the measuring window
#: (receipt times in us, ``lo <= now < hi``), which the caller sets.
COUNTERS = ("frames", "gaps", "snapshots", "conflations", "window_lo", "window_hi")

_CHANNEL = b'{"channel":'
_SEQ = b'"seq":'
_PREV = b'"prev_seq":'
_TS = b'"ts_us":'
_SNAPSHOT = b'"type":"snapshot"'
#: A number the scanner reads: 1 to 18 digits (so it fits a C int64), not followed by one.
_NUMBER = re.compile(rb"[0-9]{1,18}(?![0-9])")

Scan = Callable[[bytes | bytearray, int, int, int, "array[int]", bytearray], tuple[int, int]]


def _number(buf: bytes | bytearray, at: int, end: int) -> int:
    """The number at ``at`` (ending before ``end``), or -1."""
    match = _NUMBER.match(buf, at, end)
    return -1 if match is None else int(match.group())


def scan_reference(
    buf: bytes | bytearray,
    pos: int,
    last_seq: int,
    now_us: int,
    counts: array[int],
    lats: bytearray,
) -> tuple[int, int]:
    """Read the market-data frames from ``pos``: ``(position after them, last seq)``.

    Adds to ``counts`` (see :data:`COUNTERS`) and, when ``now_us`` is inside the window,
    appends ``now_us - ts_us`` of each frame to ``lats`` as a little-endian int64. A
    negative ``now_us`` means now: the wall clock (``time.time_ns``) when called.
    """
    if now_us < 0:
        now_us = time.time_ns() // 1000
    record = counts[4] <= now_us < counts[5]
    size = len(buf)
    while size - pos >= 2:
        if buf[pos] != 0x81:  # not a whole, unmasked text frame
            break
        n = buf[pos + 1]
        off = pos + 2
        if n == 126:
            if size - pos < 4:
                break
            n = (buf[pos + 2] << 8) | buf[pos + 3]
            off = pos + 4
        elif n == 127:
            if size - pos < 10:
                break
            n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            off = pos + 10
        elif n > 127:  # masked
            break
        end = off + n
        if end > size or not buf.startswith(_CHANNEL, off, end):
            break
        i = buf.find(_SEQ, off, end)
        if i < 0 or (seq := _number(buf, i + 6, end)) < 0:
            break
        j = buf.find(_PREV, i + 6, end)
        prev = -1 if j < 0 else _number(buf, j + 11, end)
        if j >= 0 and prev < 0:
            break
        k = buf.find(_TS, i + 6 if j < 0 else j + 11, end)
        if k < 0 or (ts := _number(buf, k + 8, end)) < 0:
            break
        counts[0] += 1
        if j >= 0:
            if prev != last_seq:
                counts[1] += 1
        elif buf.find(_SNAPSHOT, off, end) >= 0:
            counts[2] += 1
            if last_seq >= 0:
                counts[3] += 1
        last_seq = seq
        if record:
            lats += (now_us - ts).to_bytes(8, "little", signed=True)
        pos = end
    return pos, last_seq


scan: Scan
NATIVE: bool
try:  # built by `make native` from _cwsscan.c; absent in the pure-Python build
    from loadtest._cwsscan import scan as _native_scan
except ImportError:
    scan, NATIVE = scan_reference, False
else:
    scan, NATIVE = _native_scan, True
