"""The snapshot benchmark measures what it claims: the requested book rests in full
and both the inline and the forked snapshot are written. Speed is not asserted."""

from __future__ import annotations

import json
from pathlib import Path

from loadtest import snapshot_bench


def test_snapshot_bench_rests_the_book_and_writes_both_snapshots(tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    args = ["--orders", "30", "300", "--repeat", "1", "--json", str(out)]
    assert snapshot_bench.main(args) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["resting_orders"] for r in rows] == [30, 300]
    for r in rows:
        assert r["inline_ms"] > 0 and r["pause_us"] > 0 and r["child_ms"] > 0
    assert rows[1]["snapshot_bytes"] > rows[0]["snapshot_bytes"]  # the orders are in it
