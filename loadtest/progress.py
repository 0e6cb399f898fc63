"""Live progress line on stderr: elapsed, answer rate, p50/p99 so far, errors.

:class:`ProgressPrinter` takes snapshots (one per process, see
``loadtest.scenarios._emit_progress``), keeps the latest per process and prints one
line, at most every ``min_interval_s``: rewritten in place (``\\r``) on a terminal,
a plain line every ``plain_interval_s`` otherwise (logs, CI).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from loadtest.histogram import LatencyHistogram

__all__ = ["ProgressPrinter", "format_us"]


def format_us(us: float) -> str:
    """Compact latency: 850us, 1.25ms, 2.0s."""
    if us < 1000:
        return f"{us:.0f}us"
    if us < 1_000_000:
        return f"{us / 1000:.2f}ms"
    return f"{us / 1_000_000:.2f}s"


class ProgressPrinter:
    def __init__(
        self,
        label: str,
        duration_s: float | None = None,
        stream: TextIO | None = None,
        min_interval_s: float = 1.0,
        plain_interval_s: float = 5.0,
    ) -> None:
        self.label = label
        self.duration_s = duration_s
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = min_interval_s if self.tty else plain_interval_s
        self.latest: dict[int, dict[str, Any]] = {}
        self._last_print = 0.0
        self._last_answers = 0
        self._last_t = 0.0
        self._start: float | None = None
        self.lines = 0

    def update(self, snap: dict[str, Any]) -> None:
        self.latest[int(snap["proc"])] = snap
        if self._start is None:
            self._start = float(snap.get("start_s", time.time()))
        now = time.monotonic()
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._print(self.line())

    def line(self) -> str:
        snaps = list(self.latest.values())
        answers = sum(int(s["answers"]) for s in snaps)
        errors = sum(int(s["errors"]) for s in snaps)
        rejects = sum(int(s["rejects"]) for s in snaps)
        md = sum(int(s.get("md", 0)) for s in snaps)
        t = max((float(s["t"]) for s in snaps), default=time.time())
        elapsed = t - (self._start or t)
        dt = t - self._last_t if self._last_t else elapsed
        rate = (answers - self._last_answers) / dt if dt > 0 else 0.0
        self._last_t, self._last_answers = t, answers
        h = LatencyHistogram()
        for s in snaps:
            if s.get("hist"):
                h.merge(LatencyHistogram.decode(s["hist"]))
        total = f"/{self.duration_s:.0f}s" if self.duration_s else "s"
        parts = [
            f"[{self.label}] {elapsed:6.1f}{total}",
            f"answers {answers:,} ({rate:,.0f}/s)",
        ]
        if md:
            parts.append(f"md {md:,}")
        if h.count:
            ps = h.percentiles((50.0, 99.0))
            parts.append(f"p50 {format_us(ps[50.0])} p99 {format_us(ps[99.0])}")
        parts.append(f"rejects {rejects} errors {errors}")
        return "  ".join(parts)

    def _print(self, line: str) -> None:
        self.lines += 1
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.lines:
            self.stream.write("\n")
            self.stream.flush()
