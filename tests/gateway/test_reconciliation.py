"""The gateway's side of reconciliation: a scheduled result on the follower's status
pipe reaches /metrics; every result of a gateway goes to one set of gauges."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

from gateway.follower.supervisor import FollowerSupervisor
from gateway.metrics import Registry
from gateway.reconciliation import ReconcileMetrics
from tests.conftest import test_config as gateway_config


async def test_a_scheduled_mismatch_on_the_status_pipe_reaches_the_metrics(
    tmp_path: Path,
) -> None:
    registry = Registry()
    shared = ReconcileMetrics(registry)  # the App's, also given to the admin API
    supervisor = FollowerSupervisor(gateway_config(tmp_path), registry, lambda: 0, shared)
    report = {
        "seq": 90, "ok": False, "pairs": 9, "mismatch_count": 1, "first_diverging_seq": 42,
        "mismatches": [], "unbalanced": {},
    }  # fmt: skip
    lines = [{"reconciliation": report}, {"applied_seq": 90, "journal_seq": 90, "store_up": True}]
    script = "".join(f"print({orjson.dumps(line).decode()!r})\n" for line in lines)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    await supervisor._read_status(proc)
    await proc.wait()
    text = registry.render()
    assert "gw_reconcile_diverged_seq 42" in text and "gw_reconcile_mismatches 1" in text
    assert 'gw_reconcile_runs_total{result="mismatch",trigger="schedule"} 1' in text
    assert supervisor.applied_seq == 90
    assert shared.last["first_diverging_seq"] == 42
