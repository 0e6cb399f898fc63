"""The FIX benchmark runs end to end: a real gateway child (and the echo floor), every
order acknowledged, the figures well-formed. Speed itself is not asserted here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest import fix_bench


@pytest.mark.parametrize("floor", [False, True], ids=["gateway", "echo-floor"])
def test_fix_bench_acknowledges_every_order(tmp_path: Path, floor: bool) -> None:
    out = tmp_path / "bench.json"
    argv = ["--orders", "300", "--warmup", "20", "--in-flight", "1", "8"]
    argv += ["--fsync", "never", "--json", str(out), *(["--echo-floor"] if floor else [])]
    assert fix_bench.main(argv) == 0
    doc = json.loads(out.read_text())
    assert doc["target"] == ("echo" if floor else "gateway")
    assert [lv["in_flight"] for lv in doc["levels"]] == [1, 8]
    for level in doc["levels"]:
        assert (level["orders"], level["errors"]) == (300, 0)
        assert 0 < level["p50_us"] <= level["p99_us"] <= level["max_us"]
        assert level["orders_per_s"] > 0
