"""An EngineHost in a child process (it may exit 70 or be killed) that acknowledges
orders on stdout, for durability tests over real files.

``python -m tests.gateway.durability JOURNAL_DIR``: reads one ClOrdID per stdin line,
submits a resting bid for it and prints ``ack <ClOrdID>`` once the listener sees it
(after the group commit). Prints ``ready`` first; on EOF it stops the host and exits 0.
Lines starting with ``!`` are controls (see ``_control``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import select
import subprocess
import sys
from pathlib import Path

from engine.commands import NewOrder
from engine.core import Engine
from engine.model import OrdType, Side
from gateway.config import load_config
from gateway.host import EngineHost, EventBatch
from gateway.logs import configure_logging
from gateway.metrics import Registry

__all__ = ["Driver", "children", "process_alive", "resting_client_ids"]

ROOT = Path(__file__).resolve().parents[2]


def process_alive(pid: int) -> bool:
    """Running (a zombie nobody reaps, as under a container's init, counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Processes whose parent is pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def resting_client_ids(engine: Engine) -> set[str]:
    return {order.client_order_id for order in engine.orders.values()}


class Driver:
    """The child process running an EngineHost; one ack line per order."""

    def __init__(self, journal_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.durability", str(journal_dir)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.read_line(timeout=30) == "ready"

    def read_line(self, timeout: float) -> str | None:
        """The next stdout line; None at EOF or if none comes within timeout."""
        stdout = self.proc.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return None
        line = stdout.readline()
        return line.decode().strip() if line else None

    def order(self, client_id: str, timeout: float = 10) -> bool:
        """Send one order; True once it is acknowledged."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(f"{client_id}\n".encode())
            stdin.flush()
        except BrokenPipeError:
            return False
        return self.read_line(timeout) == f"ack {client_id}"

    def control(self, line: str, timeout: float = 30) -> str | None:
        """Send a ``!`` control line; returns the line it answers."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(f"{line}\n".encode())
        stdin.flush()
        return self.read_line(timeout)

    def finish(self) -> tuple[int, str]:
        """Close stdin, wait for the exit; returns (exit code, stderr)."""
        with contextlib.suppress(BrokenPipeError):
            _, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err.decode(errors="replace")


async def _drive(journal_dir: str) -> None:
    configure_logging("info")  # to stderr: stdout carries the acks
    cfg = load_config()
    journal = dataclasses.replace(cfg.journal, dir=journal_dir, fsync="batch", snapshot_every=0)
    host = EngineHost(dataclasses.replace(cfg, journal=journal), Registry())
    host.start()

    def ack(batch: EventBatch) -> None:
        command = batch.command
        if isinstance(command, NewOrder):
            sys.stdout.write(f"ack {command.client_order_id}\n")
            sys.stdout.flush()

    host.listeners.append(ack)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    price = 9_000
    while line := await reader.readline():
        if line.startswith(b"!"):
            _control(host, line.decode().strip())
            continue
        price -= 1
        host.submit(
            NewOrder(
                "ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 1_000, price,
                client_order_id=line.decode().strip(),
            )
        )  # fmt: skip
    await host.stop()


def _control(host: EngineHost, line: str) -> None:
    """``!seq`` prints ``seq <last seq>``; ``!snapshot`` starts one if none is running and
    says which (``snapshot started`` or ``snapshot busy``)."""
    if line == "!seq":
        print(f"seq {host.engine.last_seq}", flush=True)
    elif line == "!snapshot":
        print("snapshot started" if host.snapshot() else "snapshot busy", flush=True)


if __name__ == "__main__":
    asyncio.run(_drive(sys.argv[1]))
