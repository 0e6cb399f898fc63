"""A minimal Prometheus registry: counters, gauges and fixed-bucket histograms.

Kept in-process and allocation-free on the hot path (a counter increment is a dict
update); rendered to the Prometheus text format by GET /metrics.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

__all__ = ["BoundCounter", "Counter", "Gauge", "Histogram", "Registry"]

Labels = tuple[tuple[str, str], ...]


def _fmt_labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{v}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


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
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_fmt_labels(k)} {v:g}" for k, v in sorted(self.values.items())]
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
    """A gauge whose value is read from a callback at render time (no hot-path cost)."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.sources: dict[Labels, Callable[[], float]] = {}

    def set_source(self, source: Callable[[], float], **labels: str) -> None:
        self.sources[tuple(sorted(labels.items()))] = source

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        lines += [f"{self.name}{_fmt_labels(k)} {f():g}" for k, f in sorted(self.sources.items())]
        return lines


#: The HELP texts of the two gauges every protocol edge reports (labelled protocol=).
SESSIONS_HELP = "Logged-on sessions by protocol (FIX: Logon accepted; WS: session.logon done)"
CONNECTIONS_HELP = "Open connections by protocol, logged on or not"

DEFAULT_US_BUCKETS = (
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000,
)  # fmt: skip


class Histogram:
    """Cumulative-bucket histogram in microseconds (Prometheus convention: le buckets)."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = DEFAULT_US_BUCKETS):
        self.name, self.help = name, help_text
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, n in zip(self.buckets, self.counts, strict=False):
            running += n
            lines.append(f'{self.name}_bucket{{le="{bound:g}"}} {running}')
        lines.append(f'{self.name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{self.name}_sum {self.sum:g}")
        lines.append(f"{self.name}_count {self.count}")
        return lines


class Registry:
    """One per gateway process (App owns it), so tests can run several gateways."""

    def __init__(self) -> None:
        self.metrics: dict[str, Counter | Gauge | Histogram] = {}

    def counter(self, name: str, help_text: str) -> Counter:
        metric = self.metrics.setdefault(name, Counter(name, help_text))
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, help_text: str) -> Gauge:
        metric = self.metrics.setdefault(name, Gauge(name, help_text))
        assert isinstance(metric, Gauge)
        return metric

    def histogram(self, name: str, help_text: str) -> Histogram:
        metric = self.metrics.setdefault(name, Histogram(name, help_text))
        assert isinstance(metric, Histogram)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self.metrics.values():
            lines += metric.render()
        return "\n".join(lines) + "\n"
