"""The fan-out subscribers' scanner (loadtest/ws_scan.py): the Python reference on the
gateway's own book frames, and the C scanner (`_cwsscan.c`, native build) against it.

The C tests follow ARCHITECTURE's rule for hand-written C: Hypothesis builds streams of
well-formed, damaged and foreign frames, and both scanners must return the same
position, last seq, counters and latencies for every one; the C scanner must also be
the one the subscribers use and must read the gateway's frames itself.
"""

from __future__ import annotations

from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.model import Instrument
from gateway.marketdata import DepthSnapshot, DepthUpdate
from gateway.ws.subscriptions import json_depth_snapshot, json_depth_update
from loadtest import ws_scan
from loadtest.null_acceptor import ws_frame
from loadtest.ws_scan import COUNTERS, Scan, scan_reference

BTC = Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.01")
TS = 1_700_000_000_000_000
OPEN = (0, 1 << 62)  # a measuring window that holds every receipt time


def snapshot(seq: int, ts: int = TS) -> bytes:
    snap = DepthSnapshot(BTC, 10, seq, ts, [(5_000_000, 100)], [(5_000_100, 7)], 123)
    return ws_frame(json_depth_snapshot(snap))


def delta(seq: int, prev: int, ts: int = TS) -> bytes:
    update = DepthUpdate(BTC, 10, seq, prev, ts, [(4_999_999, 3)], [], 99)
    return ws_frame(json_depth_update(update))


def counters(window: tuple[int, int] = OPEN) -> array[int]:
    counts = array("q", bytes(8 * len(COUNTERS)))
    counts[4], counts[5] = window
    return counts


def run(
    stream: bytes, scanner: Scan = scan_reference, last_seq: int = -1, now: int = TS + 250
) -> tuple[tuple[int, int], dict[str, int], list[int]]:
    counts = counters()
    lats = bytearray()
    result = scanner(stream, 0, last_seq, now, counts, lats)
    return result, dict(zip(COUNTERS[:4], counts, strict=False)), list(array("q", bytes(lats)))


def test_a_snapshot_then_chained_deltas_read_whole_with_their_latencies() -> None:
    stream = snapshot(5) + delta(7, 5, TS + 10) + delta(8, 7, TS + 20)
    (pos, last), counts, lats = run(stream)
    assert (pos, last) == (len(stream), 8)
    assert counts == {"frames": 3, "gaps": 0, "snapshots": 1, "conflations": 0}
    assert lats == [250, 240, 230]


def test_a_missing_seq_is_counted_as_a_gap() -> None:
    stream = snapshot(5) + delta(6, 5) + delta(8, 7) + delta(9, 8)  # 7 never came
    _, counts, _ = run(stream)
    assert counts["gaps"] == 1 and counts["frames"] == 4


def test_a_snapshot_after_the_first_is_a_conflation() -> None:
    _, counts, _ = run(snapshot(5) + delta(6, 5) + snapshot(40) + delta(41, 40))
    assert counts == {"frames": 4, "gaps": 0, "snapshots": 2, "conflations": 1}


def test_latencies_are_kept_only_inside_the_window() -> None:
    lats = bytearray()
    stream = snapshot(1) + delta(2, 1)
    scan_reference(stream, 0, -1, TS + 5, counters((TS + 6, TS + 9)), lats)
    assert lats == b""
    scan_reference(stream, 0, -1, TS + 6, counters((TS + 6, TS + 9)), lats)
    assert list(array("q", bytes(lats))) == [6, 6]


@pytest.mark.parametrize(
    "other",
    [
        ws_frame(b'{"id":1,"status":200,"result":{"subscribed":["book.BTC-USD.10"]}}'),
        b"\x89\x00",  # a ping
        ws_frame(b'{"channel":"book.BTC-USD.10","seq":12345678901234567890,"data":{}}'),
        delta(7, 6)[:-1],  # a partial frame (the rest is still on its way)
    ],
)
def test_the_scanner_stops_at_what_it_does_not_read(other: bytes) -> None:
    first = snapshot(5) + delta(6, 5)
    after = delta(7, 6) if other != delta(7, 6)[:-1] else b""
    (pos, last), counts, _ = run(first + other + after)
    assert (pos, last, counts["frames"]) == (len(first), 6, 2)


def test_a_frame_over_64_kib_reads_too() -> None:
    big = DepthUpdate(BTC, 500, 2, 1, TS, [(p, 1) for p in range(1, 5000)], [], 0)
    frame = ws_frame(json_depth_update(big))
    assert frame[1] == 127  # the 64-bit length (every delta above has the 16-bit one)
    (pos, last), counts, _ = run(snapshot(1) + frame)
    assert (pos, last, counts["gaps"]) == (len(snapshot(1) + frame), 2, 0)


# ---------------------------------------------------------------- the C scanner

c_scan: Scan | None
try:
    from loadtest._cwsscan import scan as c_scan
except ImportError:
    c_scan = None
native = pytest.mark.skipif(c_scan is None, reason="C scanner: native build only")

seqs = st.one_of(st.integers(0, 10**6), st.just(10**18 - 1), st.just(10**18))
frames = st.one_of(
    st.builds(lambda s: snapshot(s), seqs),
    st.builds(lambda s, p, t: delta(s, p, t), seqs, seqs, st.integers(0, 2 * TS)),
    st.builds(lambda s, p: delta(s, p), seqs, seqs),
    st.sampled_from(
        [
            ws_frame(b'{"id":1,"status":200}'),
            ws_frame(b'{"channel":"x","seq":1}'),
            ws_frame(b'{"channel":"x","seq":1,"ts_us":5}'),
            ws_frame(b'{"channel":"x","seq":1,"prev_seq":,"ts_us":5}'),
            ws_frame(b'{"channel":"x","seq":-1,"prev_seq":0,"ts_us":5}'),
            ws_frame(b'{"channel":"x","ts_us":5,"seq":3}'),
            b"\x89\x00",
            b"\x88\x02\x03\xe8",
            b"\x81\xfe\x00\x01abcd\x00",  # masked
            b"\x81\x7f\xff\xff\xff\xff\xff\xff\xff\xff",
        ]
    ),
    st.binary(max_size=12),
)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    stream = b"".join(draw(st.lists(frames, max_size=8)))
    if stream and draw(st.booleans()):  # damage one byte or cut the end
        k = draw(st.integers(0, len(stream) - 1))
        if draw(st.booleans()):
            stream = stream[:k]
        else:
            stream = stream[:k] + bytes([draw(st.integers(0, 255))]) + stream[k + 1 :]
    return stream


@native
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=streams(),
    pos=st.integers(0, 40),
    last_seq=st.integers(-1, 10**6),
    now=st.integers(0, 2 * TS),
    window=st.tuples(st.integers(0, 2 * TS), st.integers(0, 2 * TS)),
    as_bytearray=st.booleans(),
)
def test_the_c_scanner_reads_every_stream_as_the_python_scanner_does(
    stream: bytes,
    pos: int,
    last_seq: int,
    now: int,
    window: tuple[int, int],
    as_bytearray: bool,
) -> None:
    buf = bytearray(stream) if as_bytearray else stream
    out = []
    assert c_scan is not None
    for scanner in (c_scan, scan_reference):
        counts, lats = counters(window), bytearray(b"x")
        out.append((scanner(buf, pos, last_seq, now, counts, lats), counts, lats))
    assert out[0] == out[1]


@native
def test_the_subscribers_use_the_c_scanner_and_it_reads_the_gateways_frames() -> None:
    assert c_scan is not None and ws_scan.NATIVE and ws_scan.scan is c_scan
    stream = snapshot(5) + delta(6, 5) + delta(8, 7)
    (pos, last), counts, lats = run(stream, c_scan)
    assert (pos, last, counts["gaps"], lats) == (len(stream), 8, 1, [250, 250, 250])


@native
def test_the_c_scanner_reads_the_clock_when_now_is_negative() -> None:
    assert c_scan is not None
    counts, lats = counters(), bytearray()
    c_scan(snapshot(1, ts=0), 0, -1, -1, counts, lats)
    assert array("q", bytes(lats))[0] > TS  # now - 0: the wall clock in us


@pytest.mark.skipif(not engine.NATIVE, reason="pure-Python build")
def test_the_native_build_has_the_c_scanner() -> None:
    assert ws_scan.NATIVE, "setup.py C_MODULES built without loadtest/_cwsscan.c"
