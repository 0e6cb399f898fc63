"""Does a large operator state slow the order path, and how long does it take to start?

    python -m loadtest.operator_bench                      # 100 tenants, 100k accounts, 200k keys
    python -m loadtest.operator_bench --accounts 1000 --keys 2000 --orders 5000   # quick

Builds (once, cached under ``var/bench/``) a journal holding the demo venue plus
``--tenants`` tenants, ``--accounts`` accounts spread over them and ``--keys`` API keys,
with a snapshot part way and a journal tail after it, as a venue that has run a while
has. Then, in one run, starts the gateway on the demo venue and on that large state
(alternating ``--rounds`` times) and drives both with fix_bench's client: throughput at
100 in flight and ack latency at 1 in flight. Prints each figure and the large/demo
ratio (the issue's target: within 5%), and the startup time of each (process start to
the FIX port listening: snapshot load plus journal replay).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.commands import Command
from engine.venue.credentials import CreateApiKey
from engine.venue.tenancy import KycStatus
from engine.venue.tenancy_commands import CreateTenant, OpenTenantAccount, SetKyc, SetTier
from loadtest import fix_bench, run_loop

#: Where built states are kept between runs (keyed by their parameters).
CACHE = Path("var/bench")


@dataclasses.dataclass(frozen=True)
class Shape:
    tenants: int
    accounts: int
    keys: int

    @property
    def name(self) -> str:
        return f"operator-{self.tenants}t-{self.accounts}a-{self.keys}k"


def population(shape: Shape) -> Iterator[Command]:
    """The commands that create the large state, in order (deterministic): each tenant
    with a trading tier, each account KYC-verified at it, keys spread over accounts."""
    for t in range(shape.tenants):
        tenant = f"T{t:03d}"
        yield CreateTenant(tenant, f"Tenant {t}", f"{tenant}-REV")
        yield SetTier(tenant, 1, trade=True, deposit=True, withdraw=True)
    for a in range(shape.accounts):
        account = f"A{a:06d}"
        yield OpenTenantAccount(account, f"T{a % shape.tenants:03d}")
        yield SetKyc(account, KycStatus.PENDING, 1, "bench", "onboarding")
        yield SetKyc(account, KycStatus.VERIFIED, 1, "bench", "documents checked")
    public_key = bytes(32).hex()
    for k in range(shape.keys):
        account = f"A{k % shape.accounts:06d}"
        yield CreateApiKey(f"key-{k:06d}", account, "ed25519", public_key, "read,trade")


async def _build(shape: Shape, directory: Path) -> dict[str, Any]:
    from gateway.config import load_config
    from gateway.host import EngineHost
    from gateway.metrics import Registry

    cfg = load_config()
    cfg = dataclasses.replace(
        cfg,
        journal=dataclasses.replace(
            cfg.journal, dir=str(directory / "journal"), fsync="never", snapshot_every=0
        ),
    )
    host = EngineHost(cfg, Registry())
    host.start()
    commands = list(population(shape))
    tail_from = len(commands) * 9 // 10  # the last tenth is replayed from the journal
    started = time.perf_counter()
    for i, command in enumerate(commands):
        events = host.submit(command)
        if any(type(e).__name__ == "OrderRejected" for e in events):
            raise SystemExit(f"the engine refused {command!r}: {events}")
        if i % 1000 == 999:
            await asyncio.sleep(0)
        if i == tail_from:
            await asyncio.sleep(0)
            host.snapshot()
            await host.snapshots.wait()
    await host.stop()
    return {"commands": len(commands), "build_s": round(time.perf_counter() - started, 1)}


def prepared_state(shape: Shape, rebuild: bool) -> Path:
    """The built journal for this shape (built now if missing or asked to)."""
    directory = CACHE / shape.name
    done = directory / "built.json"
    if rebuild and directory.exists():
        shutil.rmtree(directory)
    if not done.exists():
        directory.mkdir(parents=True, exist_ok=True)
        print(f"operator_bench: building {shape.name} (once; cached in {directory})", flush=True)
        info = asyncio.run(_build(shape, directory))
        done.write_text(json.dumps(info))
    return directory


def _run_state(name: str, prepared: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"operator_bench-{name}-") as tmp:
        if prepared is not None:
            shutil.copytree(prepared / "journal", Path(tmp) / "journal")
        started = time.perf_counter()
        child, port, pid = fix_bench._start("gateway", args, tmp)
        startup_s = time.perf_counter() - started
        try:
            levels = run_loop(fix_bench._drive(args, port, pid), args.uvloop)
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
    return {"startup_s": round(startup_s, 2), "levels": levels}


def _level(result: dict[str, Any], in_flight: int) -> dict[str, Any]:
    return next(lv for lv in result["levels"] if lv["in_flight"] == in_flight)


def _report(runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Best of the rounds per state (max throughput, min p50), and the ratios."""
    best: dict[str, dict[str, float]] = {}
    for name, result in runs:
        b = best.setdefault(
            name,
            {"orders_per_s": 0.0, "p50_us": float("inf"), "cpu_us": float("inf"), "startup_s": 0.0},
        )
        b["orders_per_s"] = max(b["orders_per_s"], _level(result, 100)["orders_per_s"])
        b["p50_us"] = min(b["p50_us"], _level(result, 1)["p50_us"])
        b["cpu_us"] = min(b["cpu_us"], _level(result, 100)["gw_cpu_us_per_order"])
        b["startup_s"] = max(b["startup_s"], result["startup_s"])
    demo, large = best["demo"], best["large"]
    return {
        "best": best,
        "throughput_ratio": round(large["orders_per_s"] / demo["orders_per_s"], 3),
        "p50_ratio": round(large["p50_us"] / demo["p50_us"], 3),
        "cpu_ratio": round(large["cpu_us"] / demo["cpu_us"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.operator_bench", description=__doc__)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=20_000, help="measured orders per level")
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2, help="demo/large alternations")
    parser.add_argument("--fsync", choices=("never", "batch", "interval"), default="batch")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached state")
    parser.add_argument("--json", help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    # what fix_bench's _start and _drive read
    args.in_flight = [1, 100]
    args.busy_poll_us = 0
    args.profile = None

    shape = Shape(args.tenants, args.accounts, args.keys)
    prepared = prepared_state(shape, args.rebuild)
    runs: list[tuple[str, dict[str, Any]]] = []
    for _ in range(args.rounds):
        runs.append(("demo", _run_state("demo", None, args)))
        runs.append(("large", _run_state("large", prepared, args)))
    report = _report(runs)
    for name, b in report["best"].items():
        print(
            f"{name:6} 100 in flight {b['orders_per_s']:>9,.0f} orders/s   1 in flight p50"
            f" {b['p50_us']:>6.0f} us   CPU/order {b['cpu_us']:.1f} us"
            f"   startup {b['startup_s']:.2f} s"
        )
    print(
        f"large/demo: throughput {report['throughput_ratio']:.3f}x, p50"
        f" {report['p50_ratio']:.3f}x, CPU/order {report['cpu_ratio']:.3f}x (target: within 5%)"
        f" -- {shape.name}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"shape": dataclasses.asdict(shape), "runs": runs, **report}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
