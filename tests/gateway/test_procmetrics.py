"""The standard process metrics, read from /proc when scraped."""

from __future__ import annotations

import resource
import sys
import time

import pytest

from gateway.metrics import Registry
from gateway.procmetrics import register_process_metrics
from tests.prometheus_text import parse_strict

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _values(registry: Registry) -> dict[str, float]:
    return {s.name: s.value for f in parse_strict(registry.render()).values() for s in f.samples}


def _vm_rss() -> int:
    """VmRSS from /proc/self/status (kB): the same figure from another file, in other units."""
    with open("/proc/self/status") as status:
        (line,) = [line for line in status if line.startswith("VmRSS:")]
    return int(line.split()[1]) * 1024


def test_process_metrics_describe_this_process() -> None:
    registry = Registry()
    register_process_metrics(registry)
    before = _values(registry)
    with open(__file__, "rb"):
        during = _values(registry)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    assert during["process_open_fds"] == before["process_open_fds"] + 1
    assert before["process_max_fds"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert before["process_resident_memory_bytes"] == pytest.approx(_vm_rss(), rel=0.1)
    assert 0 < before["process_cpu_seconds_total"] <= usage.ru_utime + usage.ru_stime + 0.1
    assert time.time() - 86400 < before["process_start_time_seconds"] <= time.time()


def test_cpu_seconds_is_a_counter() -> None:
    registry = Registry()
    register_process_metrics(registry)
    assert parse_strict(registry.render())["process_cpu_seconds"].type == "counter"
