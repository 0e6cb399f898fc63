"""One gateway per journal directory: an exclusive ``flock`` held for the gateway's life.

Two gateways appending to one journal would interleave records and each acknowledge
commands the other replays differently. The lock file ``gateway.lock`` in the journal
directory is locked at start and released only when every descriptor of it is closed:
by the gateway at exit (or by the kernel when it is killed) and by a snapshot child,
which keeps its inherited copy, so a restart cannot race a snapshot writer left over
from a killed gateway (that child is killed with its parent: gateway/snapshots.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

__all__ = ["LOCK_FILE", "DirLocked", "lock_dir"]

LOCK_FILE = "gateway.lock"


class DirLocked(Exception):
    """Another process (a gateway, or its snapshot child) holds the directory."""


def lock_dir(directory: Path, wait_s: float = 2.0) -> int:
    """Lock directory for this process; returns the descriptor to keep open.

    Waits up to ``wait_s`` for a holder that is exiting (a snapshot child killed with
    its gateway dies within milliseconds), then raises DirLocked naming the holder.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _holder(fd)
                os.close(fd)
                raise DirLocked(
                    f"{directory} is in use by another gateway (pid {holder}, or a snapshot "
                    "child of it): refusing to start; stop it, or use another [journal] dir"
                ) from None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return os.pread(fd, 32, 0).decode().strip() or "unknown"
    return "unknown"
