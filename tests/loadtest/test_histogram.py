"""Latency histogram: percentiles, merge, encoding, percentile curve."""

from __future__ import annotations

import random

from loadtest.histogram import HIGHEST_US, LatencyHistogram, pct_to_x


def _within(value: int, expected: int, rel: float = 0.001) -> bool:
    return abs(value - expected) <= max(1, expected * rel)


def test_percentiles_of_uniform_values() -> None:
    h = LatencyHistogram()
    for v in range(1, 10_001):
        h.record_us(v)
    assert h.count == 10_000
    assert _within(h.percentile(50), 5_000)
    assert _within(h.percentile(99), 9_900)
    assert _within(h.percentile(99.9), 9_990)
    assert h.min_us == 1
    assert _within(h.max_us, 10_000)
    s = h.summary()
    assert s["count"] == 10_000
    assert _within(s["p90"], 9_000)
    assert set(s) >= {"p50", "p90", "p99", "p99.9", "p99.99", "max_us", "mean_us"}


def test_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(7)
    values = [int(rng.expovariate(1 / 300)) + 1 for _ in range(20_000)]
    whole = LatencyHistogram()
    parts = [LatencyHistogram() for _ in range(4)]
    for i, v in enumerate(values):
        whole.record_us(v)
        parts[i % 4].record_us(v)
    merged = LatencyHistogram()
    for p in parts:
        merged.merge(p)
    assert merged.count == whole.count
    for p in (50.0, 90.0, 99.0, 99.9, 100.0):
        assert merged.percentile(p) == whole.percentile(p)


def test_encode_decode_round_trip_and_merge_across_processes() -> None:
    a, b = LatencyHistogram(), LatencyHistogram()
    for v in range(100, 200):
        a.record_us(v)
    for v in range(5_000, 5_050):
        b.record_us(v)
    text = a.encode()
    assert isinstance(text, str)
    back = LatencyHistogram.decode(text)
    assert back.count == 100
    assert back.percentile(50) == a.percentile(50)
    back.merge(LatencyHistogram.decode(b.encode()))
    assert back.count == 150
    assert back.percentile(99) >= 5_000
    assert LatencyHistogram.from_dict(back.to_dict()).count == 150


def test_out_of_range_values_are_clamped_and_counted() -> None:
    h = LatencyHistogram()
    h.record_us(0)
    h.record_us(-5)
    h.record_us(HIGHEST_US * 10)
    h.record_ns(2_600)
    assert h.count == 4
    assert h.clamped == 3
    assert h.min_us == 1
    assert h.max_us >= HIGHEST_US * 0.999
    assert h.summary()["clamped"] == 3


def test_empty_histogram_is_all_zeros() -> None:
    h = LatencyHistogram()
    assert h.percentile(99) == 0
    assert h.summary()["p99"] == 0
    assert h.curve() == []


def test_curve_is_monotonic_and_ends_at_max() -> None:
    h = LatencyHistogram()
    rng = random.Random(1)
    for _ in range(5_000):
        h.record_us(rng.randint(10, 50_000))
    pts = h.curve()
    assert pts[-1] == (100.0, h.max_us)
    pcts = [p for p, _ in pts]
    vals = [v for _, v in pts]
    assert pcts == sorted(pcts)
    assert vals == sorted(vals)
    # dense towards the tail, as on HdrHistogram plots
    assert sum(1 for p in pcts if p >= 99.0) >= 5


def test_percentile_axis() -> None:
    assert abs(pct_to_x(90.0) - 1.0) < 1e-9
    assert abs(pct_to_x(99.9) - 3.0) < 1e-9
    assert pct_to_x(100.0, cap=1e4) == 4.0
