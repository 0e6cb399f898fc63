"""Reconciliation on demand, and its alert and metrics in the gateway.

On demand (the admin API's ``GET /reconciliation``, ``venue-admin reconcile``), the
gateway runs ``venue-reconcile`` as a child process: it reads the store (read-only),
rebuilds an engine from the journal at the store's seq, and compares
(gateway/follower/reconcile.py). The replay is CPU work, so it never runs in the
gateway's process. On a schedule, the follower reconciles with the engine it already
holds and tells the gateway on its status pipe. Either way a result reaches
:class:`ReconcileMetrics` (``gw_reconcile_*``), and a mismatch is logged as
``reconcile.mismatch`` and raised as an alert.

``venue-reconcile --config FILE.toml`` prints the result as JSON; exit status 0 when
it reconciles, 3 on a mismatch, 1 when the store or journal cannot be read, 2 on a
config error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, Final

import orjson
import structlog
from aiohttp import web

from gateway.config import Config, ConfigError, load_config
from gateway.metrics import Registry

__all__ = [
    "RECONCILE",
    "ReconcileFailed",
    "ReconcileMetrics",
    "main",
    "run_child",
]

log = structlog.get_logger("gateway.reconcile")

EXIT_OK: Final = 0
EXIT_MISMATCH: Final = 3


class ReconcileFailed(Exception):
    """The child could not reconcile (store or journal unreadable)."""


class ReconcileMetrics:
    """The last result of each trigger (schedule, demand), as gauges and a counter."""

    def __init__(self, registry: Registry) -> None:
        self.runs = registry.counter(
            "gw_reconcile_runs_total", "Reconciliations by trigger and result"
        )
        self.last: dict[str, Any] = {"seq": 0, "mismatch_count": 0, "first_diverging_seq": 0}
        self.lock = asyncio.Lock()  # one on-demand replay at a time
        registry.gauge("gw_reconcile_seq", "Seq the last reconciliation checked").set_source(
            lambda: self.last["seq"]
        )
        registry.gauge(
            "gw_reconcile_mismatches", "Account/asset pairs that did not reconcile, last run"
        ).set_source(lambda: self.last["mismatch_count"] + len(self.last.get("unbalanced", {})))
        registry.gauge(
            "gw_reconcile_diverged_seq", "First seq where ledger and engine diverge (0: none)"
        ).set_source(lambda: self.last["first_diverging_seq"])

    def observe(self, report: dict[str, Any], trigger: str) -> None:
        """Record a result; a mismatch is logged as the alert."""
        self.last = report
        ok = bool(report.get("ok"))
        self.runs.inc(trigger=trigger, result="ok" if ok else "mismatch")
        if ok:
            log.info("reconcile.ok", trigger=trigger, seq=report["seq"], pairs=report["pairs"])
            return
        log.error(
            "reconcile.mismatch",
            trigger=trigger,
            seq=report["seq"],
            first_diverging_seq=report["first_diverging_seq"],
            mismatch_count=report["mismatch_count"],
            unbalanced=report["unbalanced"],
            mismatches=report["mismatches"][:5],
        )


#: where the admin API's handlers find the gateway's ReconcileMetrics
RECONCILE: Final = web.AppKey("reconcile", ReconcileMetrics)


async def run_child(config: Config) -> dict[str, Any]:
    """Run venue-reconcile for this gateway's journal and store; its report."""
    command = [sys.executable, "-m", "gateway.reconciliation", "--journal-dir", config.journal.dir]
    env = dict(os.environ)
    env["VENUE_STORE_URL"] = config.store.url  # never on the command line
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await proc.communicate()
    if proc.returncode not in (EXIT_OK, EXIT_MISMATCH):
        lines = err.decode(errors="replace").strip().splitlines()
        raise ReconcileFailed(lines[-1] if lines else f"exit status {proc.returncode}")
    report: dict[str, Any] = orjson.loads(out)
    return report


async def _reconcile(journal: Path, url: str, default_path: Path) -> dict[str, Any]:
    from gateway.follower.reconcile import engine_balances, reconcile
    from gateway.follower.replay import Replayer
    from gateway.readstore import ReadStore

    store = ReadStore(url, default_path)
    try:
        rows = await store.fetch("SELECT seq, crc FROM follower_state WHERE id = 1")
        seq, crc = int(rows[0][0]), int(rows[0][1])
        replayer = Replayer(journal)
        if seq:
            replayer.start(seq, crc, {})
        engine = engine_balances(replayer.engine) if seq else {}
        result = await reconcile(store, engine, seq, journal)
    finally:
        await store.close()
    return result.to_dict()


def main(argv: list[str] | None = None) -> int:
    from engine.journal import JournalIncompatible
    from gateway.follower.follower import default_sqlite_path
    from gateway.follower.replay import JournalDiverged
    from gateway.follower.tail import JournalGap
    from gateway.readstore import StoreUnavailable

    parser = argparse.ArgumentParser(prog="venue-reconcile", description=__doc__)
    parser.add_argument("--config", help="the gateway's TOML file (laid over the demo config)")
    parser.add_argument("--journal-dir", help="overrides [journal] dir")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"venue-reconcile: {exc}", file=sys.stderr)
        return 2
    journal = Path(args.journal_dir or config.journal.dir)
    url = os.environ.get("VENUE_STORE_URL", config.store.url)
    try:
        report = asyncio.run(_reconcile(journal, url, default_sqlite_path(journal)))
    except (StoreUnavailable, JournalGap, JournalDiverged, JournalIncompatible, IndexError) as exc:
        print(f"venue-reconcile: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(orjson.dumps(report) + b"\n")
    return EXIT_OK if report["ok"] else EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())
