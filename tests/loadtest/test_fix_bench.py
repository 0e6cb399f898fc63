"""The FIX benchmark runs end to end: a real gateway child, the echo floor and the
QuickFIX C++ reference acceptor, every order acknowledged, the figures well-formed.
Speed itself is not asserted here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loadtest import fix_bench

ARGV = ["--orders", "300", "--warmup", "20", "--in-flight", "1", "8", "--fsync", "never"]


def _check_levels(levels: list[dict[str, Any]]) -> None:
    assert [lv["in_flight"] for lv in levels] == [1, 8]
    for level in levels:
        assert (level["orders"], level["errors"]) == (300, 0)
        assert 0 < level["p50_us"] <= level["p99_us"] <= level["max_us"]
        assert level["orders_per_s"] > 0


@pytest.mark.parametrize("target", ["gateway", "echo"])
def test_fix_bench_acknowledges_every_order(tmp_path: Path, target: str) -> None:
    out = tmp_path / "bench.json"
    assert fix_bench.main([*ARGV, "--targets", target, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert list(doc["targets"]) == [target]
    _check_levels(doc["targets"][target])


def test_echo_floor_flag_is_the_echo_target(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert fix_bench.main([*ARGV, "--echo-floor", "--json", str(out)]) == 0
    assert list(json.loads(out.read_text())["targets"]) == ["echo"]


def _build_quickfix_acceptor() -> None:
    """Build the reference acceptor as `make quickfix-acceptor` does, or skip where the
    distribution's QuickFIX headers are not installed (CI installs them)."""
    if not Path("/usr/include/quickfix/Application.h").exists() or shutil.which("g++") is None:
        pytest.skip("needs g++ and libquickfix-dev (apt-get install libquickfix-dev)")
    subprocess.run(["make", "quickfix-acceptor"], check=True, capture_output=True)


def test_quickfix_reference_acceptor_acknowledges_and_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build_quickfix_acceptor()
    out = tmp_path / "bench.json"
    assert fix_bench.main([*ARGV, "--targets", "quickfix", "gateway", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert list(doc["targets"]) == ["quickfix", "gateway"]
    for levels in doc["targets"].values():
        _check_levels(levels)
    table = capsys.readouterr().out
    assert "QuickFIX C++ acceptor" in table
    quickfix_rows = [line for line in table.splitlines() if line.startswith("quickfix ")]
    assert len(quickfix_rows) == 2 and all(row.rstrip().endswith("x") for row in quickfix_rows)
