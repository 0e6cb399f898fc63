"""LoopWatch: a blocked event loop and GC collections show up in metrics and logs."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest
from structlog.testing import capture_logs

from gateway.app import App
from gateway.loopwatch import LoopWatch
from gateway.metrics import Counter, Histogram, Registry
from tests.rest.test_http import get


def _histogram(registry: Registry, name: str) -> Histogram:
    metric = registry.metrics[name]
    assert isinstance(metric, Histogram)
    return metric


@pytest.mark.slow
async def test_a_blocked_loop_is_measured_and_logged() -> None:
    registry = Registry()
    watch = LoopWatch(registry, interval_s=0.005, stall_ms=100)
    await watch.start()
    try:
        await asyncio.sleep(0.03)
        assert watch.max_lag_us < 100_000
        with capture_logs() as logs:
            time.sleep(0.15)  # hold the loop, as a long synchronous call would
            await asyncio.sleep(0.03)
    finally:
        await watch.stop()
    assert watch.max_lag_us >= 140_000
    lag = _histogram(registry, "gw_loop_lag_seconds")
    assert lag.count >= 5 and lag.sum >= 140_000
    stalls = [e for e in logs if e["event"] == "loop.stalled"]
    assert len(stalls) == 1 and stalls[0]["log_level"] == "warning"
    assert stalls[0]["lag_ms"] >= 140


async def test_gc_collections_are_counted_and_timed_until_stopped() -> None:
    registry = Registry()
    watch = LoopWatch(registry)
    await watch.start()
    gc.collect()
    await watch.stop()
    runs = registry.metrics["gw_gc_collections_total"]
    assert isinstance(runs, Counter)
    full = runs.values[(("generation", "2"),)]
    assert full >= 1
    assert _histogram(registry, "gw_gc_pause_seconds").count == sum(runs.values.values())
    gc.collect()  # after stop: not counted
    assert runs.values[(("generation", "2"),)] == full


async def test_the_gateway_serves_them_on_metrics(gateway: App) -> None:
    await asyncio.sleep(0.05)
    _, text, _ = await get(gateway, "/metrics")
    counts = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith(("gw_loop_lag_seconds_count", "gw_gc_pause_seconds_count"))
    }
    assert counts["gw_loop_lag_seconds_count"] >= 2
    assert "gw_gc_pause_seconds_count" in counts
