"""The registry's text exposition, read back by an independent parser."""

from __future__ import annotations

import pytest

from gateway.metrics import Registry
from tests.prometheus_text import parse_strict

HOSTILE = 'CLI"ENT\\1\nx} 9'  # a quote, a backslash, a newline, a brace


def test_a_hostile_label_value_round_trips() -> None:
    registry = Registry()
    registry.counter("gw_logons_total", "Logons").inc(comp_id=HOSTILE, result="ok")
    registry.gauge("gw_queue", "Queue").set_source(lambda: 3, comp_id=HOSTILE)
    families = parse_strict(registry.render())
    (sample,) = families["gw_logons"].samples
    assert sample.labels == {"comp_id": HOSTILE, "result": "ok"} and sample.value == 1
    assert families["gw_queue"].samples[0].labels == {"comp_id": HOSTILE}


def test_help_text_is_escaped() -> None:
    registry = Registry()
    registry.counter("gw_x_total", "two\nlines, one \\ backslash").inc()
    assert parse_strict(registry.render())["gw_x"].documentation == ("two\nlines, one \\ backslash")


def test_large_counts_are_exact() -> None:
    registry = Registry()
    registry.counter("gw_x_total", "x").add(1_234_567)
    assert "gw_x_total 1234567\n" in registry.render()


def test_durations_are_observed_in_microseconds_and_exposed_in_seconds() -> None:
    registry = Registry()
    lag = registry.duration("gw_lag_seconds", "lag")
    for us in (3, 800, 12_000, 2_000_000):
        lag.observe(us)
    samples = parse_strict(registry.render())["gw_lag_seconds"].samples
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    assert buckets["5e-06"] == 1 and buckets["0.001"] == 2 and buckets["0.025"] == 3
    assert buckets["1"] == 3 and buckets["+Inf"] == 4
    (total,) = [s.value for s in samples if s.name == "gw_lag_seconds_sum"]
    assert total == pytest.approx(2.012803)


def test_names_follow_the_conventions() -> None:
    registry = Registry()
    with pytest.raises(AssertionError):
        registry.counter("gw_logons", "a counter without _total")
    with pytest.raises(AssertionError):
        registry.duration("gw_lag_us", "a duration not in seconds")
