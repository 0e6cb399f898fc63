"""Connection caps per source address and in total, one guard per listener (FIX, WS, HTTP).

Every open connection costs a file descriptor, and they are shared by all edges: without
caps, a thousand idle connections to any one port leave none for FIX logons, WebSocket
connects or ``/health``. A connection over a cap is closed at accept, before the edge's
protocol sees a byte; the refusal is counted in ``gw_connections_refused_total`` and
logged at most once per source every ``LOG_EVERY_S`` (with how many were refused since).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, cast

import structlog

from gateway.metrics import Registry

__all__ = ["LOG_EVERY_S", "ConnectionGuard", "GuardedProtocol", "RefusalLog"]

log = structlog.get_logger("gateway.connguard")

#: A refusing source is logged at most this often.
LOG_EVERY_S = 60.0
#: Keys remembered for log rate limiting; past this the quiet ones are forgotten.
_MAX_LOGGED_SOURCES = 4096
REFUSED_HELP = "Connections closed at accept: over the per-source or the total cap"


class RefusalLog:
    """Which refusals to log: the first per key (a source and a reason), then at most one
    every ``LOG_EVERY_S``. A client that reconnects in a loop would otherwise cost a log
    line per attempt, which is dearer than refusing it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: key -> (when it was last logged, refusals not logged since)
        self._seen: dict[str, tuple[float, int]] = {}

    def allow(self, key: str) -> int | None:
        """None: do not log this one. Else log it, with the returned number of refusals
        under ``key`` that were not logged since the last line."""
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < LOG_EVERY_S:
            self._seen[key] = (last[0], last[1] + 1)
            return None
        if len(self._seen) >= _MAX_LOGGED_SOURCES:
            self._seen = {k: e for k, e in self._seen.items() if now - e[0] < LOG_EVERY_S}
        self._seen[key] = (now, 0)
        return 0 if last is None else last[1]


def peer_source(transport: asyncio.BaseTransport) -> str:
    """The source address of a connection (the host part of its peer name)."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


#: the inner protocol of a connection not admitted (none was built)
_REFUSED: Final = asyncio.Protocol()


class ConnectionGuard:
    """Admits connections within ``max_total`` and ``max_per_source`` (0 = no cap)."""

    def __init__(
        self,
        protocol: str,
        max_total: int,
        max_per_source: int,
        registry: Registry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.protocol = protocol
        self.max_total = max_total
        self.max_per_source = max_per_source
        self.total = 0
        self.by_source: dict[str, int] = {}
        self._refused = (registry or Registry()).counter(
            "gw_connections_refused_total", REFUSED_HELP
        )
        self._log = RefusalLog(clock)

    def admit(self, transport: asyncio.BaseTransport) -> str | None:
        """The connection's source if admitted (``release`` it at close); else the
        connection is aborted, counted and maybe logged, and the answer is None."""
        source = peer_source(transport)
        if self.max_total and self.total >= self.max_total:
            reason = "total"
        elif self.max_per_source and self.by_source.get(source, 0) >= self.max_per_source:
            reason = "per_source"
        else:
            self.total += 1
            self.by_source[source] = self.by_source.get(source, 0) + 1
            return source
        cast(asyncio.Transport, transport).abort()  # uvloop's is no asyncio.Transport
        self._refused.inc(protocol=self.protocol, reason=reason)
        unlogged = self._log.allow(source)
        if unlogged is not None:
            log.warning(
                "connection.refused",
                protocol=self.protocol,
                source=source,
                reason=reason,
                open_from_source=self.by_source.get(source, 0),
                open_total=self.total,
                refused_since_last_log=unlogged,
            )
        return None

    def release(self, source: str) -> None:
        """An admitted connection from ``source`` has closed."""
        self.total -= 1
        left = self.by_source[source] - 1
        if left:
            self.by_source[source] = left
        else:
            del self.by_source[source]


class GuardedProtocol(asyncio.Protocol):
    """Wraps a server's protocol so that ``guard`` admits its connection first (for
    servers, like aiohttp's, that do not let us hook their own protocol). The inner
    protocol is built only for an admitted connection: a refusal should cost less than
    the request handler of aiohttp, which a flood of refused connections would
    otherwise build and throw away one by one."""

    def __init__(self, guard: ConnectionGuard, inner: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._factory = inner
        self._inner: asyncio.Protocol = _REFUSED
        self._source: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._source = self._guard.admit(transport)
        if self._source is not None:
            self._inner = self._factory()
            self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        source, self._source = self._source, None
        if source is not None:
            self._guard.release(source)
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._source is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._source is not None else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()
