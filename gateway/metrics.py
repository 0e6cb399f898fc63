"""A minimal Prometheus registry: counters, gauges and fixed-bucket histograms.

Kept in-process and allocation-free on the hot path (a counter increment is a dict
update); rendered to the Prometheus text format (version 0.0.4) by GET /metrics.
Names follow Prometheus conventions, which the registry checks when a metric is
made: counters end in ``_total``, durations are in seconds (``_seconds``).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable

__all__ = [
    "ACK_LATENCY",
    "ACK_LATENCY_HELP",
    "CONTENT_TYPE",
    "BoundCounter",
    "Counter",
    "Gauge",
    "Histogram",
    "HistogramFamily",
    "Labels",
    "Registry",
]

#: The Content-Type of the text exposition format the registry renders.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    """A label value as the text format quotes it: backslash, quote, newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _fmt_labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _fmt_value(value: float) -> str:
    """Exact for integers (``:g`` would print a count of 1234567 as 1.23457e+06)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _header(name: str, help_text: str, kind: str) -> list[str]:
    return [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} {kind}"]


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.values: dict[Labels, float] = {}

    def inc(self, **labels: str) -> None:
        self.add(1, **labels)

    def add(self, amount: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0) + amount

    def labels(self, **labels: str) -> BoundCounter:
        """This counter with fixed labels: for hot paths, where sorting the labels on
        every increment would cost more than the increment."""
        return BoundCounter(self, tuple(sorted(labels.items())))

    def render(self) -> list[str]:
        lines = _header(self.name, self.help, "counter")
        lines += [
            f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in sorted(self.values.items())
        ]
        return lines


class BoundCounter:
    """One label set of a Counter (see Counter.labels)."""

    __slots__ = ("_key", "_values")

    def __init__(self, counter: Counter, key: Labels) -> None:
        self._values = counter.values
        self._key = key

    def inc(self, amount: float = 1) -> None:
        values = self._values
        values[self._key] = values.get(self._key, 0) + amount


class Gauge:
    """A gauge whose value is read from a callback at render time (no hot-path cost).
    ``kind="counter"`` exposes a total kept elsewhere (the kernel's CPU time)."""

    def __init__(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self.name, self.help, self.kind = name, help_text, kind
        self.sources: dict[Labels, Callable[[], float]] = {}

    def set_source(self, source: Callable[[], float], **labels: str) -> None:
        self.sources[tuple(sorted(labels.items()))] = source

    def render(self) -> list[str]:
        lines = _header(self.name, self.help, self.kind)
        lines += [
            f"{self.name}{_fmt_labels(k)} {_fmt_value(f())}"
            for k, f in sorted(self.sources.items())
        ]
        return lines


#: The HELP texts of the two gauges every protocol edge reports (labelled protocol=).
SESSIONS_HELP = "Logged-on sessions by protocol (FIX: Logon accepted; WS: session.logon done)"
CONNECTIONS_HELP = "Open connections by protocol, logged on or not"
#: The histogram every order-entry edge observes (labelled protocol=), and its HELP.
ACK_LATENCY = "gw_order_ack_latency_seconds"
ACK_LATENCY_HELP = (
    "Order receipt (its bytes read) to its acknowledgement written to the transport,"
    " by protocol: new orders, cancels and replaces that reached the engine"
)

DEFAULT_US_BUCKETS = (
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000,
)  # fmt: skip


class Histogram:
    """Cumulative-bucket histogram (Prometheus convention: ``le`` buckets, _sum, _count).

    ``observe`` takes the caller's unit, for durations microseconds (what the hot path
    has at hand); bounds and sum are divided by ``unit`` when rendered, so a duration
    is exposed in seconds."""

    def __init__(
        self,
        name: str,
        help_text: str,
        buckets: tuple[float, ...] = DEFAULT_US_BUCKETS,
        unit: float = 1,
        labels: Labels = (),
    ) -> None:
        self.name, self.help = name, help_text
        self.buckets = buckets
        self.unit = unit
        self.labels = labels
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def render(self) -> list[str]:
        return _header(self.name, self.help, "histogram") + self.samples()

    def samples(self) -> list[str]:
        """The sample lines (buckets, sum, count) without the HELP and TYPE header."""
        name, labels = self.name, self.labels
        lines: list[str] = []
        running = 0
        for bound, n in zip(self.buckets, self.counts, strict=False):
            running += n
            le = _fmt_labels(labels, 'le="' + f"{bound / self.unit:g}" + '"')
            lines.append(f"{name}_bucket{le} {running}")
        inf = _fmt_labels(labels, 'le="+Inf"')
        lines.append(f"{name}_bucket{inf} {self.count}")
        lines.append(f"{name}_sum{_fmt_labels(labels)} {_fmt_value(self.sum / self.unit)}")
        lines.append(f"{name}_count{_fmt_labels(labels)} {self.count}")
        return lines


class HistogramFamily:
    """Histograms of one name, one per label set (``labels``), rendered under one
    header. A hot path keeps its child: observing costs what a plain Histogram's does."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...], unit: float) -> None:
        self.name, self.help = name, help_text
        self.buckets = buckets
        self.unit = unit
        self.children: dict[Labels, Histogram] = {}

    def labels(self, **labels: str) -> Histogram:
        key = tuple(sorted(labels.items()))
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = Histogram(
                self.name, self.help, self.buckets, self.unit, key
            )
        return child

    def render(self) -> list[str]:
        lines = _header(self.name, self.help, "histogram")
        for _, child in sorted(self.children.items()):
            lines += child.samples()
        return lines


class Registry:
    """One per gateway process (App owns it), so tests can run several gateways."""

    def __init__(self) -> None:
        self.metrics: dict[str, Counter | Gauge | Histogram | HistogramFamily] = {}

    def counter(self, name: str, help_text: str) -> Counter:
        assert name.endswith("_total"), name
        metric = self.metrics.setdefault(name, Counter(name, help_text))
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, help_text: str, kind: str = "gauge") -> Gauge:
        assert kind == "gauge" or name.endswith("_total"), name
        metric = self.metrics.setdefault(name, Gauge(name, help_text, kind))
        assert isinstance(metric, Gauge)
        return metric

    def histogram(self, name: str, help_text: str) -> Histogram:
        """A histogram of counts (a duration is a :meth:`duration`)."""
        metric = self.metrics.setdefault(name, Histogram(name, help_text))
        assert isinstance(metric, Histogram)
        return metric

    def duration(self, name: str, help_text: str) -> Histogram:
        """A duration histogram: observed in microseconds, exposed in seconds."""
        assert name.endswith("_seconds"), name
        metric = self.metrics.setdefault(
            name, Histogram(name, help_text, DEFAULT_US_BUCKETS, 1_000_000)
        )
        assert isinstance(metric, Histogram)
        return metric

    def durations(self, name: str, help_text: str) -> HistogramFamily:
        """Duration histograms by label set (see :meth:`duration`)."""
        assert name.endswith("_seconds"), name
        metric = self.metrics.setdefault(
            name, HistogramFamily(name, help_text, DEFAULT_US_BUCKETS, 1_000_000)
        )
        assert isinstance(metric, HistogramFamily)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self.metrics.values():
            lines += metric.render()
        return "\n".join(lines) + "\n"
