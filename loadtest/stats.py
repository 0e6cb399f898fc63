"""Per-session and per-run figures: latency histograms, counters, reasons, timeline.

A :class:`SessionStats` belongs to one connection (a FIX session, a WebSocket order
connection, a market-data subscriber).  Sessions are grouped by scenario component
(``fix-orders``, ``ws-orders``, ``md-fanout``); a :class:`RunStats` holds the sessions
of one process plus one :class:`Timeline` per group.  Everything serializes to plain
JSON-able dicts (histograms as their HdrHistogram encoding), so the parent process
merges the children's figures exactly.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from loadtest.histogram import LatencyHistogram

__all__ = ["RunStats", "SessionStats", "Timeline", "merge_run_dicts"]


class Timeline:
    """Counts per time bucket, plus one interval latency histogram per bucket.

    Buckets are aligned on wall-clock time relative to ``start_s`` (epoch seconds),
    so timelines from several processes line up when merged.  The latency of the
    group's primary metric (e.g. order ack) is kept per bucket as an encoded
    histogram, which gives p50/p99 over time (latency drift in a soak).
    """

    __slots__ = ("_cur_idx", "_interval", "bucket_s", "lat", "series", "start_s")

    def __init__(self, start_s: float, bucket_s: float = 1.0) -> None:
        self.start_s = start_s
        self.bucket_s = bucket_s
        self.series: dict[str, list[int]] = {}
        self.lat: list[str] = []
        self._interval = LatencyHistogram()
        self._cur_idx = 0

    def _index(self, now_s: float | None = None) -> int:
        t = time.time() if now_s is None else now_s
        return max(0, int((t - self.start_s) / self.bucket_s))

    def add(self, name: str, n: int = 1, now_s: float | None = None) -> None:
        idx = self._index(now_s)
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = []
        if len(s) <= idx:
            s.extend([0] * (idx + 1 - len(s)))
        s[idx] += n

    def record_latency(self, us: int, now_s: float | None = None) -> None:
        idx = self._index(now_s)
        if idx != self._cur_idx:
            self._roll(idx)
        self._interval.record_us(us)

    def _roll(self, idx: int) -> None:
        """Close the current interval histogram and start bucket ``idx``."""
        if self._interval.count:
            while len(self.lat) <= self._cur_idx:
                self.lat.append("")
            self.lat[self._cur_idx] = self._interval.encode()
            self._interval.reset()
        self._cur_idx = idx

    def clear(self, names: tuple[str, ...]) -> None:
        """Forget the series ``names`` and all latency so far (a measurement restart)."""
        for name in names:
            self.series.pop(name, None)
        self.lat.clear()
        self._interval.reset()
        self._cur_idx = 0

    def interval_histogram(self) -> LatencyHistogram:
        """The histogram of the bucket in progress (for the live progress line)."""
        return self._interval

    def finish(self) -> None:
        self._roll(self._cur_idx + 1)

    def to_dict(self) -> dict[str, Any]:
        self.finish()
        return {
            "start_s": self.start_s,
            "bucket_s": self.bucket_s,
            "series": {k: list(v) for k, v in self.series.items()},
            "lat": list(self.lat),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timeline:
        t = cls(float(d["start_s"]), float(d["bucket_s"]))
        t.series = {k: list(v) for k, v in d.get("series", {}).items()}
        t.lat = list(d.get("lat", []))
        return t

    def merge(self, other: Timeline) -> None:
        """Add ``other`` (same bucket width) into this timeline, aligned on wall time."""
        if other.bucket_s != self.bucket_s:
            raise ValueError("cannot merge timelines with different bucket widths")
        shift = round((other.start_s - self.start_s) / self.bucket_s)
        if shift < 0:
            # Re-base this timeline on the earlier start.
            pad = -shift
            self.series = {k: [0] * pad + v for k, v in self.series.items()}
            self.lat = [""] * pad + self.lat
            self.start_s = other.start_s
            shift = 0
        for name, vals in other.series.items():
            s = self.series.setdefault(name, [])
            need = shift + len(vals)
            if len(s) < need:
                s.extend([0] * (need - len(s)))
            for i, v in enumerate(vals):
                s[shift + i] += v
        for i, enc in enumerate(other.lat):
            if not enc:
                continue
            j = shift + i
            while len(self.lat) <= j:
                self.lat.append("")
            if self.lat[j]:
                h = LatencyHistogram.decode(self.lat[j])
                h.merge(LatencyHistogram.decode(enc))
                self.lat[j] = h.encode()
            else:
                self.lat[j] = enc

    def rows(self) -> list[dict[str, Any]]:
        """One row per bucket: t (seconds from start), each series, p50/p99/max."""
        n = max([len(v) for v in self.series.values()] + [len(self.lat)], default=0)
        out: list[dict[str, Any]] = []
        for i in range(n):
            row: dict[str, Any] = {"t": round(i * self.bucket_s, 3)}
            for name, vals in self.series.items():
                row[name] = vals[i] if i < len(vals) else 0
            enc = self.lat[i] if i < len(self.lat) else ""
            if enc:
                h = LatencyHistogram.decode(enc)
                ps = h.percentiles((50.0, 99.0))
                row["p50_us"] = ps[50.0]
                row["p99_us"] = ps[99.0]
                row["max_us"] = h.max_us
            out.append(row)
        return out


class SessionStats:
    """Figures of one connection.

    ``counts`` holds message counters (``sent.new``, ``ack.new``, ``fill``,
    ``md.msgs`` ...), ``rejects`` business rejects by reason (the target said no),
    ``errors`` failures by reason (timeouts, disconnects, protocol errors, gaps).
    """

    __slots__ = ("counts", "errors", "group", "hists", "name", "primary", "rejects", "timeline")

    def __init__(
        self, name: str, group: str, timeline: Timeline | None = None, primary: str = ""
    ) -> None:
        self.name = name
        self.group = group
        self.hists: dict[str, LatencyHistogram] = {}
        self.counts: Counter[str] = Counter()
        self.rejects: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.timeline = timeline
        self.primary = primary

    def hist(self, metric: str) -> LatencyHistogram:
        h = self.hists.get(metric)
        if h is None:
            h = self.hists[metric] = LatencyHistogram()
        return h

    def record(self, metric: str, us: int) -> None:
        """Record a latency sample of ``metric`` (feeds the timeline if primary)."""
        h = self.hists.get(metric)
        if h is None:
            h = self.hists[metric] = LatencyHistogram()
        h.record_us(us)
        tl = self.timeline
        if tl is not None and metric == self.primary:
            tl.record_latency(us)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n
        if self.timeline is not None:
            self.timeline.add(name, n)

    def discard(self, counts: tuple[str, ...], metrics: tuple[str, ...]) -> None:
        """Drop counters and latency samples taken so far (before the measurement)."""
        for name in counts:
            self.counts.pop(name, None)
        for metric in metrics:
            self.hists.pop(metric, None)

    def reject(self, reason: str) -> None:
        self.rejects[reason] += 1
        self.count("rejects")

    def error(self, reason: str) -> None:
        self.errors[reason] += 1
        self.count("errors")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "counts": dict(sorted(self.counts.items())),
            "rejects": dict(self.rejects.most_common()),
            "errors": dict(self.errors.most_common()),
            "latency": {k: v.to_dict() for k, v in sorted(self.hists.items())},
        }


class RunStats:
    """The sessions and per-group timelines of one process."""

    def __init__(self, start_s: float | None = None, bucket_s: float = 1.0) -> None:
        self.start_s = time.time() if start_s is None else start_s
        self.bucket_s = bucket_s
        self.sessions: list[SessionStats] = []
        self.timelines: dict[str, Timeline] = {}
        self.extra: dict[str, Any] = {}

    def timeline(self, group: str) -> Timeline:
        tl = self.timelines.get(group)
        if tl is None:
            tl = self.timelines[group] = Timeline(self.start_s, self.bucket_s)
        return tl

    def session(self, name: str, group: str, primary: str) -> SessionStats:
        s = SessionStats(name, group, self.timeline(group), primary)
        self.sessions.append(s)
        return s

    def totals(self) -> tuple[int, int, int]:
        """(answers, errors, rejects) summed over sessions, for progress lines."""
        a = e = r = 0
        for s in self.sessions:
            c = s.counts
            a += c["answers"]
            e += c["errors"]
            r += c["rejects"]
        return a, e, r

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "bucket_s": self.bucket_s,
            "sessions": [s.to_dict() for s in self.sessions],
            "timelines": {g: t.to_dict() for g, t in self.timelines.items()},
            "extra": self.extra,
        }


def merge_run_dicts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge several :meth:`RunStats.to_dict` results (one per process) into one."""
    if not parts:
        return {"start_s": time.time(), "bucket_s": 1.0, "sessions": [], "timelines": {}}
    sessions: list[dict[str, Any]] = []
    timelines: dict[str, Timeline] = {}
    extra: dict[str, Any] = {}
    for p in parts:
        sessions.extend(p["sessions"])
        for g, td in p["timelines"].items():
            t = Timeline.from_dict(td)
            if g in timelines:
                timelines[g].merge(t)
            else:
                timelines[g] = t
        for k, v in p.get("extra", {}).items():
            extra.setdefault(k, []).append(v)
    return {
        "start_s": min(p["start_s"] for p in parts),
        "bucket_s": parts[0]["bucket_s"],
        "sessions": sessions,
        "timelines": {g: t.to_dict() for g, t in timelines.items()},
        "extra": extra,
    }
