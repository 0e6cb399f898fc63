"""A strict reading of the Prometheus text format, for tests of /metrics.

prometheus_client's parser (an independent implementation of the format) does the
tokenising and unescaping; on top, what it lets through: a sample outside any
``# TYPE`` (an ``unknown`` family), a name declared twice, a counter sample without
``_total``, histogram buckets that are not cumulative or disagree with ``_count``.
"""

from __future__ import annotations

import math

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["parse_strict"]

_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


def parse_strict(text: str) -> dict[str, Metric]:
    """The families in ``text`` by name; AssertionError/ValueError if malformed."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), f"a family declared twice: {names}"
    for family in families:
        assert family.type in _SUFFIXES, f"{family.name}: type {family.type}"
        for sample in family.samples:
            suffix = sample.name.removeprefix(family.name)
            assert suffix in _SUFFIXES[family.type], f"{sample.name} in {family.type}"
        if family.type == "histogram":
            _check_histogram(family)
    return {f.name: f for f in families}


def _check_histogram(family: Metric) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    counts: dict[tuple[tuple[str, str], ...], float] = {}
    for s in family.samples:
        others = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        if s.name.endswith("_bucket"):
            series.setdefault(others, []).append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            counts[others] = s.value
    for labels, buckets in series.items():
        bounds = [b for b, _ in buckets]
        assert bounds == sorted(bounds) and math.isinf(bounds[-1]), f"{family.name}: {bounds}"
        values = [v for _, v in buckets]
        assert values == sorted(values), f"{family.name}: buckets not cumulative {values}"
        assert values[-1] == counts[labels], f"{family.name}: +Inf bucket != _count"
