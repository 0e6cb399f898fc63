"""venue-follower as a process: it watches the market as it follows the journal, and
stores the alerts it raises."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.follower.__main__ import _run, settings_from_args
from gateway.follower.follower import default_sqlite_path
from tests.gateway.follower.surveillance.floor import CONFIG_TOML, journaled_day
from tests.gateway.follower.venue import LiveVenue, random_flow


def test_the_follower_logs_and_stores_the_alerts_its_replay_raises(tmp_path: Path) -> None:
    journal, floor = journaled_day(tmp_path)
    config = tmp_path / "venue.toml"
    config.write_text(f'[journal]\ndir = "{journal}"\n{CONFIG_TOML}')
    child = subprocess.Popen(
        [sys.executable, "-m", "gateway.follower", "--config", str(config), "--status-stdout"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[dict[str, object]] = []
    try:
        assert child.stdout is not None
        for text in child.stdout:  # the store and the rules have seen every command
            lines.append(json.loads(text))
            if lines[-1].get("applied_seq") == floor.engine.last_seq:
                break
    finally:
        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=30)
    lines += [json.loads(text) for text in rest.splitlines()]
    assert child.returncode == 0
    logged = {str(x["alert_id"]): x for x in lines if x.get("event") == "surveillance.alert"}
    assert sorted(str(a["rule"]) for a in logged.values()) == sorted(a.rule for a in floor.alerts)
    assert set(logged) == {a.alert_id for a in floor.alerts}
    with closing(sqlite3.connect(default_sqlite_path(journal))) as db:  # the default store
        stored = db.execute("SELECT alert_id, state FROM alerts ORDER BY seq").fetchall()
    assert stored == [(a.alert_id, "new") for a in floor.alerts]


def test_a_bad_surveillance_table_fails_the_config(tmp_path: Path) -> None:
    config = tmp_path / "venue.toml"
    config.write_text("[surveillance.wash_trades]\nwindow_seconds = -1\nno_such_key = 1\n")
    with pytest.raises(ConfigError, match="surveillance"):
        load_config(config)


def _nice_of_threads(pid: int) -> set[int]:
    """The nice value of each thread of a process (Linux: a thread's own priority)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        fields = stat.read_text().rpartition(")")[2].split()
        values.add(int(fields[16]))  # field 19 of proc(5), counted after the comm
    return values


@pytest.mark.parametrize(("started_at", "nice", "runs_at"), [(0, 7, 7), (12, 7, 12)])
def test_the_follower_and_its_store_thread_run_at_the_nice_value(
    tmp_path: Path, started_at: int, nice: int, runs_at: int
) -> None:
    """Lowered before its threads start, so the store's writer runs niced too; never raised."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    child = subprocess.Popen(
        [sys.executable, "-m", "gateway.follower", "--journal-dir", str(tmp_path / "journal"),
         "--nice", str(nice), "--status-stdout"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: os.nice(started_at) and None,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert "applied_seq" in child.stdout.readline()  # the store is open: its thread runs
        threads = _nice_of_threads(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=30)
    assert child.returncode == 0
    assert threads == {max(base + started_at, runs_at, base)}


async def test_the_follower_paces_garbage_collection_once_started(tmp_path: Path) -> None:
    """Like the gateway, the follower process takes garbage collection over (frozen
    start-up heap, young generations collected on its schedule) once it has replayed to
    the store's position, and gives it back when it stops."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(3), venue, 100)
    settings, _, args, surveillance = settings_from_args(["--journal-dir", str(journal)])
    assert gc.isenabled()
    task = asyncio.create_task(_run(settings, args, surveillance))
    path = default_sqlite_path(journal)
    for _ in range(600):  # a hang guard only: until the store holds the journal
        await asyncio.sleep(0.05)
        if not gc.isenabled() and _stored_seq(path) == venue.engine.last_seq:
            break
    paced, frozen = not gc.isenabled(), gc.get_freeze_count()
    os.kill(os.getpid(), signal.SIGTERM)  # the follower's handler: stop
    assert await asyncio.wait_for(task, 30) == 0
    assert paced
    assert frozen > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def _stored_seq(path: Path) -> int:
    if not path.exists():
        return -1
    with closing(sqlite3.connect(path)) as db:
        try:
            return int(db.execute("SELECT seq FROM follower_state").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return -1
