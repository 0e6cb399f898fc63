"""Connection caps per source address and in total, one guard per listener (FIX, WS, HTTP).

Every open connection costs a file descriptor, and they are shared by all edges: without
caps, a thousand idle connections to any one port leave none for FIX logons, WebSocket
connects or ``/health``. A connection over a cap is closed at accept by
:class:`GuardedServer`, which owns the listening socket: no transport and no protocol
object is built for it. The refusal is counted in
``gw_connections_refused_total`` and logged at most once per source every
``LOG_EVERY_S`` (with how many were refused since).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import structlog

from gateway.metrics import Registry

__all__ = [
    "ACCEPT_BATCH",
    "LISTEN_BACKLOG",
    "LOG_EVERY_S",
    "ConnectionGuard",
    "GuardedProtocol",
    "GuardedServer",
    "RefusalLog",
    "listening_sockets",
]

log = structlog.get_logger("gateway.connguard")

#: A refusing source is logged at most this often.
LOG_EVERY_S = 60.0
#: Keys remembered for log rate limiting; past this the quiet ones are forgotten.
_MAX_LOGGED_SOURCES = 4096
REFUSED_HELP = "Connections closed at accept: over the per-source or the total cap"
#: Connections taken from one listening socket per loop pass. The kernel queues the rest
#: (the listen backlog) for the next pass, so a wave of connections (a flood re-opening
#: what was refused) is spread over passes instead of holding the loop until it is all
#: accepted, while the trading sessions' reads wait.
ACCEPT_BATCH = 16
#: The listen backlog: room for a wave of connections to wait for the next batches.
LISTEN_BACKLOG = 1024
#: Back-off before accepting again after an error other than "none pending" (EMFILE):
#: the listening socket stays readable, and retrying at once would spin.
_ACCEPT_ERROR_PAUSE_S = 0.1
_ACCEPT_AGAIN: Final = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR, errno.ECONNABORTED)


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

    def admit(self, source: str) -> bool:
        """Count a connection from ``source`` if it is within the caps (``release`` it
        at close); else count and maybe log the refusal, and the answer is False (the
        caller closes the connection)."""
        if self.max_total and self.total >= self.max_total:
            reason = "total"
        elif self.max_per_source and self.by_source.get(source, 0) >= self.max_per_source:
            reason = "per_source"
        else:
            self.total += 1
            self.by_source[source] = self.by_source.get(source, 0) + 1
            return True
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
        return False

    def release(self, source: str) -> None:
        """An admitted connection from ``source`` has closed."""
        self.total -= 1
        left = self.by_source[source] - 1
        if left:
            self.by_source[source] = left
        else:
            del self.by_source[source]


class GuardedProtocol(asyncio.Protocol):
    """Wraps a server's protocol (for servers, like aiohttp's, whose protocol we do not
    own) so that the connection ``guard`` admitted at accept is released when it
    closes."""

    def __init__(self, guard: ConnectionGuard, source: str, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._source: str | None = source

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        source, self._source = self._source, None
        if source is not None:
            self._guard.release(source)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def _source_of(address: Any) -> str:
    """The host part of an accepted connection's peer address."""
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address or "")


def listening_sockets(host: str, port: int, backlog: int = LISTEN_BACKLOG) -> list[socket.socket]:
    """Bound, listening, non-blocking TCP sockets for ``host:port``, one per address the
    host resolves to (as ``loop.create_server`` binds them; port 0 = one free port)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen: set[tuple[int, Any]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:  # the same free port on every address
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class GuardedServer(asyncio.AbstractServer):
    """A TCP server that accepts on its listening sockets itself, ``ACCEPT_BATCH`` at a
    time per loop pass, and closes a connection over ``guard``'s caps right there: an
    ``accept`` and a ``close``, no transport, protocol or timer. An admitted connection
    goes to the loop as an accepted socket with the protocol ``factory(source)`` builds,
    which must ``guard.release(source)`` once it is lost (:class:`GuardedProtocol` wraps
    a protocol that does not).

    The loop's own server would accept every pending connection in one go and build a
    transport and a protocol for each before the guard saw it; a flood of refused
    connections then held the loop through each wave."""

    def __init__(
        self,
        guard: ConnectionGuard,
        factory: Callable[[str], asyncio.BaseProtocol],
        sockets: Iterable[socket.socket],
        *,
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
    ) -> None:
        self._guard = guard
        self._factory = factory
        self._listening = list(sockets)
        self._ssl = ssl_context
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._loop = asyncio.get_running_loop()
        self._serving = False
        self._closed = asyncio.Event()
        #: admitted connections whose transport is being set up (a TLS handshake)
        self._pending: set[asyncio.Task[Any]] = set()
        #: connections closed at accept (the guard's metric counts them too)
        self.refused = 0
        self._failures = RefusalLog()

    @classmethod
    async def listen(
        cls,
        guard: ConnectionGuard,
        factory: Callable[[str], asyncio.BaseProtocol],
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
    ) -> GuardedServer:
        """Listen on ``host:port`` and start accepting."""
        server = cls(
            guard,
            factory,
            listening_sockets(host, port),
            ssl_context=ssl_context,
            ssl_handshake_timeout=ssl_handshake_timeout,
        )
        await server.start_serving()
        return server

    # asyncio.AbstractServer --------------------------------------------------------

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._listening)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        if self._serving or self._closed.is_set():
            return
        self._start_reading()

    async def serve_forever(self) -> None:
        await self.start_serving()
        await self._closed.wait()

    def close(self) -> None:
        """Stop accepting and close the listening sockets (open connections stay)."""
        if self._closed.is_set():
            return
        self._stop_reading()
        for sock in self._listening:
            sock.close()
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # accepting ---------------------------------------------------------------------

    def _start_reading(self) -> None:
        self._serving = True
        for sock in self._listening:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _stop_reading(self) -> None:
        if self._serving:
            self._serving = False
            for sock in self._listening:
                self._loop.remove_reader(sock.fileno())

    def _accept(self, listening: socket.socket) -> None:
        guard = self._guard
        for _ in range(ACCEPT_BATCH):
            try:
                conn, address = listening.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_AGAIN:
                    self._accept_failed(exc)
                return
            source = _source_of(address)
            if not guard.admit(source):
                # a plain close (FIN): a reset (SO_LINGER 0) can beat the client's
                # connect() to its answer, and a client told "connect failed" retries
                # sooner than one that was connected and then closed
                conn.close()
                self.refused += 1
                continue
            self._hand_over(conn, source)

    def _hand_over(self, conn: socket.socket, source: str) -> None:
        """An admitted connection to the loop, with its protocol; released here if that
        fails before the protocol has the connection (a TLS handshake that fails)."""
        conn.setblocking(False)
        factory = self._factory
        task = self._loop.create_task(
            self._loop.connect_accepted_socket(
                lambda: factory(source),
                conn,
                ssl=self._ssl,
                ssl_handshake_timeout=self._ssl_handshake_timeout,
            )
        )
        self._pending.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._pending.discard(task)
            if task.cancelled() or task.exception() is not None:
                self._guard.release(source)  # the loop closed the socket

        task.add_done_callback(done)

    def _accept_failed(self, exc: OSError) -> None:
        """Out of descriptors (or another error accept may give): log (once a minute),
        stop accepting for a moment, and try again."""
        unlogged = self._failures.allow(str(exc.errno))
        if unlogged is not None:
            log.warning(
                "accept.failed",
                protocol=self._guard.protocol,
                error=str(exc),
                failed_since_last_log=unlogged,
            )
        if not self._serving:
            return
        self._stop_reading()

        def again() -> None:
            if not self._closed.is_set():
                self._start_reading()

        self._loop.call_later(_ACCEPT_ERROR_PAUSE_S, again)
