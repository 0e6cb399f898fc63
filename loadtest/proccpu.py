"""CPU seconds a process (or each of its threads) has used, read from Linux /proc.

The benches report what a run cost the server, not only how fast it answered: on a
shared box latency is noisy, CPU seconds per phase much less so. Elsewhere (no /proc)
every figure is 0.0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuSample", "cpu_sample", "proc_cpu_s"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_cpu_s(path: str | Path) -> float:
    """utime + stime of one /proc ``stat`` file (0.0 if it is gone)."""
    try:
        with open(path, "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # the name may hold spaces
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, all its threads."""
    return _stat_cpu_s(f"/proc/{pid}/stat")


@dataclass(frozen=True)
class CpuSample:
    """A process's CPU seconds at one moment: in total, and its main thread's (for
    an asyncio server, the event loop's; the rest is its worker threads')."""

    total_s: float = 0.0
    main_s: float = 0.0

    @property
    def threads_s(self) -> float:
        return self.total_s - self.main_s

    def __sub__(self, earlier: CpuSample) -> CpuSample:
        return CpuSample(self.total_s - earlier.total_s, self.main_s - earlier.main_s)


def cpu_sample(pid: int) -> CpuSample:
    """:class:`CpuSample` of process ``pid`` now (the main thread's id is ``pid``)."""
    return CpuSample(proc_cpu_s(pid), _stat_cpu_s(f"/proc/{pid}/task/{pid}/stat"))
