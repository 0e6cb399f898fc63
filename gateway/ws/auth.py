"""session.logon verification: HMAC-SHA256 or Ed25519 over a fixed payload.

Payload (UTF-8): ``f"{api_key}\\n{timestamp_ms}"`` -- the key id, a line feed, and the
decimal millisecond timestamp exactly as sent in ``timestamp_ms``. Signature: lower-
or upper-case hex of either HMAC-SHA256(secret, payload) (64 hex digits) or the
Ed25519 signature of payload (128 hex digits). Which one is decided by the length;
a key must have the matching credential configured.

A key that verifies is then refused if it is revoked (1016), expired (1017) or used
from an address outside its IP allowlist (1018): these are told only to whoever
holds the key.

Each payload logs on once: a verified ``(api_key, timestamp_ms)`` is remembered until
it leaves the window, and using it again (a replayed logon) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.single_use import SingleUse
from gateway.ws.errors import ApiError, ErrorCode

__all__ = ["KeyRing", "LiveKey", "logon_payload", "sign_ed25519", "sign_hmac"]

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


@dataclass(slots=True)
class LiveKey:
    """An API key as the gateway checks it (from the engine's state or a VenueEvent)."""

    key_id: str
    account: str
    hmac_salt: str
    ed25519_public_key: str
    scopes: frozenset[str]
    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    expires_ms: int = 0  # 0 = never
    revoked: bool = False
    _ed25519: Ed25519PublicKey | None = None  # parsed on first use

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> LiveKey:
        """From an ``api_key.*`` VenueEvent's data (the engine record's ``data()``)."""
        return cls.from_record(
            data["key_id"], data["account"], data["hmac_salt"], data["ed25519_public_key"],
            data["scopes"], data["ip_allowlist"], data["expires_us"], data["status"],
        )  # fmt: skip

    @classmethod
    def from_record(
        cls,
        key_id: str,
        account: str,
        hmac_salt: str,
        ed25519_public_key: str,
        scopes: Iterable[str],
        ip_allowlist: Iterable[str],
        expires_us: int,
        status: str,
    ) -> LiveKey:
        """From an engine ApiKey's fields. Keys share their scope sets (a venue has
        hundreds of thousands of keys and a handful of scope combinations)."""
        scope_key = tuple(scopes)
        scope_set = _SCOPE_SETS.get(scope_key)
        if scope_set is None:
            scope_set = _SCOPE_SETS[scope_key] = frozenset(scope_key)
        return cls(
            key_id, account, hmac_salt, ed25519_public_key, scope_set,
            tuple(ip_network(n) for n in ip_allowlist) if ip_allowlist else (),
            -(-expires_us // 1000), status == "revoked",
        )  # fmt: skip

    def expired(self, now_ms: int) -> bool:
        return 0 < self.expires_ms <= now_ms

    def allows(self, peer_ip: str) -> bool:
        """The IP allowlist admits ``peer_ip`` (an empty list admits everyone)."""
        if not self.networks:
            return True
        try:
            address = ip_address(peer_ip)
        except ValueError:
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def public_key(self) -> Ed25519PublicKey | None:
        if self._ed25519 is None and self.ed25519_public_key:
            try:
                self._ed25519 = Ed25519PublicKey.from_public_bytes(
                    bytes.fromhex(self.ed25519_public_key)
                )
            except ValueError:
                return None
        return self._ed25519


_SCOPE_SETS: dict[tuple[str, ...], frozenset[str]] = {}


class KeyRing:
    """The live API keys; verify() returns the key or raises ApiError.

    ``secret_for(key_id, salt)`` gives a key's HMAC secret (b"" = none); it is asked
    once per key, at its first HMAC logon (see gateway/credentials.py)."""

    def __init__(self, window_ms: int, secret_for: Callable[[str, str], bytes]) -> None:
        self.window_ms = window_ms
        self._secret_for = secret_for
        self._secrets: dict[str, bytes] = {}
        self._used = SingleUse(_MAX_REMEMBERED)
        self._keys: dict[str, LiveKey] = {}

    def put(self, key: LiveKey) -> None:
        """Add or replace a key (created, revoked)."""
        self._keys[key.key_id] = key
        self._secrets.pop(key.key_id, None)

    def get(self, key_id: str) -> LiveKey | None:
        return self._keys.get(key_id)

    def verify(
        self, api_key: str, timestamp_ms: int, signature: str, now_ms: int, peer_ip: str = ""
    ) -> LiveKey:
        """Check a logon: :meth:`check` of its payload, then that it is its first use."""
        payload = logon_payload(api_key, timestamp_ms)
        key = self.check(api_key, timestamp_ms, signature, payload, now_ms, peer_ip)
        if not self._used.claim(payload, timestamp_ms + self.window_ms, now_ms):
            raise ApiError(
                ErrorCode.LOGON_REPLAYED,
                f"timestamp_ms {timestamp_ms} was already used to log on with this key;"
                " sign a new one",
            )
        return key

    def check(
        self,
        api_key: str,
        timestamp_ms: int,
        signature: str,
        payload: bytes,
        now_ms: int,
        peer_ip: str = "",
    ) -> LiveKey:
        """Check a signed payload (a logon's or a REST request's): the timestamp window
        and the signature first, then (only for whoever holds the key) revoked, expired,
        and the peer address against the allowlist. Single use is the caller's."""
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
        if not self._signature_ok(key, raw, payload):
            raise ApiError(ErrorCode.BAD_SIGNATURE, "signature does not verify")
        if key.revoked:
            raise ApiError(ErrorCode.KEY_REVOKED, f"api_key {api_key!r} is revoked")
        if key.expired(now_ms):
            raise ApiError(ErrorCode.KEY_EXPIRED, f"api_key {api_key!r} expired")
        if not key.allows(peer_ip):
            raise ApiError(
                ErrorCode.IP_NOT_ALLOWED, f"api_key {api_key!r} is not allowed from {peer_ip}"
            )
        return key

    def _secret(self, key: LiveKey) -> bytes:
        secret = self._secrets.get(key.key_id)
        if secret is None:
            secret = self._secrets[key.key_id] = self._secret_for(key.key_id, key.hmac_salt)
        return secret

    def _signature_ok(self, key: LiveKey, raw: bytes, payload: bytes) -> bool:
        if len(raw) == 32 and key.hmac_salt:
            secret = self._secret(key)
            if not secret:
                return False
            expected = hmac.new(secret, payload, hashlib.sha256).digest()
            return hmac.compare_digest(raw, expected)
        if len(raw) == 64:
            public_key = key.public_key()
            if public_key is None:
                return False
            try:
                public_key.verify(raw, payload)
            except InvalidSignature:
                return False
            return True
        return False
