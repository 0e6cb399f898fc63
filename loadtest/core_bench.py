"""What one order costs behind the protocol edges: the floor under any FIX/WS design.

``python -m loadtest.core_bench [--orders N] [--group K] [--uvloop] [--json FILE]``

fix_bench measures the whole gateway through a socket. This benchmark builds the same
:class:`~gateway.app.App` (demo config, temp journal, fsync never) and submits
fix_bench's workload straight into ``EngineHost.submit`` in groups of ``--group``
(as the FIX edge does with the orders of one read): ACC1 buys and ACC2 sells at the
same price, alternately, so every other order trades. No socket, no FIX parsing.

It runs three stages, each on a fresh App, adding the event listeners in the order
the gateway runs them, and reports process CPU per order for each:

- ``engine``: host + engine + journal append (no listeners);
- ``+views``: + order tracker, market-data publisher and the WS listener
  (no subscribers connected: this is their fixed cost per order);
- ``+fix-out``: + the FIX application listener, with the orders owned by the
  CLIENT1/CLIENT2 sessions (offline), so each ExecutionReport is rendered, sequenced
  and stored for the owner and the drop-copy session, as in fix_bench.

What fix_bench measures minus ``+fix-out`` is the FIX inbound path and socket I/O.
At a throughput target of T orders/s the whole gateway has 1e6/T us per order; the
``+views`` figure is what no edge optimization can remove.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from engine.commands import NewOrder
from engine.model import OrdType, Side
from loadtest import run_loop

__all__ = ["main"]

SYMBOL = "BTC-USD"
PRICE_TICKS = 10_000  # 100.00, as fix_bench
QTY_LOTS = 1_000  # 0.1000
STAGES = ("engine", "+views", "+fix-out")


def _cpu_s() -> float:
    """This process's CPU seconds, user + system (os.times ticks are 10 ms: too coarse)."""
    return time.process_time()


async def _run_stage(stage: str, orders: int, warmup: int, group: int, tmp: str) -> dict[str, Any]:
    from gateway.app import App
    from gateway.config import load_config
    from gateway.metrics import Counter

    cfg = load_config()
    cfg = dataclasses.replace(
        cfg,
        log_level="warning",
        journal=dataclasses.replace(cfg.journal, dir=os.path.join(tmp, "journal"), fsync="never"),
        fix=dataclasses.replace(cfg.fix, listen="127.0.0.1:0", store_dir=os.path.join(tmp, "fix")),
        ws=dataclasses.replace(cfg.ws, listen="127.0.0.1:0"),
        http=dataclasses.replace(cfg.http, listen="127.0.0.1:0"),
        admin=dataclasses.replace(cfg.admin, listen="127.0.0.1:0"),
    )
    app = App(cfg)
    await app.start(pace_gc=True)  # as `python -m gateway` runs it
    host = app.host
    if stage != "+fix-out":
        host.listeners.remove(app.fix.on_batch)
    if stage == "engine":
        host.listeners.clear()
    sessions = {s.settings.target_comp_id: s for s in app.fix.acceptor.sessions.values()}
    sides: list[tuple[str, Side, object]] = [
        ("ACC1", Side.BUY, sessions["CLIENT1"]),
        ("ACC2", Side.SELL, sessions["CLIENT2"]),
    ]
    submit: Callable[..., object] = host.submit
    counter = 0

    async def drive(count: int) -> None:
        nonlocal counter
        end = counter + count
        while counter < end:
            for _ in range(min(group, end - counter)):
                account, side, origin = sides[counter & 1]
                order = NewOrder(
                    account, SYMBOL, side, OrdType.LIMIT, QTY_LOTS, PRICE_TICKS,
                    client_order_id=f"c{counter}",
                )  # fmt: skip
                submit(order, origin)
                counter += 1
            await asyncio.sleep(0)  # the loop runs the group commit and the listeners

    def counts() -> tuple[float, float, int]:
        """(trades, rejected commands, FIX messages sequenced): what the stage did."""
        metrics = app.registry.metrics
        fills = metrics["gw_fills_total"]
        commands = metrics["gw_commands_total"]
        assert isinstance(fills, Counter) and isinstance(commands, Counter)
        rejected = sum(v for k, v in commands.values.items() if ("result", "rejected") in k)
        fix_out = sum(s.store.next_sender_seq for s in sessions.values())
        return sum(fills.values.values()), rejected, fix_out

    await drive(warmup)
    before = counts()
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    await drive(orders)
    await asyncio.sleep(0)
    cpu1, wall1 = _cpu_s(), time.perf_counter()
    trades, rejected, fix_messages = (b - a for a, b in zip(before, counts(), strict=True))
    listeners = [getattr(x, "__qualname__", type(x).__name__) for x in host.listeners]
    await app.stop()
    us = (cpu1 - cpu0) * 1e6 / orders
    return {
        "stage": stage,
        "orders": orders,
        "cpu_us_per_order": round(us, 2),
        "orders_per_s_one_core": round(1e6 / us) if us else 0,
        "wall_orders_per_s": round(orders / (wall1 - wall0)),
        "trades": int(trades),
        "rejected": int(rejected),
        "fix_messages": int(fix_messages),
        "listeners": listeners,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.core_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--orders", type=int, default=50_000, help="measured orders per stage")
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--group", type=int, default=100, help="orders per loop pass")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--json", help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    import engine
    from gateway.app import configure_logging

    configure_logging("warning")

    results = []
    for stage in args.stages:
        with tempfile.TemporaryDirectory(prefix="core_bench-") as tmp:
            stage_run = _run_stage(stage, args.orders, args.warmup, args.group, tmp)
            results.append(run_loop(stage_run, args.uvloop))
    build = "native" if engine.NATIVE else "pure Python"
    print(f"core_bench: {build} build, {args.orders} orders/stage, group {args.group}")
    print(f"{'stage':<10} {'cpu us/order':>13} {'orders/s (1 core)':>18} {'wall orders/s':>14}")
    for r in results:
        print(
            f"{r['stage']:<10} {r['cpu_us_per_order']:>13.2f}"
            f" {r['orders_per_s_one_core']:>18} {r['wall_orders_per_s']:>14}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"build": build, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
