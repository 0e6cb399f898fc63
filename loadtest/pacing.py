"""Load pacing for asyncio: closed loop and open loop.

An *operation* is a plain callable ``op(start_ns) -> Future``: it sends one request
right away (or buffers it for a writer that sends without waiting) and returns a
future that completes when the answer arrives.  The op records its own latency as
``answer_time - start_ns`` (``time.perf_counter_ns`` clock).

* **Closed loop** (:func:`run_closed_loop`): ``in_flight`` workers, each sends, waits
  for the answer, sends again.  ``start_ns`` is the actual send time.  Throughput is
  whatever the target allows; a stall of the target also stalls the senders, so the
  latency histogram under-reports stalls (coordinated omission) - that is inherent
  to the mode and why the open loop exists.
* **Open loop** (:func:`run_open_loop`): requests are due at fixed times
  ``t0 + i / rate``.  ``start_ns`` is the *intended* send time, so a request sent
  late (because the target, the socket or the harness stalled) carries the stall in
  its latency and a stall shows up in p99 instead of vanishing.

Both stop by themselves: after ``count`` operations and/or ``duration_s`` seconds
(at least one is required), then they wait up to ``drain_timeout_s`` for the answers
still outstanding, which are counted as ``unanswered``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Op", "PaceResult", "run_closed_loop", "run_open_loop"]

Op = Callable[[int], "asyncio.Future[Any]"]
_SPIN_NS = 1_000_000


@dataclass
class PaceResult:
    mode: str
    sent: int = 0
    answered: int = 0
    failed: int = 0
    unanswered: int = 0
    elapsed_s: float = 0.0
    #: open loop: requested rate, and how far behind schedule the sender ever was
    target_rate: float = 0.0
    max_send_lag_us: int = 0
    late_sends: int = 0

    @property
    def rate(self) -> float:
        return self.answered / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rate"] = round(self.rate, 1)
        d["elapsed_s"] = round(self.elapsed_s, 3)
        return d


def _check_bounds(count: int | None, duration_s: float | None) -> None:
    if count is None and duration_s is None:
        raise ValueError("a run needs a count and/or a duration limit")
    if count is not None and count < 0:
        raise ValueError("count must be >= 0")
    if duration_s is not None and duration_s <= 0:
        raise ValueError("duration must be > 0")


class _Outstanding:
    """Tracks futures in flight; a done-callback updates the counters."""

    def __init__(self, result: PaceResult) -> None:
        self.result = result
        self.live: set[asyncio.Future[Any]] = set()
        self.idle = asyncio.Event()
        self.idle.set()
        self.below = asyncio.Event()
        self.below.set()
        self.limit = 0

    def add(self, fut: asyncio.Future[Any]) -> None:
        self.result.sent += 1
        if fut.done():
            self._count(fut)
            return
        self.live.add(fut)
        self.idle.clear()
        if self.limit and len(self.live) >= self.limit:
            self.below.clear()
        fut.add_done_callback(self._done)

    def _count(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            return
        if fut.exception() is not None:
            self.result.failed += 1
        else:
            self.result.answered += 1

    def _done(self, fut: asyncio.Future[Any]) -> None:
        self.live.discard(fut)
        self._count(fut)
        if not self.live:
            self.idle.set()
        if not self.limit or len(self.live) < self.limit:
            self.below.set()

    def expire(self, fut: asyncio.Future[Any]) -> None:
        """Give up on ``fut``: count it unanswered and cancel it."""
        if fut in self.live:
            self.live.discard(fut)
            fut.remove_done_callback(self._done)
            self.result.unanswered += 1
            fut.cancel()
            if not self.live:
                self.idle.set()
            self.below.set()

    async def drain(self, timeout_s: float) -> None:
        if self.live:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle.wait(), timeout_s)
        left = list(self.live)
        self.result.unanswered += len(left)
        for f in left:
            self.live.discard(f)
            f.remove_done_callback(self._done)
            f.cancel()


async def run_closed_loop(
    op: Op,
    *,
    in_flight: int,
    count: int | None = None,
    duration_s: float | None = None,
    drain_timeout_s: float = 5.0,
    op_timeout_s: float = 10.0,
    stop: asyncio.Event | None = None,
) -> PaceResult:
    """Keep ``in_flight`` operations outstanding until the count or duration is reached.

    An operation that fails (its future raises) counts as ``failed`` and its worker
    goes on; an answer that does not come within ``op_timeout_s`` (or within
    ``drain_timeout_s`` after the end) counts as ``unanswered`` and is abandoned.
    """
    _check_bounds(count, duration_s)
    if in_flight < 1:
        raise ValueError("in_flight must be >= 1")
    res = PaceResult(mode="closed")
    out = _Outstanding(res)
    t0 = time.perf_counter_ns()
    deadline = t0 + int(duration_s * 1e9) if duration_s is not None else None
    issued = 0
    perf = time.perf_counter_ns

    async def worker() -> None:
        nonlocal issued
        while True:
            if stop is not None and stop.is_set():
                return
            if count is not None and issued >= count:
                return
            now = perf()
            if deadline is not None and now >= deadline:
                return
            issued += 1
            fut = op(now)
            out.add(fut)
            if not fut.done():
                await asyncio.wait([fut], timeout=op_timeout_s)
                if not fut.done():
                    out.expire(fut)
            elif not fut.cancelled() and fut.exception() is not None:
                await asyncio.sleep(0)  # do not spin on a target that fails at once

    workers = [asyncio.ensure_future(worker()) for _ in range(in_flight)]
    try:
        finished = await _wait_workers(workers, deadline, drain_timeout_s)
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    await out.drain(drain_timeout_s if finished else 0.0)
    res.elapsed_s = (perf() - t0) / 1e9
    return res


async def _wait_workers(
    workers: Sequence[asyncio.Future[None]], deadline: int | None, drain_timeout_s: float
) -> bool:
    """Wait for the workers; past the deadline give them the drain timeout to finish.

    Returns False when some worker was still waiting for an answer at the end.
    """
    if deadline is None:
        await asyncio.gather(*workers)
        return True
    left = max(0.0, (deadline - time.perf_counter_ns()) / 1e9) + drain_timeout_s
    done, pending = await asyncio.wait(workers, timeout=left)
    for d in done:
        d.result()
    return not pending


async def run_open_loop(
    op: Op,
    *,
    rate: float,
    count: int | None = None,
    duration_s: float | None = None,
    drain_timeout_s: float = 5.0,
    max_outstanding: int = 100_000,
    late_threshold_us: int = 1_000,
    stop: asyncio.Event | None = None,
) -> PaceResult:
    """Issue operations at ``rate`` per second, each timed from its intended send time.

    When ``max_outstanding`` answers are pending the sender waits; the requests it
    then sends late keep their original intended times, so the wait is part of
    their latency.  ``late_sends`` counts requests sent more than
    ``late_threshold_us`` after their intended time.
    """
    _check_bounds(count, duration_s)
    if rate <= 0:
        raise ValueError("rate must be > 0")
    res = PaceResult(mode="open", target_rate=rate)
    out = _Outstanding(res)
    out.limit = max_outstanding
    perf = time.perf_counter_ns
    interval_ns = 1e9 / rate
    t0 = perf()
    total = count
    if duration_s is not None:
        by_time = int(duration_s * rate)
        total = by_time if total is None else min(total, by_time)
    assert total is not None
    late_ns = late_threshold_us * 1000
    issued = 0
    max_lag = 0
    while issued < total:
        if stop is not None and stop.is_set():
            break
        now = perf()
        due = min(total, int((now - t0) / interval_ns) + 1)
        batch = 0
        while issued < due:
            if out.limit and len(out.live) >= out.limit:
                break
            intended = t0 + int(issued * interval_ns)
            send_ns = perf()
            lag = send_ns - intended
            if lag > max_lag:
                max_lag = lag
            if lag > late_ns:
                res.late_sends += 1
            out.add(op(intended))
            issued += 1
            batch += 1
            if batch >= 512:  # let readers run during a catch-up burst
                batch = 0
                await asyncio.sleep(0)
        if issued >= total:
            break
        if out.limit and len(out.live) >= out.limit:
            await out.below.wait()
            continue
        next_ns = t0 + int(issued * interval_ns)
        wait_ns = next_ns - perf()
        # Event-loop timers have millisecond granularity: sleep coarsely until about
        # 1 ms before the next due time, then yield (sleep(0)) until it is due, so
        # requests leave on time and readers keep running meanwhile.
        await asyncio.sleep((wait_ns - _SPIN_NS) / 1e9 if wait_ns > _SPIN_NS + 200_000 else 0)
    res.max_send_lag_us = max_lag // 1000
    await out.drain(drain_timeout_s)
    res.elapsed_s = (perf() - t0) / 1e9
    return res
