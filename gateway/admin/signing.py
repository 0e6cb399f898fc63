"""Signed admin requests: Ed25519 over a canonical string, timestamp plus nonce.

A request carries four headers: the operator id, a millisecond Unix timestamp, a nonce
(16..64 characters of ``[A-Za-z0-9_-]``) and the hex Ed25519 signature of::

    METHOD \\n PATH?QUERY (as sent) \\n TIMESTAMP \\n NONCE \\n hex(sha256(body))

The gateway refuses a timestamp outside its window and a nonce it accepted within the
window, so a captured request cannot be replayed. Verifying costs tens of microseconds
(one Ed25519 verify per key the operator holds), so it runs inline on the event loop.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "HEADER_NONCE",
    "HEADER_OPERATOR",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "NONCE_PATTERN",
    "canonical",
    "public_key_of",
    "sign_request",
    "verify",
]

HEADER_OPERATOR: Final = "X-Operator-Id"
HEADER_TIMESTAMP: Final = "X-Operator-Timestamp"
HEADER_NONCE: Final = "X-Operator-Nonce"
HEADER_SIGNATURE: Final = "X-Operator-Signature"
NONCE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


def canonical(method: str, path_qs: str, timestamp_ms: int, nonce: str, body: bytes) -> bytes:
    """The bytes an operator signs."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path_qs}\n{timestamp_ms}\n{nonce}\n{digest}".encode()


def _private(seed_hex: str) -> Ed25519PrivateKey:
    seed = bytes.fromhex(seed_hex)
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes (64 hex digits)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_of(seed_hex: str) -> str:
    """The hex public key of a hex private seed (ValueError if it is not 32 bytes)."""
    public = _private(seed_hex).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def sign_request(
    seed_hex: str,
    operator: str,
    method: str,
    path_qs: str,
    body: bytes = b"",
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four auth headers for one request (a fresh nonce and the current time unless
    given)."""
    ts = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    nonce = secrets.token_urlsafe(24) if nonce is None else nonce
    signature = _private(seed_hex).sign(canonical(method, path_qs, ts, nonce, body))
    return {
        HEADER_OPERATOR: operator,
        HEADER_TIMESTAMP: str(ts),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature.hex(),
    }


def verify(public_keys: list[str], message: bytes, signature: bytes) -> bool:
    """True if any of the operator's keys signed message."""
    for key_hex in public_keys:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex)).verify(signature, message)
        except (InvalidSignature, ValueError):
            continue
        return True
    return False
