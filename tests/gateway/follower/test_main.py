"""venue-follower as a process: it watches the market as it follows the journal, and
stores the alerts it raises."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.follower.follower import default_sqlite_path
from tests.gateway.follower.surveillance.floor import CONFIG_TOML, journaled_day


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
