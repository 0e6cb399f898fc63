"""FIX tag=value codec for the hot path.

Three jobs, kept free of any session logic:

* :class:`FrameReader` cuts complete messages out of a TCP byte stream, verifying
  BeginString(8) first, BodyLength(9) second, MsgType(35) third and CheckSum(10)
  last with the right value. Anything else is *garbled*: it is returned as a
  :class:`Garbled` item (so the session can log it and otherwise ignore it, as the
  FIX session spec demands) and the reader resynchronises on the next message.
* :func:`parse_fields` splits a frame into ``(tag, value)`` pairs, honouring
  length-prefixed DATA fields (RawData 96 etc.) that may contain SOH.
* :class:`FixEncoder` builds outbound messages from precomputed header parts.

A tag that is not a positive integer is kept with tag number ``0`` (a negative one,
``-1``, as itself) so that the dictionary can answer it with SessionRejectReason 0
(Invalid tag number) instead of treating the whole message as garbled.

A garbled frame is dropped up to its own trailer or up to the next message start
(``8=`` after a SOH), whichever comes first: a message behind a frame with a wrong
BodyLength or CheckSum is framed on its own, never swallowed with it.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_DATA_TAGS",
    "SOH",
    "FieldValue",
    "FixEncoder",
    "FixMessage",
    "FrameReader",
    "Garbled",
    "build_message",
    "checksum",
    "encode_fields",
    "format_utc_timestamp",
    "parse_fields",
    "parse_utc_timestamp",
]

SOH: Final = b"\x01"

FieldValue = bytes | str | int

#: int() raises ValueError on longer digit strings (Python's limit, 4300 by default, can
#: be lowered to 640 at the least): no tag, length or integer field is that long, and
#: such input must be read as invalid, not raise out of the framer or the session.
_MAX_DIGITS: Final = 640  # also in _cframe.c

#: length tag -> data tag, for the length-prefixed DATA fields of FIX 4.2/4.4.
DEFAULT_DATA_TAGS: Final[Mapping[int, int]] = {
    90: 91,  # SecureDataLen -> SecureData
    93: 89,  # SignatureLength -> Signature
    95: 96,  # RawDataLength -> RawData
    212: 213,  # XmlDataLen -> XmlData
    348: 349,
    350: 351,
    352: 353,
    354: 355,
    356: 357,
    358: 359,
    360: 361,
    362: 363,
    364: 365,
    445: 446,
    618: 619,
    621: 622,
}

_MAX_HEADER_SCAN: Final = 64  # also in _cframe.c

_FastFrame = Callable[
    [bytearray, int, int, Mapping[int, int]],
    tuple[list[bytes], bytes, dict[int, bytes], tuple[int, ...], int] | None,
]
_FastEncode = Callable[[bytes, bytes, bytes, int, bytes, bytes, bytes], bytes]
_cframe_frame: _FastFrame | None
_cframe_encode: _FastEncode | None
try:  # built by `make native` from _cframe.c; absent in the pure-Python build
    from gateway.fix._cframe import encode as _cframe_encode
    from gateway.fix._cframe import frame as _cframe_frame
except ImportError:
    _cframe_frame = _cframe_encode = None


_adler32: Final = zlib.adler32


def checksum(data: bytes | bytearray | memoryview) -> int:
    """FIX CheckSum: sum of all bytes modulo 256.

    Computed with zlib.adler32, whose low 16 bits are ``1 + sum(bytes) mod 65521``:
    for at most 256 bytes the sum (<= 65280) never wraps, so it is the exact byte sum.
    Longer data is summed in 256-byte chunks.
    """
    n = len(data)
    if n <= 256:
        return ((_adler32(data) & 0xFFFF) - 1) & 0xFF
    view = memoryview(data)
    total = 0
    for i in range(0, n, 256):
        total += (_adler32(view[i : i + 256]) & 0xFFFF) - 1
    return total & 0xFF


class FixMessage:
    """A parsed FIX message: ordered ``(tag, value)`` pairs plus the raw bytes.

    Lookups by tag return the *first* occurrence; repeated tags (groups) are
    available through :attr:`fields` or :meth:`get_all`.
    """

    __slots__ = ("_fields", "_index", "_msg_type", "_tags", "_values", "raw")

    def __init__(
        self,
        fields: list[tuple[int, bytes]] | None,
        raw: bytes = b"",
        index: dict[int, bytes] | None = None,
        tags: tuple[int, ...] | None = None,
        values: list[bytes] | None = None,
    ) -> None:
        """``fields``, or (from the C framer) ``tags`` and ``values`` in order."""
        self._fields = fields
        self.raw = raw
        # first occurrence of each tag, and the tags and values in order: built on
        # first use unless the framer (the C one) already has them
        self._index = index
        self._tags = tags
        self._values = values
        self._msg_type: str | None = None
        if fields is None and (tags is None or values is None):
            raise ValueError("FixMessage needs fields, or tags and values")

    @property
    def fields(self) -> list[tuple[int, bytes]]:
        """The ``(tag, value)`` pairs in message order."""
        fields = self._fields
        if fields is None:
            assert self._tags is not None and self._values is not None
            fields = self._fields = list(zip(self._tags, self._values, strict=True))
        return fields

    @property
    def values(self) -> list[bytes]:
        """The values in message order (``fields`` without the tags)."""
        values = self._values
        if values is None:
            values = self._values = [value for _, value in self.fields]
        return values

    def _idx(self) -> dict[int, bytes]:
        idx = self._index
        if idx is None:
            # dict() keeps the *last* value of a repeated tag: build from the reversed
            # pairs so the first occurrence wins.
            idx = dict(reversed(self.fields))
            self._index = idx
        return idx

    def get(self, tag: int) -> bytes | None:
        return self._idx().get(tag)

    @property
    def tags(self) -> tuple[int, ...]:
        """The tag numbers in message order (the dictionary's shape key)."""
        tags = self._tags
        if tags is None:
            tags = self._tags = tuple([tag for tag, _ in self.fields])
        return tags

    def get_str(self, tag: int) -> str | None:
        v = self._idx().get(tag)
        return None if v is None else v.decode("utf-8", "replace")

    def get_int(self, tag: int) -> int | None:
        """Integer value of ``tag``; ``None`` if absent or not a plain integer."""
        v = self._idx().get(tag)
        if v is None:
            return None
        s = v[1:] if v[:1] == b"-" else v
        if not s.isdigit() or len(s) > _MAX_DIGITS:
            return None
        return int(v)

    def get_all(self, tag: int) -> list[bytes]:
        return [v for t, v in self.fields if t == tag]

    def __contains__(self, tag: object) -> bool:
        return tag in self._idx()

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.fields)

    @property
    def msg_type(self) -> str:
        mt = self._msg_type
        if mt is None:
            v = self._idx().get(35)
            mt = self._msg_type = "" if v is None else v.decode("ascii", "replace")
        return mt

    @property
    def begin_string(self) -> str:
        v = self._idx().get(8)
        return "" if v is None else v.decode("ascii", "replace")

    def __repr__(self) -> str:
        body = "|".join(f"{t}={v.decode('latin-1')}" for t, v in self.fields)
        return f"FixMessage({body})"


@dataclass(frozen=True, slots=True)
class Garbled:
    """Bytes that could not be framed as a valid message, with the reason."""

    reason: str
    data: bytes


def _parse_tag(t: bytes) -> int:
    """A positive integer without a leading zero as itself, its negative (``-1``) too,
    anything else as 0 (all three invalid tag numbers to the dictionary)."""
    digits = t[1:] if t[:1] == b"-" else t
    if digits.isdigit() and digits[:1] != b"0" and len(digits) <= _MAX_DIGITS:
        return int(t)
    return 0


def parse_fields(
    raw: bytes, data_tags: Mapping[int, int] = DEFAULT_DATA_TAGS
) -> list[tuple[int, bytes]] | None:
    """Split a complete message into ``(tag, value)`` pairs.

    Returns ``None`` when the bytes cannot be split at all (a DATA field whose
    length runs past the end or is not followed by SOH).
    """
    parts = raw.split(SOH)
    if parts[-1]:
        return None
    parts.pop()
    out: list[tuple[int, bytes]] = []
    tags = _TAGS
    for p in parts:
        t, sep, v = p.partition(b"=")
        tag = tags.get(t)
        if tag is None:
            tag = _parse_tag(t)
            if len(tags) < _TAGS_MAX:
                tags[t] = tag
        if not sep:
            tag = 0
        elif tag in data_tags:
            return _parse_fields_slow(raw, data_tags)
        out.append((tag, v))
    return out


#: tag bytes -> tag number (0 if not a valid tag); bounded against garbage input.
_TAGS: Final[dict[bytes, int]] = {}
_TAGS_MAX: Final = 4096


def _parse_fields_slow(raw: bytes, data_tags: Mapping[int, int]) -> list[tuple[int, bytes]] | None:
    out: list[tuple[int, bytes]] = []
    pending: dict[int, int] = {}
    i = 0
    n = len(raw)
    while i < n:
        e = raw.find(SOH, i)
        if e == -1:
            return None
        eq = raw.find(b"=", i, e)
        if eq == -1:
            out.append((0, raw[i:e]))
            i = e + 1
            continue
        tag = _parse_tag(raw[i:eq])
        length = pending.pop(tag, None)
        if length is not None:
            end = eq + 1 + length
            if end >= n or raw[end] != 1:
                return None
            out.append((tag, raw[eq + 1 : end]))
            i = end + 1
            continue
        value = raw[eq + 1 : e]
        out.append((tag, value))
        data_tag = data_tags.get(tag)
        if data_tag is not None and value.isdigit():
            if len(value) > _MAX_DIGITS:
                return None  # a length that runs past the end of any message
            pending[data_tag] = int(value)
        i = e + 1
    return out


class FrameReader:
    """Incremental framer: ``feed(bytes)`` returns complete messages and garbage.

    ``max_body_length`` bounds memory: a BodyLength above it is garbled at once.
    With the native build, a complete well-formed message is framed by the C
    module ``_cframe`` (``accelerate=False`` turns it off); anything else, and
    everything in the pure-Python build, goes through :meth:`_next`, the reference.
    """

    __slots__ = ("_buf", "_fast", "data_tags", "max_body_length")

    def __init__(
        self,
        data_tags: Mapping[int, int] = DEFAULT_DATA_TAGS,
        max_body_length: int = 1 << 20,
        accelerate: bool = True,
    ) -> None:
        self._buf = bytearray()
        self.data_tags = data_tags
        self.max_body_length = max_body_length
        self._fast: _FastFrame | None = _cframe_frame if accelerate else None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[FixMessage | Garbled]:
        buf = self._buf
        buf += data
        out: list[FixMessage | Garbled] = []
        pos = 0
        fast = self._fast
        while True:
            if fast is not None:
                framed = fast(buf, pos, self.max_body_length, self.data_tags)
                if framed is not None:
                    values, raw, index, tags, pos = framed
                    out.append(FixMessage(None, raw, index, tags, values))
                    continue
            item, pos = self._next(buf, pos)
            if item is None:
                break
            out.append(item)
        if pos:
            del buf[:pos]
        return out

    def _resync(
        self, buf: bytearray, start: int, search_from: int, reason: str
    ) -> tuple[Garbled, int]:
        """Drop a bad frame: up to the end of its trailer if one is visible, else
        up to the next ``8=`` that follows a SOH. A trailer past that ``8=`` is the
        next message's (this frame has none): the drop ends before that message."""
        nxt = buf.find(b"\x018=", start + 1)
        k = buf.find(b"\x0110=", max(search_from - 1, start))
        if k != -1 and (nxt == -1 or k < nxt):
            e = buf.find(SOH, k + 1)
            if e != -1:
                return Garbled(reason, bytes(buf[start : e + 1])), e + 1
        end = len(buf) if nxt == -1 else nxt + 1
        return Garbled(reason, bytes(buf[start:end])), end

    def _next(self, buf: bytearray, pos: int) -> tuple[FixMessage | Garbled | None, int]:
        n = len(buf)
        if pos >= n:
            return None, pos
        if not buf.startswith(b"8=", pos):
            if n - pos == 1 and buf[pos] == 0x38:  # a lone "8": wait for "="
                return None, pos
            k = buf.find(b"\x018=", pos)
            if k == -1:
                # keep a trailing SOH (or SOH "8"): it may precede the next "8="
                keep = n
                if buf[n - 1] == 1:
                    keep = n - 1
                elif buf.endswith(b"\x018"):
                    keep = n - 2
                if keep > pos:
                    return Garbled("data before BeginString", bytes(buf[pos:keep])), keep
                return None, pos
            return Garbled("data before BeginString", bytes(buf[pos : k + 1])), k + 1
        start = pos
        i = buf.find(SOH, start, start + _MAX_HEADER_SCAN)
        if i == -1:
            if n - start >= _MAX_HEADER_SCAN:
                return self._resync(buf, start, start + 1, "BeginString too long")
            return None, pos
        if n < i + 3:
            return None, pos
        if buf[i + 1 : i + 3] != b"9=":
            return self._resync(buf, start, i, "BodyLength(9) is not the second field")
        j = buf.find(SOH, i + 3, i + 3 + 12)
        if j == -1:
            if n - i >= 15:
                return self._resync(buf, start, i, "BodyLength(9) malformed")
            return None, pos
        length_bytes = bytes(buf[i + 3 : j])
        if not length_bytes.isdigit():
            return self._resync(buf, start, j, "BodyLength(9) malformed")
        body_len = int(length_bytes)
        if body_len > self.max_body_length:
            return self._resync(buf, start, j, "BodyLength(9) too large")
        body_start = j + 1
        body_end = body_start + body_len
        msg_end = body_end + 7
        if n < msg_end:
            # BodyLength too large? if a complete trailer followed by a new message is
            # already visible, or the bytes end in a trailer with their own CheckSum (a
            # complete frame as sent), this frame can never become valid.
            k = buf.find(b"\x0110=", body_start - 1)
            if k != -1 and n > k + 9 and buf[k + 7] == 1 and buf.startswith(b"8=", k + 8):
                # ...and this frame ends where the first message after it begins
                end = buf.find(b"\x018=", body_start - 1) + 1
                return Garbled("BodyLength(9) incorrect", bytes(buf[start:end])), end
            if _ends_in_own_trailer(buf, start, body_start):
                return Garbled("BodyLength(9) incorrect", bytes(buf[start:])), n
            return None, pos
        if buf[body_end : body_end + 3] != b"10=" or buf[msg_end - 1] != 1:
            return self._resync(buf, start, body_start, "BodyLength(9) incorrect")
        cs_bytes = bytes(buf[body_end + 3 : body_end + 6])
        raw = bytes(buf[start:msg_end])
        if not cs_bytes.isdigit() or int(cs_bytes) != checksum(memoryview(raw)[: body_end - start]):
            nxt = raw.find(b"\x018=", 1)  # a BodyLength reaching into the next message
            if nxt != -1:
                return self._resync(buf, start, body_start, "BodyLength(9) incorrect")
            return Garbled("CheckSum(10) incorrect", raw), msg_end
        if not buf.startswith(b"35=", body_start):
            return Garbled("MsgType(35) is not the third field", raw), msg_end
        fields = parse_fields(raw, self.data_tags)
        if fields is None:
            return Garbled("malformed data field", raw), msg_end
        return FixMessage(fields, raw), msg_end


def _ends_in_own_trailer(buf: bytearray, start: int, body_start: int) -> bool:
    """The bytes from ``start`` end in ``10=nnn<SOH>`` whose value is their CheckSum."""
    n = len(buf)
    k = n - 8  # where the SOH before "10=" must be
    if k < body_start - 1 or buf[n - 1] != 1 or not buf.startswith(b"\x0110=", k):
        return False
    cs = bytes(buf[k + 4 : n - 1])
    return cs.isdigit() and int(cs) == checksum(memoryview(buf)[start : k + 1])


def _to_bytes(v: FieldValue) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode()
    return b"%d" % v


def encode_fields(fields: Iterable[tuple[int, FieldValue]]) -> bytes:
    """``tag=value<SOH>`` for each pair (values: bytes, str or int)."""
    return b"".join(b"%d=%s\x01" % (t, _to_bytes(v)) for t, v in fields)


def build_message(begin_string: str | bytes, fields: Iterable[tuple[int, FieldValue]]) -> bytes:
    """Complete a message: prepend 8 and 9, append 10. ``fields`` start at 35."""
    body = encode_fields(fields)
    bs = _to_bytes(begin_string)
    head = b"8=%s\x019=%d\x01" % (bs, len(body))
    msg = head + body
    return msg + b"10=%03d\x01" % checksum(msg)


class FixEncoder:
    """Outbound encoder for one session; the fixed header parts are precomputed.

    With the native build the bytes are assembled by ``_cframe.encode`` in C
    (``accelerate=False`` turns it off); the Python below is the reference."""

    __slots__ = ("_begin", "_comp", "_fast")

    def __init__(
        self,
        begin_string: str,
        sender_comp_id: str,
        target_comp_id: str,
        accelerate: bool = True,
    ) -> None:
        self._begin = b"8=" + begin_string.encode() + b"\x019="
        self._comp = (
            b"\x0149=" + sender_comp_id.encode() + b"\x0156=" + target_comp_id.encode() + b"\x0134="
        )
        self._fast: _FastEncode | None = _cframe_encode if accelerate else None

    def encode(
        self,
        msg_type: bytes,
        seq_num: int,
        sending_time: bytes,
        body: bytes,
        header_extra: bytes = b"",
    ) -> bytes:
        """Encode one message. ``body`` and ``header_extra`` are ``tag=value<SOH>``
        runs (``header_extra`` carries PossDupFlag/OrigSendingTime on resends)."""
        fast = self._fast
        if fast is not None:
            return fast(
                self._begin, self._comp, msg_type, seq_num, sending_time, header_extra, body
            )
        payload = b"".join(
            (b"35=", msg_type, self._comp, b"%d" % seq_num, b"\x0152=", sending_time, SOH)
        )
        payload += header_extra + body
        msg = b"%s%d\x01%s" % (self._begin, len(payload), payload)
        return msg + b"10=%03d\x01" % checksum(msg)


class _TimestampText:
    """The last second's text and the last microsecond timestamp's text: the events
    of one command share a timestamp, and SendingTimes share their second."""

    __slots__ = ("prefix", "sec", "text", "us")

    def __init__(self) -> None:
        self.sec = -1
        self.prefix = b""
        self.us = -1
        self.text = b""


_TS_TEXT: Final = _TimestampText()
#: b"000" .. b"999": milliseconds and microseconds without int-to-text formatting
_THREE_DIGITS: Final = tuple(b"%03d" % n for n in range(1000))


def format_utc_timestamp(ts_us: int | None = None, precision: int = 3) -> bytes:
    """UTCTimestamp ``YYYYMMDD-HH:MM:SS[.sss|.ssssss]`` from epoch microseconds."""
    cache = _TS_TEXT
    if ts_us is None:
        ts_us = time.time_ns() // 1000
    elif precision == 6 and ts_us == cache.us:
        return cache.text
    sec, frac = divmod(ts_us, 1_000_000)
    if sec != cache.sec:
        cache.prefix = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode()
        cache.sec = sec
    if precision == 0:
        return cache.prefix
    ms, us = divmod(frac, 1000)
    if precision == 3:
        return b"".join((cache.prefix, b".", _THREE_DIGITS[ms]))
    text = b"".join((cache.prefix, b".", _THREE_DIGITS[ms], _THREE_DIGITS[us]))
    cache.us = ts_us
    cache.text = text
    return text


_DAYS_BEFORE_MONTH: Final = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


_TS_CACHE: Final[dict[bytes, int | None]] = {}
_TS_CACHE_MAX: Final = 4096


def parse_utc_timestamp(value: bytes) -> int | None:
    """Epoch microseconds of a UTCTimestamp, or ``None`` if it is malformed.

    Memoized (a pure function; SendingTime/TransactTime values repeat within a
    millisecond), the cache bounded by clearing it when full."""
    if type(value) is not bytes:
        return _parse_utc_timestamp(value)
    try:
        return _TS_CACHE[value]
    except KeyError:
        pass
    ts = _parse_utc_timestamp(value)
    if len(_TS_CACHE) >= _TS_CACHE_MAX:
        _TS_CACHE.clear()
    _TS_CACHE[value] = ts
    return ts


def _parse_utc_timestamp(value: bytes) -> int | None:
    n = len(value)
    if n < 17 or value[8:9] != b"-" or value[11:12] != b":" or value[14:15] != b":":
        return None
    d, hh, mm, ss = value[:8], value[9:11], value[12:14], value[15:17]
    if not (d.isdigit() and hh.isdigit() and mm.isdigit() and ss.isdigit()):
        return None
    frac_us = 0
    if n > 17:
        frac = value[18:]
        if value[17:18] != b"." or not frac.isdigit() or len(frac) > 9:
            return None
        frac_us = int((frac + b"000000")[:6])
    year, month, day = int(d[:4]), int(d[4:6]), int(d[6:8])
    h, m, s = int(hh), int(mm), int(ss)
    if not (1 <= month <= 12 and 1 <= day <= 31 and h <= 23 and m <= 59 and s <= 60):
        return None
    # days since epoch (proleptic Gregorian), without datetime for speed
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 - 719162
    days += _DAYS_BEFORE_MONTH[month - 1] + day - 1
    if month > 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        days += 1
    return ((days * 86400 + h * 3600 + m * 60 + s) * 1_000_000) + frac_us
