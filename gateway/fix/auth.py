"""Logon authentication: salted password hashes and Ed25519 signatures.

Password hashes use scrypt (``hashlib.scrypt``, N=2**14, r=8, p=1, 32-byte key)
in the format ``scrypt$<salt hex>$<hash hex>``. Passwords are never logged or
stored in clear.

Ed25519 logons sign the whole Logon: every field in the order sent, BeginString(8)
first, each as ``tag=value<SOH>``, leaving out only BodyLength(9), the signature's
RawDataLength(95) and RawData(96), and CheckSum(10) (:func:`ed25519_payload`); the key
is the one whose id is in Username(553). The 64-byte signature travels in RawData(96)
either raw (RawDataLength 95 = 64) or base64-encoded (95 = 88). Each signed Logon is
accepted once (the session remembers it while its SendingTime is within tolerance).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.fix.codec import FixMessage

__all__ = [
    "AUTH_BUSY",
    "AUTH_FAILED",
    "AUTH_THROTTLED",
    "UNSIGNED_TAGS",
    "LogonGuard",
    "decode_signature",
    "ed25519_payload",
    "hash_password",
    "logon_payload",
    "lower_thread_priority",
    "verify_ed25519",
    "verify_password",
]

log = logging.getLogger(__name__)

#: Logout texts of a refused authentication.
AUTH_FAILED: Final = "Authentication failed"
AUTH_THROTTLED: Final = "Too many failed logons; retry later"
AUTH_BUSY: Final = "Authentication busy; retry later"

_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_LEN = 32


def _scrypt(password: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(
        password, salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_SCRYPT_LEN
    )


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` for a config file (16-byte random salt)."""
    if "\x00" in password:
        raise ValueError("a password may not contain NUL characters")
    salt = os.urandom(16) if salt is None else salt
    return f"scrypt${salt.hex()}${_scrypt(password.encode(), salt).hex()}"


def verify_password(stored: str, password: str | bytes) -> bool:
    """Constant-time check of ``password`` (text, or its UTF-8 bytes as received)
    against a stored ``scrypt$...`` hash.

    A password containing NUL is refused before hashing: scrypt keys HMAC-SHA256 with
    the password, and HMAC pads a short key with zero bytes, so ``"pw\\0"`` would hash
    exactly like ``"pw"``."""
    raw = password.encode() if isinstance(password, str) else password
    if b"\x00" in raw:
        return False
    parts = stored.split("$")
    if len(parts) != 3 or parts[0] != "scrypt":
        return False
    try:
        salt, expected = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return False
    return hmac.compare_digest(_scrypt(raw, salt), expected)


#: The fields of a Logon its signature does not cover: the framing (BodyLength,
#: CheckSum) and the signature itself (RawDataLength, RawData).
UNSIGNED_TAGS: Final = frozenset((9, 10, 95, 96))


def ed25519_payload(fields: Iterable[tuple[int, bytes]]) -> bytes:
    """The signed bytes: ``fields`` (a Logon's, in order, BeginString first) as
    ``tag=value<SOH>``, without :data:`UNSIGNED_TAGS`."""
    return b"".join(b"%d=%s\x01" % (t, v) for t, v in fields if t not in UNSIGNED_TAGS)


def logon_payload(msg: FixMessage) -> bytes:
    """:func:`ed25519_payload` of a received Logon (values as sent)."""
    return ed25519_payload(msg.fields)


def decode_signature(raw: bytes) -> bytes | None:
    """RawData(96) -> 64-byte signature (raw or base64), else ``None``."""
    if len(raw) == 64:
        return raw
    try:
        sig = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return sig if len(sig) == 64 else None


def verify_ed25519(public_key_hex: str, payload: bytes, signature: bytes) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


#: The nice value of the threads running password checks: the lowest priority.
AUTH_THREAD_NICE: Final = 19


def lower_thread_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux, where a thread has its
    own nice value; elsewhere nothing): a flood of password checks then takes only
    CPU time the event loop leaves, instead of sharing a core with it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), AUTH_THREAD_NICE)
    except (AttributeError, OSError) as exc:  # no setpriority, or not allowed
        log.info("password checks run at normal priority: %s", exc)


class _Failures:
    __slots__ = ("blocked_until", "count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.blocked_until = 0.0


class LogonGuard:
    """Runs logon credential checks and throttles failed ones.

    A slow check (scrypt) runs on ``executor`` so that it never holds the event loop;
    at most ``max_pending`` wait or run there, and a check beyond that is refused
    (:data:`AUTH_BUSY`) without running. Without an executor (sans-I/O tests) checks
    run inline.

    Throttling: each *source* (the peer's IP address, the session's CompIDs) may fail
    ``free_failures`` times in a row; every further failure blocks it for ``base_delay_s``
    doubled per failure, up to ``max_delay_s``. A check from a blocked source is
    refused (:data:`AUTH_THROTTLED`) without running; that refusal, and a busy one, is
    answered about ``tarpit_s`` later (0.5 to 1.5 times it, at random, so that the
    clients of a flood do not all come back at once), so a client that retries at
    once waits. A check in
    flight counts against its sources: each may have as many running as it may still
    fail before it is blocked (at least one), and a check beyond that is busy, so that
    concurrent wrong logons from one source are not all hashed before the first
    failure is known. A success
    clears its sources, a source quiet for ``forget_s`` starts again from zero, and at
    most ``max_sources`` are remembered (the least recently failed is forgotten first).
    """

    def __init__(
        self,
        executor: Executor | None = None,
        *,
        max_pending: int = 128,
        free_failures: int = 3,
        base_delay_s: float = 1.0,
        max_delay_s: float = 60.0,
        forget_s: float = 600.0,
        max_sources: int = 100_000,
        tarpit_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._executor = executor
        self._random = random
        self.tarpit_s = tarpit_s
        self.max_pending = max_pending
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.forget_s = forget_s
        self.max_sources = max_sources
        self._clock = clock
        self._failures: dict[str, _Failures] = {}
        #: checks submitted to the executor and not finished
        self.pending = 0
        #: source -> its checks submitted to the executor and not finished
        self._in_flight: dict[str, int] = {}

    def check(
        self,
        sources: Sequence[str],
        verify: Callable[[], bool],
        done: Callable[[str | None], None],
        *,
        slow: bool,
    ) -> None:
        """Run ``verify`` unless a source is throttled, then call ``done`` on the
        loop with None (accepted) or the refusal text. ``slow`` checks go to the
        executor; ``done`` may be called before this returns."""
        now = self._clock()
        for source in sources:
            rec = self._failures.get(source)
            if rec is not None and rec.blocked_until > now:
                self._refuse(AUTH_THROTTLED, done)
                return
        if not slow or self._executor is None:
            self._finish(sources, _run(verify), done)
            return
        if self.pending >= self.max_pending or not all(map(self._may_start, sources)):
            self._refuse(AUTH_BUSY, done)
            return
        self.pending += 1
        in_flight = self._in_flight
        for source in sources:
            in_flight[source] = in_flight.get(source, 0) + 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, _run, verify)

        def finished(f: asyncio.Future[bool]) -> None:
            self.pending -= 1
            for source in sources:
                left = in_flight[source] - 1
                if left:
                    in_flight[source] = left
                else:
                    del in_flight[source]
            if not f.cancelled():  # cancelled: the acceptor is stopping
                self._finish(sources, f.result(), done)

        future.add_done_callback(finished)

    def _may_start(self, source: str) -> bool:
        """``source`` has fewer checks in flight than it may still fail (at least one)."""
        running = self._in_flight.get(source, 0)
        if not running:
            return True
        rec = self._failures.get(source)
        failed = 0 if rec is None or self._clock() - rec.last > self.forget_s else rec.count
        return running < self.free_failures - failed

    def _refuse(self, refusal: str, done: Callable[[str | None], None]) -> None:
        """A refusal without a check is answered about ``tarpit_s`` later (at once
        without an executor: sans-I/O tests): a client that logs on again as soon as it
        is refused would otherwise turn each refusal into a new connection, Logon and
        Logout for the event loop, as fast as it can loop. The delay is spread (0.5 to
        1.5 times ``tarpit_s``) so that a flood's refusals, and the retries they
        cause, reach the loop one by one and not as a wave every ``tarpit_s``."""
        if self._executor is None or self.tarpit_s <= 0:
            done(refusal)
            return
        delay = self.tarpit_s * (0.5 + self._random())
        asyncio.get_running_loop().call_later(delay, done, refusal)

    def _finish(self, sources: Sequence[str], ok: bool, done: Callable[[str | None], None]) -> None:
        if ok:
            for source in sources:
                self._failures.pop(source, None)
            done(None)
            return
        now = self._clock()
        failures = self._failures
        for source in sources:
            rec = failures.pop(source, None)  # re-inserted last: dict order is recency
            if rec is None or now - rec.last > self.forget_s:
                rec = _Failures()
            rec.count += 1
            rec.last = now
            over = rec.count - self.free_failures
            if over > 0:
                rec.blocked_until = now + min(
                    self.base_delay_s * 2 ** min(over - 1, 32), self.max_delay_s
                )
            failures[source] = rec
        while len(failures) > self.max_sources:
            del failures[next(iter(failures))]
        done(AUTH_FAILED)


def _run(verify: Callable[[], bool]) -> bool:
    """``verify()``; an exception is a failed check, logged (never with credentials)."""
    try:
        return verify()
    except Exception:
        log.exception("logon credential check raised")
        return False
