"""Signed client REST requests: an API key's HMAC secret or Ed25519 key over the request.

The same keys, scopes, IP allowlists and expiries as the WebSocket ``session.logon``
(gateway/ws/auth.py). A request carries four headers: the key id, a millisecond Unix
timestamp, a nonce (16..64 characters of ``[A-Za-z0-9_-]``) and the hex signature of::

    API_KEY \\n METHOD \\n PATH?QUERY (as sent) \\n TIMESTAMP \\n NONCE \\n hex(sha256(body))

that is, the key id and a line feed before the admin API's canonical string
(gateway/admin/signing.py). The signature is HMAC-SHA256 with the key's secret (64 hex
digits) or Ed25519 (128 hex digits), as at logon. The gateway refuses a timestamp
outside ``[ws] logon_window_ms`` and a payload it has accepted within that window, so
a captured request cannot be replayed; the key id in the payload keeps a signature
of one key from being presented as another's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Final

from gateway.admin.signing import NONCE_PATTERN, canonical

__all__ = [
    "HEADER_KEY",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "NONCE_PATTERN",
    "request_payload",
    "sign_request",
]

HEADER_KEY: Final = "X-Api-Key"
HEADER_TIMESTAMP: Final = "X-Api-Timestamp"
HEADER_NONCE: Final = "X-Api-Nonce"
HEADER_SIGNATURE: Final = "X-Api-Signature"


def request_payload(
    api_key: str, method: str, path_qs: str, timestamp_ms: int, nonce: str, body: bytes
) -> bytes:
    """The bytes a client signs."""
    return api_key.encode() + b"\n" + canonical(method, path_qs, timestamp_ms, nonce, body)


def sign_request(
    api_key: str,
    method: str,
    path_qs: str,
    body: bytes = b"",
    *,
    hmac_secret: str = "",
    ed25519_seed: str = "",
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers of one request, signed with an HMAC secret or a hex Ed25519
    seed (a fresh nonce and the current time unless given)."""
    ts = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    nonce = secrets.token_urlsafe(24) if nonce is None else nonce
    payload = request_payload(api_key, method, path_qs, ts, nonce, body)
    if hmac_secret:
        signature = hmac.new(hmac_secret.encode(), payload, hashlib.sha256).hexdigest()
    else:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        seed = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(ed25519_seed))
        signature = seed.sign(payload).hex()
    return {
        HEADER_KEY: api_key,
        HEADER_TIMESTAMP: str(ts),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }
