"""Minimal FIX tag=value codec for the load harness (client and null acceptor).

Not a validating FIX engine: it frames messages by BodyLength, encodes with the
correct BodyLength and CheckSum, and splits fields into a dict.  Hot-path messages
are encoded from :class:`Template` objects built once per session, in which only
the varying fields (MsgSeqNum, SendingTime, ClOrdID, price, quantity ...) are
patched in; the rest is constant bytes.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence

__all__ = [
    "SOH",
    "Template",
    "encode",
    "fix_logon_signature_payload",
    "fix_logon_signed_bytes",
    "frame",
    "parse",
    "sending_time",
    "sign_logon_ed25519",
]

SOH = b"\x01"

_cached_sec = -1
_cached_prefix = b""


def sending_time(now_s: float | None = None) -> bytes:
    """UTCTimestamp with milliseconds, ``YYYYMMDD-HH:MM:SS.sss`` (cached per second)."""
    global _cached_sec, _cached_prefix
    t = time.time() if now_s is None else now_s
    ms = int(t * 1000)
    sec = ms // 1000
    if sec != _cached_sec:
        _cached_prefix = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode()
        _cached_sec = sec
    return b"%b.%03d" % (_cached_prefix, ms % 1000)


def _finish(begin: bytes, body: bytes) -> bytes:
    head = b"8=%b\x019=%d\x01" % (begin, len(body))
    return b"%b%b10=%03d\x01" % (head, body, (sum(head) + sum(body)) & 0xFF)


def _encode_fields(fields: Sequence[tuple[int, bytes | str | int]]) -> bytes:
    parts = []
    for tag, val in fields:
        if isinstance(val, int):
            v = b"%d" % val
        elif isinstance(val, str):
            v = val.encode()
        else:
            v = val
        parts.append(b"%d=%b\x01" % (tag, v))
    return b"".join(parts)


def encode(begin: bytes, fields: Sequence[tuple[int, bytes | str | int]]) -> bytes:
    """Encode a message from (tag, value) pairs, MsgType (35) first; adds 8, 9 and 10."""
    return _finish(begin, _encode_fields(fields))


class Template:
    """A pre-encoded message body with slots for the varying fields.

    ``fields`` lists (tag, value) in wire order; a value of ``None`` is a slot.  The
    MsgSeqNum slot (tag 34) takes an int, every other slot bytes.  ``render`` takes
    the slot values in the order the slots appear.
    """

    __slots__ = ("_begin", "_fmt", "nslots")

    def __init__(self, begin: bytes, fields: Sequence[tuple[int, bytes | str | None]]) -> None:
        parts: list[bytes] = []
        nslots = 0
        for tag, val in fields:
            if val is None:
                parts.append(b"%d=" % tag + (b"%d" if tag == 34 else b"%b") + SOH)
                nslots += 1
            else:
                v = val.encode() if isinstance(val, str) else val
                parts.append((b"%d=%b\x01" % (tag, v)).replace(b"%", b"%%"))
        self._fmt = b"".join(parts)
        self._begin = begin
        self.nslots = nslots

    def render(self, *values: bytes | int) -> bytes:
        return _finish(self._begin, self._fmt % values)


def frame(buf: bytearray) -> list[bytes]:
    """Cut complete messages off the front of ``buf`` (in place) and return them.

    Garbage before a ``8=`` is skipped.  Framing follows BodyLength (9) so RawData
    fields containing SOH do not break it.
    """
    out: list[bytes] = []
    pos = 0
    n = len(buf)
    while True:
        start = buf.find(b"8=", pos)
        if start < 0:
            # keep a trailing "8": the read may have ended inside "8=FIX"
            pos = n - 1 if n > pos and buf[n - 1] == 0x38 else n
            break
        bl = buf.find(b"\x019=", start)
        if bl < 0:
            pos = start
            break
        bl_end = buf.find(SOH, bl + 3)
        if bl_end < 0:
            pos = start
            break
        try:
            body_len = int(buf[bl + 3 : bl_end])
        except ValueError:
            pos = bl_end  # garbled BodyLength: skip to the next message
            continue
        end = bl_end + 1 + body_len + 7  # body, then "10=xxx\x01"
        if end > n:
            pos = start
            break
        out.append(bytes(buf[start:end]))
        pos = end
    if pos:
        del buf[:pos]
    return out


def parse(msg: bytes) -> dict[bytes, bytes]:
    """Split a message into {tag: value} (bytes, last occurrence wins)."""
    out: dict[bytes, bytes] = {}
    for f in msg.split(SOH):
        k, _, v = f.partition(b"=")
        if k:
            out[k] = v
    return out


#: Logon fields an Ed25519 signature does not cover: BodyLength, CheckSum, and the
#: signature itself (RawDataLength, RawData).
_UNSIGNED = frozenset((9, 10, 95, 96))


def fix_logon_signature_payload(
    begin: bytes, fields: Sequence[tuple[int, bytes | str | int]]
) -> bytes:
    """The bytes an Ed25519 Logon signature covers (fix_specs/RULES_OF_ENGAGEMENT.md,
    2.2): ``8=<begin><SOH>`` and then every field of the Logon in the order it is sent,
    as ``tag=value<SOH>``, without BodyLength 9, RawDataLength 95, RawData 96 and
    CheckSum 10. Each signed Logon is accepted once.
    """
    return b"8=%b\x01" % begin + _encode_fields([f for f in fields if f[0] not in _UNSIGNED])


def fix_logon_signed_bytes(raw: bytes) -> bytes:
    """:func:`fix_logon_signature_payload` of a received Logon (its signature in
    base64 or hex: no SOH inside RawData)."""
    kept = [f for f in raw.split(SOH) if f and int(f.partition(b"=")[0]) not in _UNSIGNED]
    return b"".join(f + SOH for f in kept)


def sign_logon_ed25519(private_key: object, payload: bytes, encoding: str = "base64") -> bytes:
    """Sign ``payload``; return the RawData (96) value in ``encoding`` (base64|hex|raw)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("expected an Ed25519PrivateKey")
    sig = private_key.sign(payload)
    if encoding == "base64":
        return base64.b64encode(sig)
    if encoding == "hex":
        return sig.hex().encode()
    if encoding == "raw":
        return sig
    raise ValueError(f"unknown signature encoding {encoding!r}")
