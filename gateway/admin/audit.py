"""The admin audit log: one JSON line per request, appended off the event loop.

Each line carries ``prev``, the SHA-256 of the line before it (the empty string for the
first), so editing or deleting a line breaks the chain from there on (``verify_chain``).
This is tamper-evident only against an editor who does not recompute the chain; the
full trail (signed checkpoints, external anchoring) is a later issue. The durable,
attributed record of every mutation is the journal's AdminRequest envelope; this log
also holds what was refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson
import structlog

if TYPE_CHECKING:
    from gateway.config import Config

__all__ = ["AuditLog", "audit_path", "read_tail", "verify_chain"]

log = structlog.get_logger("gateway.admin.audit")


def _last_line(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 65536))
            tail = fh.read()
    except FileNotFoundError:
        return b""
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    return lines[-1]


def audit_path(config: Config) -> Path:
    """Where the admin audit log is: ``[admin] audit_log``, else in the journal dir."""
    return Path(config.admin.audit_log or Path(config.journal.dir) / "admin-audit.jsonl")


def read_tail(path: Path, max_bytes: int) -> list[dict[str, Any]]:
    """The records in the last ``max_bytes`` of the log, oldest first (blocking: run it
    on a thread). A record cut by the window's start is left out."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            start = max(0, size - max_bytes)
            fh.seek(start)
            data = fh.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    if start:
        lines = lines[1:]
    return [orjson.loads(line) for line in lines if line.strip()]


def verify_chain(path: Path) -> int:
    """The number of lines whose chain holds; raises ValueError at the first break."""
    prev = ""
    count = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip(b"\n")
            if orjson.loads(line).get("prev") != prev:
                raise ValueError(f"{path}:{number}: chain broken")
            prev = hashlib.sha256(line).hexdigest()
            count += 1
    return count


class AuditLog:
    """Appends records on its own thread, in the order written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="admin-audit")
        self._fh: IO[bytes] | None = None
        self._prev = ""
        #: told each record as it is queued (the console pushes it to the audit view)
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        last = _last_line(self.path)
        self._prev = hashlib.sha256(last).hexdigest() if last else ""
        self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in stop()

    def write(self, record: dict[str, Any]) -> None:
        """Queue one record; never blocks the loop."""
        self._thread.submit(self._append, record).add_done_callback(_log_failure)
        for listener in self.listeners:
            listener(record)

    def _append(self, record: dict[str, Any]) -> None:
        assert self._fh is not None
        line = orjson.dumps({**record, "prev": self._prev})
        self._fh.write(line + b"\n")
        self._prev = hashlib.sha256(line).hexdigest()

    async def stop(self) -> None:
        """Write what is queued, then close."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _log_failure(done: Any) -> None:
    error = done.exception()
    if error is not None:
        log.error("admin.audit_write_failed", error=repr(error))
