"""Logon authentication over real sockets: password edge cases, mid-session Logons,
work kept off the event loop, failure throttling and Ed25519 replays."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.fix import auth
from gateway.fix.auth import AUTH_BUSY, AUTH_FAILED, AUTH_THROTTLED, hash_password
from gateway.fix.session import SessionState
from gateway.fix.settings import AuthMode, SessionSettings
from tests.fix.conftest import CLIENT, FixClient, Harness, encode, parse_one, signed_logon

PASSWORD = "s3cret"
_HASH = hash_password(PASSWORD, salt=b"\x01" * 16)


def password_session(target: str = CLIENT, **kw: object) -> SessionSettings:
    return SessionSettings(
        target_comp_id=target,
        auth=AuthMode.PASSWORD,
        password_hash=_HASH,
        **kw,  # type: ignore[arg-type]
    )


def credentials(password: str = PASSWORD) -> list[tuple[int, str]]:
    return [(553, "u"), (554, password)]


class CountingScrypt:
    """Replaces auth._scrypt: counts calls and, while ``gate`` is clear, holds each
    one (at most ``hold_s``: a check wrongly run on the event loop freezes it)."""

    def __init__(self, real: Callable[[bytes, bytes], bytes], hold_s: float = 2.0) -> None:
        self._real = real
        self._hold_s = hold_s
        self._lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.started = 0
        self.finished = 0
        #: the nice value of the thread that ran each check
        self.nice: list[int] = []

    def __call__(self, password: bytes, salt: bytes) -> bytes:
        with self._lock:
            self.started += 1
            if sys.platform == "linux":
                self.nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        self.gate.wait(self._hold_s)
        try:
            return self._real(password, salt)
        finally:
            with self._lock:
                self.finished += 1


@pytest.fixture
def scrypt(monkeypatch: pytest.MonkeyPatch) -> CountingScrypt:
    counting = CountingScrypt(auth._scrypt)
    monkeypatch.setattr(auth, "_scrypt", counting)
    return counting


async def connect_from(h: Harness, host: str, sender: str = CLIENT) -> FixClient:
    """A client whose connection comes from the loopback address ``host``."""
    assert h.acceptor is not None
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", h.acceptor.port, local_addr=(host, 0)
    )
    client = FixClient(reader, writer, sender=sender)
    h.clients.append(client)
    return client


async def refused(c: FixClient, text: str) -> None:
    lo = await c.expect("5")
    assert lo.get(58) == text.encode()
    await c.expect_closed()


async def test_password_with_trailing_nul_refused(harness: Harness) -> None:
    # scrypt keys HMAC with the password, and HMAC pads short keys with zero bytes:
    # "s3cret\0" hashed the same as "s3cret"
    await harness.start(password_session())
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30), (553, "u"), (554, PASSWORD + "\x00")])
    lo = await c.expect("5")
    assert lo.get(58) == b"Authentication failed"
    await c.expect_closed()
    assert harness.session().state is SessionState.DISCONNECTED
    c2 = await harness.connect()
    await c2.logon([(553, "u"), (554, PASSWORD)])


# -- password checks run off the event loop ---------------------------------------


async def test_password_checks_do_not_hold_the_event_loop(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    others = [f"P{i}" for i in range(3)]
    await harness.start(
        SessionSettings(target_comp_id=CLIENT), *(password_session(t) for t in others)
    )
    c = await harness.connect()
    await c.logon()
    scrypt.gate.clear()
    wrong = []
    for target in others:
        w = await harness.connect(sender=target)
        await w.send("A", [(98, 0), (108, 30), *credentials("wrong")])
        wrong.append(w)
    await harness.wait_for(lambda: scrypt.started >= 1)
    # a check is running, none has finished: the loop still answers
    await c.send("1", [(112, "PING")])
    hb = await c.expect("0")
    assert hb.get(112) == b"PING"
    assert scrypt.finished == 0
    assert harness.acceptor is not None
    assert harness.acceptor.logon_guard.pending == len(others)  # all in flight
    scrypt.gate.set()
    for w in wrong:
        await refused(w, AUTH_FAILED)
    assert scrypt.finished == len(others)


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
async def test_password_checks_run_at_the_lowest_priority(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    # a flood of checks must take only the CPU the event loop leaves
    await harness.start(password_session())
    c = await harness.connect()
    await c.logon(credentials())
    assert scrypt.nice == [auth.AUTH_THREAD_NICE]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < auth.AUTH_THREAD_NICE


async def test_input_behind_a_logon_waits_for_its_answer(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    await harness.start(password_session())
    c = await harness.connect()
    scrypt.gate.clear()
    logon = c.build("A", [(98, 0), (108, 30), *credentials()])
    await c.send_raw(logon + c.build("1", [(112, "BEHIND")]))
    await harness.wait_for(lambda: scrypt.started == 1)
    assert harness.session().state is SessionState.AWAITING_LOGON
    scrypt.gate.set()
    await c.expect("A")
    hb = await c.expect("0")
    assert hb.get(112) == b"BEHIND"
    assert harness.session().next_target_seq == 3


async def test_answer_for_a_closed_connection_is_void(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    await harness.start(password_session())
    scrypt.gate.clear()
    gone = await harness.connect()
    await gone.send("A", [(98, 0), (108, 30), *credentials("wrong")])
    await harness.wait_for(lambda: scrypt.started == 1)
    await gone.close()
    sess = harness.session()
    await harness.wait_for(lambda: sess.state is SessionState.DISCONNECTED)
    # a new connection logs on while the old check still runs: its failure, when it
    # comes, must not log the new connection out
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30), *credentials()])
    scrypt.gate.set()
    await c.expect("A")
    await harness.wait_for(lambda: scrypt.finished == 2)
    await c.send("1", [(112, "STILL")])
    assert (await c.expect("0")).get(112) == b"STILL"
    assert sess.state is SessionState.LOGGED_ON


# -- failed logons are throttled ----------------------------------------------------


async def test_failed_logons_throttled_without_hashing(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    await harness.start(password_session(), password_session("CLIENT2"))
    assert harness.acceptor is not None
    harness.acceptor.logon_guard.base_delay_s = 60.0  # blocks outlast the tarpits below
    free = harness.acceptor.logon_guard.free_failures
    for _ in range(free):
        c = await connect_from(harness, "127.0.0.1")
        await c.send("A", [(98, 0), (108, 30), *credentials("wrong")])
        await refused(c, AUTH_FAILED)
    assert scrypt.started == free
    # one failure more blocks the source address and the CompID: even the right
    # password is refused, and not hashed
    c = await connect_from(harness, "127.0.0.1")
    await c.send("A", [(98, 0), (108, 30), *credentials("wrong")])
    await refused(c, AUTH_FAILED)
    hashed = scrypt.started
    c = await connect_from(harness, "127.0.0.1")
    await c.send("A", [(98, 0), (108, 30), *credentials()])
    await refused(c, AUTH_THROTTLED)
    other_address = await connect_from(harness, "127.0.0.2")
    await other_address.send("A", [(98, 0), (108, 30), *credentials()])
    await refused(other_address, AUTH_THROTTLED)  # the CompID is blocked
    other_session = await connect_from(harness, "127.0.0.1", sender="CLIENT2")
    await other_session.send("A", [(98, 0), (108, 30), *credentials()])
    await refused(other_session, AUTH_THROTTLED)  # the address is blocked
    assert scrypt.started == hashed
    # neither blocked: a new address on another session
    fresh = await connect_from(harness, "127.0.0.2", sender="CLIENT2")
    await fresh.logon(credentials())
    assert scrypt.started == hashed + 1


async def test_checks_in_flight_count_against_their_source(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    # throttling counts failures when their checks finish: without counting the ones
    # still running, concurrent wrong logons from one address would all be hashed
    # before the first failure is known
    targets = [f"P{i}" for i in range(6)]
    await harness.start(*(password_session(t) for t in targets))
    assert harness.acceptor is not None
    guard = harness.acceptor.logon_guard
    guard.tarpit_s = 0.0  # refusals answered at once
    scrypt.gate.clear()
    clients = []
    for target in targets:
        c = await connect_from(harness, "127.0.0.3", sender=target)
        await c.send("A", [(98, 0), (108, 30), *credentials("wrong")])
        clients.append(c)
    running, waiting = clients[: guard.free_failures], clients[guard.free_failures :]
    for c in waiting:
        await refused(c, AUTH_BUSY)
    assert guard.pending == guard.free_failures
    scrypt.gate.set()
    for c in running:
        await refused(c, AUTH_FAILED)
    assert scrypt.started == guard.free_failures
    # every free failure is used: one check at a time until the address is blocked
    scrypt.gate.clear()
    first = await connect_from(harness, "127.0.0.3", sender=targets[0])
    await first.send("A", [(98, 0), (108, 30), *credentials("wrong")])
    await harness.wait_for(lambda: guard.pending == 1)
    second = await connect_from(harness, "127.0.0.3", sender=targets[1])
    await second.send("A", [(98, 0), (108, 30), *credentials()])
    await refused(second, AUTH_BUSY)
    scrypt.gate.set()
    await refused(first, AUTH_FAILED)
    # the same limit per session, from another address: a fresh address and session
    # still log on
    fresh = await connect_from(harness, "127.0.0.4", sender=targets[5])
    await fresh.logon(credentials())


# -- a Logon during the session is authenticated like the first ---------------------


async def in_session(h: Harness) -> FixClient:
    """A password session logged on and one exchange in: both numbers are at 3."""
    await h.start(password_session())
    c = await h.connect()
    await c.logon(credentials())
    await c.send("1", [(112, "X")])
    await c.expect("0")
    sess = h.session()
    assert (sess.next_target_seq, sess.next_sender_seq) == (3, 3)
    return c


async def test_mid_session_reset_logon_with_wrong_password_refused(harness: Harness) -> None:
    c = await in_session(harness)
    await c.send("A", [(98, 0), (108, 30), (141, "Y"), *credentials("wrong")], seq=1)
    await refused(c, AUTH_FAILED)
    # not reset: only our Logout was sequenced
    sess = harness.session()
    assert (sess.next_target_seq, sess.next_sender_seq) == (3, 4)


async def test_mid_session_reset_logon_with_right_password_resets(harness: Harness) -> None:
    c = await in_session(harness)
    await c.send("A", [(98, 0), (108, 30), (141, "Y"), *credentials()], seq=1)
    ack = await c.expect("A")
    assert ack.get(141) == b"Y" and ack.get(34) == b"1"
    sess = harness.session()
    assert (sess.next_target_seq, sess.next_sender_seq) == (2, 2)


# -- Ed25519: the whole Logon is signed, and each signed Logon works once -----------

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def ed25519_session() -> SessionSettings:
    pub = KEY.public_key().public_bytes_raw().hex()
    return SessionSettings(
        target_comp_id=CLIENT, auth=AuthMode.ED25519, ed25519_public_keys={"k1": pub}
    )


def altered(logon: bytes, tag: int, value: bytes) -> bytes:
    """``logon`` with one field's value changed, framed again (signature kept)."""
    msg = parse_one(logon)
    fields = [(t, value if t == tag else v) for t, v in msg.fields if t not in (8, 9, 10)]
    return encode(msg.begin_string, fields)


async def test_replayed_signed_logon_refused(harness: Harness) -> None:
    await harness.start(ed25519_session())
    c = await harness.connect()
    logon = signed_logon(c, KEY, "k1", [(98, 0), (108, 30), (141, "Y")], seq=1)
    await c.send_raw(logon)
    await c.expect("A")
    await c.send("5")
    await c.expect("5")
    await c.expect_closed()
    sess = harness.session()
    assert (sess.next_target_seq, sess.next_sender_seq) == (3, 3)
    # the captured Logon, byte for byte, on a new connection (141=Y, 34=1 would fit)
    thief = await harness.connect()
    await thief.send_raw(logon)
    await refused(thief, AUTH_FAILED)
    assert sess.next_target_seq == 3  # nothing reset


async def test_signed_logon_with_altered_fields_refused(harness: Harness) -> None:
    await harness.start(ed25519_session())
    c = await harness.connect()
    logon = signed_logon(c, KEY, "k1", [(98, 0), (108, 30), (141, "Y")], seq=1)
    for tag, value in ((108, b"5"), (141, b"N"), (553, b"k2")):
        thief = await harness.connect()
        await thief.send_raw(altered(logon, tag, value))
        await refused(thief, AUTH_FAILED)
    await c.send_raw(logon)  # the original was never used: accepted once
    await c.expect("A")


async def test_failed_logons_are_logged_once_a_minute_with_a_count(
    harness: Harness, scrypt: CountingScrypt, caplog: pytest.LogCaptureFixture
) -> None:
    """A password guesser costs one log line, not three per attempt: the first failure
    is logged (and its disconnect); the next ones only add to the count."""
    caplog.set_level(logging.INFO, logger="gateway.fix.session")
    await harness.start(password_session())
    assert harness.acceptor is not None
    for _ in range(harness.acceptor.logon_guard.free_failures):
        c = await connect_from(harness, "127.0.0.1")
        await c.send("A", [(98, 0), (108, 30), *credentials("wrong")])
        await refused(c, AUTH_FAILED)
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.fix.session"]
    failed = [line for line in lines if "logon authentication failed" in line]
    assert len(failed) == 1 and failed[0].endswith("(0 more since the last line)")
    assert len([line for line in lines if ": disconnected: " in line]) == 1
    assert not [line for line in lines if ": logout: " in line]


async def test_throttled_logon_answered_only_after_the_tarpit(
    harness: Harness, scrypt: CountingScrypt
) -> None:
    """A throttled Logon is not answered at once: a client that logs on again as soon
    as it is refused waits ``tarpit_s`` per attempt instead of looping on the loop's
    time. Meanwhile other sessions log on as usual."""
    await harness.start(password_session(), password_session("CLIENT2"))
    assert harness.acceptor is not None
    guard = harness.acceptor.logon_guard
    for _ in range(guard.free_failures + 1):
        c = await connect_from(harness, "127.0.0.1")
        await c.send("A", [(98, 0), (108, 30), *credentials("wrong")])
        await refused(c, AUTH_FAILED)
    guard.tarpit_s = 60.0
    throttled = await connect_from(harness, "127.0.0.1")
    await throttled.send("A", [(98, 0), (108, 30), *credentials()])
    other = await connect_from(harness, "127.0.0.2", sender="CLIENT2")
    await other.logon(credentials())
    await other.send("1", [(112, "after")])
    await other.expect("0")
    with pytest.raises(TimeoutError):
        await throttled.recv(timeout=0.2)  # the other session's round trip went first
