"""The only clock in the engine: a gapless sequence number and a microsecond timestamp.

The sequencer reads the wall clock (injected, so tests and replays control it) and
never lets time go backwards: ts_us is monotonic non-decreasing even if the host
clock steps back. The engine itself never reads a clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Sequencer", "wall_clock_us"]


def wall_clock_us() -> int:
    return time.time_ns() // 1000


class Sequencer:
    __slots__ = ("_clock", "last_seq", "last_ts_us")

    def __init__(
        self, clock_us: Callable[[], int] = wall_clock_us, last_seq: int = 0, last_ts_us: int = 0
    ) -> None:
        self._clock = clock_us
        self.last_seq = last_seq
        self.last_ts_us = last_ts_us

    def next(self) -> tuple[int, int]:
        """Stamp the next command: (seq, ts_us)."""
        ts = self._clock()
        if ts < self.last_ts_us:
            ts = self.last_ts_us
        self.last_seq += 1
        self.last_ts_us = ts
        return self.last_seq, ts

    def resume(self, last_seq: int, last_ts_us: int) -> None:
        """Continue after a replay: next seq is last_seq + 1, time never before last_ts_us."""
        self.last_seq = last_seq
        self.last_ts_us = last_ts_us
