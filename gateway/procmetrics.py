"""The standard Prometheus process metrics, read from /proc at scrape time.

``process_cpu_seconds_total``, ``process_resident_memory_bytes``, ``process_open_fds``,
``process_max_fds`` and ``process_start_time_seconds``, named as the official clients
name them so that dashboards and alerts written for those work unchanged. Each is a
render-time callback: nothing is read between scrapes. Linux only; elsewhere none are
registered.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from gateway.metrics import Registry

__all__ = ["register_process_metrics"]

_PROC = Path("/proc/self")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _stat_fields() -> list[str]:
    """/proc/self/stat after the command name (which may hold spaces): field 3 first."""
    text = (_PROC / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds() -> float:
    fields = _stat_fields()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _resident_bytes() -> float:
    return int((_PROC / "statm").read_text().split()[1]) * _PAGE


def _open_fds() -> float:
    return len(os.listdir(_PROC / "fd"))


def _max_fds() -> float:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _start_time() -> float:
    """Seconds since the epoch: boot time (/proc/stat btime) plus the process's start
    in clock ticks after boot (stat field 22)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) + int(_stat_fields()[19]) / _TICKS
    raise OSError("no btime in /proc/stat")


def register_process_metrics(registry: Registry) -> None:
    """Add the process metrics to ``registry`` (no-op without /proc)."""
    if not (_PROC / "stat").exists():
        return
    start = _start_time()  # fixed for the life of the process
    registry.gauge(
        "process_cpu_seconds_total", "Total user and system CPU time spent in seconds", "counter"
    ).set_source(_cpu_seconds)
    registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes").set_source(
        _resident_bytes
    )
    registry.gauge("process_open_fds", "Number of open file descriptors").set_source(_open_fds)
    registry.gauge("process_max_fds", "Maximum number of open file descriptors").set_source(
        _max_fds
    )
    registry.gauge(
        "process_start_time_seconds", "Start time of the process since unix epoch in seconds"
    ).set_source(lambda: start)
