"""Journal follower rebuild rate: a journal of the engine benchmark's command mix,
replayed into an empty store (SQLite, and PostgreSQL when a URL is given).

    python -m loadtest.follower_bench [--commands N] [--batch K] [--pg-url URL]

Reports commands/s, events/s (the live events the replay re-derives) and rows/s
written, from start to the last transaction committed: what a rebuild costs.
"""

from __future__ import annotations

import argparse
import asyncio
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
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="commands per transaction")
    parser.add_argument("--pg-url", default="", help="an empty PostgreSQL database")
    args = parser.parse_args(argv)
    configure_logging("warning")  # JSON on stderr: stdout is the report
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal"
        print(f"journaling {args.commands:,} commands...", file=sys.stderr)
        events = write_journal(journal, args.commands)
        targets = [("sqlite", f"sqlite:{Path(tmp) / 'store.sqlite3'}")]
        if args.pg_url:
            targets.append(("postgresql", args.pg_url))
        print(f"{'store':>10} {'commands':>9} {'cmds/s':>10} {'events/s':>10} {'rows/s':>10}")
        for label, url in targets:
            result = asyncio.run(rebuild(journal, url, label, args.batch, events))
            print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
