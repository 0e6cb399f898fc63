"""`venue-follower [--config FILE.toml]`: follow the journal into the SQL store.

Reads [journal] dir and [store] from the same TOML as the gateway. The environment
variable VENUE_STORE_URL, if set, overrides [store] url (how the gateway hands the URL,
which may hold a password, to the follower it supervises: never on the command line).
Exits 0 on SIGINT/SIGTERM, 1 when the journal cannot feed the store (a gap, a
diverged journal, or records another engine semantics version wrote that would not
replay the same: see docs/READ_SIDE.md), 2 on a config error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import structlog

from engine.journal import JournalIncompatible
from gateway.config import ConfigError, load_config
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.liabilities_schedule import ScheduledLiabilities
from gateway.follower.reconcile import ReconcileAlerts, Scheduled
from gateway.follower.replay import JournalDiverged
from gateway.follower.store import StaleBatch, redact
from gateway.follower.surveillance.alerts import Alert
from gateway.follower.surveillance.settings import SurveillanceSettings, load_settings
from gateway.follower.surveillance.store import record_alerts
from gateway.follower.tail import JournalGap
from gateway.gcpacer import GcPacer
from gateway.logs import configure_logging

log = structlog.get_logger("gateway.follower")

#: how often the follower collects the young generations (GcPacer)
_GC_EVERY_S = 1.0


def settings_from_args(
    argv: list[str] | None,
) -> tuple[FollowerSettings, str, argparse.Namespace, SurveillanceSettings]:
    parser = argparse.ArgumentParser(prog="venue-follower", description=__doc__)
    parser.add_argument("--config", help="the gateway's TOML file (laid over the demo config)")
    parser.add_argument("--journal-dir", help="overrides [journal] dir")
    parser.add_argument("--log-level", help="overrides log_level")
    parser.add_argument("--batch", type=int, help="overrides [store] batch")
    parser.add_argument("--lag-log-s", type=float, help="overrides [store] lag_log_s")
    parser.add_argument(
        "--reconcile-every-s", type=float, help="overrides [store] reconcile_every_s"
    )
    parser.add_argument(
        "--liabilities-every-s", type=float, help="overrides [store] liabilities_every_s"
    )
    parser.add_argument("--nice", type=int, help="overrides [store] nice (0..19)")
    parser.add_argument(
        "--status-stdout",
        action="store_true",
        help="write status lines (JSON: applied_seq, journal_seq, store_up) on stdout",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=0,
        help="stop when this process (the supervising gateway) is gone",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    journal = Path(args.journal_dir or config.journal.dir)
    url = os.environ.get("VENUE_STORE_URL", config.store.url)
    settings = FollowerSettings(
        journal_dir=journal,
        store_url=url,
        batch=args.batch or config.store.batch,
        lag_log_s=args.lag_log_s or config.store.lag_log_s,
        reconcile_every_s=(
            config.store.reconcile_every_s
            if args.reconcile_every_s is None
            else args.reconcile_every_s
        ),
        liabilities_every_s=(
            config.store.liabilities_every_s
            if args.liabilities_every_s is None
            else args.liabilities_every_s
        ),
    )
    if args.nice is None:
        args.nice = config.store.nice
    elif not 0 <= args.nice <= 19:
        raise ConfigError("--nice: expected 0..19")
    surveillance = load_settings(config.surveillance)
    return settings, args.log_level or config.log_level, args, surveillance


def lower_priority(nice: int) -> int:
    """Run at least ``nice`` (never raising the priority of a follower started niced):
    the gateway's order path keeps its core at the peak and the follower takes what is
    left, catching up after the burst from the journal, which is the truth. Called
    before any thread starts, so the store's writer thread inherits it. The nice value
    the process has then."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice > current:
        return os.nice(nice - current)
    return current


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """A gateway killed with SIGKILL cannot stop its follower: notice it is gone."""
    while not stop.is_set():
        if os.getppid() != parent:
            log.warning("follower.parent_gone", parent=parent)
            stop.set()
            return
        await asyncio.sleep(0.5)


def _status_line(applied_seq: int, journal_seq: int, store_up: bool) -> None:
    _write_status({"applied_seq": applied_seq, "journal_seq": journal_seq, "store_up": store_up})


def _write_status(status: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(status) + b"\n")
    sys.stdout.buffer.flush()


def _log_alert(alert: Alert) -> None:
    """Alerts also go to the log stream (the store's alerts table is the queue)."""
    log.warning(
        "surveillance.alert",
        alert_id=alert.alert_id,
        rule=alert.rule,
        kind=alert.kind.name.lower(),
        severity=alert.severity.name.lower(),
        owner=alert.owner,
        instrument=alert.instrument,
        first_seq=alert.first_seq,
        last_seq=alert.last_seq,
        summary=alert.summary,
    )


async def _run(
    settings: FollowerSettings, args: argparse.Namespace, surveillance: SurveillanceSettings
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    parent = args.parent_pid
    watch = asyncio.create_task(_watch_parent(parent, stop)) if parent else None
    follower = Follower(settings, status=_status_line if args.status_stdout else None)
    replayer = follower.replayer
    recorder = record_alerts(replayer, surveillance, _log_alert)
    if settings.reconcile_every_s:
        report = _write_status if args.status_stdout else None
        follower.checkpoints.append(
            Scheduled(
                follower.store,
                replayer.engine,
                settings.journal_dir,
                settings.reconcile_every_s,
                ReconcileAlerts(follower.store, replayer.engine, recorder, report),
            )
        )
    if settings.liabilities_every_s:
        follower.checkpoints.append(
            ScheduledLiabilities(follower.store, replayer.engine, settings.liabilities_every_s)
        )
    log.info(
        "follower.starting",
        journal=str(settings.journal_dir),
        store=redact(settings.store_url) or str(settings.sqlite_path()),
    )
    # Garbage collection on the follower's schedule, as the gateway's (gateway/gcpacer.py):
    # each batch allocates thousands of rows that die once written, and CPython's own
    # collections kept walking them and the replaying engine's heap. Taken over once
    # started, so that the engine restored and replayed to the store's position is frozen.
    # Once a second: a young collection walks only what is alive then (the rows of the
    # batches in flight), and the follower has no latency for longer pauses to hurt.
    gcpacer = GcPacer(lambda: replayer.engine.last_seq, interval_s=_GC_EVERY_S)
    try:
        if await follower.start(stop):
            await gcpacer.start()
            await follower.follow(stop)
    except (JournalGap, JournalDiverged, JournalIncompatible, StaleBatch) as exc:
        log.critical("follower.cannot_follow", error=str(exc))
        return 1
    finally:
        if watch is not None:
            watch.cancel()
        await follower.close()
        await gcpacer.stop()
    log.info("follower.stopped", seq=follower.applied_seq)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        settings, level, args, surveillance = settings_from_args(argv)
    except ConfigError as exc:
        configure_logging("info")
        log.error("config.invalid", error=str(exc))
        return 2
    configure_logging(level)
    log.info("follower.nice", nice=lower_priority(args.nice))
    return asyncio.run(_run(settings, args, surveillance))


if __name__ == "__main__":
    sys.exit(main())
