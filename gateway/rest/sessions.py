"""REST sessions: which API key, from which address, sent a REST order.

A signed REST request authenticates on its own and holds no connection, so there is no
logon to journal. To give REST orders the same trace as FIX and WS ones, the first
order-making request of an API key from one source address opens a pseudo-session: a
journaled ``SessionOpened`` with protocol ``rest``, the key id as its name, the key's
account and the peer address. Its id (the seq) is the ``origin`` of every order
command that key sends from that address until the session ends, so the store's
``orders`` rows join to a ``sessions`` row naming the key.

A session ends (a journaled ``SessionClosed``) after :data:`IDLE_MS` without an
order-making request, when its key is revoked, when an operator logs it out (the key
stays valid: its next request opens a new session), and when the gateway stops.
Reads never open one: they change nothing, and a journaled command per read would let
a client grow the journal by polling.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import structlog

from engine.events import VenueEvent
from gateway.credentials import LOGOUT_TEXT, logout_target
from gateway.edges import close_session, open_session
from gateway.host import EngineHost
from gateway.periodic import Periodic

__all__ = ["IDLE_MS", "ORDER_METHODS", "RestSessions"]

log = structlog.get_logger("gateway.rest.sessions")

#: the WS methods behind REST routes whose commands carry an origin (orders)
ORDER_METHODS: Final = frozenset({"order.place", "position.close"})
#: a REST session with no order-making request for this long is closed
IDLE_MS: Final = 300_000
#: how often idle sessions are looked for
SWEEP_MS: Final = 10_000


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


@dataclass(slots=True)
class _Open:
    session: int
    key_id: str
    last_used_ms: int
    #: the journal time (us) of its SessionOpened: "since" in the console
    since_us: int = 0


class RestSessions:
    """The open REST sessions, by (API key id, source address); a Component (its sweep
    runs while the gateway does) and a CredentialSink (revocations, operator logouts)."""

    name = "rest-sessions"

    def __init__(
        self,
        host: EngineHost,
        clock_ms: Callable[[], int] = _monotonic_ms,
        idle_ms: int = IDLE_MS,
    ) -> None:
        self.host = host
        self.clock_ms = clock_ms
        self.idle_ms = idle_ms
        #: least recently used first, so the sweep stops at the first one still in use
        self.open: OrderedDict[tuple[str, str], _Open] = OrderedDict()
        self.schedule = Periodic(self.name, SWEEP_MS, self.sweep)

    async def start(self) -> None:
        self.schedule.start()

    async def stop(self) -> None:
        await self.schedule.stop()
        for slot in list(self.open):
            self._close(slot, "gateway stopped")

    def origin(self, key_id: str, account: str, source: str) -> int:
        """The session id for an order-making request of ``key_id`` from ``source``,
        opening the session first if there is none (0 if the engine refused it)."""
        slot = (key_id, source)
        now_ms = self.clock_ms()
        entry = self.open.get(slot)
        if entry is not None:
            entry.last_used_ms = now_ms
            self.open.move_to_end(slot)
            return entry.session
        session = open_session(self.host, "rest", key_id, account, source)
        if session:
            self.open[slot] = _Open(session, key_id, now_ms, self.host.engine.last_ts_us)
        return session

    def sweep(self) -> int:
        """Close the sessions idle for ``idle_ms`` or more; how many."""
        cutoff = self.clock_ms() - self.idle_ms
        idle = []
        for slot, entry in self.open.items():
            if entry.last_used_ms > cutoff:
                break
            idle.append(slot)
        for slot in idle:
            self._close(slot, f"idle for {self.idle_ms // 1000} s")
        return len(idle)

    def on_credential(self, event: VenueEvent) -> None:
        """A revoked key's sessions end; an operator's logout ends that one session."""
        target = logout_target(event, "rest")
        if target:
            reason = f"{LOGOUT_TEXT}: {event.data.get('reason') or ''}"
            for slot, entry in list(self.open.items()):
                if entry.session == target:
                    self._close(slot, reason)
            return
        if event.kind == "api_key.revoked":
            for slot, entry in list(self.open.items()):
                if entry.key_id == event.subject:
                    self._close(slot, f"api key {entry.key_id} revoked")

    def _close(self, slot: tuple[str, str], reason: str) -> None:
        entry = self.open.pop(slot)
        log.info("rest.session_closed", session=entry.session, reason=reason)
        close_session(self.host, entry.session, reason)
