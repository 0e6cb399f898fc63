"""The --spawn-gateway report reads the gateway's stall histograms right: counts over a
bound come from cumulative Prometheus buckets, as the gateway renders them."""

from __future__ import annotations

from gateway.metrics import Registry
from loadtest.cli import _render_stalls
from loadtest.gateway_runner import parse_metrics


def test_stall_lines_count_what_exceeded_the_bounds() -> None:
    registry = Registry()
    lag = registry.duration("gw_loop_lag_seconds", "")
    for us in (800, 900, 12_000, 30_000, 150_000):
        lag.observe(us)
    gc_runs = registry.counter("gw_gc_collections_total", "")
    gc_runs.add(40, generation="0")
    gc_runs.add(4, generation="1")
    pauses = registry.duration("gw_gc_pause_seconds", "")
    for us in (50, 400, 11_000):
        pauses.observe(us)
    registry.duration("gw_snapshot_pause_seconds", "").observe(1_800)
    lines = _render_stalls(parse_metrics(registry.render()))
    assert lines == [
        "   event-loop lag: 5 samples, 3 over 10 ms, 1 over 100 ms",
        "   GC collections (gen 0/1/2): 40/4/0, 1 paused over 10 ms",
        "   snapshots: 1, 0 paused the loop over 10 ms",
    ]


def test_no_stall_lines_without_the_metrics() -> None:
    assert _render_stalls({}) == []
