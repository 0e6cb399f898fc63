"""Password hashes, the Ed25519 test vectors of fix_specs/, and the logon guard's
tarpit."""

from __future__ import annotations

import asyncio
import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.fix.auth import (
    LogonGuard,
    decode_signature,
    ed25519_payload,
    hash_password,
    logon_payload,
    verify_ed25519,
    verify_password,
)
from gateway.fix.codec import FixMessage, FrameReader
from gateway.fix.dictionary import SPEC_DIR, load_dictionary


def test_password_hash_roundtrip() -> None:
    h = hash_password("hunter2", salt=b"\x00" * 16)
    assert h.startswith("scrypt$" + "00" * 16 + "$")
    assert verify_password(h, "hunter2")
    assert not verify_password(h, "hunter3")
    assert not verify_password("plain", "plain")
    assert not verify_password("scrypt$zz$zz", "x")
    assert verify_password(h, b"hunter2")


def test_password_with_nul_never_verifies() -> None:
    h = hash_password("hunter2", salt=b"\x00" * 16)
    assert not verify_password(h, "hunter2\x00")
    assert not verify_password(h, b"hunter2\x00\x00")
    with pytest.raises(ValueError, match="NUL"):
        hash_password("a\x00b")


def test_ed25519_vectors() -> None:
    doc = json.loads((SPEC_DIR / "ed25519_test_vectors.json").read_text())
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(doc["seed_hex"]))
    assert key.public_key().public_bytes_raw().hex() == doc["public_key_hex"]
    for v in doc["vectors"]:
        fields = [(8, v["begin_string"].encode())]
        fields += [(tag, value.encode()) for tag, value in v["fields"]]
        payload = ed25519_payload(fields)
        assert payload.hex() == v["payload_hex"]
        assert payload.replace(b"\x01", b"|").decode() == v["payload_text"]
        sig = key.sign(payload)  # Ed25519 is deterministic
        assert sig.hex() == v["signature_hex"]
        assert base64.b64encode(sig).decode() == v["signature_base64"]
        assert verify_ed25519(doc["public_key_hex"], payload, sig)
        assert not verify_ed25519(doc["public_key_hex"], payload + b"x", sig)
        # the example Logon frames, validates and verifies end to end
        [msg] = FrameReader().feed(v["logon_message"].replace("|", "\x01").encode())
        assert isinstance(msg, FixMessage)
        assert load_dictionary("FIX.4.4").validate(msg) is None
        decoded = decode_signature(msg.get(96) or b"")
        assert decoded == sig
        assert verify_ed25519(doc["public_key_hex"], logon_payload(msg), decoded)


def test_decode_signature_forms() -> None:
    raw = bytes(range(64))
    assert decode_signature(raw) == raw
    assert decode_signature(base64.b64encode(raw)) == raw
    assert decode_signature(b"not base64!") is None
    assert decode_signature(base64.b64encode(b"short")) is None


async def _tarpit_delays(guard: LogonGuard, n: int) -> list[float]:
    """The delays ``guard`` answers ``n`` Logons of a blocked source after."""
    loop = asyncio.get_running_loop()
    delays: list[float] = []
    real_call_later = loop.call_later

    def recording(delay: float, *args: object) -> asyncio.TimerHandle:
        delays.append(delay)
        return real_call_later(0, lambda: None)

    guard.check(["address x"], lambda: False, lambda _r: None, slow=False)  # blocks x
    loop.call_later = recording  # type: ignore[method-assign,assignment]
    try:
        for _ in range(n):
            answers: list[str | None] = []
            guard.check(["address x"], lambda: True, answers.append, slow=True)
    finally:
        del loop.call_later
    return delays


async def test_tarpit_delays_are_spread_around_tarpit_s() -> None:
    # a fixed delay would send every refused client of a flood back at the same
    # moment, a wave the event loop meets all at once, again and again
    with ThreadPoolExecutor(1) as pool:
        draws = iter([0.0, 0.5, 0.999])
        guard = LogonGuard(pool, free_failures=0, tarpit_s=2.0, random=lambda: next(draws))
        assert await _tarpit_delays(guard, 3) == [1.0, 2.0, pytest.approx(2.998)]
        spread = await _tarpit_delays(LogonGuard(pool, free_failures=0, tarpit_s=2.0), 20)
    assert len(set(spread)) == 20
    assert all(1.0 <= d < 3.0 for d in spread)
