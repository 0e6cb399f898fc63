"""What a snapshot costs the event loop, by resting orders in the book.

``python -m loadtest.snapshot_bench [--orders N ...] [--json FILE]``

For each book size it rests N limit orders in an EngineHost (demo config, temp
journal, fsync never), then measures, best of ``--repeat``:

- ``inline_ms``: :func:`engine.journal.write_snapshot` on the calling thread, which is
  what the event loop paid per snapshot before snapshots were forked;
- ``pause_us``: what ``EngineHost.snapshot()`` holds the loop for now (journal roll +
  ``fork()``), and ``child_ms``: how long the forked child takes to write the file.

Every ``snapshot_every`` commands (default 100,000) the gateway pays one of these.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.commands import NewOrder
from engine.journal import write_snapshot
from engine.model import OrdType, Side
from loadtest import run_loop

__all__ = ["main"]


async def _measure(orders: int, repeat: int, tmp: str) -> dict[str, Any]:
    from gateway.config import load_config
    from gateway.gcpacer import GcPacer
    from gateway.host import EngineHost
    from gateway.metrics import Registry

    cfg = load_config()
    journal = dataclasses.replace(
        cfg.journal, dir=os.path.join(tmp, "journal"), fsync="never", snapshot_every=0
    )
    host = EngineHost(dataclasses.replace(cfg, journal=journal), Registry())
    host.start()
    accounts = ("ACC1", "ACC2")
    for i in range(orders):  # bids below 90.00 and asks above 110.00: nothing trades
        side = Side.BUY if i & 1 else Side.SELL
        price = 9_000 - i % 1_000 if side is Side.BUY else 11_000 + i % 1_000
        host.submit(
            NewOrder(
                accounts[i & 1], "BTC-USD", side, OrdType.LIMIT, 1_000, price,
                client_order_id=f"s{i}",
            )
        )  # fmt: skip
        if i % 1_000 == 999:
            await asyncio.sleep(0)
    await asyncio.sleep(0)
    pacer = GcPacer(lambda: host.engine.last_seq)
    await pacer.start()  # as `python -m gateway` runs it
    resting = len(host.engine.orders)
    inline, pause, child = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        write_snapshot(host.engine, Path(tmp) / "inline")
        inline.append((time.perf_counter() - start) * 1e3)
        assert host.snapshot()
        result = await host.snapshots.wait()
        assert result is not None and result.ok
        pause.append(result.pause_us)
        child.append(result.duration_us / 1e3)
    size = (Path(tmp) / "journal" / f"snapshot-{host.engine.last_seq:020d}.json").stat().st_size
    await host.stop()
    await pacer.stop()
    return {
        "resting_orders": resting,
        "inline_ms": round(min(inline), 1),
        "pause_us": min(pause),
        "child_ms": round(min(child), 1),
        "snapshot_bytes": size,
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.snapshot_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    import engine
    import gateway
    from gateway.app import configure_logging

    configure_logging("warning")

    native = [*engine.NATIVE, *gateway.NATIVE]
    print(f"native modules: {', '.join(native) or 'none (pure Python)'}")
    print(f"{'resting':>9} {'inline ms':>10} {'pause us':>9} {'child ms':>9} {'bytes':>10}")
    rows = []
    for n in args.orders:
        with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as tmp:
            row = run_loop(_measure(n, args.repeat, tmp), args.uvloop)
        rows.append(row)
        print(
            f"{row['resting_orders']:>9,} {row['inline_ms']:>10} {row['pause_us']:>9,} "
            f"{row['child_ms']:>9} {row['snapshot_bytes']:>10,}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"native": native, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
