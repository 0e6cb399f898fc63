"""Latency recording on HdrHistogram, in microseconds.

Every latency in the harness is an integer number of microseconds recorded into a
:class:`LatencyHistogram` (1 us .. 60 s, 3 significant digits, so any reported value
is within 0.1 % of the truth).  Histograms merge exactly: per-session histograms add
up to the scenario total, and histograms from other processes travel as the compact
HdrHistogram V2 encoding (base64 text) and are decoded and added by the parent.

Values outside the trackable range are clamped (0 -> 1 us, > 60 s -> 60 s) and the
number of clamped samples is kept, so nothing is silently dropped.
"""

from __future__ import annotations

import math
from typing import Any

from hdrh.histogram import HdrHistogram

__all__ = [
    "HIGHEST_US",
    "LOWEST_US",
    "SIGNIFICANT_DIGITS",
    "SUMMARY_PERCENTILES",
    "LatencyHistogram",
]

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3
#: Percentiles shown in summaries and stored in result files.
SUMMARY_PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9, 99.99)


def _new_hdr() -> Any:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


class LatencyHistogram:
    """A latency histogram in microseconds with exact merge and a text encoding."""

    __slots__ = ("_clamped", "_h", "_record", "_sum")

    def __init__(self) -> None:
        self._h: Any = _new_hdr()
        self._record = self._h.record_value
        self._clamped = 0
        #: sum of the recorded values (None once unknown: a decoded histogram), so the
        #: mean is not a pure-Python walk over every bucket (slow for second-range values)
        self._sum: int | None = 0

    # -- recording ---------------------------------------------------------------
    def record_us(self, value_us: int, count: int = 1) -> None:
        """Record one (or ``count``) latency of ``value_us`` microseconds."""
        if value_us < LOWEST_US:
            value_us = LOWEST_US
            self._clamped += count
        elif value_us > HIGHEST_US:
            value_us = HIGHEST_US
            self._clamped += count
        self._record(value_us, count)
        if self._sum is not None:
            self._sum += value_us * count

    def record_ns(self, value_ns: int) -> None:
        """Record a latency given in nanoseconds (rounded to the nearest microsecond)."""
        self.record_us((value_ns + 500) // 1000)

    # -- merge ---------------------------------------------------------------------
    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other`` into this histogram."""
        if other._h.get_total_count():
            self._h.add(other._h)
            self._sum = None if self._sum is None or other._sum is None else self._sum + other._sum
        self._clamped += other._clamped

    def encode(self) -> str:
        """HdrHistogram V2 compressed encoding (base64 text), for JSON and pipes."""
        return bytes(self._h.encode()).decode("ascii")

    @classmethod
    def decode(cls, text: str | bytes, clamped: int = 0) -> LatencyHistogram:
        data = text.encode("ascii") if isinstance(text, str) else text
        out = cls()
        if data:
            out._h.decode_and_add(data)
            out._sum = None
        out._clamped = clamped
        return out

    def reset(self) -> None:
        self._h.reset()
        self._clamped = 0
        self._sum = 0

    # -- queries -----------------------------------------------------------------
    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    @property
    def clamped(self) -> int:
        return self._clamped

    @property
    def min_us(self) -> int:
        return int(self._h.get_min_value()) if self.count else 0

    @property
    def max_us(self) -> int:
        return int(self._h.get_max_value()) if self.count else 0

    @property
    def mean_us(self) -> float:
        n = self.count
        if not n:
            return 0.0
        if self._sum is not None:
            return self._sum / n
        return float(self._h.get_mean_value())

    def percentile(self, p: float) -> int:
        """Value at percentile ``p`` (0..100); 0 when the histogram is empty."""
        if not self.count:
            return 0
        return int(self._h.get_value_at_percentile(p))

    def percentiles(self, ps: tuple[float, ...] | list[float]) -> dict[float, int]:
        if not self.count:
            return dict.fromkeys(ps, 0)
        got = self._h.get_percentile_to_value_dict(list(ps))
        return {p: int(got.get(p, self.max_us)) for p in ps}

    def summary(self) -> dict[str, Any]:
        """Count, min, mean, max and the standard percentiles (keys ``p50`` .. ``p99.99``)."""
        out: dict[str, Any] = {
            "count": self.count,
            "min_us": self.min_us,
            "mean_us": round(self.mean_us, 1),
            "max_us": self.max_us,
        }
        for p, v in self.percentiles(SUMMARY_PERCENTILES).items():
            out[percentile_key(p)] = v
        if self._clamped:
            out["clamped"] = self._clamped
        return out

    def curve(self, ticks_per_half_distance: int = 5) -> list[tuple[float, int]]:
        """(percentile, value_us) points for a percentile-distribution plot.

        Points are dense near 100 % the way HdrHistogram plots are: the x axis of such
        a plot is ``1 / (1 - percentile/100)`` on a log scale (see :func:`pct_to_x`).
        The last point is the maximum, at percentile 100.
        """
        if not self.count:
            return []
        pts: list[tuple[float, int]] = []
        for item in self._h.get_percentile_iterator(ticks_per_half_distance):
            pct = float(item.percentile_level_iterated_to)
            val = int(self._h.get_highest_equivalent_value(item.value_iterated_to))
            if pct >= 100.0:
                break
            pts.append((pct, val))
        pts.append((100.0, self.max_us))
        return pts

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: summary plus the encoded histogram for exact re-merging."""
        d = self.summary()
        d["hdr"] = self.encode()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LatencyHistogram:
        return cls.decode(d.get("hdr", ""), int(d.get("clamped", 0)))


def percentile_key(p: float) -> str:
    """50.0 -> 'p50', 99.9 -> 'p99.9'."""
    return "p" + (f"{p:g}")


def pct_to_x(pct: float, cap: float = 1_000_000.0) -> float:
    """Map a percentile to the HdrHistogram plot axis ``log10(1/(1-p))``.

    50 % -> 0.30, 90 % -> 1, 99 % -> 2, 99.9 % -> 3 ...; 100 % is capped at ``cap``.
    """
    frac = pct / 100.0
    inv = cap if frac >= 1.0 else min(cap, 1.0 / (1.0 - frac))
    return math.log10(inv)
