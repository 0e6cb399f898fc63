"""Per-connection bounded outgoing queue with the slow-consumer policy (sans-I/O).

Two kinds of traffic share one FIFO of ready-to-send frames (bytes, shared between
connections for market data):

* **Conflatable** (``book.*``, ``bbo.*``): offered with :meth:`Outbox.offer`. When
  the queue already holds ``soft_limit`` frames (half the limit), the subscription is
  marked stale and its updates are dropped; once the queue has drained completely,
  each stale subscription gets ONE fresh frame (a book snapshot, the current BBO)
  and normal deltas resume from there. ``on_conflate`` is called each time a
  subscription goes stale (the ``conflated`` slow-consumer action).
* **Must-deliver** (responses, ``user``, ``trades.*``): pushed with :meth:`push`.
  If the queue holds ``limit`` frames the connection is closed with code 4008 and a
  reason; the queue is cleared and nothing more is accepted.

So a connection never holds more than ``limit`` frames, whatever the client does.
When the connection has ended, :meth:`detach` drops the callbacks (they are the
connection's bound methods: kept, they would make a reference cycle).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

__all__ = ["Outbox", "Resyncable"]


def _ignore_overflow(reason: str) -> None:
    pass


def _ignore_wake() -> None:
    pass


class Resyncable(Protocol):
    def resync(self) -> bytes | None:
        """A fresh frame replacing every dropped update of this subscription."""
        ...


class Outbox:
    __slots__ = (
        "closed",
        "conflated",
        "limit",
        "on_conflate",
        "on_overflow",
        "queue",
        "soft_limit",
        "stale",
        "wake",
    )

    def __init__(
        self,
        limit: int,
        on_overflow: Callable[[str], None],
        wake: Callable[[], None],
        on_conflate: Callable[[], None] | None = None,
    ) -> None:
        self.limit = max(2, limit)
        self.soft_limit = self.limit // 2
        self.queue: deque[bytes] = deque()
        self.stale: dict[Resyncable, None] = {}
        self.on_overflow = on_overflow
        self.wake = wake
        self.on_conflate = on_conflate
        self.closed = False
        self.conflated = 0

    def __len__(self) -> int:
        return len(self.queue)

    def push(self, data: bytes) -> bool:
        """Queue a must-deliver frame; False (and the connection is closing) on overflow."""
        if self.closed:
            return False
        queue = self.queue
        if len(queue) >= self.limit:
            self.overflow(f"slow consumer: send queue full ({self.limit} messages)")
            return False
        queue.append(data)
        if len(queue) == 1:
            self.wake()
        return True

    def offer(self, sub: Resyncable, data: bytes) -> None:
        """Queue a conflatable frame, or mark its subscription stale when backed up."""
        if self.closed or sub in self.stale:
            return
        queue = self.queue
        if len(queue) >= self.soft_limit:
            self.stale[sub] = None
            self.conflated += 1
            if self.on_conflate is not None:
                self.on_conflate()
            return
        queue.append(data)
        if len(queue) == 1:
            self.wake()

    def forget(self, sub: Resyncable) -> None:
        """An unsubscribed subscription needs no resync."""
        self.stale.pop(sub, None)

    def resync(self) -> None:
        """Called by the writer when the queue is empty: one fresh frame per stale sub."""
        stale, self.stale = self.stale, {}
        for sub in stale:
            data = sub.resync()
            if data is not None:
                self.queue.append(data)

    def detach(self) -> None:
        """The connection has ended: accept nothing more, drop what is queued and the
        callbacks, which refer back to the connection."""
        self.closed = True
        self.queue.clear()
        self.stale.clear()
        self.on_overflow = _ignore_overflow
        self.wake = _ignore_wake
        self.on_conflate = None

    def overflow(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.queue.clear()
        self.stale.clear()
        self.on_overflow(reason)
