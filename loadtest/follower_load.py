"""The follower under the standard FIX load at the gateway's peak rate (issue #17).

A real ``python -m gateway`` supervises its follower (SQLite, or a throwaway
PostgreSQL cluster). fix_bench's two sessions (CLIENT1 buys, CLIENT2 sells, every
sell trades) keep ``--in-flight`` orders unacknowledged: the peak rate. Rounds
alternate two phases on the same gateway, so both see the same box:

- **with**: the follower runs; a thread samples ``gw_follower_lag_commands`` from the
  gateway's /metrics every ``--sample-s`` (lag in commands: journaled, not stored);
- **without**: the follower is frozen (SIGSTOP: it takes no CPU); then let go, and
  the time it takes to catch up is reported (not part of either phase). /metrics is
  scraped as often as in the "with" phase (the values thrown away), so the scrapes
  cost the gateway the same in both phases.

Reported: orders/s per phase (median over rounds), their ratio, the lag's p50/p99/max
over the "with" phases, the gateway CPU per order, and the CPU the follower (and, on
PostgreSQL, the server's processes) spent per command stored over the whole run (both
phases and the catch-ups: all the commands it stored, all the CPU it used).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.fix_bench import Bench, _summary
from loadtest.gateway_runner import GatewayProcess
from loadtest.proccpu import proc_cpu_s

__all__ = ["LoadResult", "run_load"]

_WAIT_S = 120.0


@dataclass
class LoadResult:
    store: str
    with_follower: list[dict[str, Any]] = field(default_factory=list)
    without: list[dict[str, Any]] = field(default_factory=list)
    lag: list[int] = field(default_factory=list)
    #: the lags scraped in the "without" phases (a frozen follower's: not reported)
    scraped_without: list[int] = field(default_factory=list)
    catch_up_s: list[float] = field(default_factory=list)
    follower_nice: int = 0
    #: over the rounds: commands stored, the follower's CPU seconds, the server's
    commands: int = 0
    follower_cpu_s: float = 0.0
    server_cpu_s: float = 0.0

    def figures(self) -> dict[str, Any]:
        rate_with = statistics.median(r["orders_per_s"] for r in self.with_follower)
        rate_without = statistics.median(r["orders_per_s"] for r in self.without)
        lag = sorted(self.lag) or [0]
        return {
            "store": self.store,
            "orders_per_s_with": round(rate_with),
            "orders_per_s_without": round(rate_without),
            "with_over_without": round(rate_with / rate_without, 3) if rate_without else 0.0,
            "gw_cpu_us_per_order_with": statistics.median(
                r["gw_cpu_us_per_order"] for r in self.with_follower
            ),
            "gw_cpu_us_per_order_without": statistics.median(
                r["gw_cpu_us_per_order"] for r in self.without
            ),
            "lag_p50": _rank(lag, 50),
            "lag_p99": _rank(lag, 99),
            "lag_max": lag[-1],
            "lag_samples": len(self.lag),
            "scrapes_without": len(self.scraped_without),
            "follower_nice": self.follower_nice,
            "catch_up_s_max": round(max(self.catch_up_s, default=0.0), 2),
            "commands": self.commands,
            "follower_cpu_us_per_command": _per(self.follower_cpu_s, self.commands),
            "server_cpu_us_per_command": _per(self.server_cpu_s, self.commands),
        }


def _per(cpu_s: float, commands: int) -> float:
    return round(cpu_s * 1e6 / commands, 1) if commands else 0.0


def _rank(sorted_values: list[int], p: float) -> int:
    k = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def _until(probe: Callable[[], bool], what: str) -> float:
    start = time.monotonic()
    while not probe():
        if time.monotonic() - start > _WAIT_S:
            raise SystemExit(f"follower_bench: gave up waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def _follower_pid(gateway: GatewayProcess) -> int:
    """The pid of the follower the gateway spawned (a child running gateway.follower)."""
    found: list[int] = []

    def spawned() -> bool:
        for children in Path(f"/proc/{gateway.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                with contextlib.suppress(OSError):
                    if b"gateway.follower" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        found.append(int(pid))
        return bool(found)

    _until(spawned, "the gateway to spawn its follower")
    return found[0]


def _caught_up(gateway: GatewayProcess) -> bool:
    m = gateway.metrics()
    return m.get("gw_follower_up") == 1 and m["gw_follower_applied_seq"] == m["gw_engine_seq"]


@contextlib.contextmanager
def _sampling(gateway: GatewayProcess, every_s: float, into: list[int]) -> Iterator[None]:
    """Sample the follower's lag from /metrics on a thread while the block runs."""
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every_s):
            with contextlib.suppress(OSError, KeyError):
                into.append(int(gateway.metrics()["gw_follower_lag_commands"]))

    thread = threading.Thread(target=sample, name="lag-sampler", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


async def _phases(gateway: GatewayProcess, pid: int, result: LoadResult, args: Any) -> None:
    bench = Bench([("CLIENT1", b"1", "ACC1"), ("CLIENT2", b"2", "ACC2")], gateway.pid)
    await bench.connect(gateway.fix_port)
    loop = asyncio.get_running_loop()

    async def level() -> dict[str, Any]:
        lv = await bench.run_level(args.in_flight, args.orders, args.warmup, args.max_seconds)
        if bench.failure:
            raise SystemExit(f"follower_bench: {bench.failure}")
        return _summary(lv)

    for _ in range(args.rounds):
        with _sampling(gateway, args.sample_s, result.lag):
            result.with_follower.append(await level())
        os.kill(pid, signal.SIGSTOP)
        try:
            with _sampling(gateway, args.sample_s, result.scraped_without):
                result.without.append(await level())
        finally:
            os.kill(pid, signal.SIGCONT)
        waited = await loop.run_in_executor(
            None, _until, lambda: _caught_up(gateway), "the follower to catch up"
        )
        result.catch_up_s.append(waited)
    for conn in bench.conns:
        if conn.transport is not None:
            conn.transport.close()


def run_load(
    store: str, url: str, args: Any, server_cpu: Callable[[], float] | None = None
) -> LoadResult:
    """One gateway with its follower on ``url`` ("" = SQLite), the rounds; its figures.
    ``server_cpu``: the database server's CPU seconds so far (PostgreSQL's processes)."""
    settings: dict[str, Any] = {"follower": True, "url": url}
    if getattr(args, "follower_nice", None) is not None:
        settings["nice"] = args.follower_nice
    gateway = GatewayProcess(
        load_sessions=0, fsync=args.fsync, overrides={"store": settings}
    ).start()
    result = LoadResult(store)
    try:
        pid = _follower_pid(gateway)
        _until(lambda: _caught_up(gateway), "the follower to store the opening commands")
        result.follower_nice = os.getpriority(os.PRIO_PROCESS, pid)  # set as it started
        seq, cpu = gateway.metrics()["gw_follower_applied_seq"], proc_cpu_s(pid)
        server = server_cpu() if server_cpu is not None else 0.0
        asyncio.run(_phases(gateway, pid, result, args))
        result.commands = int(gateway.metrics()["gw_follower_applied_seq"] - seq)
        result.follower_cpu_s = proc_cpu_s(pid) - cpu
        if server_cpu is not None:
            result.server_cpu_s = server_cpu() - server
    finally:
        gateway.stop()
    return result
