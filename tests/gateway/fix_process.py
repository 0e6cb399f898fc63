"""A whole gateway in a child process, for FIX recovery tests over real files that
kill it with SIGKILL at a chosen point.

``python -m tests.gateway.fix_process DATA_DIR [--kill-after-order]``: runs the demo
gateway with its journal and FIX stores under DATA_DIR, every port ephemeral, and
prints ``fix <port>`` once it listens; it stops on stdin EOF. With
``--kill-after-order`` it kills itself with SIGKILL right after the FIX acceptor has
handled a read that carried a NewOrderSingle: the session has flushed its store, the
order has been submitted, and the group commit that journals it is still to run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["GatewayChild"]

ROOT = Path(__file__).resolve().parents[2]


class GatewayChild:
    """The child process; ``port`` is its FIX acceptor's."""

    def __init__(self, data_dir: Path, *, kill_after_order: bool = False) -> None:
        args = [sys.executable, "-m", "tests.gateway.fix_process", str(data_dir)]
        if kill_after_order:
            args.append("--kill-after-order")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        stdout = self.proc.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], 60)
        line = stdout.readline().decode().split() if ready else []
        assert line[:1] == ["fix"], self.stop()
        self.port = int(line[1])

    def wait_killed(self, timeout: float = 10) -> None:
        self.proc.wait(timeout)
        assert self.proc.returncode == -signal.SIGKILL, self.stop()

    def stop(self) -> str:
        """Close stdin (a clean stop), wait for the exit; returns stderr."""
        _, err = self.proc.communicate(timeout=30)
        return err.decode(errors="replace")


def _kill_after_order() -> None:
    from gateway.fix.acceptor import _Connection

    handle = _Connection._handle_input

    def handle_input(self: _Connection, data: bytes) -> None:
        """Killed once the session handled the order, before the read's commit (the
        host's end_input) writes it to the journal."""
        handle(self, data)
        if b"\x0135=D\x01" in data:
            os.kill(os.getpid(), signal.SIGKILL)

    _Connection._handle_input = handle_input  # type: ignore[method-assign]


async def _run(data_dir: Path) -> None:
    from gateway.app import App
    from gateway.config import load_config
    from gateway.logs import configure_logging

    configure_logging("info")  # stderr; stdout carries the port
    cfg = load_config()
    cfg = dataclasses.replace(
        cfg,
        journal=dataclasses.replace(cfg.journal, dir=str(data_dir / "journal"), fsync="never"),
        fix=dataclasses.replace(cfg.fix, listen="127.0.0.1:0", store_dir=str(data_dir / "fix")),
        ws=dataclasses.replace(cfg.ws, listen="127.0.0.1:0"),
        http=dataclasses.replace(cfg.http, listen="127.0.0.1:0"),
        admin=dataclasses.replace(cfg.admin, listen="127.0.0.1:0"),
    )
    app = App(cfg)
    await app.start()
    print("fix", app.fix.port, flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    await app.stop()


if __name__ == "__main__":
    if "--kill-after-order" in sys.argv:
        _kill_after_order()
    asyncio.run(_run(Path(sys.argv[1])))
