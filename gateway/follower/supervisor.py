"""The gateway's side of the follower: start the process, restart it when it dies.

The gateway never waits for the follower: starting it is one spawn, its exit is
noticed by a task, and a follower that keeps dying is restarted with a growing delay
(logged each time). The follower reports its position in status lines on its stdout;
the gateway's /metrics shows them, with the lag against the live engine. The store
URL goes to the child in its environment, not on its command line, where any local
user could read a password in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from typing import Final

import orjson
import structlog

from gateway.config import Config
from gateway.metrics import Registry
from gateway.reconciliation import ReconcileMetrics
from gateway.retention import Retention

__all__ = ["FollowerSupervisor"]

log = structlog.get_logger("gateway.follower.supervisor")

_RESTART_MIN_S: Final = 1.0
_RESTART_MAX_S: Final = 30.0
_HEALTHY_S: Final = 60.0  # a follower that ran this long restarts without delay
_STOP_TIMEOUT_S: Final = 5.0


class FollowerSupervisor:
    name = "follower"

    def __init__(
        self,
        config: Config,
        registry: Registry,
        last_seq: Callable[[], int],
        reconciled: ReconcileMetrics | None = None,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.applied_seq = 0
        self.store_up = False
        self.running = False
        self.reconciled = reconciled or ReconcileMetrics(registry)
        registry.gauge("gw_follower_up", "1 while the journal follower process runs").set_source(
            lambda: float(self.running)
        )
        registry.gauge(
            "gw_follower_store_up", "1 while the follower's last store write succeeded"
        ).set_source(lambda: float(self.store_up))
        registry.gauge(
            "gw_follower_applied_seq", "Last seq whose rows the follower has stored"
        ).set_source(lambda: self.applied_seq)
        registry.gauge(
            "gw_follower_lag_commands", "Commands journaled but not yet in the store"
        ).set_source(lambda: max(0, last_seq() - self.applied_seq))
        registry.gauge(
            "gw_follower_restarts_total", "Times the follower was restarted", kind="counter"
        ).set_source(lambda: self.restarts)
        #: told each stored position the follower reports (the console's alert pushes)
        self.on_stored = on_stored
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def command(self) -> list[str]:
        """The follower's command line: the gateway's own config file when it has one,
        so the follower sees the same instruments, fees and surveillance thresholds."""
        argv = [
            sys.executable,
            "-m",
            "gateway.follower",
            "--journal-dir",
            self.config.journal.dir,
            "--log-level",
            self.config.log_level,
            "--batch",
            str(self.config.store.batch),
            "--lag-log-s",
            str(self.config.store.lag_log_s),
            "--reconcile-every-s",
            str(self.config.store.reconcile_every_s),
            "--liabilities-every-s",
            str(self.config.store.liabilities_every_s),
            "--nice",
            str(self.config.store.nice),
            "--parent-pid",
            str(os.getpid()),
            "--status-stdout",
        ]
        if self.config.config_file is not None:
            argv += ["--config", self.config.config_file]
        return argv

    def retention(self) -> Retention:
        """What the gateway's journal pruning keeps for this follower: from its stored
        position on (the last one it told; 0, so everything, until it has told one)."""
        return Retention(self.applied_seq, self.config.journal.follower_retain_mb << 20)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="follower-supervisor")

    async def _spawn(self) -> asyncio.subprocess.Process:
        env = dict(os.environ)
        env["VENUE_STORE_URL"] = self.config.store.url
        proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        log.info("follower.spawned", pid=proc.pid)
        return proc

    async def _supervise(self) -> None:
        delay = _RESTART_MIN_S
        while not self._stopping:
            started = time.monotonic()
            try:
                self.proc = await self._spawn()
            except OSError as exc:
                log.error("follower.spawn_failed", error=str(exc), retry_in_s=delay)
            else:
                self.running = True
                await self._read_status(self.proc)
                code = await self.proc.wait()
                self.running = False
                if self._stopping:
                    return
                log.error("follower.exited", pid=self.proc.pid, code=code, restart_in_s=delay)
            if time.monotonic() - started >= _HEALTHY_S:
                delay = _RESTART_MIN_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RESTART_MAX_S)
            self.restarts += 1

    async def _read_status(self, proc: asyncio.subprocess.Process) -> None:
        """Status lines until the follower's stdout closes (it exited)."""
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            try:
                status = orjson.loads(line)
                if "reconciliation" in status:  # a scheduled result (gateway/reconciliation.py)
                    self.reconciled.observe(dict(status["reconciliation"]), "schedule")
                    continue
                self.applied_seq = int(status["applied_seq"])
                self.store_up = bool(status["store_up"])
                if self.on_stored is not None:
                    self.on_stored(self.applied_seq)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("follower.bad_status_line", line=line[:200].decode(errors="replace"))

    async def stop(self) -> None:
        self._stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
