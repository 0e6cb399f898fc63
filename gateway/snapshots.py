"""Engine snapshots written by a forked child, so the event loop never waits for one.

A snapshot costs time in proportion to the state: build the canonical state, serialize
it, hash it, write it, fsync it. With 100,000 resting orders that is ~0.3-0.7 s, and
written on the event loop it stopped every session for that long, every
``snapshot_every`` commands. ``fork()`` copies page tables, not memory (a few ms for a
few hundred MiB), and the child sees the engine exactly as it was after the last
command applied: it writes the snapshot with :func:`engine.journal.write_snapshot`,
prunes older snapshots and segments (keeping what a live follower still reads:
gateway/retention.py) and exits. The parent goes on at once
and reaps the child on a worker thread. Memory the parent writes while the child runs
is copied on write, so a snapshot briefly costs up to the engine's size again in RAM.

POSIX only, like the rest of the journal (it fsyncs directories).
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import structlog

from engine.core import Engine
from engine.journal import write_snapshot
from gateway.metrics import Registry
from gateway.retention import Retention, prune_journal

__all__ = ["SnapshotResult", "SnapshotWriter"]

log = structlog.get_logger("gateway.snapshots")

_PR_SET_PDEATHSIG = 1
#: the child's exit code when it wrote the snapshot but pruned files the follower needed
_FOLLOWER_PRUNED = 3
#: loaded in the parent, so the child does not dlopen between fork and work
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """How one snapshot ended: ``ok`` False means no new snapshot file (see the log)."""

    seq: int
    ok: bool
    pid: int
    pause_us: int  # what the event loop spent on it: the fork
    duration_us: int  # from the fork to the child reaped
    follower_pruned: bool = False  # the follower's files were over the cap: deleted


class SnapshotWriter:
    """At most one snapshot in progress; :meth:`start` refuses a second one."""

    def __init__(self, directory: Path, registry: Registry, keep: int = 2) -> None:
        self.directory = directory
        self.keep = keep
        #: a descriptor the child keeps open: the journal directory's lock (gateway/dirlock.py)
        self.keep_fd = -1
        self.last: SnapshotResult | None = None
        #: what to keep for a live follower (its supervisor sets this), asked at each start
        self.retain: Callable[[], Retention | None] = lambda: None
        self._retention: Retention | None = None
        self._reaped: asyncio.Future[SnapshotResult] | None = None
        self._m_pause = registry.duration(
            "gw_snapshot_pause_seconds", "Event-loop time a snapshot took (the fork)"
        )
        self._m_duration = registry.duration(
            "gw_snapshot_duration_seconds", "Snapshot start to file written"
        )
        self._m_failed = registry.counter("gw_snapshot_failures_total", "Snapshots not written")
        self._m_follower_pruned = registry.counter(
            "gw_journal_follower_pruned_total",
            "Snapshots that pruned segments the follower still needed (over the retention cap)",
        )

    @property
    def running(self) -> bool:
        return self._reaped is not None

    def start(self, engine: Engine) -> bool:
        """Snapshot the engine as it is now; False if one is still being written or
        no child could be started (logged: the journal still holds everything)."""
        if self._reaped is not None:
            return False
        seq = engine.last_seq
        retention = self._retention = self.retain()
        start = time.perf_counter_ns()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as exc:  # EAGAIN/ENOMEM: out of processes or memory
            self._m_failed.inc()
            log.error("journal.snapshot_failed", seq=seq, error=repr(exc))
            return False
        if pid == 0:
            _child_main(engine, self.directory, self.keep, retention, parent, self.keep_fd)
        pause = (time.perf_counter_ns() - start) // 1000
        loop = asyncio.get_running_loop()
        reaped = loop.run_in_executor(None, _wait_child, pid, seq, start, pause)
        reaped.add_done_callback(self._on_reaped)
        self._reaped = reaped
        return True

    async def wait(self) -> SnapshotResult | None:
        """The snapshot in progress, once written (None if there is none)."""
        reaped = self._reaped
        if reaped is None:
            return None
        return await asyncio.shield(reaped)

    def _on_reaped(self, reaped: asyncio.Future[SnapshotResult]) -> None:
        self._reaped = None
        if reaped.cancelled():
            return
        error = reaped.exception()
        if error is not None:
            self._m_failed.inc()
            log.error("journal.snapshot_failed", error=repr(error))
            return
        self._finish(reaped.result())

    def _finish(self, result: SnapshotResult) -> None:
        self.last = result
        self._m_pause.observe(result.pause_us)
        self._m_duration.observe(result.duration_us)
        if result.ok:
            log.info(
                "journal.snapshot",
                seq=result.seq,
                pid=result.pid,
                pause_us=result.pause_us,
                duration_ms=round(result.duration_us / 1000, 1),
            )
        else:
            self._m_failed.inc()
            log.error("journal.snapshot_failed", seq=result.seq, pid=result.pid)
        if result.follower_pruned and self._retention is not None:
            self._m_follower_pruned.inc()
            log.error(
                "journal.follower_retention_exceeded",
                follower_seq=self._retention.follower_seq,
                max_bytes=self._retention.max_bytes,
                detail="segments the follower still needs were pruned: it stops with "
                "JournalGap; rebuild its store or raise [journal] follower_retain_mb",
            )


def _wait_child(pid: int, seq: int, start_ns: int, pause_us: int) -> SnapshotResult:
    """Worker thread: block until the child exits (exit code 0 = snapshot written)."""
    _, status = os.waitpid(pid, 0)
    duration = (time.perf_counter_ns() - start_ns) // 1000
    code = os.waitstatus_to_exitcode(status)
    ok = code in (0, _FOLLOWER_PRUNED)
    return SnapshotResult(seq, ok, pid, pause_us, duration, code == _FOLLOWER_PRUNED)


def _child_main(
    engine: Engine,
    directory: Path,
    keep: int,
    retention: Retention | None,
    parent: int,
    keep_fd: int,
) -> NoReturn:
    """The forked child: write the snapshot and leave without running any parent cleanup.

    It dies with its parent: a gateway killed with -9 must not leave a writer that
    goes on pruning the journal directory under the next gateway. It closes the
    inherited descriptors but keep_fd (the directory lock, so a restart waits for it),
    so a socket the parent closes meanwhile is really closed for its peer, and takes
    the default signal actions, so stopping the process group also stops it (a
    snapshot cut short is never used)."""
    code = 1
    try:
        _die_with(parent)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        gc.disable()  # a collection would touch (and so copy) every tracked object
        max_fd = _max_fd()
        if keep_fd >= 3:
            os.closerange(3, keep_fd)
            os.closerange(keep_fd + 1, max_fd)
        else:
            os.closerange(3, max_fd)
        write_snapshot(engine, directory, keep=0)
        code = 0 if prune_journal(directory, keep, retention) else _FOLLOWER_PRUNED
    except BaseException:
        traceback.print_exc(file=sys.stderr)
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux prctl
    PR_SET_PDEATHSIG); if the parent is already gone, exit now."""
    if _libc is not None and _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # died between the fork and the prctl
        os._exit(1)


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 65536
