"""WebSocket server component: sockets, writer loops, and the event listener.

Per connection: one handler coroutine (reads frames, feeds the sans-I/O
:class:`~gateway.ws.protocol.Session`) and one writer task (drains the bounded
:class:`~gateway.ws.outbox.Outbox`). No task per message; market-data frames are
shared bytes objects encoded once by the publisher's memo.

:class:`Venue` is what sessions share: host, order tracker, publisher, API keys, the
user-channel routing table and a balance mirror. Its host listener, which turns event
batches into command answers and user-channel updates, is
:class:`~gateway.ws.router.UserRouter` (compiled by `make native`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Coroutine
from http import HTTPStatus
from typing import Any, cast

import orjson
import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from engine.events import VenueEvent
from engine.model import Instrument, units_to_decimal
from gateway.config import Config, parse_listen
from gateway.connguard import ConnectionGuard, GuardedServer
from gateway.credentials import LOGOUT_TEXT, logout_target, secret_source
from gateway.edges import OwnerRegistry, close_session, instrument_list, open_session
from gateway.funds import WithdrawalView
from gateway.host import EngineHost, EventBatch
from gateway.marketdata import MarketDataPublisher
from gateway.metrics import ACK_LATENCY, ACK_LATENCY_HELP, CONNECTIONS_HELP, SESSIONS_HELP, Registry
from gateway.orders import OrderTracker
from gateway.readstore import ReadStore
from gateway.ws.auth import KeyRing, LiveKey
from gateway.ws.errors import (
    CLOSE_CREDENTIAL,
    CLOSE_IDLE,
    CLOSE_LOGGED_OUT,
    CLOSE_SLOW_CONSUMER,
    close_reason,
)
from gateway.ws.outbox import Outbox
from gateway.ws.perp import PerpFeed
from gateway.ws.protocol import Pending, Session, fill_shape, order_shape
from gateway.ws.router import UserRouter, UserUpdates
from gateway.ws.subscriptions import WsMarketData

__all__ = ["MAX_MESSAGE_BYTES", "Venue", "WsServer"]

log = structlog.get_logger("gateway.ws")

MAX_MESSAGE_BYTES = 64 * 1024
_OPEN = State.OPEN
CLOSE_TIMEOUT_S = 2.0
#: SO_SNDBUF asked for each WebSocket socket (Linux doubles it for bookkeeping).
#: Without it the kernel autotunes the send buffer up to net.ipv4.tcp_wmem's max
#: (4 MiB here) per connection: a subscriber that reads too slowly then sits seconds
#: behind in kernel buffers while the transport never pauses, the outbox stays empty
#: and the slow-consumer policy never fires. Capped, the backlog comes back to the
#: outbox, where it is conflated (book/bbo) or ends in a 4008 disconnect.
SEND_BUFFER_BYTES = 32 * 1024
#: The transport's write-buffer high-water mark (low = a quarter): above it the
#: connection is paused and frames wait in the bounded outbox.
WRITE_LIMIT_BYTES = 32 * 1024


class Venue:
    """Shared state of all WS sessions and the host listener that serves them."""

    def __init__(
        self,
        config: Config,
        host: EngineHost,
        tracker: OrderTracker,
        publisher: MarketDataPublisher,
        registry: Registry,
        readstore: ReadStore,
    ) -> None:
        self.config = config.ws
        self.host = host
        #: the follower's store (history methods), and the reads in flight
        self.readstore = readstore
        self.reads: set[asyncio.Task[None]] = set()
        self.tracker = tracker
        self.publisher = publisher
        self.market = WsMarketData(publisher)
        # the engine's keys once, after recovery; then the credential events
        self.keys = KeyRing(config.ws.logon_window_ms, secret_source(config))
        for k in host.engine.credentials.api_keys.values():
            self.keys.put(
                LiveKey.from_record(
                    k.key_id, k.account, k.hmac_salt, k.ed25519_public_key, k.scopes,
                    k.ip_allowlist, k.expires_us, k.status,
                )
            )  # fmt: skip
        #: api key id -> the sessions logged on with it
        self.by_key: dict[str, dict[Session, None]] = {}
        self.users: dict[str, dict[Session, None]] = {}
        #: order -> its session, kept only for sessions with cancel_on_disconnect
        self.owners: OwnerRegistry[Session] = OwnerRegistry()
        #: committed withdrawals (a host listener: App adds it with the views)
        self.withdrawals = WithdrawalView(host.engine)
        self.balances: dict[str, dict[str, tuple[int, int]]] = {
            acct_id: {asset: (bal.total, bal.held) for asset, bal in acct.balances.items()}
            for acct_id, acct in host.engine.accounts.items()
        }
        self._m_requests = registry.counter(
            "gw_ws_requests_total", "WebSocket requests by method and answer status"
        )
        self.answers: list[tuple[Pending, EventBatch]] = []
        # the host listener (compiled); it calls back here only for logged-on users
        self.listener = UserRouter(
            self.users, self.owners, self.balances, self._push_user, self.answers
        )
        #: the perpetual channels (mark, funding, positions): a host listener of its own
        self.perp = PerpFeed(host.engine)

    @staticmethod
    def clock_ms() -> int:
        return time.time_ns() // 1_000_000

    # ---------------------------------------------------------------- lookups

    def find_instrument(self, symbol: str) -> Instrument | None:
        listing = self.host.engine.listings.get(symbol)
        return None if listing is None else listing.instrument

    def instrument(self, symbol: str) -> Instrument:
        return self.host.engine.listings[symbol].instrument

    def instrument_list(self) -> list[dict[str, Any]]:
        return instrument_list(self.host)

    def order_dict(self, order_id: int) -> dict[str, Any] | None:
        view = self.tracker.get(order_id)
        if view is None:
            return None
        return order_shape(view, self.instrument(view.symbol))

    def balance_list(self, account: str) -> list[dict[str, str]]:
        locked = self.host.engine.perp_risk.locked
        return [
            _balance_shape(asset, total, held, locked(account, asset))
            for asset, (total, held) in sorted(self.balances.get(account, {}).items())
        ]

    def count_request(self, method: str, status: int) -> None:
        self._m_requests.inc(method=method, status=str(status))

    def log_exception(self, method: str) -> None:
        log.exception("ws.request_failed", method=method)

    def add_user(self, session: Session) -> None:
        assert session.account is not None
        self.users.setdefault(session.account, {})[session] = None

    def remove_user(self, session: Session) -> None:
        if session.account is None:
            return
        sessions = self.users.get(session.account)
        if sessions is not None:
            sessions.pop(session, None)
            if not sessions:
                del self.users[session.account]

    def logged_on(self, session: Session) -> None:
        self.by_key.setdefault(session.api_key, {})[session] = None
        assert session.key is not None and session.account is not None
        session.origin = open_session(
            self.host, "ws", session.key.key_id, session.account, session.peer_ip
        )
        session.since_us = self.host.engine.last_ts_us  # the logon's journal time

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.reads.add(task)  # a reference until done: the loop keeps only weak ones
        task.add_done_callback(self.reads.discard)

    async def stop_reads(self) -> None:
        """Cancel the store reads still running (the gateway stops)."""
        for task in list(self.reads):
            task.cancel()
        await asyncio.gather(*self.reads, return_exceptions=True)

    def logged_off(self, session: Session) -> None:
        close_session(self.host, session.origin, session.logout_reason)
        session.origin = 0
        sessions = self.by_key.get(session.api_key)
        if sessions is not None:
            sessions.pop(session, None)
            if not sessions:
                del self.by_key[session.api_key]

    def on_credential(self, event: VenueEvent) -> None:
        """An API key was created or revoked: the ring follows; a revoked key's
        sessions are closed at once (close code 4003). An operator's logout of one
        session closes it (4004); its key stays valid."""
        target = logout_target(event, "ws")
        if target:
            for session in list(self.by_key.get(str(event.data.get("name")), ())):
                if session.origin == target:
                    log.info("ws.logged_out_by_venue", peer=session.peer)
                    text = f"{LOGOUT_TEXT}: {event.data.get('reason') or ''}"
                    session.close(CLOSE_LOGGED_OUT, close_reason(text))
            return
        if not event.kind.startswith("api_key."):
            return
        key = LiveKey.from_data(event.data)
        self.keys.put(key)
        if key.revoked:
            for session in list(self.by_key.get(key.key_id, ())):
                log.info("ws.key_revoked", peer=session.peer, api_key=key.key_id)
                session.close(CLOSE_CREDENTIAL, f"api key {key.key_id} revoked")

    # ---------------------------------------------------------------- listener

    def _push_user(self, out: UserUpdates) -> None:
        """Order updates (state after the command), then fills, then balances."""
        for account, (order_ids, trades, balances) in out.items():
            frames: list[bytes] = []
            for order_id in order_ids:
                order = self.order_dict(order_id)
                if order is not None:
                    frames.append(orjson.dumps({"type": "order", "order": order}))
            for trade in trades:
                inst = self.instrument(trade.symbol)
                if trade.taker_account == account:
                    frames.append(
                        orjson.dumps({"type": "fill", "fill": fill_shape(trade, inst, False)})
                    )
                if trade.maker_account == account:
                    frames.append(
                        orjson.dumps({"type": "fill", "fill": fill_shape(trade, inst, True)})
                    )
            locked = self.host.engine.perp_risk.locked
            for bal in balances:
                shape = _balance_shape(bal.asset, bal.total, bal.held, locked(account, bal.asset))
                shape["ts_us"] = bal.ts_us
                frames.append(orjson.dumps({"type": "balance", "balance": shape}))
            for session in list(self.users.get(account, ())):
                for data in frames:
                    session.push_user(data)


def _balance_shape(asset: str, total: int, held: int, locked: int) -> dict[str, Any]:
    """available = total - held - locked, never below 0: what a withdrawal or transfer
    may take. ``locked`` is what the account's cross perpetual positions in this asset
    need (their initial margin at mark plus their unrealized loss, PerpRisk.locked);
    open perp orders' margin and fees are in ``held``, isolated margins are out of
    ``total`` already. The engine refuses withdrawals and transfers by the same rule."""
    return {
        "asset": asset,
        "total": units_to_decimal(total),
        "available": units_to_decimal(max(0, total - held - locked)),
        "held": units_to_decimal(held),
    }


def _cap_send_buffer(transport: asyncio.BaseTransport) -> None:
    """Bound the kernel's send buffer of a WebSocket socket (see SEND_BUFFER_BYTES)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


class _GuardedConnection(ServerConnection):
    """websockets' connection, for a connection ``guard`` admitted at accept: released
    when it is lost."""

    def __init__(
        self,
        protocol: ServerProtocol,
        server: Server,
        guard: ConnectionGuard,
        source: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(protocol, server, **kwargs)
        self.guard = guard
        self.source: str | None = source

    def connection_lost(self, exc: Exception | None) -> None:
        source, self.source = self.source, None
        if source is not None:
            self.guard.release(source)
        super().connection_lost(exc)


def _frame_header(size: int) -> bytes:
    """RFC 6455 header of an unmasked, unfragmented text frame (server to client)."""
    if size < 126:
        return _SMALL_HEADERS[size]
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


_SMALL_HEADERS = [bytes((0x81, n)) for n in range(126)]


class _Connection:
    """Socket side of one session: frame writes, the backpressure task, slow-consumer close.

    Frames are written straight to the transport, once per loop iteration for every
    connection whose outbox got something (:meth:`WsServer._flush`): the queued
    payloads are framed (server frames are unmasked, so a header and the shared bytes;
    :meth:`WsServer.framed` frames an update once for all its subscribers) and handed
    over in ONE ``transport.write`` (a long backlog: one per ~WRITE_LIMIT_BYTES,
    stopping as soon as the transport pauses). websockets' own writes (pings, pongs,
    the close frame) are whole frames too, so they interleave safely, and nothing is
    written once the protocol has left the OPEN state. While the transport is paused
    (its buffer is above websockets' write limit) frames stay in the outbox, where the
    slow-consumer policy applies, and the writer task waits for the drain. The kernel's
    send buffer is capped (SEND_BUFFER_BYTES) so that the pause actually happens.
    """

    __slots__ = ("idle_since", "idle_timer", "killer", "outbox", "protocol", "ready", "scheduled",
                 "server", "session", "transport", "writer", "ws")  # fmt: skip

    def __init__(self, server: WsServer, ws: ServerConnection) -> None:
        self.server = server
        self.ws = ws
        self.protocol = ws.protocol
        self.transport = ws.transport
        self.ready = asyncio.Event()
        self.scheduled = False
        self.outbox = Outbox(
            server.config.ws.send_queue, self._overflow, self._wake, self._conflated
        )
        self.outbox.direct = self.write_direct
        _cap_send_buffer(ws.transport)
        peer = ws.remote_address
        peer_ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self.session = Session(server.venue, self.outbox, str(peer), peer_ip)
        self.session.closer = self.close
        self.session.since_us = time.time_ns() // 1000
        self.writer: asyncio.Task[None] | None = None
        self.killer: asyncio.Task[None] | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0

    def buffered(self) -> int:
        """Bytes in the transport's write buffer (written, not yet taken by the kernel)."""
        transport = self.transport
        return (
            0 if transport is None or transport.is_closing() else transport.get_write_buffer_size()
        )

    def _conflated(self) -> None:
        self.server.m_slow.inc(protocol="ws", action="conflated")

    def _wake(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            self.server.schedule(self)

    def write_direct(self, frames: bytes, count: int) -> bool:
        """Write ``count`` whole frames now if the connection is open and its transport
        is not paused (the market data's fan-out, WsMarketData.flush, when the outbox
        is empty); False leaves them to the outbox. Longer than WRITE_LIMIT_BYTES they
        go through the outbox too, whose writes stop at the transport's pause."""
        if (
            self.ws.paused
            or len(frames) > WRITE_LIMIT_BYTES
            or self.protocol.state is not _OPEN
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frames)
        self.session.msgs_out += count
        return True

    def flush(self) -> int:
        """Write what the outbox holds if the socket takes it; the number of frames."""
        self.scheduled = False
        outbox = self.outbox
        queue = outbox.queue
        if not (queue or outbox.stale):
            return 0
        ws = self.ws
        if ws.paused or self.protocol.state is not _OPEN or self.transport.is_closing():
            self.ready.set()  # the writer waits for the drain (or ends on close)
            return 0
        framed = self.server.framed
        write = self.transport.write
        if len(queue) == 1 and not outbox.stale:  # the common case: one update since the last
            write(framed(queue.popleft()))
            self.session.msgs_out += 1
            if self.session.acked:
                self._acks_written()
            return 1
        sent = 0
        while True:
            if queue:
                # At most about WRITE_LIMIT_BYTES per write: what the socket does not
                # take stays in the outbox, where the slow-consumer policy applies.
                parts: list[bytes] = []
                append = parts.append
                popleft = queue.popleft
                size = 0
                while queue and size < WRITE_LIMIT_BYTES:
                    data = popleft()
                    append(framed(data))
                    size += len(data)
                sent += len(parts)
                write(b"".join(parts))
                if ws.paused:
                    break
                continue
            if not outbox.stale or ws.paused:
                break
            outbox.resync()
        self.session.msgs_out += sent
        if queue or outbox.stale:
            self.ready.set()
        elif self.session.acked:
            self._acks_written()
        return sent

    def _acks_written(self) -> None:
        """The outbox is written, with the answers to the session's orders: time them."""
        acked = self.session.acked
        now = time.perf_counter_ns()
        observe = self.server.m_ack.observe
        for received_ns in acked:
            observe((now - received_ns) / 1000)
        acked.clear()

    def release(self) -> None:
        """The connection has ended: drop the references back to it, so that reference
        counting frees it, and websockets' connection with it, at once. The outbox's
        callbacks are bound methods of ``self``, and the cancelled writer task keeps
        its CancelledError, whose traceback holds write_loop's frame and so ``self``.
        As reference cycles they would wait for a full collection, which the GcPacer
        runs only while the gateway is idle (README, GC pacing)."""
        self.outbox.detach()
        self.session.closer = None
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.writer = None  # cancelled: the event loop holds it until its last step
        self.killer = None  # done: the handler awaited it

    async def write_loop(self) -> None:
        """Only for backpressure: wait until the transport drains, then flush."""
        ws, outbox = self.ws, self.outbox
        try:
            while True:
                if not (outbox.queue or outbox.stale):
                    self.ready.clear()
                    await self.ready.wait()
                if self.protocol.state is not _OPEN:
                    return
                if ws.paused:
                    await ws.drain()
                    continue
                sent = self.flush()
                if sent:
                    self.server.m_sent.add(sent)
                elif outbox.queue or outbox.stale:  # not writable yet: wait for a wake
                    self.ready.clear()
                    await self.ready.wait()
        except (ConnectionClosed, OSError):
            pass

    def watch_idle(self, timeout: float) -> None:
        """Close the connection once it has been neither logged on nor subscribed to a
        channel for ``timeout`` seconds (checked every half of that): such a client
        holds a connection, and its file descriptor, for nothing."""
        loop = asyncio.get_running_loop()
        self.idle_since = loop.time()
        self.idle_timer = loop.call_later(timeout / 2, self._check_idle, timeout)

    def _check_idle(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        session = self.session
        if session.account or session.subs:
            self.idle_since = now
        elif now - self.idle_since >= timeout:
            self.idle_timer = None
            if self.killer is None:
                reason = f"idle: neither logged on nor subscribed for {timeout:g} s"
                self.killer = loop.create_task(self._kill(CLOSE_IDLE, reason))
            return
        self.idle_timer = loop.call_later(timeout / 2, self._check_idle, timeout)

    def close(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` and ``reason`` (once)."""
        if self.killer is None:
            self.killer = asyncio.get_running_loop().create_task(self._kill(code, reason))

    def _overflow(self, reason: str) -> None:
        self.server.m_slow.inc(protocol="ws", action="disconnected")
        log.warning("ws.slow_consumer", peer=self.session.peer, reason=reason)
        if self.killer is None:
            self.killer = asyncio.get_running_loop().create_task(
                self._kill(CLOSE_SLOW_CONSUMER, reason)
            )

    async def _kill(self, code: int, reason: str) -> None:
        if self.writer is not None:
            self.writer.cancel()
        try:
            await asyncio.wait_for(self.ws.close(code, reason), CLOSE_TIMEOUT_S + 1)
        except (TimeoutError, ConnectionClosed, OSError):
            transport = self.ws.transport
            if transport is not None:
                transport.abort()


class WsServer:
    """The WebSocket API component (App starts/stops it); `port` is the bound port."""

    name = "ws"

    def __init__(
        self,
        config: Config,
        host: EngineHost,
        tracker: OrderTracker,
        publisher: MarketDataPublisher,
        registry: Registry,
        readstore: ReadStore,
    ) -> None:
        self.config = config
        self.venue = Venue(config, host, tracker, publisher, registry, readstore)
        #: the host listener that answers commands and feeds the user channel (App adds it)
        self.listener = self.venue.listener
        self.connections: dict[_Connection, None] = {}
        self._dirty: list[_Connection] = []
        self.market = self.venue.market
        self.market.wake = self._wake_market
        self._flush_due = False
        #: payload -> frame, for one flush pass (see framed)
        self._frames: dict[bytes, bytes] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self.port = 0
        self.connection_guard = ConnectionGuard(
            "ws", config.ws.max_connections, config.ws.max_connections_per_source, registry
        )
        self.m_sent = registry.counter("gw_ws_messages_sent_total", "WebSocket frames sent")
        self.m_ack = registry.durations(ACK_LATENCY, ACK_LATENCY_HELP).labels(protocol="ws")
        self.m_slow = registry.counter(
            "gw_slow_consumers_total",
            "Slow-consumer actions: conflated (a book/bbo subscription went stale) or disconnected",
        )
        registry.gauge("gw_sessions_connected", SESSIONS_HELP).set_source(
            lambda: sum(1 for c in self.connections if c.session.account), protocol="ws"
        )
        registry.gauge("gw_connections", CONNECTIONS_HELP).set_source(
            lambda: len(self.connections), protocol="ws"
        )
        depth = registry.gauge("gw_ws_send_queue_depth", "Queued outgoing WebSocket frames")
        depth.set_source(lambda: sum(len(c.outbox) for c in self.connections), stat="total")
        depth.set_source(
            lambda: max((len(c.outbox) for c in self.connections), default=0), stat="max"
        )
        buffered = registry.gauge(
            "gw_ws_write_buffer_bytes",
            "Bytes handed to WebSocket transports and not yet taken by the kernel",
        )
        buffered.set_source(lambda: sum(c.buffered() for c in self.connections), stat="total")
        buffered.set_source(
            lambda: max((c.buffered() for c in self.connections), default=0), stat="max"
        )

    def schedule(self, conn: _Connection) -> None:
        """conn's outbox got frames: write them in this loop iteration's flush."""
        self._dirty.append(conn)
        if not self._flush_due:
            self._call_flush()

    def _wake_market(self) -> None:
        """Market data was published: deliver it in this loop iteration's flush."""
        if not self._flush_due:
            self._call_flush()

    def _call_flush(self) -> None:
        self._flush_due = True
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        loop.call_soon(self._flush)

    def framed(self, data: bytes) -> bytes:
        """``data`` as a frame. A market-data update is the same bytes object for all its
        subscribers, so each is framed once per flush pass (bytes keep their hash)."""
        frame = self._frames.get(data)
        if frame is None:
            frame = self._frames[data] = _frame_header(len(data)) + data
        return frame

    def _flush(self) -> None:
        """The market data published since the last pass (one write per subscriber
        that can take it), then every connection with something queued: one write each."""
        sent = self.market.flush(self.framed)  # what it queues joins this pass
        dirty, self._dirty = self._dirty, []
        self._flush_due = False
        for conn in dirty:
            sent += conn.flush()
        self._frames.clear()
        if sent:
            self.m_sent.add(sent)

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        cfg = self.config.ws
        host, port = parse_listen(cfg.listen)
        guard = self.connection_guard
        # websockets' serve() runs the handshake (open_timeout, process_request) and the
        # handler; the listening is ours, so that a connection over a cap is reset at
        # accept before websockets builds anything for it (GuardedServer), and so the
        # connection objects are built here, as serve()'s own factory would.
        ws = serve(
            self._handler,
            host,
            port,
            process_request=self._check_path,
            close_timeout=CLOSE_TIMEOUT_S,
            open_timeout=cfg.handshake_timeout_s,
        )

        def connection(source: str) -> _GuardedConnection:
            return _GuardedConnection(
                # no compression: per-connection deflate would defeat write-once fan-out
                ServerProtocol(max_size=MAX_MESSAGE_BYTES),
                ws,
                guard,
                source,
                ping_interval=cfg.ping_interval_s or None,
                ping_timeout=cfg.ping_timeout_s or None,
                close_timeout=CLOSE_TIMEOUT_S,
                write_limit=WRITE_LIMIT_BYTES,
            )

        async def listen() -> asyncio.Server:
            server = await GuardedServer.listen(guard, connection, host, port)
            return cast(asyncio.Server, server)  # websockets uses the AbstractServer part

        ws.create_server = listen
        self._server = await ws
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ws.listening", host=host, port=self.port, path=cfg.path)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close(close_connections=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT_S + 1)
        self._server = None
        await self.venue.stop_reads()

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path != self.config.ws.path:
            return Response(
                HTTPStatus.NOT_FOUND.value,
                "Not Found",
                Headers([("Content-Type", "text/plain")]),
                f"no WebSocket endpoint at {path}; use {self.config.ws.path}\n".encode(),
            )
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = _Connection(self, ws)
        self.connections[conn] = None
        conn.writer = asyncio.get_running_loop().create_task(conn.write_loop())
        if self.config.ws.idle_timeout_s:
            conn.watch_idle(self.config.ws.idle_timeout_s)
        session = conn.session
        try:
            async for message in ws:
                session.receive(message)
        except ConnectionClosed:
            pass
        finally:
            del self.connections[conn]
            conn.writer.cancel()
            session.disconnect()
            if conn.killer is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await conn.killer
            conn.release()
            log.info(
                "ws.disconnected",
                peer=session.peer,
                account=session.account,
                code=ws.close_code,
                reason=ws.close_reason,
            )
