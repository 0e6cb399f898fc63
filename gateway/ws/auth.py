"""session.logon verification: HMAC-SHA256 or Ed25519 over a fixed payload.

Payload (UTF-8): ``f"{api_key}\\n{timestamp_ms}"`` -- the key id, a line feed, and the
decimal millisecond timestamp exactly as sent in ``timestamp_ms``. Signature: lower-
or upper-case hex of either HMAC-SHA256(secret, payload) (64 hex digits) or the
Ed25519 signature of payload (128 hex digits). Which one is decided by the length;
a key must have the matching credential configured.

Each payload logs on once: a verified ``(api_key, timestamp_ms)`` is remembered until
it leaves the window, and using it again (a replayed logon) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.config import ApiKeyConfig
from gateway.single_use import SingleUse
from gateway.ws.errors import ApiError, ErrorCode

__all__ = ["KeyRing", "logon_payload", "sign_ed25519", "sign_hmac"]

#: Logon payloads remembered (each until it leaves the window); when this many are,
#: logons are refused until some expire. Only valid signatures are remembered.
_MAX_REMEMBERED = 100_000


def logon_payload(api_key: str, timestamp_ms: int) -> bytes:
    return f"{api_key}\n{timestamp_ms}".encode()


def sign_hmac(secret: str, api_key: str, timestamp_ms: int) -> str:
    """What a client computes for an HMAC key (used by tests and examples)."""
    return hmac.new(
        secret.encode(), logon_payload(api_key, timestamp_ms), hashlib.sha256
    ).hexdigest()


def sign_ed25519(private_key_seed_hex: str, api_key: str, timestamp_ms: int) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_key_seed_hex))
    return key.sign(logon_payload(api_key, timestamp_ms)).hex()


@dataclass(frozen=True, slots=True)
class _Key:
    account: str
    hmac_secret: bytes
    ed25519: Ed25519PublicKey | None


class KeyRing:
    """The configured API keys; verify() returns the account or raises ApiError."""

    def __init__(self, keys: list[ApiKeyConfig], window_ms: int) -> None:
        self.window_ms = window_ms
        self._used = SingleUse(_MAX_REMEMBERED)
        self._keys = {
            k.key: _Key(
                k.account,
                k.hmac_secret.encode(),
                Ed25519PublicKey.from_public_bytes(bytes.fromhex(k.ed25519_public_key))
                if k.ed25519_public_key
                else None,
            )
            for k in keys
        }

    def verify(self, api_key: str, timestamp_ms: int, signature: str, now_ms: int) -> str:
        key = self._keys.get(api_key)
        if key is None:
            raise ApiError(ErrorCode.UNKNOWN_API_KEY, f"unknown api_key {api_key!r}")
        skew = now_ms - timestamp_ms
        if abs(skew) > self.window_ms:
            raise ApiError(
                ErrorCode.STALE_TIMESTAMP,
                f"timestamp_ms {timestamp_ms} is {skew} ms from server time {now_ms};"
                f" allowed window is +/-{self.window_ms} ms",
            )
        try:
            raw = bytes.fromhex(signature)
        except ValueError:
            raise ApiError(ErrorCode.BAD_SIGNATURE, "signature is not hex") from None
        payload = logon_payload(api_key, timestamp_ms)
        if not self._signature_ok(key, raw, payload):
            raise ApiError(ErrorCode.BAD_SIGNATURE, "signature does not verify")
        if not self._used.claim(payload, timestamp_ms + self.window_ms, now_ms):
            raise ApiError(
                ErrorCode.LOGON_REPLAYED,
                f"timestamp_ms {timestamp_ms} was already used to log on with this key;"
                " sign a new one",
            )
        return key.account

    @staticmethod
    def _signature_ok(key: _Key, raw: bytes, payload: bytes) -> bool:
        if len(raw) == 32 and key.hmac_secret:
            expected = hmac.new(key.hmac_secret, payload, hashlib.sha256).digest()
            return hmac.compare_digest(raw, expected)
        if len(raw) == 64 and key.ed25519 is not None:
            try:
                key.ed25519.verify(raw, payload)
            except InvalidSignature:
                return False
            return True
        return False
