"""Loading Ed25519 private keys for FIX and WebSocket logons."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["load_ed25519_private_key"]


def load_ed25519_private_key(spec: str) -> Ed25519PrivateKey:
    """Key from a file (PEM PKCS#8, or a 32-byte seed as hex/base64 text) or inline seed.

    ``spec`` is a path; if no such file exists it is read as the seed itself
    (64 hex characters or base64 of 32 bytes).
    """
    p = Path(spec)
    data = p.read_bytes() if p.is_file() else spec.encode()
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(text, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{spec}: not an Ed25519 private key")
        return key
    seed: bytes | None = None
    try:
        seed = bytes.fromhex(text.decode())
    except ValueError:
        try:
            seed = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            seed = None
    if seed is None or len(seed) != 32:
        raise ValueError(f"{spec!r}: expected a PEM key or a 32-byte seed in hex or base64")
    return Ed25519PrivateKey.from_private_bytes(seed)
