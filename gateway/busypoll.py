"""Busy polling: keep the event loop from sleeping for a while after each command.

At low load a gateway sleeps in ``epoll_wait`` between orders, and on a virtual machine
an idle vCPU takes tens of microseconds to wake up: a broker sending one order at a
time pays that on every order. With ``busy_poll_us`` > 0 the loop keeps polling (each
pass schedules the next one, so uvloop polls with a zero timeout) until that long after
the last command, then sleeps again. The price is a core spinning while orders flow;
the default (0) never spins.
"""

from __future__ import annotations

import asyncio

from gateway.host import EventBatch

__all__ = ["BusyPoll"]


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
