"""Pacing: bounds, rates, and coordinated omission (stalls must show in open loop)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

import pytest

from loadtest.histogram import LatencyHistogram
from loadtest.pacing import run_closed_loop, run_open_loop


class SerialTarget:
    """Answers requests one at a time, ``service_s`` each; can stall for a while."""

    def __init__(self, service_s: float = 0.0002) -> None:
        self.service_s = service_s
        self.queue: deque[tuple[int, asyncio.Future[None]]] = deque()
        self.wake = asyncio.Event()
        self.stall_until = 0.0
        self.hist = LatencyHistogram()
        self.task = asyncio.ensure_future(self._serve())

    def op(self, start_ns: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append((start_ns, fut))
        self.wake.set()
        return fut

    async def _serve(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                pause = self.stall_until - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                await asyncio.sleep(self.service_s)
                start_ns, fut = self.queue.popleft()
                self.hist.record_ns(time.perf_counter_ns() - start_ns)
                fut.set_result(None)

    def close(self) -> None:
        self.task.cancel()


async def test_a_run_needs_a_bound() -> None:
    t = SerialTarget()
    with pytest.raises(ValueError):
        await run_closed_loop(t.op, in_flight=1)
    with pytest.raises(ValueError):
        await run_open_loop(t.op, rate=100)
    t.close()


async def test_closed_loop_stops_at_count() -> None:
    t = SerialTarget(0.0)
    res = await run_closed_loop(t.op, in_flight=4, count=500)
    t.close()
    assert res.sent == 500
    assert res.answered == 500
    assert res.unanswered == 0
    assert t.hist.count == 500


@pytest.mark.slow
async def test_closed_loop_stops_at_duration() -> None:
    t = SerialTarget(0.0005)
    t0 = time.monotonic()
    res = await run_closed_loop(t.op, in_flight=2, duration_s=0.3)
    t.close()
    assert 0.25 < time.monotonic() - t0 < 2.0
    assert res.sent == res.answered > 50


@pytest.mark.slow
async def test_open_loop_holds_the_rate() -> None:
    t = SerialTarget(0.0)
    res = await run_open_loop(t.op, rate=2000, duration_s=0.5)
    t.close()
    assert res.sent == 1000
    assert res.answered == 1000
    assert 0.45 < res.elapsed_s < 1.5


async def test_unanswered_requests_are_counted_after_the_drain_timeout() -> None:
    loop = asyncio.get_running_loop()

    def black_hole(_start_ns: int) -> asyncio.Future[None]:
        return loop.create_future()

    res = await run_open_loop(black_hole, rate=1000, count=20, drain_timeout_s=0.1)
    assert res.sent == 20
    assert res.unanswered == 20
    res = await run_closed_loop(black_hole, in_flight=3, duration_s=0.1, drain_timeout_s=0.1)
    assert res.unanswered == 3


async def test_failures_are_counted() -> None:
    loop = asyncio.get_running_loop()

    def failing(_start_ns: int) -> asyncio.Future[None]:
        f: asyncio.Future[None] = loop.create_future()
        f.set_exception(ConnectionError("down"))
        return f

    res = await run_closed_loop(failing, in_flight=2, count=10)
    assert res.failed == 10
    assert res.answered == 0


@pytest.mark.slow
async def test_a_stall_shows_in_open_loop_p99_but_hides_in_closed_loop() -> None:
    """Coordinated omission: a 300 ms stall during a 1 s run.

    Open loop at 1000/s measures from the intended send time, so every request
    due during the stall waits (~30 % of them): p99 must be far above 100 ms.
    A closed loop with one request in flight sends nothing during the stall, so
    only one sample sees it and its p99 stays low - which is why open loop exists.
    """

    async def stall_later(t: SerialTarget) -> None:
        await asyncio.sleep(0.3)
        t.stall_until = time.monotonic() + 0.3

    target = SerialTarget(0.0001)
    staller = asyncio.ensure_future(stall_later(target))
    res = await run_open_loop(target.op, rate=1000, duration_s=1.0)
    await staller
    target.close()
    assert res.answered == res.sent == 1000
    assert target.hist.percentile(99) > 150_000
    assert target.hist.percentile(90) > 50_000

    closed = SerialTarget(0.0001)
    staller = asyncio.ensure_future(stall_later(closed))
    await run_closed_loop(closed.op, in_flight=1, duration_s=1.0)
    await staller
    closed.close()
    assert closed.hist.max_us > 250_000  # the one request that waited
    assert closed.hist.percentile(99) < 50_000  # ...hidden from p99
