"""Busy polling: keep the event loop from sleeping for a while after each command.

At low load a gateway sleeps in ``epoll_wait`` between orders, and on a virtual machine
an idle vCPU takes tens of microseconds to wake up: a broker sending one order at a
time pays that on every order. With ``busy_poll_us`` > 0 the loop keeps polling (each
pass schedules the next one, so uvloop polls with a zero timeout) until that long after
the last command, then sleeps again. The price is a core spinning while orders flow;
the default (0) never spins.

The adaptive spin (:class:`AdaptiveSpin`, the FIX acceptor's, on by default) spins
only where it pays: after answering a session whose recent turnarounds (our answer
to its next order) are short and steady, for no longer than that turnaround plus a
margin. A spin that sees no input ends the rhythm; several messages in one read
(more than one order in flight) end it too. So an idle gateway never spins, and a
busy one, which does not sleep anyway, does not start to.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final

from gateway.host import EventBatch

__all__ = ["AdaptiveSpin", "BusyPoll", "Turnaround", "spin_window_ns"]


class BusyPoll:
    """A host listener: every event batch extends the spin window."""

    def __init__(self, window_us: int) -> None:
        self.window_s = window_us / 1_000_000
        self.spinning = False
        self._until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, batch: EventBatch) -> None:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self._until = loop.time() + self.window_s
        if not self.spinning:
            self.spinning = True
            loop.call_soon(self._spin)

    def _spin(self) -> None:
        loop = self._loop
        if loop is not None and loop.time() < self._until:
            loop.call_soon(self._spin)
        else:
            self.spinning = False


#: Turnarounds a session's decision looks at: enough to call a rhythm steady, few
#: enough that a change of rhythm is seen within a handful of orders.
TURNAROUND_SAMPLES: Final = 8
#: Steady: the second-longest recent turnaround (one outlier is forgiven) is at most
#: this many times the shortest.
STEADY_RATIO: Final = 4
#: Spin this much longer than the expected turnaround: the next order's jitter.
SPIN_MARGIN_NS: Final = 20_000


def spin_window_ns(turnarounds: Sequence[int], max_ns: int) -> int:
    """How long to keep polling after answering a session whose recent turnarounds
    (ns from our last write to its next read) are ``turnarounds``; 0 = sleep.

    Only a full history of short, steady turnarounds earns a spin (a client that
    sends its next order as soon as it has our answer), and never longer than the
    expected turnaround plus a margin, nor than ``max_ns``."""
    if max_ns <= 0 or len(turnarounds) < TURNAROUND_SAMPLES:
        return 0
    ordered = sorted(turnarounds)
    low, high = ordered[0], ordered[-2]
    if high > STEADY_RATIO * max(low, 1):
        return 0
    window = high + high // 2 + SPIN_MARGIN_NS
    return window if window <= max_ns else 0


class Turnaround:
    """One connection's rhythm: when we last wrote to it, how soon it answered the
    last few times, and the spin that rhythm earns (:func:`spin_window_ns`)."""

    __slots__ = ("_samples", "_stale", "_window_ns", "last_write_ns", "max_ns")

    def __init__(self, max_ns: int) -> None:
        self.max_ns = max_ns
        self._samples: deque[int] = deque(maxlen=TURNAROUND_SAMPLES)
        self.last_write_ns = 0
        self._window_ns = 0
        #: a sample came since the window was computed
        self._stale = False

    @property
    def window_ns(self) -> int:
        """The spin the recent turnarounds earn: computed when first asked after a
        read (the acceptor asks once its answer is written, not while the order that
        read brought waits for it)."""
        if self._stale:
            self._stale = False
            self._window_ns = spin_window_ns(self._samples, self.max_ns)
        return self._window_ns

    def wrote(self, now_ns: int) -> None:
        self.last_write_ns = now_ns

    def read(self, now_ns: int, messages: int) -> None:
        """A read brought ``messages`` framed messages. Ping-pong is one message per
        read, each after our answer; anything else (several orders in flight, two
        reads without an answer between) forgets the rhythm at once."""
        last, self.last_write_ns = self.last_write_ns, 0
        if messages != 1 or not last:
            self.forget()
            return
        self._samples.append(now_ns - last)
        self._stale = True

    def forget(self) -> None:
        """No spin until a full history is steady again."""
        self._samples.clear()
        self._window_ns = 0
        self._stale = False


class AdaptiveSpin:
    """Keeps the loop polling after an answer to a session that ping-pongs, until its
    next order is due (:class:`Turnaround`); a spin that ends without any input is a
    miss: the sessions that predicted it forget their rhythm. Nothing answered, or no
    steady rhythm, means no spin: an idle gateway sleeps."""

    def __init__(self, clock_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        self._clock_ns = clock_ns
        self.spinning = False
        self._until_ns = 0
        #: turnarounds that predicted input before ``_until_ns`` (cleared by input)
        self._waiting: list[Turnaround] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        #: spins started, and those that ended without input (misses)
        self.spins = 0
        self.misses = 0

    def answered(self, turnaround: Turnaround, now_ns: int) -> None:
        """We wrote to a connection: spin until its next order is due, if it has a
        rhythm."""
        window = turnaround.window_ns
        if not window:
            return
        until = now_ns + window
        if until > self._until_ns:
            self._until_ns = until
        self._waiting.append(turnaround)
        if not self.spinning:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            self.spinning = True
            self.spins += 1
            loop.call_soon(self._spin)

    def input(self) -> None:
        """Input arrived: the spin did its job for the sessions waiting on it."""
        self._waiting.clear()

    def _spin(self) -> None:
        loop = self._loop
        if loop is not None and self._clock_ns() < self._until_ns:
            loop.call_soon(self._spin)
            return
        self.spinning = False
        if self._waiting:
            self.misses += 1
        for turnaround in self._waiting:  # nothing came: not the rhythm we thought
            turnaround.forget()
        self._waiting.clear()
