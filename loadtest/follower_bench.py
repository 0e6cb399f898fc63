"""Journal follower benchmarks: the rebuild rate, and the follower under FIX load.

    python -m loadtest.follower_bench [--commands N] [--batch K] [--pg | --pg-url URL]
                                      [--load [--load-orders N] [--rounds R]] [--json F]

Rebuild: a journal of the engine benchmark's command mix, replayed into an empty
store (SQLite, and PostgreSQL with --pg or --pg-url). Reports commands/s, events/s
(the live events the replay re-derives) and rows/s written, from start to the last
transaction committed: what a rebuild costs.

--load: the standard FIX load at the gateway's peak rate against a real gateway and
its follower, on each store, with and without the follower in the same run
(loadtest/follower_load.py). --pg starts a throwaway PostgreSQL cluster (the
distribution's server binaries; as an unprivileged user under root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.commands import AdjustBalance, Command
from engine.journal import JournalWriter
from engine.sequencer import Sequencer
from gateway.follower.follower import Follower, FollowerSettings
from gateway.logs import configure_logging
from loadtest.engine_bench import SETUP, _clock, generate
from loadtest.follower_load import run_load
from loadtest.pg_cluster import PgCluster, pg_bin

#: engine_bench's venue with balances a journal record can hold (64-bit integers)
_SETUP: list[Command] = [
    AdjustBalance(c.account, c.asset, 10**17) if isinstance(c, AdjustBalance) else c for c in SETUP
]


@dataclass
class Result:
    store: str
    commands: int
    events: int
    rows: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.store:>10} {self.commands:>9,} {self.commands / self.seconds:>10,.0f} "
            f"{self.events / self.seconds:>10,.0f} {self.rows / self.seconds:>10,.0f}"
        )


def write_journal(directory: Path, count: int) -> int:
    """SETUP + count generated commands, journaled as the gateway does; their events."""
    from engine.core import Engine

    engine = Engine(Sequencer(_clock))
    writer = JournalWriter(directory, fsync="never")
    engine.on_command = writer.append
    events = 0
    for command in [*_SETUP, *generate(count)]:
        events += len(engine.submit(command))
    writer.close()
    return events


async def rebuild(journal: Path, url: str, label: str, batch: int, events: int) -> Result:
    follower = Follower(FollowerSettings(journal, store_url=url, batch=batch))
    stop = asyncio.Event()
    start = time.perf_counter()
    await follower.start(stop)
    while await follower.step(stop):
        pass
    seconds = time.perf_counter() - start
    rows = 0
    for table in ("orders", "fills", "ledger", "venue_events"):
        ((n,),) = await follower.store.fetch(f"SELECT COUNT(*) FROM {table}")
        rows += int(n)
    await follower.close()
    return Result(label, follower.applied_seq, events, rows, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.follower_bench", description=__doc__)
    parser.add_argument("--commands", type=int, default=100_000, help="rebuild: journal size")
    parser.add_argument("--batch", type=int, default=1000, help="commands per transaction")
    parser.add_argument("--pg-url", default="", help="an empty PostgreSQL database (rebuild)")
    parser.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL cluster")
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--load", action="store_true", help="the FIX load run, per store")
    parser.add_argument("--load-orders", type=int, default=50_000, help="orders per phase")
    parser.add_argument("--rounds", type=int, default=3, help="with/without phase pairs")
    parser.add_argument("--in-flight", type=int, default=100, help="the peak-rate level")
    parser.add_argument("--warmup", type=int, default=2_000, help="unmeasured orders/phase")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="bound per phase")
    parser.add_argument("--fsync", choices=("never", "batch", "interval"), default="batch")
    parser.add_argument("--sample-s", type=float, default=0.1, help="lag sampling period")
    parser.add_argument(
        "--follower-nice", type=int, help="the follower's [store] nice (default: the config's)"
    )
    parser.add_argument("--json", help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    args.orders = args.load_orders
    configure_logging("warning")  # JSON on stderr: stdout is the report
    cluster = None
    if args.pg:
        found = pg_bin()
        if found is None:
            raise SystemExit("follower_bench: --pg needs the PostgreSQL server binaries")
        cluster = PgCluster(found)
        cluster.start()
    out: dict[str, object] = {}
    try:
        if not args.skip_rebuild:
            out["rebuild"] = _rebuilds(args, cluster)
        if args.load:
            out["load"] = _loads(args, cluster)
    finally:
        if cluster is not None:
            cluster.destroy()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


def _rebuilds(args: argparse.Namespace, cluster: PgCluster | None) -> list[dict[str, object]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal"
        print(f"journaling {args.commands:,} commands...", file=sys.stderr)
        events = write_journal(journal, args.commands)
        targets = [("sqlite", f"sqlite:{Path(tmp) / 'store.sqlite3'}")]
        pg_url = asyncio.run(cluster.new_database()) if cluster else args.pg_url
        if pg_url:
            targets.append(("postgresql", pg_url))
        print("rebuild from the journal")
        print(f"{'store':>10} {'commands':>9} {'cmds/s':>10} {'events/s':>10} {'rows/s':>10}")
        for label, url in targets:
            result = asyncio.run(rebuild(journal, url, label, args.batch, events))
            print(result.line(), flush=True)
            results.append(result.__dict__)
    return results


def _loads(args: argparse.Namespace, cluster: PgCluster | None) -> list[dict[str, object]]:
    targets = [("sqlite", "")]
    pg_url = asyncio.run(cluster.new_database()) if cluster else args.pg_url
    if pg_url:
        targets.append(("postgresql", pg_url))
    print(
        f"FIX load, in flight {args.in_flight}, {args.load_orders:,} orders/phase, "
        f"{args.rounds} rounds, fsync {args.fsync}"
    )
    head = ("store", "with/s", "without/s", "ratio", "lag p50", "lag p99", "lag max", "catch-up")
    print(" ".join(f"{h:>10}" for h in head), "  nice  cpu/cmd: follower  server (us)")
    results = []
    for label, url in targets:
        server = cluster.cpu_s if cluster is not None and label == "postgresql" else None
        fig = run_load(label, url, args, server).figures()
        print(
            f"{label:>10} {fig['orders_per_s_with']:>10,} {fig['orders_per_s_without']:>10,} "
            f"{fig['with_over_without']:>10.3f} {fig['lag_p50']:>10,} {fig['lag_p99']:>10,} "
            f"{fig['lag_max']:>10,} {fig['catch_up_s_max']:>9.1f}s {fig['follower_nice']:>5}"
            f" {fig['follower_cpu_us_per_command']:>17} {fig['server_cpu_us_per_command']:>7}",
            flush=True,
        )
        results.append(fig)
    return results


if __name__ == "__main__":
    sys.exit(main())
