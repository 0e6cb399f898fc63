"""The C framer (`_cframe.c`, native build) against the Python framer, the reference.

The C module may only take the common case: a complete, well-framed message without
DATA fields. Whatever it returns must be exactly what the Python framer returns for
the same bytes, and for anything else it must step aside. Hypothesis builds streams
of valid, damaged and hostile messages, cut into arbitrary chunks, and both readers
must produce the same items. Runs on the native build only (CI's second pass).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.fix.codec import (
    DEFAULT_DATA_TAGS,
    FixEncoder,
    FixMessage,
    FrameReader,
    Garbled,
    checksum,
)

_cframe = pytest.importorskip("gateway.fix._cframe", reason="C framer: native build only")

SOH = b"\x01"

tags = st.one_of(
    st.sampled_from([b"11", b"38", b"44", b"54", b"55", b"1", b"7928", b"58", b"10", b"9"]),
    st.integers(1, 10**6).map(lambda n: b"%d" % n),
    st.sampled_from([b"0", b"012", b"", b"ab", b"-5", b"1a", b"9" * 30, b"1" * 700, b"\xd9\xa3"]),
)
values = st.binary(max_size=12).map(lambda v: v.replace(SOH, b"x"))
plain_field = st.tuples(tags, values).map(lambda tv: tv[0] + b"=" + tv[1] + SOH)
odd_field = st.sampled_from([SOH, b"noequals" + SOH, b"=" + SOH, b"==" + SOH])
data_field = st.binary(min_size=1, max_size=6).map(lambda d: b"95=%d\x0196=%s\x01" % (len(d), d))
body_fields = st.lists(
    st.one_of(plain_field, plain_field, plain_field, odd_field, data_field), max_size=10
)


def frame_message(begin: bytes, body: bytes) -> bytes:
    head = b"8=" + begin + b"\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % checksum(head + body)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    msg_type = draw(st.sampled_from([b"35=D\x01", b"35=0\x01", b"35=\x01", b"", b"34=1\x01"]))
    body = msg_type + b"".join(draw(body_fields))
    msg = frame_message(draw(st.sampled_from([b"FIX.4.4", b"FIX.4.2", b"FIXT.1.1", b""])), body)
    damage = draw(
        st.sampled_from(["none", "none", "none", "byte", "cut", "length", "sum", "nosum"])
    )
    if damage == "byte" and msg:
        k = draw(st.integers(0, len(msg) - 1))
        msg = msg[:k] + bytes([draw(st.integers(0, 255))]) + msg[k + 1 :]
    elif damage == "cut":
        msg = msg[: draw(st.integers(0, len(msg)))]
    elif damage == "length":
        msg = msg.replace(b"\x019=%d\x01" % len(body), b"\x019=%d\x01" % draw(st.integers(0, 999)))
    elif damage == "sum":
        msg = msg[:-4] + b"%03d\x01" % ((int(msg[-4:-1]) + 1) % 256)
    elif damage == "nosum":  # no CheckSum field at all: the next message must survive
        msg = msg[: msg.rindex(b"10=")]
    return msg


streams = st.lists(
    st.one_of(messages(), messages(), messages(), st.binary(max_size=8)), max_size=8
).map(b"".join)


def as_comparable(items: list[FixMessage | Garbled]) -> list[object]:
    out: list[object] = []
    for item in items:
        if isinstance(item, Garbled):
            out.append(("garbled", item.reason, item.data))
        else:
            out.append(("message", item.fields, item.raw, item._idx(), item.tags))
    return out


def read_all(stream: bytes, cuts: list[int], accelerate: bool) -> tuple[list[object], int]:
    reader = FrameReader(max_body_length=200, accelerate=accelerate)
    items: list[FixMessage | Garbled] = []
    start = 0
    for cut in [*sorted(c % (len(stream) + 1) for c in cuts), len(stream)]:
        items += reader.feed(stream[start:cut])
        start = max(start, cut)
    return as_comparable(items), reader.buffered


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams, cuts=st.lists(st.integers(0, 10_000), max_size=4))
def test_c_framer_reads_every_stream_as_the_python_framer_does(
    stream: bytes, cuts: list[int]
) -> None:
    assert read_all(stream, cuts, accelerate=True) == read_all(stream, cuts, accelerate=False)


@settings(max_examples=400, deadline=None)
@given(stream=streams, pos=st.integers(0, 300))
def test_whatever_the_c_framer_returns_is_the_python_framers_answer(
    stream: bytes, pos: int
) -> None:
    buf = bytearray(stream)
    framed = _cframe.frame(buf, pos, 200, DEFAULT_DATA_TAGS)
    if framed is None:
        return
    values, raw, index, tags, end = framed
    item, reference_end = FrameReader(max_body_length=200, accelerate=False)._next(buf, pos)
    assert isinstance(item, FixMessage)
    assert (values, raw, index, tags, end) == (
        [value for _, value in item.fields],
        item.raw,
        item._idx(),
        tuple(tag for tag, _ in item.fields),
        reference_end,
    )
    fast = FixMessage(None, raw, index, tags, values)  # as FrameReader.feed builds it
    assert (fast.fields, fast.values, fast.tags) == (item.fields, item.values, item.tags)


def _is_length_tag(field: bytes) -> bool:
    tag = field.partition(b"=")[0]
    return tag.isdigit() and len(tag) < 20 and int(tag) in DEFAULT_DATA_TAGS


no_length_tag = plain_field.filter(lambda f: not _is_length_tag(f))


@given(body=st.lists(no_length_tag, max_size=10).map(b"".join))
def test_the_c_framer_takes_every_well_formed_message_without_data_fields(body: bytes) -> None:
    msg = frame_message(b"FIX.4.4", b"35=D\x01" + body)
    framed = _cframe.frame(bytearray(b"junk" + msg), 4, 1 << 20, DEFAULT_DATA_TAGS)
    assert framed is not None
    assert framed[1] == msg and framed[4] == 4 + len(msg)


def test_the_c_framer_leaves_data_fields_and_oversized_bodies_to_python() -> None:
    with_data = frame_message(b"FIX.4.4", b"35=A\x0195=3\x0196=a\x01b\x01")
    assert _cframe.frame(bytearray(with_data), 0, 1 << 20, DEFAULT_DATA_TAGS) is None
    plain = frame_message(b"FIX.4.4", b"35=0\x01112=x\x01")
    assert _cframe.frame(bytearray(plain), 0, 5, DEFAULT_DATA_TAGS) is None
    assert _cframe.frame(bytearray(plain), 0, 1 << 20, DEFAULT_DATA_TAGS) is not None


def test_after_a_message_missing_its_checksum_both_framers_read_the_next() -> None:
    good = frame_message(b"FIX.4.4", b"35=0\x01112=x\x01")
    stream = good[: good.rindex(b"10=")] + good + good
    for accelerate in (True, False):
        items, buffered = read_all(stream, [], accelerate)
        kinds = [item[0] for item in items if isinstance(item, tuple)]
        assert len(items) == 3 and kinds == ["garbled", "message", "message"]
        assert buffered == 0


def test_the_c_framer_refuses_what_is_not_a_bytearray() -> None:
    with pytest.raises(TypeError):
        _cframe.frame(b"8=FIX.4.4\x01", 0, 10, DEFAULT_DATA_TAGS)  # type: ignore[arg-type]


header_text = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters="\x01"), min_size=1, max_size=12
)


@given(
    ids=st.tuples(header_text, header_text, header_text),
    msg_type=st.sampled_from([b"8", b"0", b"4", b"j", b"AE"]),
    seq=st.integers(0, 2**63 - 1),
    sending_time=st.binary(max_size=24),
    extra=st.binary(max_size=40),
    body=st.binary(max_size=400),
)
def test_the_c_encoder_writes_the_python_encoders_bytes(
    ids: tuple[str, str, str],
    msg_type: bytes,
    seq: int,
    sending_time: bytes,
    extra: bytes,
    body: bytes,
) -> None:
    fast, reference = FixEncoder(*ids), FixEncoder(*ids, accelerate=False)
    args = (msg_type, seq, sending_time, body, extra)
    assert fast.encode(*args) == reference.encode(*args)


def test_the_c_encoder_refuses_what_is_not_bytes() -> None:
    with pytest.raises(TypeError):
        _cframe.encode(b"8=", b"", "8", 1, b"", b"", b"")  # type: ignore[arg-type]
