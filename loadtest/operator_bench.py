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
import contextlib
import dataclasses
import hashlib
import http.client
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
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


def _fingerprint() -> str:
    """A digest of what decides the built journal's content and format: the engine's
    sources and the demo config. A cached state with another fingerprint is rebuilt."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("engine/**/*.py"), root / "gateway" / "demo.toml"]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def prepared_state(shape: Shape, rebuild: bool) -> Path:
    """The built journal for this shape (built now if missing, stale or asked to)."""
    directory = CACHE / shape.name
    done = directory / "built.json"
    fingerprint = _fingerprint()
    stale = done.exists() and json.loads(done.read_text()).get("fingerprint") != fingerprint
    if (rebuild or stale) and directory.exists():
        shutil.rmtree(directory)
    if not done.exists() or stale:
        directory.mkdir(parents=True, exist_ok=True)
        print(f"operator_bench: building {shape.name} (cached in {directory})", flush=True)
        info = asyncio.run(_build(shape, directory))
        done.write_text(json.dumps({**info, "fingerprint": fingerprint}))
    return directory


def _admin_load(port: int, rate: float, stop: Event, out: Queue[dict[str, Any]]) -> None:
    """Child process: signed admin mutations (deposit credits to ACC1, each with a new
    custody reference) at ``rate`` per second until ``stop``; puts its tally in out."""
    from gateway.admin.signing import sign_request
    from gateway.config import load_config

    operator = next(op for op in load_config().admin.operators if op.role == "venue-admin")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies_ns: list[int] = []
    errors = 0
    period = 1.0 / rate
    due = time.perf_counter()
    n = 0
    while not stop.is_set():
        n += 1
        reference = f"bench-{os.getpid()}-{n}"
        body = json.dumps(
            {"account": "ACC1", "asset": "USD", "amount": "1", "reference": reference}
        ).encode()
        headers = sign_request(operator.demo_seed, operator.id, "POST", "/admin/v1/deposits", body)
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = reference
        started = time.perf_counter_ns()
        connection.request("POST", "/admin/v1/deposits", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies_ns.append(time.perf_counter_ns() - started)
        errors += response.status >= 300
        due += period
        time.sleep(max(0.0, due - time.perf_counter()))
    latencies_ns.sort()
    out.put(
        {
            "admin_sent": n,
            "admin_errors": errors,
            "admin_p50_us": round(fix_bench._pct(latencies_ns, 50), 1),
            "admin_p99_us": round(fix_bench._pct(latencies_ns, 99), 1),
        }
    )


@contextlib.contextmanager
def admin_mutations(port: int, rate: float) -> Iterator[dict[str, Any]]:
    """Admin mutations at ``rate`` from a child process while the block runs; the dict
    yielded gets its figures (admin_sent, admin_errors, admin latency) at the end."""
    figures: dict[str, Any] = {"admin_load": True}
    stop = multiprocessing.Event()
    out: Queue[dict[str, Any]] = multiprocessing.Queue()
    driver = multiprocessing.Process(target=_admin_load, args=(port, rate, stop, out))
    driver.start()
    try:
        yield figures
    finally:
        stop.set()
        figures.update(out.get(timeout=30))
        driver.join(30)


def _run_state(name: str, prepared: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    """Start a gateway on this state; drive 1 and 100 in flight, then 100 in flight again
    with admin mutations arriving at --admin-rate."""
    with tempfile.TemporaryDirectory(prefix=f"operator_bench-{name}-") as tmp:
        if prepared is not None:
            shutil.copytree(prepared / "journal", Path(tmp) / "journal")
        started = time.perf_counter()
        child, ready = fix_bench.start_python_target("gateway", args, tmp)
        startup_s = time.perf_counter() - started
        port, pid = int(ready["fix_port"]), int(ready["pid"])
        loaded: list[fix_bench.LoadedLevel] = []
        if args.admin_rate > 0:
            admin_port, rate = int(ready["admin_port"]), args.admin_rate
            loaded.append((100, lambda: admin_mutations(admin_port, rate)))
        try:
            levels = run_loop(fix_bench._drive(args, port, pid, loaded), args.uvloop)
        finally:
            fix_bench.stop_child(child)
    return {"startup_s": round(startup_s, 2), "levels": levels}


def _level(result: dict[str, Any], in_flight: int, admin_load: bool = False) -> dict[str, Any]:
    return next(
        lv
        for lv in result["levels"]
        if lv["in_flight"] == in_flight and lv.get("admin_load", False) == admin_load
    )


def _report(runs: list[tuple[str, dict[str, Any]]], admin: bool) -> dict[str, Any]:
    """Best of the rounds per state (max throughput, min latency and CPU), and the
    ratios: large/demo, and with/without admin load."""
    best: dict[str, dict[str, float]] = {}
    for name, result in runs:
        b = best.setdefault(name, {"orders_per_s": 0.0, "startup_s": 0.0})
        b["orders_per_s"] = max(b["orders_per_s"], _level(result, 100)["orders_per_s"])
        b["startup_s"] = max(b["startup_s"], result["startup_s"])
        for key, value in (
            ("p50_us", _level(result, 1)["p50_us"]),
            ("cpu_us", _level(result, 100)["gw_cpu_us_per_order"]),
            ("p99_us", _level(result, 100)["p99_us"]),
            ("p99_admin_us", _level(result, 100, True)["p99_us"] if admin else 0.0),
        ):
            b[key] = min(b.get(key, float("inf")), value)
    demo, large = best["demo"], best["large"]
    report: dict[str, Any] = {
        "best": best,
        "throughput_ratio": round(large["orders_per_s"] / demo["orders_per_s"], 3),
        "p50_ratio": round(large["p50_us"] / demo["p50_us"], 3),
        "cpu_ratio": round(large["cpu_us"] / demo["cpu_us"], 3),
    }
    if admin:
        report["admin_p99_ratio"] = {
            name: round(b["p99_admin_us"] / b["p99_us"], 3) for name, b in best.items()
        }
    return report


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
    parser.add_argument(
        "--admin-rate",
        type=float,
        default=50.0,
        help="admin mutations per second during an extra 100-in-flight level (0: skip)",
    )
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
    report = _report(runs, args.admin_rate > 0)
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
    for name, ratio in report.get("admin_p99_ratio", {}).items():
        print(
            f"{name:6} p99 at 100 in flight with {args.admin_rate:g} admin mutations/s:"
            f" {ratio:.3f}x without (target: below 1.10x)"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"shape": dataclasses.asdict(shape), "runs": runs, **report}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
