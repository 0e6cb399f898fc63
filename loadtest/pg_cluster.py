"""A throwaway PostgreSQL cluster from the distribution's binaries (store tests, the
follower benchmark).

PostgreSQL refuses to run as root: under root (CI) the cluster belongs to ``nobody``,
in a directory of its own, listening on a unix socket there only (no TCP port to
clash on).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

__all__ = ["PgCluster", "pg_bin"]


def pg_bin() -> Path | None:
    """The directory of the server binaries (initdb, pg_ctl), if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PgCluster:
    """initdb + pg_ctl start/stop; ``url(db)`` for a database on its socket."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="venue-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "sock"
        self.socket.mkdir()
        self._databases = itertools.count(1)
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            self._as = {"user": "nobody", "group": "nogroup"}
            shutil.chown(self.root, "nobody", "nogroup")
            shutil.chown(self.socket, "nobody", "nogroup")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.root,
            **self._as,
        )

    def start(self) -> None:
        options = f"-k {self.socket} -c listen_addresses='' -F -c max_connections=40"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    async def new_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t{next(self._databases)}"
        db = await asyncpg.connect(self.url())
        try:
            await db.execute(f"CREATE DATABASE {name}")
        finally:
            await db.close()
        return self.url(name)

    def cpu_s(self) -> float:
        """User + system CPU seconds of the server's processes now alive (the postmaster
        and its children: backends, WAL writer, checkpointer, ...)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        total = 0.0
        for proc in [pid, *_children(pid)]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket}"

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in children.read_text().split()]
    return found
