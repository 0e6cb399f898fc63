"""The follower benchmarks run end to end and report what they measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest import follower_bench


def test_the_rebuild_benchmark_reports_its_sqlite_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert follower_bench.main(["--commands", "300", "--batch", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["store", "commands", "cmds/s", "events/s", "rows/s"]
    store, commands, *_ = lines[2].split()
    assert (store, commands) == ("sqlite", "307")  # the venue set-up and the mix


def test_the_load_run_reports_both_phases_and_the_lag(tmp_path: Path) -> None:
    """A real gateway and its follower: one round of each phase; the follower caught
    up after the frozen phase (the run waits for it), lag figures in order."""
    out = tmp_path / "figures.json"
    argv = ["--skip-rebuild", "--load", "--load-orders", "300", "--warmup", "20"]
    argv += ["--rounds", "1", "--in-flight", "10", "--sample-s", "0.01", "--json", str(out)]
    argv += ["--follower-nice", "3"]
    assert follower_bench.main(argv) == 0
    (figures,) = json.loads(out.read_text())["load"]
    assert figures["store"] == "sqlite"
    assert figures["orders_per_s_with"] > 0 and figures["orders_per_s_without"] > 0
    assert 0 <= figures["lag_p50"] <= figures["lag_p99"] <= figures["lag_max"]
    # /metrics scraped in both phases: the scrapes cost the gateway the same in each
    assert figures["scrapes_without"] > 0
    assert figures["follower_nice"] == 3
