"""The behind-the-edge benchmark does the work it claims at each stage: every order
accepted, every other one trading, ExecutionReports sequenced only once the FIX
listener is attached. Speed itself is not asserted here."""

from __future__ import annotations

import json
from pathlib import Path

from loadtest import core_bench


def test_core_bench_stages_do_their_work(tmp_path: Path) -> None:
    out = tmp_path / "core.json"
    assert core_bench.main(["--orders", "400", "--warmup", "40", "--json", str(out)]) == 0
    results = {r["stage"]: r for r in json.loads(out.read_text())["results"]}
    assert list(results) == list(core_bench.STAGES)
    for r in results.values():
        assert (r["orders"], r["rejected"], r["trades"]) == (400, 0, 200)
        assert r["cpu_us_per_order"] > 0
    assert results["engine"]["listeners"] == []
    assert results["engine"]["fix_messages"] == results["+views"]["fix_messages"] == 0
    # an ack and a fill per order, each to its owner and to the drop copy
    assert results["+fix-out"]["fix_messages"] == 400 * 2 * 2
