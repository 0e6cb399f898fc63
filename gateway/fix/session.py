"""FIX session layer as an explicit, sans-I/O state machine.

A :class:`FixSession` exists for every configured session for the lifetime of the
acceptor; a TCP connection is *attached* to it while logged on. The session never
touches a socket or the clock by itself:

* inbound: the driver calls :meth:`FixSession.on_message` / :meth:`on_garbled`
  with framed messages and the current monotonic time;
* outbound: bytes go to the attached :class:`Transport` (``write``/``close``) when
  :meth:`FixSession.flush` runs (once per batch of input, or via the scheduler);
* timers: :meth:`FixSession.next_deadline` says when :meth:`on_timer` must run.

States (:class:`SessionState`) and what each accepts:

=====================  ===============================================================
DISCONNECTED           nothing; ``attach`` moves to AWAITING_LOGON
AWAITING_LOGON         only a valid, authenticated Logon (else Logout/disconnect)
LOGGED_ON              everything; a gap moves to RESEND_IN_PROGRESS
RESEND_IN_PROGRESS     like LOGGED_ON, queueing messages above the gap until it closes
LOGOUT_SENT            waits for the Logout answer or the LOGOUT timer
=====================  ===============================================================

Credentials are checked by a :class:`~gateway.fix.auth.LogonGuard`, a password off the
event loop: while a Logon's check runs (first Logon, or 141=Y during the session) the
session processes nothing else from its connection; what arrives meanwhile is held
and processed in order after the answer (or dropped with the connection).

Timers (:class:`Timer`): HEARTBEAT (nothing sent for HeartBtInt -> Heartbeat),
TEST_REQUEST (nothing received for HeartBtInt * test_request_factor -> TestRequest;
the same silence again -> Logout + disconnect; no regular Heartbeat while that
TestRequest is unanswered), LOGOUT (Logout answer overdue).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final, Protocol

from gateway.connguard import RefusalLog
from gateway.edges import RateLimiter
from gateway.fix import auth
from gateway.fix.codec import (
    FieldValue,
    FixEncoder,
    FixMessage,
    Garbled,
    encode_fields,
    format_utc_timestamp,
    parse_utc_timestamp,
)
from gateway.fix.dictionary import REJECT_TEXTS, DataDictionary, RejectReason
from gateway.fix.settings import APPL_VER_IDS, AuthMode, SessionSettings
from gateway.fix.store import MAX_SEQ_NUM, FileStore
from gateway.fix.tags import (
    BEGIN_STRING,
    BUSINESS_REJECT_REASON,
    BUSINESS_REJECT_REF_ID,
    GAP_FILL_FLAG,
    MSG_SEQ_NUM,
    MSG_TYPE,
    MT_BUSINESS_MESSAGE_REJECT,
    MT_SEQUENCE_RESET,
    NEW_SEQ_NO,
    REF_MSG_TYPE,
    REF_SEQ_NUM,
    REF_TAG_ID,
    REVERSE_ROUTING,
    SENDER_COMP_ID,
    SESSION_REJECT_REASON,
    TARGET_COMP_ID,
    TEST_REQ_ID,
    TEXT,
)
from gateway.single_use import SingleUse

if TYPE_CHECKING:
    from gateway.host import EventBatch

__all__ = [
    "BusinessRejectReason",
    "FixApplication",
    "FixSession",
    "SessionState",
    "Timer",
    "Transport",
]

log = logging.getLogger(__name__)

_MAX_QUEUED: Final = 10_000
#: A resend longer than this many sequence numbers is paced: one step of this size per
#: event-loop pass, and none while the connection's write buffer is over its high-water
#: mark. Sent in one go, a large resend overflowed the write buffer (max_write_buffer),
#: the client was disconnected as a slow consumer and could never catch up.
_RESEND_STEP: Final = 2_000
#: New messages held back while a paced resend runs; past this the client is not
#: reading its resend and is disconnected (nothing is lost: see the store).
_MAX_HELD: Final = 100_000
#: Messages held while a Logon's credentials are checked; a client that sends more
#: before our answer is disconnected.
_MAX_HELD_AUTH: Final = 1_000
#: Signed Logons remembered per session while their SendingTime is within tolerance
#: (each is accepted once); past this many, signed Logons are refused until some expire.
_MAX_SIGNED_LOGONS: Final = 10_000


class _Replay:
    """A paced resend in progress: numbers ``next..last`` still to resend, and the
    messages sequenced since it began, sent in order once it ends."""

    __slots__ = ("held", "last", "next")

    def __init__(self, begin: int, last: int) -> None:
        self.next = begin
        self.last = last
        self.held: list[bytes] = []


class SessionState(enum.Enum):
    DISCONNECTED = "disconnected"
    AWAITING_LOGON = "awaiting_logon"
    LOGGED_ON = "logged_on"
    RESEND_IN_PROGRESS = "resend_in_progress"
    LOGOUT_SENT = "logout_sent"


class Timer(enum.Enum):
    HEARTBEAT = "heartbeat"
    TEST_REQUEST = "test_request"
    LOGOUT = "logout"


class BusinessRejectReason:
    """BusinessRejectReason (380) values."""

    OTHER: Final = 0
    UNKNOWN_ID: Final = 1
    UNKNOWN_SECURITY: Final = 2
    UNSUPPORTED_MESSAGE_TYPE: Final = 3
    APPLICATION_NOT_AVAILABLE: Final = 4
    CONDITIONALLY_REQUIRED_FIELD_MISSING: Final = 5
    NOT_AUTHORIZED: Final = 6


class Transport(Protocol):
    """What a session needs from a connection."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def deadline_changed(self) -> None:
        """The session's next timer deadline may have moved earlier."""
        ...


class FixApplication(Protocol):
    """The application side (engine translation). Calls are synchronous."""

    def on_logon(self, session: FixSession) -> None: ...

    def on_logout(self, session: FixSession, clean: bool) -> None:
        """``clean`` is False when the connection dropped without a Logout exchange."""
        ...

    def on_app_message(self, session: FixSession, msg: FixMessage) -> None: ...

    def on_own_batch(self, session: FixSession, batch: EventBatch) -> None:
        """The events of a command ``session`` submitted (it is their origin)."""
        ...


_LIVE: Final = (SessionState.LOGGED_ON, SessionState.RESEND_IN_PROGRESS)


def _too_high(tag: int, value: int) -> str:
    """Why a sequence number above MAX_SEQ_NUM is refused (the store cannot hold it)."""
    name = "MsgSeqNum" if tag == MSG_SEQ_NUM else "NewSeqNo"
    return f"{name}({tag})={value} is above the maximum {MAX_SEQ_NUM}"


def _wall_clock_us() -> int:
    return time.time_ns() // 1000


class FixSession:
    """One FIX session (state machine + store); see the module docstring."""

    def __init__(
        self,
        settings: SessionSettings,
        store: FileStore,
        dictionary: DataDictionary,
        application: FixApplication,
        *,
        sending_time_tolerance_s: float = 120.0,
        wall_clock_us: Callable[[], int] = _wall_clock_us,
        scheduler: Callable[[Callable[[], None]], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        guard: auth.LogonGuard | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.dictionary = dictionary
        self.application = application
        tol = settings.sending_time_tolerance_s
        self.sending_time_tolerance_us = int(
            (sending_time_tolerance_s if tol is None else tol) * 1_000_000
        )
        self._wall_clock_us = wall_clock_us
        self._scheduler = scheduler
        self._clock = clock
        self._encoder = FixEncoder(
            settings.begin_string, settings.sender_comp_id, settings.target_comp_id
        )
        self._begin_b = settings.begin_string.encode()
        self._sender_b = settings.sender_comp_id.encode()
        self._target_b = settings.target_comp_id.encode()
        self._app_types = settings.app_msg_types
        # The version, computed once (the application reads it for every report it
        # encodes). fix42: FIX 4.2 rules (no NextExpectedMsgSeqNum 789, SessionRejectReason
        # 0-11 only) and FIX 4.2 ExecutionReports. fixt: FIXT.1.1 with FIX 5.0 SP2
        # application messages, which are FIX 4.4's but for a few fields.
        self.fix42 = settings.begin_string == "FIX.4.2"
        self.fixt = settings.fixt
        #: FIXT.1.1 only: the ApplVerID our peer must use (1137 on Logon, 1128 if present
        #: on an application message); None on FIX 4.x sessions.
        self._appl_ver: bytes | None = settings.default_appl_ver_id.encode() if self.fixt else None
        self.state = SessionState.DISCONNECTED
        self.heartbeat_s = 30
        self._transport: Transport | None = None
        self._out: list[bytes] = []
        self._batch = 0
        self._flush_scheduled = False
        self._last_sent = 0.0
        self._last_recv = 0.0
        self._test_request_sent = False
        self._test_request_counter = 0
        self._logout_deadline = 0.0
        self._resend_end = 0
        self._queue: dict[int, FixMessage] = {}
        self._limiter: RateLimiter | None = None  # max_msgs_per_s, from the first message
        self._now = 0.0
        #: time.perf_counter_ns() of the read that brought the message in hand (set by
        #: the driver; 0 = untimed): an order carries it to its acknowledgement
        self.received_ns = 0
        self._wall_at = -1.0  # the loop clock (_now) of the last wall-clock reading
        self._wall_us = 0
        self._sending_ms = -1
        self._sending_time = b""
        self._replay: _Replay | None = None
        self._writable = True
        #: shared by the acceptor's sessions (failures are throttled per peer address
        #: and per session); a sans-I/O session checks inline
        self._guard = guard if guard is not None else auth.LogonGuard()
        self._peer = ""
        #: not None while a Logon's credentials are being checked: input held meanwhile
        self._held: list[FixMessage] | None = None
        #: identifies the check in flight; bumped on disconnect so a late answer is void
        self._auth_token = 0
        #: failed logons are logged once a minute per reason, with a count: a password
        #: guesser's every attempt costing log lines would cost the loop more than
        #: refusing it (issue #14's logon-storm benchmark)
        self._auth_failure_log = RefusalLog()
        self._signed_logons = SingleUse(_MAX_SIGNED_LOGONS)
        #: the Logout text once the operator disabled or deleted this session: what
        #: arrives before the Logout answer is refused, never handed to the application
        self._revoked: str | None = None
        #: the journaled id of this logon (its SessionOpened seq; 0 = none), set by the
        #: application at logon and stamped on the orders the session sends
        self.origin = 0
        #: why the session ended (set before on_logout)
        self.logout_reason = ""
        #: the journal time (us) of this logon, set by the application with ``origin``
        self.since_us = 0
        #: this connection's messages read, messages written (resends included) and
        #: application messages refused by the throttle: plain increments on the message
        #: path; the console and the admin API read them (and make rates of them)
        self.msgs_in = 0
        self.msgs_out = 0
        self.throttle_hits = 0

    # -- public surface ----------------------------------------------------------

    @property
    def peer(self) -> str:
        """The connected peer's address ("" if none)."""
        return self._peer

    @property
    def session_id(self) -> str:
        return self.settings.session_id

    @property
    def is_logged_on(self) -> bool:
        return self.state in _LIVE

    @property
    def is_connected(self) -> bool:
        return self.state is not SessionState.DISCONNECTED

    @property
    def next_sender_seq(self) -> int:
        return self.store.next_sender_seq

    @property
    def next_target_seq(self) -> int:
        return self.store.next_target_seq

    def attach(self, transport: Transport, now: float, peer: str = "") -> None:
        """Bind a new connection (from address ``peer``); the next message must be a
        Logon."""
        if self.state is not SessionState.DISCONNECTED:
            raise RuntimeError(f"{self.session_id}: already connected")
        self._transport = transport
        self._peer = peer
        self._revoked = None
        self.state = SessionState.AWAITING_LOGON
        self.msgs_in = self.msgs_out = self.throttle_hits = 0
        self._last_recv = self._last_sent = self._now = now
        self._test_request_sent = False
        self._queue.clear()
        self._writable = True

    def send(self, msg_type: str | bytes, fields: Iterable[tuple[int, FieldValue]] | bytes) -> int:
        """Send an application message: sequenced, stored for resend, and written
        if logged on (otherwise delivered by the client's ResendRequest after its
        next Logon). ``fields`` is the body without the standard header, as pairs or
        as pre-encoded ``tag=value<SOH>`` bytes. Returns the MsgSeqNum used."""
        if not self._batch:
            self._now = self._clock()
        mt = msg_type.encode() if isinstance(msg_type, str) else msg_type
        body = fields if isinstance(fields, bytes) else encode_fields(fields)
        store = self.store
        seq = store.next_sender()
        # SendingTime has millisecond precision: its text is reused within one
        ms = self._wall_now_us() // 1000
        if ms != self._sending_ms:
            self._sending_ms = ms
            self._sending_time = format_utc_timestamp(ms * 1000)
        sending_time = self._sending_time
        store.save(seq, mt, sending_time, body)
        if self.state in _LIVE:
            self._write(self._encoder.encode(mt, seq, sending_time, body))
        else:
            self._wake()
        return seq

    def send_business_reject(
        self, ref_msg: FixMessage, reason: int, text: str, ref_id_tag: int | None = 11
    ) -> int:
        """BusinessMessageReject (j) for ``ref_msg``; BusinessRejectRefID (379) is
        taken from ``ref_id_tag`` (ClOrdID by default) when present. Routing fields go
        back reversed (they lead the body: header fields, also when resent)."""
        fields = _reverse_routing(ref_msg)
        fields += [
            (REF_SEQ_NUM, ref_msg.get(MSG_SEQ_NUM) or b"0"),
            (REF_MSG_TYPE, ref_msg.get(MSG_TYPE) or b""),
        ]
        ref_id = ref_msg.get(ref_id_tag) if ref_id_tag is not None else None
        if ref_id:
            fields.append((BUSINESS_REJECT_REF_ID, ref_id))
        fields += [(BUSINESS_REJECT_REASON, reason), (TEXT, text)]
        return self.send(MT_BUSINESS_MESSAGE_REJECT, fields)

    def logout(self, text: str = "", now: float | None = None) -> None:
        """Initiate a Logout; disconnects on the answer or after logout_timeout_s."""
        if self.state not in _LIVE:
            if self.state is SessionState.AWAITING_LOGON:
                self._disconnect("logout before logon", clean=False)
            return
        t = self._clock() if now is None else now
        self._now = t
        self._send_logout(text)
        self.state = SessionState.LOGOUT_SENT
        self._logout_deadline = t + self.settings.logout_timeout_s
        if self._transport is not None:
            self._transport.deadline_changed()
        self._wake()

    def revoke(self, text: str) -> None:
        """The operator disabled, deleted or changed the credentials of this session:
        a live connection is logged out now with ``text``; application messages that
        arrive before the Logout answer get a BusinessMessageReject."""
        if not self.is_connected:
            return
        self._revoked = text
        self.logout(text)

    def update_settings(self, settings: SessionSettings) -> None:
        """New settings for the same CompIDs and BeginString (the session's identity
        and its store), from the next message on."""
        if settings.session_id != self.settings.session_id:
            raise ValueError(f"{self.session_id}: cannot become {settings.session_id}")
        self.settings = settings
        self._app_types = settings.app_msg_types
        self._limiter = None

    def on_pause_writing(self) -> None:
        """The connection's write buffer is over its high-water mark."""
        self._writable = False

    def on_resume_writing(self) -> None:
        """The write buffer drained: a paced resend goes on."""
        self._writable = True
        if self._replay is not None:
            self._pump_replay()

    def connection_lost(self) -> None:
        """The transport closed under us."""
        self._transport = None
        self._disconnect("connection lost", clean=False)

    def flush(self) -> None:
        """Persist the store, then write buffered output to the transport."""
        self._flush_scheduled = False
        if self.store.dirty and not self._store_writes():
            return
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            if self._transport is not None:
                self._transport.write(data)

    def _store_writes(self) -> bool:
        """Flush the store; False if it cannot write (the session is then logged out)."""
        try:
            self.store.flush()
        except OSError as error:
            self._store_failed(error)
            return False
        return True

    def _store_failed(self, error: OSError) -> None:
        """Never send what could not be stored: the output waiting for this flush is
        dropped (its application messages stay buffered in the store, written once it
        can write again, then resent on request), and the session is logged out. Its
        Logons are refused the same way until the store writes again."""
        self._out.clear()
        if self.state is SessionState.DISCONNECTED:
            return
        log.error("%s: message store write failed, logging out: %s", self.session_id, error)
        text = "Message store unavailable; log on again later"
        transport = self._transport
        if transport is not None:  # an admin message, never stored: sent directly
            sending_time = format_utc_timestamp(self._wall_clock_us())
            logout = encode_fields([(TEXT, text)])
            transport.write(
                self._encoder.encode(b"5", self.store.next_sender(), sending_time, logout)
            )
        self._replay = None
        self._disconnect(text, clean=False)

    # -- timers --------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """Monotonic time at which :meth:`on_timer` must run next (None: no timer)."""
        st = self.state
        if st is SessionState.LOGOUT_SENT:
            return self._logout_deadline
        if st not in _LIVE or self.heartbeat_s <= 0:
            return None
        hb = self.heartbeat_s
        silence = hb * self.settings.test_request_factor
        if self._test_request_sent:  # no Heartbeat until answered: the disconnect is next
            return self._last_recv + silence * 2
        return min(self._last_sent + hb, self._last_recv + silence)

    def due_timers(self, now: float) -> list[Timer]:
        st = self.state
        if st is SessionState.LOGOUT_SENT:
            return [Timer.LOGOUT] if now >= self._logout_deadline else []
        if st not in _LIVE or self.heartbeat_s <= 0:
            return []
        due: list[Timer] = []
        hb = self.heartbeat_s
        silence = hb * self.settings.test_request_factor
        if now >= self._last_recv + silence * (2 if self._test_request_sent else 1):
            due.append(Timer.TEST_REQUEST)
        if now >= self._last_sent + hb and not self._test_request_sent:
            due.append(Timer.HEARTBEAT)
        return due

    def on_timer(self, now: float) -> None:
        self._now = now
        self._batch += 1
        try:
            for timer in self.due_timers(now):
                if timer is Timer.LOGOUT:
                    self._disconnect("Logout answer not received in time", clean=True)
                elif timer is Timer.TEST_REQUEST:
                    if self._test_request_sent:
                        self._logout_and_disconnect("Timed out waiting for heartbeat")
                        return
                    self._test_request_counter += 1
                    self._test_request_sent = True
                    self._send_admin(b"1", [(TEST_REQ_ID, f"TEST{self._test_request_counter}")])
                elif (
                    timer is Timer.HEARTBEAT
                    and self.state in _LIVE
                    and not self._test_request_sent  # the TestRequest just sent is traffic
                ):
                    self._send_admin(b"0", [])
        finally:
            self._batch -= 1
        if not self._batch:
            self.flush()

    def begin_batch(self) -> None:
        """Defer flushing until the matching :meth:`end_batch` (used by drivers that
        feed several messages from one read)."""
        self._batch += 1

    def end_batch(self) -> None:
        self._batch -= 1
        if not self._batch:
            self.flush()

    def on_batch(self, batch: EventBatch) -> None:
        """The events of a command this session submitted: the session is the batch's
        origin (``gateway.host.Origin``), and its application answers it."""
        self.application.on_own_batch(self, batch)

    # -- input -------------------------------------------------------------------

    def on_garbled(self, item: Garbled, now: float) -> None:
        """Garbled input is ignored (sequence numbers untouched), only logged."""
        log.warning("%s: garbled message ignored: %s", self.session_id, item.reason)

    def on_message(self, msg: FixMessage, now: float) -> None:
        """Process one framed inbound message."""
        if self.state is SessionState.DISCONNECTED:
            return
        self.msgs_in += 1
        self._now = now
        self._last_recv = now
        self._test_request_sent = False
        self._batch += 1
        try:
            self._dispatch(msg)
        finally:
            self._batch -= 1
        if not self._batch:
            self.flush()

    # -- the state machine ---------------------------------------------------------

    def _dispatch(self, msg: FixMessage) -> None:
        held = self._held
        if held is not None:  # a Logon's credentials are being checked
            if len(held) >= _MAX_HELD_AUTH:
                self._disconnect("too many messages before the Logon answer", clean=False)
                return
            held.append(msg)
        elif self.state is SessionState.AWAITING_LOGON:
            self._on_logon_attempt(msg)
        else:
            self._handle(msg)
            self._drain_queue()

    def _check_credentials(self, msg: FixMessage, then: Callable[[FixMessage], None]) -> None:
        """Authenticate a Logon (see :meth:`_credentials_ok`), then ``then(msg)``; on
        refusal Logout + disconnect. Until the answer, input is held."""
        if self.settings.auth is AuthMode.NONE:
            then(msg)
            return
        self._auth_token += 1
        token = self._auth_token
        self._held = []
        sources = [f"session {self.session_id}"]
        if self._peer:
            sources.append(f"address {self._peer}")

        def done(refusal: str | None) -> None:
            if token == self._auth_token:  # else the connection is gone
                self._on_credentials_checked(msg, refusal, then)

        self._guard.check(
            sources,
            lambda: self._credentials_ok(msg),
            done,
            slow=self.settings.auth is AuthMode.PASSWORD,
        )

    def _on_credentials_checked(
        self, msg: FixMessage, refusal: str | None, then: Callable[[FixMessage], None]
    ) -> None:
        held, self._held = self._held or [], None
        self._now = self._clock()  # a password check answers on a later loop pass
        self._batch += 1
        try:
            if refusal is not None:
                unlogged = self._auth_failure_log.allow(refusal)
                if unlogged is not None:
                    log.warning(
                        "%s: logon authentication failed: %s (%d more since the last line)",
                        self.session_id, refusal, unlogged,
                    )  # fmt: skip
                self._send_logout(refusal)
                self._disconnect(refusal, clean=False, quiet=unlogged is None)
                return
            then(msg)
            while held and self._held is None and self.state is not SessionState.DISCONNECTED:
                self._dispatch(held.pop(0))
            if held and self._held is not None:  # another Logon is being checked
                self._held[:0] = held
        finally:
            self._batch -= 1
        if not self._batch:
            self.flush()
        if self._transport is not None:
            self._transport.deadline_changed()

    def _on_logon_attempt(self, msg: FixMessage) -> None:
        s = self.settings
        if msg.msg_type != "A":
            self._disconnect("First message not a logon", clean=False)
            return
        if msg.begin_string != s.begin_string:
            self._refuse_logon("Incorrect BeginString")
            return
        seq = msg.get_int(34)
        if seq is None or seq <= 0:
            self._logout_and_disconnect("MsgSeqNum(34) missing or invalid")
            return
        if seq > MAX_SEQ_NUM:
            self._logout_and_disconnect(_too_high(MSG_SEQ_NUM, seq))
            return
        rej = self.dictionary.validate(msg)
        if rej is not None:
            self._logout_and_disconnect(f"Logon rejected: {rej.message} (tag {rej.ref_tag})")
            return
        if not self._sending_time_ok(msg):
            self._refuse_logon(REJECT_TEXTS[RejectReason.SENDING_TIME_ACCURACY])
            return
        if msg.get(98) != b"0":
            self._logout_and_disconnect("EncryptMethod(98) must be 0")
            return
        wrong_appl_ver = self._wrong_appl_ver(msg, 1137)
        if wrong_appl_ver is not None:  # absent: the dictionary check already refused it
            self._logout_and_disconnect(wrong_appl_ver)
            return
        self._check_credentials(msg, self._complete_logon)

    def _complete_logon(self, msg: FixMessage) -> None:
        """The rest of a first Logon, once its credentials are accepted."""
        s = self.settings
        seq = msg.get_int(34) or 0
        hb = msg.get_int(108) or 0
        if not s.heartbeat_min_s <= hb <= s.heartbeat_max_s:
            self._logout_and_disconnect(
                f"HeartBtInt(108) must be between {s.heartbeat_min_s} and {s.heartbeat_max_s}"
            )
            return
        reset = msg.get(141) == b"Y"
        if reset and not s.reset_on_logon:
            self._logout_and_disconnect("ResetSeqNumFlag(141)=Y is not allowed on this session")
            return
        # NextExpectedMsgSeqNum (789, FIX 4.4 and FIXT.1.1): checked before the reset below
        # so that a refused Logon leaves the stored sequence numbers alone
        next_out = 1 if reset else self.store.next_sender_seq
        next_expected, refusal = self._next_expected(msg, next_out)
        if refusal is not None:
            self._logout_and_disconnect(refusal)
            return
        if reset:
            self.store.reset()
        expected = self.store.next_target_seq
        if seq < expected:
            self._logout_and_disconnect(
                f"MsgSeqNum too low, expecting {expected} but received {seq}"
            )
            return
        if not self._store_writes():
            return
        self.heartbeat_s = hb
        self.state = SessionState.LOGGED_ON
        ack_789 = None
        if next_expected is not None:  # what we expect next once this Logon is counted
            ack_789 = expected + 1 if seq == expected else expected
        self._send_logon_response(reset, ack_789)
        log.info("%s: logged on (in %d, out %d)", self.session_id, seq, self.next_sender_seq - 1)
        if self._transport is not None:
            self._transport.deadline_changed()
        if next_expected is not None and next_expected < next_out:
            self._resend(next_expected, next_out - 1)  # what the client says it missed
        if seq > expected:
            self._queue[seq] = msg
            self._request_resend(expected, seq)
        else:
            self.store.incr_next_target_seq()
        self.application.on_logon(self)

    def _next_expected(self, msg: FixMessage, next_out: int) -> tuple[int | None, str | None]:
        """A Logon's NextExpectedMsgSeqNum (789; None if absent, and on FIX 4.2, which
        has no such field) and why it is refused (the Logout text; None if it is not):
        below 1, or above ``next_out``, our next MsgSeqNum (1 with 141=Y): we cannot
        resend what we never sent."""
        next_expected = None if self.fix42 else msg.get_int(789)
        if next_expected is None:
            return None, None
        if next_expected < 1:
            return next_expected, "NextExpectedMsgSeqNum(789) must be at least 1"
        if next_expected > next_out:
            return next_expected, (
                f"NextExpectedMsgSeqNum(789) too high, expecting {next_out}"
                f" but received {next_expected}"
            )
        return next_expected, None

    def _credentials_ok(self, msg: FixMessage) -> bool:
        """The Logon's credentials verify (a password check runs off the loop)."""
        s = self.settings
        if s.auth is AuthMode.NONE:
            return True
        if s.auth is AuthMode.PASSWORD:
            if s.username is not None and msg.get_str(553) != s.username:
                return False
            password = msg.get(554)  # the bytes as sent: no lossy decoding
            return password is not None and auth.verify_password(s.password_hash or "", password)
        key_id = msg.get_str(553)
        raw = msg.get(96)
        if key_id is None or raw is None:
            return False
        key_hex = s.ed25519_public_keys.get(key_id)
        signature = auth.decode_signature(raw)
        if key_hex is None or signature is None:
            return False
        payload = auth.logon_payload(msg)
        if not auth.verify_ed25519(key_hex, payload, signature):
            return False
        # once only (a replay within the SendingTime tolerance is refused); this runs
        # on the loop: Ed25519 checks are not sent to the guard's threads
        raw = msg.get(52)
        sent_us = parse_utc_timestamp(raw) if raw else None
        if sent_us is None:
            return False
        expires = sent_us + self.sending_time_tolerance_us
        digest = hashlib.sha256(payload).digest()
        return self._signed_logons.claim(digest, expires, self._wall_now_us())

    def _wrong_appl_ver(self, msg: FixMessage, tag: int) -> str | None:
        """FIXT.1.1: why ``tag`` (DefaultApplVerID 1137 or ApplVerID 1128) is not the
        session's ApplVerID; None if it is, if it is absent, or on FIX 4.x sessions."""
        expected = self._appl_ver
        if expected is None:
            return None
        value = msg.get(tag)
        if value is None or value == expected:
            return None
        want = self.settings.default_appl_ver_id
        name = "DefaultApplVerID" if tag == 1137 else "ApplVerID"
        got = value.decode("ascii", "replace")
        return f"{name}({tag}) must be {want} ({APPL_VER_IDS[want]}), got {got}"

    def _sending_time_ok(self, msg: FixMessage) -> bool:
        raw = msg.get(52)
        ts = parse_utc_timestamp(raw) if raw else None
        if ts is None:
            return True  # missing/malformed: the dictionary check reports it
        return abs(self._wall_now_us() - ts) <= self.sending_time_tolerance_us

    def _wall_now_us(self) -> int:
        """The wall clock for SendingTime and its checks, read again only when the loop
        clock (_now) moved: uvloop's moves once per loop pass, so the messages of one
        pass share one reading (asyncio's moves on every call: a reading each time)."""
        if self._now != self._wall_at:
            self._wall_at = self._now
            self._wall_us = self._wall_clock_us()
        return self._wall_us

    def _handle(self, msg: FixMessage) -> None:
        if msg.get(BEGIN_STRING) != self._begin_b:  # == (msg.begin_string != ...)
            self._logout_and_disconnect("Incorrect BeginString")
            return
        mt = msg.msg_type
        reset_mode = mt == MT_SEQUENCE_RESET and msg.get(GAP_FILL_FLAG) != b"Y"
        seq = msg.get_int(MSG_SEQ_NUM)
        if seq is None or seq <= 0:
            if not reset_mode:
                self._logout_and_disconnect("MsgSeqNum(34) missing or invalid")
                return
            seq = 0  # Reset mode ignores MsgSeqNum: 0 is RefSeqNum(45) of any Reject
        elif seq > MAX_SEQ_NUM and not reset_mode:  # cannot be counted, nor what follows
            text = _too_high(MSG_SEQ_NUM, seq)
            self._reject(msg, seq, RejectReason.VALUE_OUT_OF_RANGE, MSG_SEQ_NUM, text)
            self._logout_and_disconnect(text)
            return
        expected = self.store.next_target_seq
        sender, target = msg.get(SENDER_COMP_ID), msg.get(TARGET_COMP_ID)
        # an absent or empty CompID is the dictionary's (required tag missing / tag
        # without a value), like any other header field: only a wrong one is a CompID problem
        if sender and target and (sender != self._target_b or target != self._sender_b):
            self._reject(
                msg,
                seq,
                RejectReason.COMPID_PROBLEM,
                SENDER_COMP_ID if sender != self._target_b else TARGET_COMP_ID,
            )
            if seq == expected:
                self.store.incr_next_target_seq()
            self._logout_and_disconnect(REJECT_TEXTS[RejectReason.COMPID_PROBLEM])
            return
        if not self._sending_time_ok(msg):
            self._reject(msg, seq, RejectReason.SENDING_TIME_ACCURACY, 52)
            if seq == expected:
                self.store.incr_next_target_seq()
            self._logout_and_disconnect(REJECT_TEXTS[RejectReason.SENDING_TIME_ACCURACY])
            return
        if reset_mode:
            self._on_sequence_reset(msg, seq)
            return
        if mt == "A" and msg.get(141) == b"Y":
            self._on_logon_reset(msg, seq)
            return
        if seq > expected:
            if mt == "5":
                self._on_logout(msg)
                return
            if mt == "2" and self.dictionary.validate(msg) is None:
                self._on_resend_request(msg)
            self._queue_too_high(msg, seq, expected)
            return
        if seq < expected:
            if msg.get(43) == b"Y":
                if mt != "4":
                    self._check_orig_sending_time(msg, seq, increment=False)
                return  # a duplicate we already processed
            self._logout_and_disconnect(
                f"MsgSeqNum too low, expecting {expected} but received {seq}"
            )
            return
        self._process_in_sequence(msg, seq, mt)

    def _process_in_sequence(self, msg: FixMessage, seq: int, mt: str) -> None:
        store = self.store
        if msg.get(43) == b"Y" and mt != "4" and not self._check_orig_sending_time(msg, seq, True):
            return
        rej = self.dictionary.validate(msg)
        if rej is not None:
            self._reject(msg, seq, rej.reason, rej.ref_tag, rej.text or None)
            store.incr_next_target_seq()
            return
        if mt == "4":  # GapFill (Reset mode is handled before the sequence checks)
            new_seq = msg.get_int(36) or 0
            if new_seq <= seq or new_seq > MAX_SEQ_NUM:
                text = (
                    _too_high(NEW_SEQ_NO, new_seq)
                    if new_seq > MAX_SEQ_NUM
                    else f"Attempt to lower sequence number, invalid value NewSeqNo={new_seq}"
                )
                self._reject(msg, seq, RejectReason.VALUE_OUT_OF_RANGE, 36, text)
                store.incr_next_target_seq()
            else:
                store.set_next_target_seq(new_seq)
            self._check_resend_complete()
            return
        store.incr_next_target_seq()
        self._check_resend_complete()
        if mt == "0":
            return
        if mt == "1":
            self._send_admin(b"0", [(112, msg.get(112) or b"")])
        elif mt == "2":
            self._on_resend_request(msg)
        elif mt == "3":
            log.info("%s: Reject received for seq %s", self.session_id, msg.get_str(45))
        elif mt == "5":
            self._on_logout(msg)
        elif mt == "A":
            self._reject(msg, seq, RejectReason.OTHER, None, "Already logged on")
        elif self.dictionary.is_admin(mt):
            pass  # XMLnonFIX and other admin types: nothing to do
        elif self._appl_ver is not None and (wrong := self._wrong_appl_ver(msg, 1128)):
            self._reject(msg, seq, RejectReason.INVALID_APPL_VER, 1128, wrong)
        else:
            self._on_application(msg, mt)

    def _on_application(self, msg: FixMessage, mt: str) -> None:
        if self._revoked is not None:
            self.send_business_reject(msg, BusinessRejectReason.OTHER, self._revoked)
            return
        if mt not in self._app_types:
            self.send_business_reject(
                msg, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE, "Unsupported Message Type"
            )
            return
        limit = self.settings.max_msgs_per_s
        if limit:
            limiter = self._limiter
            if limiter is None:
                limiter = self._limiter = RateLimiter(limit, self._now)
            if not limiter.take(self._now):
                self.throttle_hits += 1
                self.send_business_reject(
                    msg, BusinessRejectReason.OTHER, "Throttle limit exceeded"
                )
                return
        self.application.on_app_message(self, msg)

    def _check_orig_sending_time(self, msg: FixMessage, seq: int, increment: bool) -> bool:
        """PossDupFlag=Y checks: OrigSendingTime(122) present and not after SendingTime."""
        orig = msg.get(122)
        if orig is None:
            self._reject(msg, seq, RejectReason.REQUIRED_TAG_MISSING, 122)
            if increment:
                self.store.incr_next_target_seq()
            return False
        orig_ts = parse_utc_timestamp(orig)
        sending = msg.get(52)
        sending_ts = parse_utc_timestamp(sending) if sending else None
        if orig_ts is None:
            self._reject(msg, seq, RejectReason.INCORRECT_DATA_FORMAT, 122)
            if increment:
                self.store.incr_next_target_seq()
            return False
        if sending_ts is not None and orig_ts > sending_ts:
            self._reject(msg, seq, RejectReason.SENDING_TIME_ACCURACY, 122)
            if increment:
                self.store.incr_next_target_seq()
            self._logout_and_disconnect(REJECT_TEXTS[RejectReason.SENDING_TIME_ACCURACY])
            return False
        return True

    def _on_sequence_reset(self, msg: FixMessage, seq: int) -> None:
        """SequenceReset-Reset: MsgSeqNum is ignored (absent, 0 or no number at all: ``seq``
        is then 0, and no error), NewSeqNo may only go up."""
        checked = msg if seq > 0 else _with_msg_seq_num_0(msg)
        rej = self.dictionary.validate(checked)
        if rej is not None:
            self._reject(msg, seq, rej.reason, rej.ref_tag, rej.text or None)
            return
        new_seq = msg.get_int(NEW_SEQ_NO) or 0
        expected = self.store.next_target_seq
        if new_seq > MAX_SEQ_NUM:
            text = _too_high(NEW_SEQ_NO, new_seq)
            self._reject(msg, seq, RejectReason.VALUE_OUT_OF_RANGE, NEW_SEQ_NO, text)
            return
        if new_seq < expected:
            self._reject(
                msg,
                seq,
                RejectReason.VALUE_OUT_OF_RANGE,
                NEW_SEQ_NO,
                f"Attempt to lower sequence number, invalid value NewSeqNo={new_seq}",
            )
            return
        if new_seq > expected:
            self.store.set_next_target_seq(new_seq)
        self._check_resend_complete()

    def _on_logon_reset(self, msg: FixMessage, seq: int) -> None:
        """Logon with ResetSeqNumFlag=Y during a session: both sides restart at 1."""
        if not self.settings.reset_on_logon:
            self._logout_and_disconnect("ResetSeqNumFlag(141)=Y is not allowed on this session")
            return
        rej = self.dictionary.validate(msg)
        if rej is not None or seq != 1:
            self._reject(
                msg,
                seq,
                rej.reason if rej else RejectReason.VALUE_OUT_OF_RANGE,
                34 if not rej else rej.ref_tag,
            )
            return
        wrong_appl_ver = self._wrong_appl_ver(msg, 1137)
        if wrong_appl_ver is not None:
            self._reject(msg, seq, RejectReason.INVALID_APPL_VER, 1137, wrong_appl_ver)
            return
        # 789: our answer will be MsgSeqNum 1, so 1 is the only right value; another one
        # is refused as on a first Logon (Logout + disconnect), before anything is reset
        _, refusal = self._next_expected(msg, 1)
        if refusal is not None:
            self._logout_and_disconnect(refusal)
            return
        self._check_credentials(msg, self._complete_logon_reset)

    def _complete_logon_reset(self, msg: FixMessage) -> None:
        """The reset, once the mid-session Logon's credentials are accepted."""
        if self.state not in _LIVE:
            return
        next_expected, _ = self._next_expected(msg, 1)
        self.store.reset()
        self._queue.clear()
        self.state = SessionState.LOGGED_ON
        # our 789, only if theirs came: their Logon (MsgSeqNum 1) counted, 2 is next
        self._send_logon_response(True, None if next_expected is None else 2)
        self.store.incr_next_target_seq()
        log.info("%s: sequence numbers reset by Logon 141=Y", self.session_id)

    def _on_logout(self, msg: FixMessage) -> None:
        if self.state is SessionState.LOGOUT_SENT:
            self._disconnect("Logout answered", clean=True)
            return
        self._send_logout("")
        self._disconnect("Logout received", clean=True)

    def _on_resend_request(self, msg: FixMessage) -> None:
        self._resend(msg.get_int(7) or 0, msg.get_int(16) or 0)

    def _resend(self, begin: int, end: int) -> None:
        """Resend ``begin..end`` (end 0: up to the last sent); shared by ResendRequest
        and a Logon whose NextExpectedMsgSeqNum(789) is below our next MsgSeqNum.

        Up to _RESEND_STEP numbers go out at once; a longer resend is paced (see
        _pump_replay), and what is sequenced meanwhile follows it in order."""
        replay = self._replay
        last = self.store.next_sender_seq - 1 if replay is None else replay.last
        if end == 0 or end > last:
            end = last  # during a paced resend: never past what it holds back
        if begin < 1 or begin > end:
            return
        if replay is not None:  # asked again while pacing: rewind (43=Y makes it safe)
            replay.next = min(replay.next, begin)
            log.info("%s: paced resend rewound to %d", self.session_id, replay.next)
            return
        if end - begin < _RESEND_STEP:
            self._resend_span(begin, end)
            log.info("%s: resent %d..%d", self.session_id, begin, end)
            return
        self._replay = _Replay(begin, end)
        log.info("%s: paced resend of %d..%d started", self.session_id, begin, end)
        self._pump_replay()

    def _resend_span(self, begin: int, end: int) -> None:
        """Write the stored messages of ``begin..end`` (43=Y, 122) and one GapFill for
        each run of numbers not stored (admin messages, or older than the store's
        resend window)."""
        cursor = begin
        now_b = format_utc_timestamp(self._wall_clock_us())
        try:
            stored = self.store.get_range(begin, end)
        except OSError as error:  # writing what it buffered first failed
            self._store_failed(error)
            return
        for m in stored:
            if m.seq_num > cursor:
                self._send_gap_fill(cursor, m.seq_num, now_b)
            extra = b"43=Y\x01122=" + m.sending_time + b"\x01"
            self._write_now(self._encoder.encode(m.msg_type, m.seq_num, now_b, m.body, extra))
            cursor = m.seq_num + 1
        if cursor <= end:
            self._send_gap_fill(cursor, end + 1, now_b)

    def _pump_replay(self) -> None:
        """One step of a paced resend; the next runs on the next loop pass, or once the
        write buffer drains. When it ends, the held-back messages follow."""
        while True:
            replay = self._replay
            if replay is None or self.state not in _LIVE or self._transport is None:
                return
            stop = min(replay.next + _RESEND_STEP - 1, replay.last)
            self._resend_span(replay.next, stop)
            replay.next = stop + 1
            if replay.next > replay.last:
                self._end_replay()
                log.info("%s: paced resend ended at %d", self.session_id, replay.last)
                self.flush()
                return
            self.flush()  # may pause writing at once (on_pause_writing)
            if not self._writable:
                return  # on_resume_writing goes on
            if self._scheduler is not None:
                self._scheduler(self._pump_replay)
                return

    def _end_replay(self) -> None:
        """Stop pacing; what was held back behind the resend goes out, in order."""
        replay, self._replay = self._replay, None
        if replay is not None:
            for data in replay.held:
                self._write_now(data)

    def _send_gap_fill(self, seq: int, new_seq: int, now_b: bytes) -> None:
        extra = b"43=Y\x01122=" + now_b + b"\x01"
        body = b"123=Y\x0136=%d\x01" % new_seq
        self._write_now(self._encoder.encode(b"4", seq, now_b, body, extra))

    def _queue_too_high(self, msg: FixMessage, seq: int, expected: int) -> None:
        if len(self._queue) < _MAX_QUEUED:
            self._queue[seq] = msg
        if self.state is SessionState.RESEND_IN_PROGRESS:
            self._resend_end = max(self._resend_end, seq - 1)
            return
        self._request_resend(expected, seq)

    def _request_resend(self, expected: int, seq: int) -> None:
        self._resend_end = seq - 1
        self.state = SessionState.RESEND_IN_PROGRESS
        self._send_admin(b"2", [(7, expected), (16, 0)])
        log.info("%s: gap %d..%d, ResendRequest sent", self.session_id, expected, seq - 1)

    def _check_resend_complete(self) -> None:
        if (
            self.state is SessionState.RESEND_IN_PROGRESS
            and self.store.next_target_seq > self._resend_end
        ):
            self.state = SessionState.LOGGED_ON

    def _drain_queue(self) -> None:
        queue = self._queue
        while queue and self.state in _LIVE:
            expected = self.store.next_target_seq
            for stale in [s for s in queue if s < expected]:
                del queue[stale]
            msg = queue.pop(expected, None)
            if msg is None:
                return
            mt = msg.msg_type
            if mt in ("A", "2"):  # already acted on when it arrived
                self.store.incr_next_target_seq()
                self._check_resend_complete()
            else:
                self._process_in_sequence(msg, expected, mt)

    # -- output helpers ------------------------------------------------------------

    def _send_admin(self, msg_type: bytes, fields: Iterable[tuple[int, FieldValue]]) -> int:
        seq = self.store.next_sender()
        sending_time = format_utc_timestamp(self._wall_clock_us())
        self._write(self._encoder.encode(msg_type, seq, sending_time, encode_fields(fields)))
        return seq

    def _send_logon_response(self, reset: bool, next_expected: int | None = None) -> None:
        """``next_expected``: our NextExpectedMsgSeqNum(789), sent only when the
        client's Logon carried one (FIX 4.4, FIXT.1.1). FIXT.1.1: DefaultApplVerID(1137)."""
        fields: list[tuple[int, FieldValue]] = [(98, 0), (108, self.heartbeat_s)]
        if reset:
            fields.append((141, b"Y"))
        if next_expected is not None:
            fields.append((789, next_expected))
        if self._appl_ver is not None:
            fields.append((1137, self._appl_ver))
        self._send_admin(b"A", fields)

    def _send_logout(self, text: str) -> None:
        self._send_admin(b"5", [(58, text)] if text else [])

    def _reject(
        self,
        msg: FixMessage,
        seq: int,
        reason: int,
        ref_tag: int | None,
        text: str | None = None,
    ) -> None:
        fields = _reverse_routing(msg)
        fields.append((REF_SEQ_NUM, seq))
        if ref_tag is not None:
            fields.append((REF_TAG_ID, ref_tag))
        mt = msg.get(MSG_TYPE)
        if mt:
            fields.append((REF_MSG_TYPE, mt))
        body_text = text or REJECT_TEXTS.get(reason, "Other")
        if self.fix42 and reason > RejectReason.INVALID_MSGTYPE:
            pass  # 373 only defines 0-11 in FIX 4.2: the reason goes in Text only
        else:
            fields.append((SESSION_REJECT_REASON, reason))
        fields.append((TEXT, body_text))
        self._send_admin(b"3", fields)
        log.info(
            "%s: Reject seq %d reason %d tag %s: %s",
            self.session_id,
            seq,
            reason,
            ref_tag,
            body_text,
        )

    def _write(self, data: bytes) -> None:
        """Write a newly sequenced message: after a paced resend, if one runs."""
        replay = self._replay
        if replay is None:
            self._write_now(data)
            return
        replay.held.append(data)
        if len(replay.held) > _MAX_HELD:
            self._replay = None  # nothing held is lost: app messages are in the store
            self._disconnect("slow consumer: paced resend not read", clean=False)

    def _write_now(self, data: bytes) -> None:
        self._out.append(data)
        self.msgs_out += 1
        self._last_sent = self._now
        self._wake()

    def _wake(self) -> None:
        if self._batch or self._flush_scheduled:
            return
        if self._scheduler is None:
            self.flush()
        else:
            self._flush_scheduled = True
            self._scheduler(self.flush)

    def _refuse_logon(self, reason: str) -> None:
        """A Logon not accepted before it could be trusted: disconnect, no Logout (the
        test cases' answer to a Logon with a wrong BeginString or SendingTime)."""
        log.warning("%s: logon refused, disconnecting: %s", self.session_id, reason)
        self._disconnect(reason, clean=False)

    def _logout_and_disconnect(self, text: str) -> None:
        self._send_logout(text)
        log.warning("%s: logout: %s", self.session_id, text)
        self._disconnect(text, clean=False)

    def _disconnect(self, reason: str, clean: bool, quiet: bool = False) -> None:
        """``quiet``: a refusal whose log line was rate-limited away logs no more here."""
        if self.state is SessionState.DISCONNECTED:
            return
        was_logged_on = self.state in _LIVE or self.state is SessionState.LOGOUT_SENT
        self.state = SessionState.DISCONNECTED
        self._end_replay()  # e.g. a Logout held back behind the resend: it goes out
        self._writable = True
        self.flush()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        self._queue.clear()
        self._held = None
        self._auth_token += 1  # a check still running answers nobody
        if not quiet:
            log.info("%s: disconnected: %s", self.session_id, reason)
        if was_logged_on:
            self.logout_reason = reason
            self.application.on_logout(self, clean)


def _reverse_routing(msg: FixMessage) -> list[tuple[int, FieldValue]]:
    """The routing fields (OnBehalfOf*/DeliverTo*) an answer to ``msg`` carries: each
    one it has, in its reverse field (115 -> 128, 128 -> 115, ...)."""
    return [(back, value) for tag, back in REVERSE_ROUTING if (value := msg.get(tag))]


def _with_msg_seq_num_0(msg: FixMessage) -> FixMessage:
    """``msg`` with MsgSeqNum(34)=0 (in place of its own, else after MsgType), for
    validating a message whose MsgSeqNum is ignored: an absent or malformed one is
    then no reason to reject it."""
    fields = list(msg.fields)
    for i, (tag, _) in enumerate(fields):
        if tag == MSG_SEQ_NUM:
            fields[i] = (MSG_SEQ_NUM, b"0")
            return FixMessage(fields)
    fields.insert(3, (MSG_SEQ_NUM, b"0"))
    return FixMessage(fields)
