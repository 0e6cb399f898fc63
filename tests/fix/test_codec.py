"""Codec: framing, garbled detection, and differential tests against simplefix."""

from __future__ import annotations

import datetime as dt

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st
from simplefix.data import RAW_DATA_TAGS, RAW_LEN_TAGS

from gateway.fix.codec import (
    FixEncoder,
    FixMessage,
    FrameReader,
    Garbled,
    build_message,
    checksum,
    format_utc_timestamp,
    parse_fields,
    parse_utc_timestamp,
)
from tests.fix.conftest import ClientMessage

RESERVED = {
    8,
    9,
    10,
    35,
    90,
    91,
    93,
    89,
    95,
    96,
    212,
    213,
    348,
    349,
    350,
    351,
    352,
    353,
    354,
    355,
    356,
    357,
    358,
    359,
    360,
    361,
    362,
    363,
    364,
    365,
    445,
    446,
    618,
    619,
    621,
    622,
    *RAW_DATA_TAGS,
    *RAW_LEN_TAGS,
}
tags = st.integers(min_value=1, max_value=99999).filter(lambda t: t not in RESERVED)
values = st.binary(min_size=1, max_size=40).filter(lambda b: b"\x01" not in b)
msg_types = st.sampled_from(["0", "1", "D", "8", "AE", "j"])
field_lists = st.lists(st.tuples(tags, values), max_size=30)


def _sf_pairs(m: simplefix.FixMessage) -> list[tuple[int, bytes]]:
    return [(int(t), v) for t, v in m.pairs]


@settings(max_examples=300, deadline=None)
@given(msg_types, field_lists)
def test_ours_encoded_simplefix_parses(mt: str, fields: list[tuple[int, bytes]]) -> None:
    raw = build_message("FIX.4.4", [(35, mt), *fields])
    p = simplefix.FixParser()
    p.append_buffer(raw)
    m = p.get_message()
    assert m is not None
    pairs = _sf_pairs(m)
    assert pairs[0] == (8, b"FIX.4.4")
    assert pairs[2] == (35, mt.encode())
    assert pairs[3:-1] == fields
    assert pairs[-1][0] == 10


@settings(max_examples=300, deadline=None)
@given(msg_types, field_lists)
def test_simplefix_encoded_ours_parses(mt: str, fields: list[tuple[int, bytes]]) -> None:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, mt)
    for t, v in fields:
        m.append_pair(t, v)
    raw = m.encode()
    items = FrameReader().feed(raw)
    assert len(items) == 1 and isinstance(items[0], FixMessage), items
    ours = items[0].fields
    assert ours[0] == (8, b"FIX.4.4")
    assert ours[2] == (35, mt.encode())
    assert ours[3:-1] == fields
    assert ours == _sf_pairs_from(raw)


def _sf_pairs_from(raw: bytes) -> list[tuple[int, bytes]]:
    p = simplefix.FixParser()
    p.append_buffer(raw)
    m = p.get_message()
    assert m is not None
    return _sf_pairs(m)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(msg_types, field_lists), min_size=1, max_size=5),
    st.integers(min_value=1, max_value=50),
)
def test_stream_split_anywhere(msgs: list[tuple[str, list[tuple[int, bytes]]]], chunk: int) -> None:
    stream = b"".join(build_message("FIX.4.2", [(35, mt), *f]) for mt, f in msgs)
    r = FrameReader()
    out = []
    for i in range(0, len(stream), chunk):
        out += r.feed(stream[i : i + chunk])
    assert [m.fields[3:-1] for m in out if isinstance(m, FixMessage)] == [f for _, f in msgs]
    assert r.buffered == 0


def test_encoder_matches_build_message() -> None:
    enc = FixEncoder("FIX.4.4", "GATEWAY", "CLIENT1")
    a = enc.encode(b"8", 7, b"20240101-00:00:00.000", b"11=X\x0155=BTC\x01", b"43=Y\x01")
    b = build_message(
        "FIX.4.4",
        [
            (35, "8"),
            (49, "GATEWAY"),
            (56, "CLIENT1"),
            (34, 7),
            (52, "20240101-00:00:00.000"),
            (43, "Y"),
            (11, "X"),
            (55, "BTC"),
        ],
    )
    assert a == b


def test_garbled_detection_and_resync() -> None:
    good = build_message("FIX.4.4", [(35, "0"), (49, "A"), (56, "B"), (34, 1)])
    assert b"\x019=20\x01" in good
    bad_cs = good[:-4] + (b"%03d" % ((int(good[-4:-1]) + 1) % 256)) + b"\x01"
    too_large = good.replace(b"\x019=20\x01", b"\x019=120\x01")
    too_small = good.replace(b"\x019=20\x01", b"\x019=5\x01")
    no_35 = build_message("FIX.4.4", [(49, "A"), (35, "0")])
    r = FrameReader()
    items = r.feed(b"junk\x01" + bad_cs + too_small + no_35 + too_large + good)
    reasons = [i.reason if isinstance(i, Garbled) else "ok" for i in items]
    assert reasons == [
        "data before BeginString",
        "CheckSum(10) incorrect",
        "BodyLength(9) incorrect",
        "MsgType(35) is not the third field",
        "BodyLength(9) incorrect",
        "ok",
    ]
    assert r.buffered == 0
    # a too-large BodyLength with nothing after it waits; the next message resolves it
    r2 = FrameReader()
    assert r2.feed(too_large) == []
    items = r2.feed(good)
    assert [type(i).__name__ for i in items] == ["Garbled", "FixMessage"]


def _with_body_length(msg: bytes, length: int, fix_checksum: bool = False) -> bytes:
    head, rest = msg.split(b"\x019=", 1)
    out = head + b"\x019=%d" % length + rest[rest.index(b"\x01") :]
    if fix_checksum:  # the CheckSum of the bytes actually sent before the trailer
        body = out[: out.rindex(b"10=")]
        out = body + b"10=%03d\x01" % checksum(body)
    return out


@pytest.mark.parametrize("accelerate", [True, False])
def test_bad_body_length_frame_never_swallows_the_next_message(accelerate: bool) -> None:
    """A frame with a wrong BodyLength is dropped up to the next message start (8= after
    a SOH), never beyond: the message behind it is framed even when the bad frame has no
    trailer of its own, or when its BodyLength reaches exactly to that message's end."""
    msgs = [build_message("FIX.4.4", [(35, "D"), (34, n), (11, f"C{n}")]) for n in (2, 3, 4)]
    a, b, c = msgs
    body_a = len(a.split(b"\x01", 2)[2]) - 7  # the correct BodyLength of a
    no_trailer = a[: a.rindex(b"10=")]
    covers_b = _with_body_length(a, body_a + len(b))  # its 10= falls on b's trailer
    for bad in (no_trailer, covers_b):
        items = FrameReader(accelerate=accelerate).feed(bad + b + c)
        kinds = [i.reason if isinstance(i, Garbled) else i.get(34) for i in items]
        assert kinds[1:] == [b"3", b"4"], kinds
        assert isinstance(items[0], Garbled)


def test_too_large_body_length_with_a_complete_trailer_is_garbled_at_once() -> None:
    """BodyLength past the end, but the bytes end with a trailer carrying their own
    CheckSum: the frame is complete as sent, so it is garbled now, not waited on."""
    good = build_message("FIX.4.4", [(35, "A"), (49, "C"), (56, "G"), (34, 1)])
    body = len(good.split(b"\x01", 2)[2]) - 7
    bad = _with_body_length(good, body + 3, fix_checksum=True)
    [item] = FrameReader().feed(bad)
    assert isinstance(item, Garbled) and item.reason == "BodyLength(9) incorrect"
    # the checksum of other bytes (a trailer of an inner DATA field, say) keeps waiting
    assert FrameReader().feed(_with_body_length(good, body + 3)) == []


def test_data_field_with_soh() -> None:
    raw = build_message("FIX.4.4", [(35, "A"), (95, 5), (96, b"a\x01b=c"), (553, "k")])
    [m] = FrameReader().feed(raw)
    assert isinstance(m, FixMessage)
    assert m.get(96) == b"a\x01b=c" and m.get(553) == b"k"


def test_invalid_tag_kept_as_zero() -> None:
    fields = parse_fields(b"8=FIX.4.4\x01abc=1\x01=2\x0155\x01007=3\x0110=000\x01")
    assert fields is not None
    assert [t for t, _ in fields] == [8, 0, 0, 0, 0, 10]


@pytest.mark.parametrize("accelerate", [True, False])
def test_negative_tag_kept_as_received(accelerate: bool) -> None:
    """-1 stays -1 (not 0), so a Reject can name it in RefTagID as it was received."""
    raw = build_message("FIX.4.4", [(35, "0"), (-1, "x"), (-0, "y")])
    [m] = FrameReader(accelerate=accelerate).feed(raw)
    assert isinstance(m, FixMessage)
    assert m.tags[3:5] == (-1, 0) and m.get(-1) == b"x"


@given(
    stamps=st.lists(
        st.tuples(st.integers(0, 253_402_300_799_999_999), st.sampled_from([0, 3, 6])),
        max_size=6,
    ).map(lambda xs: xs + xs[::-1])  # repeats: the cached texts must stay right
)
def test_timestamp_text_is_the_calendars(stamps: list[tuple[int, int]]) -> None:
    for ts_us, precision in stamps:
        when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ts_us)
        text = when.strftime("%Y%m%d-%H:%M:%S")
        if precision:
            text += "." + f"{when.microsecond:06d}"[:precision]
        assert format_utc_timestamp(ts_us, precision) == text.encode()


def test_timestamps_roundtrip() -> None:
    ts = 1_718_440_215_123_456
    assert format_utc_timestamp(ts, 6) == b"20240615-08:30:15.123456"
    assert format_utc_timestamp(ts) == b"20240615-08:30:15.123"
    assert parse_utc_timestamp(b"20240615-08:30:15.123456") == ts
    assert parse_utc_timestamp(b"20240615-08:30:15") == ts // 1_000_000 * 1_000_000
    expected = int(dt.datetime(2000, 2, 29, 23, 59, 59, tzinfo=dt.UTC).timestamp()) * 1_000_000
    assert parse_utc_timestamp(b"20000229-23:59:59") == expected
    for bad in (
        b"2024-06-15 08:30:15",
        b"20241315-08:30:15",
        b"20240615-25:00:00",
        b"20240615-08:30:15.",
        b"20240615-08:30:15.12x",
    ):
        assert parse_utc_timestamp(bad) is None


def test_a_message_missing_its_checksum_ends_where_the_next_begins() -> None:
    good = build_message("FIX.4.4", [(35, "0"), (49, "A"), (56, "B"), (34, 1)])
    no_checksum = good[: good.rindex(b"10=")]
    third = build_message("FIX.4.4", [(35, "1"), (49, "A"), (56, "B"), (34, 2), (112, "t")])
    # the next message in the same read, then with a third behind it (its trailer
    # complete and followed by "8="), then arriving only in the next read
    for reads in ([no_checksum + good], [no_checksum + good + third], [no_checksum, good]):
        r = FrameReader(accelerate=False)
        items = [item for data in reads for item in r.feed(data)]
        assert isinstance(items[0], Garbled) and items[0].data == no_checksum
        assert [type(i).__name__ for i in items[1:]] == ["FixMessage"] * (len(items) - 1)
        assert items[1].raw == good  # type: ignore[union-attr]
        assert r.buffered == 0


def test_the_test_client_checks_body_length_and_checksum_itself() -> None:
    """The socket tests' client (simplefix) must not take a wrong frame on trust:
    simplefix frames by CheckSum(10) and checks neither value."""
    good = [(8, b"FIX.4.4"), (9, b"5"), (35, b"0"), (10, b"163")]
    assert sum(b"8=FIX.4.4\x019=5\x0135=0\x01") % 256 == 163
    assert ClientMessage(good).msg_type == "0"
    with pytest.raises(AssertionError, match="CheckSum"):
        ClientMessage([*good[:3], (10, b"164")])
    with pytest.raises(AssertionError, match="BodyLength"):
        ClientMessage([good[0], (9, b"6"), *good[2:]])
