"""Logon authentication: salted password hashes and Ed25519 signatures.

Password hashes use scrypt (``hashlib.scrypt``, N=2**14, r=8, p=1, 32-byte key)
in the format ``scrypt$<salt hex>$<hash hex>``. Passwords are never logged or
stored in clear.

Ed25519 logons sign ``MsgType, SenderCompID, TargetCompID, MsgSeqNum,
SendingTime`` joined by SOH, exactly as they appear in the Logon, with the key
whose id is in Username(553). The 64-byte signature travels in RawData(96)
either raw (RawDataLength 95 = 64) or base64-encoded (95 = 88).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.fix.codec import SOH, FixMessage

__all__ = [
    "decode_signature",
    "ed25519_payload",
    "hash_password",
    "logon_payload",
    "verify_ed25519",
    "verify_password",
]

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


def ed25519_payload(
    msg_type: bytes, sender: bytes, target: bytes, seq_num: bytes, sending_time: bytes
) -> bytes:
    """The signed bytes: the five header values joined by SOH."""
    return SOH.join((msg_type, sender, target, seq_num, sending_time))


def logon_payload(msg: FixMessage) -> bytes:
    """:func:`ed25519_payload` of a received Logon (values as sent)."""
    return ed25519_payload(
        msg.get(35) or b"",
        msg.get(49) or b"",
        msg.get(56) or b"",
        msg.get(34) or b"",
        msg.get(52) or b"",
    )


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
