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

Market data is delivered a loop iteration late, once per update for all subscribers
(:meth:`WsMarketData.flush <gateway.ws.subscriptions.WsMarketData.flush>`): ``feeds``
are this connection's market-data subscriptions, and before anything else is queued
(and before a resync) ``settle`` brings in the updates published so far for them, so
the connection's frames keep the order in which they were produced.
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


def _ignore_settle(outbox: Outbox) -> None:
    pass


def _no_direct(frames: bytes, count: int) -> bool:
    return False


class Resyncable(Protocol):
    def resync(self) -> bytes | None:
        """A fresh frame replacing every dropped update of this subscription."""
        ...


class Outbox:
    __slots__ = (
        "closed",
        "conflated",
        "direct",
        "feeds",
        "limit",
        "md_done",
        "md_list",
        "on_conflate",
        "on_overflow",
        "queue",
        "settle",
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
        #: this connection's market-data subscriptions (WsMarketData keeps it)
        self.feeds: dict[Resyncable, None] = {}
        #: brings in the market data published and not yet delivered (set by WsMarketData)
        self.settle: Callable[[Outbox], None] = _ignore_settle
        #: WsMarketData's pending list this outbox has settled against, and how far
        self.md_list: object = None
        self.md_done = 0
        #: writes whole frames to the socket if it takes them now (set by the server)
        self.direct: Callable[[bytes, int], bool] = _no_direct

    def __len__(self) -> int:
        return len(self.queue)

    def push(self, data: bytes) -> bool:
        """Queue a must-deliver frame; False (and the connection is closing) on overflow."""
        if self.feeds:
            self.settle(self)
        return self.put(data)

    def put(self, data: bytes) -> bool:
        """:meth:`push` without settling first (the market data's own delivery)."""
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
        if self.feeds:
            self.settle(self)
        self.add(sub, data)

    def add(self, sub: Resyncable, data: bytes) -> None:
        """:meth:`offer` without settling first (the market data's own delivery)."""
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
        """Called by the writer when the queue is empty: one fresh frame per stale sub.
        Updates published before it and not yet delivered are settled (dropped, being
        stale) first: delivered after the fresh frame they would go back in time."""
        if self.feeds:
            self.settle(self)
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
        self.feeds.clear()
        self.settle = _ignore_settle
        self.direct = _no_direct
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
