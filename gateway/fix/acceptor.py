"""asyncio TCP acceptor: accepts connections, binds each to its configured
:class:`~gateway.fix.session.FixSession` on Logon, drives its timers and flushes.

Usage (inside a running loop; uvloop or the default loop)::

    acceptor = FixAcceptor(AcceptorSettings(...), [SessionSettings(...)], app)
    await acceptor.start()          # listening; acceptor.port is the bound port
    ...
    await acceptor.stop()           # Logout every live session, close, flush stores

Connection handling before a session is bound: the first message must be a Logon for
a configured (SenderCompID, TargetCompID) pair, else the connection is closed without a
reply, at once when that first frame is garbled (there is no session to answer on); a
Logon for a session that already has a live connection closes the *new* connection and
leaves the existing one alone.
Sessions change while the acceptor runs (:meth:`FixAcceptor.put_session`,
:meth:`FixAcceptor.drop_session`, driven by the engine's credential events): a
disabled or deleted one no longer binds a Logon, and its live connection is logged
out with the operator's reason.
A connection over the acceptor's :class:`~gateway.connguard.ConnectionGuard` caps is
closed at accept (by :class:`~gateway.connguard.GuardedServer`, before any object is
built for it), and one that does not log on within ``logon_timeout_s`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, cast

from gateway.busypoll import AdaptiveSpin, Turnaround
from gateway.connguard import ConnectionGuard, GuardedServer, RefusalLog
from gateway.fix.auth import LogonGuard, lower_thread_priority
from gateway.fix.codec import DEFAULT_DATA_TAGS, FixMessage, FrameReader, Garbled
from gateway.fix.dictionary import load_dictionary
from gateway.fix.session import FixApplication, FixSession
from gateway.fix.settings import AcceptorSettings, SessionSettings
from gateway.fix.store import FileStore, session_dir_name

__all__ = ["FixAcceptor", "build_ssl_context"]

log = logging.getLogger(__name__)

#: Threads for password checks: scrypt takes tens of milliseconds of CPU, and these
#: threads must leave the event loop a core (they also run at the lowest priority).
_AUTH_THREADS = 1


def build_ssl_context(settings: AcceptorSettings) -> ssl.SSLContext | None:
    """Server TLS context from ``tls_cert``/``tls_key`` (None when not configured)."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(settings.tls_cert, settings.tls_key)
    return ctx


class InputScope(Protocol):
    """Brackets the handling of one read (the engine host implements it)."""

    def begin_input(self) -> None: ...

    def end_input(self) -> None: ...


class _Connection(asyncio.Protocol):
    """One TCP connection; implements the session's Transport protocol."""

    def __init__(self, acceptor: FixAcceptor, loop: asyncio.AbstractEventLoop, source: str) -> None:
        self._acceptor = acceptor
        self._loop = loop
        self._reader = FrameReader(
            acceptor.data_tags, max_body_length=acceptor.settings.max_message_size
        )
        self._transport: asyncio.Transport | None = None
        self.session: FixSession | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._logon_timer: asyncio.TimerHandle | None = None
        self._slow_timer: asyncio.TimerHandle | None = None
        self.peer: object = None
        #: admitted by the guard at accept; released (and None) once the connection is lost
        self._source: str | None = source
        #: how soon this client answers us: the acceptor's spin after we write to it
        self.turnaround = Turnaround(acceptor.settings.adaptive_spin_us * 1000)

    # asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass: duck-type it
        self._transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")
        settings = self._acceptor.settings
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.send_buffer_bytes)
        self._transport.set_write_buffer_limits(high=settings.write_buffer_high)
        self._logon_timer = self._loop.call_later(
            self._acceptor.settings.logon_timeout_s, self._logon_timeout
        )
        self._acceptor._connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self._source is None:
            return
        scope = self._acceptor.input_scope
        if scope is None:
            self._handle_input(data)
        else:
            scope.begin_input()
            try:
                self._handle_input(data)
            finally:
                scope.end_input()
        # after the read's answers are written: the timer waits, they need not
        self._arm_timer()

    def _handle_input(self, data: bytes) -> None:
        now = self._loop.time()
        received_ns = time.perf_counter_ns()  # loop.time() is too coarse under uvloop (1 ms)
        items = self._reader.feed(data)
        self.turnaround.read(received_ns, len(items))
        self._acceptor.spin.input()
        session = self.session
        if session is not None:
            session.received_ns = received_ns
            session.begin_batch()
        try:
            for item in items:
                if session is None:
                    if isinstance(item, Garbled):
                        log.warning(
                            "connection %s: garbled first message (%s): disconnecting",
                            self.peer,
                            item.reason,
                        )
                        self.close()
                        return
                    session = self._bind(item, now)
                    if session is None:
                        return
                    session.received_ns = received_ns
                    session.begin_batch()
                    continue
                if isinstance(item, FixMessage):
                    session.on_message(item, now)
                else:
                    session.on_garbled(item, now)
        finally:
            if session is not None:
                session.end_batch()

    def pause_writing(self) -> None:
        """The peer is not reading fast enough: give it slow_consumer_timeout_s."""
        if self._slow_timer is None:
            self._slow_timer = self._loop.call_later(
                self._acceptor.settings.slow_consumer_timeout_s, self._slow_consumer
            )
        if self.session is not None:
            self.session.on_pause_writing()

    def resume_writing(self) -> None:
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None
        if self.session is not None:
            self.session.on_resume_writing()

    def _slow_consumer(self, reason: str = "not reading") -> None:
        """Disconnect a peer that does not read. FIX cannot drop or conflate messages,
        but it loses none either: they are in the store for the next ResendRequest."""
        self._slow_timer = None
        transport = self._transport
        if transport is None:
            return
        log.warning(
            "connection %s: slow consumer (%s), %d bytes unsent: disconnecting",
            self.peer,
            reason,
            transport.get_write_buffer_size(),
        )
        transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        source, self._source = self._source, None
        if source is None:
            return
        self._acceptor.connection_guard.release(source)
        self._cancel_timers()
        self._acceptor._connections.discard(self)
        session, self.session = self.session, None
        self._transport = None
        if session is not None:
            session.connection_lost()

    # Transport (for the session) -----------------------------------------------

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
            turnaround = self.turnaround
            now_ns = time.perf_counter_ns()
            turnaround.wrote(now_ns)
            if turnaround.window_ns:
                self._acceptor.spin.answered(turnaround, now_ns)
            if transport.get_write_buffer_size() > self._acceptor.settings.max_write_buffer:
                self._slow_consumer("write buffer over max_write_buffer")

    def close(self) -> None:
        self.session = None
        self._cancel_timers()
        if self._transport is not None:
            self._transport.close()

    def deadline_changed(self) -> None:
        self._arm_timer()

    # internals -------------------------------------------------------------------

    def _refuse(self, reason: str, detail: str) -> None:
        """Close a connection no session took; logged at most once a minute per source
        address and reason (a client retrying in a loop must not cost a line each)."""
        unlogged = self._acceptor.refusal_log.allow(f"{self._source} {reason}")
        if unlogged is not None:
            more = f" ({unlogged} more from this address since the last such line)"
            log.warning("connection %s: %s%s", self.peer, detail, more if unlogged else "")
        self.close()

    def _bind(self, msg: FixMessage, now: float) -> FixSession | None:
        if msg.msg_type != "A":
            self._refuse("not logon", f"first message not a logon (35={msg.msg_type})")
            return None
        ours, theirs = msg.get_str(56) or "", msg.get_str(49) or ""
        session = self._acceptor.sessions.get((ours, theirs))
        if session is None:
            self._refuse("unknown session", f"unknown session {theirs}->{ours}")
            return None
        if session.is_connected:
            self._refuse(
                "already connected",
                f"{session.session_id} already logged on; new connection refused",
            )
            return None
        if self._logon_timer is not None:
            self._logon_timer.cancel()
            self._logon_timer = None
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None
        self.session = session
        peer = self.peer
        session.attach(self, now, peer[0] if isinstance(peer, tuple) and peer else "")
        session.on_message(msg, now)
        return self.session

    def _logon_timeout(self) -> None:
        self._logon_timer = None
        if self.session is None and self._transport is not None:
            self._refuse("logon timeout", "no logon in time")

    def _arm_timer(self) -> None:
        session = self.session
        if session is None:
            return
        deadline = session.next_deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline + 0.001, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        session = self.session
        if session is None:
            return
        session.on_timer(self._loop.time())
        self._arm_timer()

    def _cancel_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._logon_timer is not None:
            self._logon_timer.cancel()
            self._logon_timer = None


def _credentials(s: SessionSettings) -> tuple[object, ...]:
    """What a Logon is checked against: when it changes, a live session logs out."""
    return (s.auth, s.username, s.password_hash, dict(s.ed25519_public_keys))


class FixAcceptor:
    """The FIX acceptor: one listening socket, one FixSession per configured session."""

    def __init__(
        self,
        settings: AcceptorSettings,
        sessions: Iterable[SessionSettings],
        application: FixApplication,
        *,
        ssl_context: ssl.SSLContext | None = None,
        after_durable: Callable[[Callable[[], object]], object] | None = None,
        connection_guard: ConnectionGuard | None = None,
        input_scope: InputScope | None = None,
    ) -> None:
        """``after_durable(callback)`` runs callback once every command submitted so far
        is journaled (EngineHost.defer): the stores count an inbound message only then
        (see fix/store.py). Without it they count it at once."""
        self.settings = settings
        #: caps on open connections (default: none)
        self.connection_guard = connection_guard or ConnectionGuard("fix", 0, 0)
        #: which refusals of connections that no session took get a log line
        self.refusal_log = RefusalLog()
        self.application = application
        self._after_durable = after_durable
        #: told when a read's messages are being handled (the engine host: it commits
        #: what they submitted at the end of the read, not on a later loop pass)
        self.input_scope = input_scope
        self._session_settings = list(sessions)
        keys = [(s.sender_comp_id, s.target_comp_id) for s in self._session_settings]
        if len(set(keys)) != len(keys):
            raise ValueError("two FIX sessions share the same SenderCompID/TargetCompID pair")
        self._ssl = ssl_context if ssl_context is not None else build_ssl_context(settings)
        #: (our CompID, their CompID) -> session, the enabled ones (a Logon binds only
        #: to these); filled by :meth:`start`, changed by :meth:`put_session`.
        self.sessions: dict[tuple[str, str], FixSession] = {}
        #: every session built, enabled or not: a session re-enabled or created again
        #: after a delete reuses its object, so one store is open per directory
        self._built: dict[tuple[str, str], FixSession] = {}
        #: sessions replaced by one with another BeginString: stores closed at stop
        self._retired: list[FixSession] = []
        self._started = False
        self._connections: set[_Connection] = set()
        self._server: GuardedServer | None = None
        #: password checks (scrypt) run here, never on the event loop
        self._auth_pool = ThreadPoolExecutor(
            _AUTH_THREADS, thread_name_prefix="fix-auth", initializer=lower_thread_priority
        )
        #: runs every session's credential checks and throttles failed logons
        self.logon_guard = LogonGuard(self._auth_pool)
        #: keeps the loop polling after answers to clients that ping-pong
        self.spin = AdaptiveSpin()
        self._flushes: list[Callable[[], None]] = []
        self._flushes_handle: asyncio.Handle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: length-prefixed DATA fields (length tag -> data tag) of every dictionary in
        #: use: framing happens before we know a connection's session (FIXT.1.1 adds
        #: EncryptedPassword 1402 and others that may contain SOH)
        self.data_tags: Mapping[int, int] = DEFAULT_DATA_TAGS

    @property
    def connection_count(self) -> int:
        """Open TCP connections, logged on or not."""
        return len(self._connections)

    def session(self, target_comp_id: str, sender_comp_id: str | None = None) -> FixSession:
        """The session whose client CompID is ``target_comp_id``."""
        ours = sender_comp_id or self.settings.sender_comp_id
        try:
            return self.sessions[(ours, target_comp_id)]
        except KeyError:
            for (_, theirs), s in self.sessions.items():
                if theirs == target_comp_id and sender_comp_id is None:
                    return s
            raise

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("acceptor not started")
        return int(self._server.sockets[0].getsockname()[1])

    def defer_flush(self, flush: Callable[[], None]) -> None:
        """A session's output waits here until :meth:`run_flushes`: right after the FIX
        listener has seen the last batch of a group commit (so acknowledgements leave
        in the same loop pass as the journal write, ahead of that batch's market data),
        or on the next loop pass at the latest."""
        self._flushes.append(flush)
        if self._flushes_handle is None:
            loop = self._loop
            if loop is None:  # once: get_running_loop() costs a getpid() system call
                loop = self._loop = asyncio.get_running_loop()
            self._flushes_handle = loop.call_soon(self._run_flushes_soon)

    def _run_flushes_soon(self) -> None:
        self._flushes_handle = None
        self.run_flushes()

    def run_flushes(self) -> None:
        handle, self._flushes_handle = self._flushes_handle, None
        if handle is not None:
            handle.cancel()  # run before its pass came (the group's end): no empty pass
        flushes, self._flushes = self._flushes, []
        for flush in flushes:
            flush()

    def _build(self, s: SessionSettings) -> FixSession:
        st = self.settings
        directory = st.store_dir / session_dir_name(
            s.begin_string, s.sender_comp_id, s.target_comp_id
        )
        session = FixSession(
            s,
            FileStore(
                directory,
                fsync=st.fsync,
                resend_window=st.resend_window,
                after_durable=self._after_durable,
            ),
            load_dictionary(s.begin_string, st.spec_dir, s.default_appl_ver_id),
            self.application,
            sending_time_tolerance_s=st.sending_time_tolerance_s,
            scheduler=self.defer_flush,
            clock=asyncio.get_running_loop().time,
            guard=self.logon_guard,
        )
        self._built[(s.sender_comp_id, s.target_comp_id)] = session
        data_tags = dict(self.data_tags)
        data_tags.update(session.dictionary.data_tags)
        self.data_tags = data_tags
        return session

    def put_session(self, settings: SessionSettings, enabled: bool, text: str) -> None:
        """A session created, changed, enabled or disabled while the gateway runs.

        A live connection is logged out with ``text`` when the session is disabled,
        and when its credentials changed (the ones it logged on with may be gone);
        other changes apply to it from its next message."""
        key = (settings.sender_comp_id, settings.target_comp_id)
        if not self._started:
            self._session_settings = [
                s for s in self._session_settings if (s.sender_comp_id, s.target_comp_id) != key
            ]
            if enabled:
                self._session_settings.append(settings)
            return
        session = self._built.get(key)
        if session is not None and session.settings.begin_string != settings.begin_string:
            session.revoke(text)
            self.sessions.pop(key, None)
            self._retired.append(self._built.pop(key))
            session = None
        if session is None:
            session = self._build(settings)
        else:
            old = session.settings
            session.update_settings(settings)
            if _credentials(old) != _credentials(settings):
                session.revoke(text)
        if enabled:
            self.sessions[key] = session
        else:
            self.sessions.pop(key, None)
            session.revoke(text)

    def drop_session(self, sender_comp_id: str, target_comp_id: str, text: str) -> None:
        """A session disabled or deleted: no Logon binds to it any more, and a live
        connection is logged out with ``text``."""
        key = (sender_comp_id, target_comp_id)
        if not self._started:
            self._session_settings = [
                s for s in self._session_settings if (s.sender_comp_id, s.target_comp_id) != key
            ]
            return
        self.sessions.pop(key, None)
        session = self._built.get(key)
        if session is not None:
            session.revoke(text)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        st = self.settings
        for s in self._session_settings:
            self.sessions[(s.sender_comp_id, s.target_comp_id)] = self._build(s)
        self._started = True
        # Over TLS a connection reaches _Connection (its caps and logon timer) only once
        # the handshake is done: a client that never finishes it is cut as late.
        self._server = await GuardedServer.listen(
            self.connection_guard,
            lambda source: _Connection(self, loop, source),
            st.host,
            st.port,
            ssl_context=self._ssl,
            ssl_handshake_timeout=st.logon_timeout_s if self._ssl is not None else None,
        )
        log.info(
            "FIX acceptor listening on %s:%d (%d sessions, tls=%s)",
            st.host,
            self.port,
            len(self.sessions),
            self._ssl is not None,
        )

    async def stop(self, logout_text: str = "Gateway shutting down", timeout: float = 2.0) -> None:
        """Logout every live session, wait up to ``timeout`` for the answers, close."""
        if self._server is not None:
            self._server.close()
        sessions = [*self._built.values(), *self._retired]
        for s in sessions:
            if s.is_logged_on:
                s.logout(logout_text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(s.is_connected for s in sessions) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        # the last inbound numbers count once what they caused is journaled
        while any(s.store.awaiting_durable for s in sessions) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self._connections):
            conn.close()
        for s in sessions:
            if s.is_connected:
                s.connection_lost()
            try:
                s.store.close()
            except OSError as error:  # what it could not write was never sent
                log.error("%s: message store closed unwritten: %s", s.session_id, error)
        self._auth_pool.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
