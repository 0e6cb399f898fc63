"""Codec micro-benchmark against simplefix: ``python -m gateway.fix.bench_codec``.

Measures, per message, parsing a NewOrderSingle from a byte stream (framing with
BodyLength/CheckSum verification + field split), dictionary validation, and
encoding an ExecutionReport.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import simplefix

from gateway.fix.codec import FixEncoder, FrameReader, build_message, encode_fields
from gateway.fix.dictionary import load_dictionary

NOS = build_message(
    "FIX.4.4",
    [
        (35, "D"), (49, "CLIENT1"), (56, "GATEWAY"), (34, 12345),
        (52, "20240101-12:00:00.123"), (11, "ORD-000012345"), (1, "ACC1"),
        (55, "BTC-USD"), (54, "1"), (60, "20240101-12:00:00.123"), (38, "0.015"),
        (40, "2"), (44, "43125.50"), (59, "1"), (7928, "1"),
    ],
)  # fmt: skip
ER_BODY = [
    (37, "123456"), (11, "ORD-000012345"), (17, "123456-1"), (150, "0"), (39, "0"),
    (1, "ACC1"), (55, "BTC-USD"), (54, "1"), (38, "0.015"), (44, "43125.50"),
    (151, "0.015"), (14, "0"), (6, "0"), (60, "20240101-12:00:00.123456"),
]  # fmt: skip


def _bench(fn: Callable[[], object], n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def main(n: int = 50_000) -> None:
    reader = FrameReader()
    sf_parser = simplefix.FixParser()

    def ours_parse() -> object:
        return reader.feed(NOS)

    def sf_parse() -> object:
        sf_parser.append_buffer(NOS)
        return sf_parser.get_message()

    enc = FixEncoder("FIX.4.4", "GATEWAY", "CLIENT1")

    def ours_encode() -> bytes:
        return enc.encode(b"8", 12345, b"20240101-12:00:00.123", encode_fields(ER_BODY))

    def sf_encode() -> bytes:
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4")
        m.append_pair(35, "8")
        m.append_pair(49, "GATEWAY")
        m.append_pair(56, "CLIENT1")
        m.append_pair(34, 12345)
        m.append_pair(52, "20240101-12:00:00.123")
        for t, v in ER_BODY:
            m.append_pair(t, v)
        return bytes(m.encode())

    d = load_dictionary("FIX.4.4")
    [msg] = reader.feed(NOS)

    def validate() -> object:
        return d.validate(msg)  # type: ignore[arg-type]

    rows = [
        ("parse NewOrderSingle (stream)", _bench(ours_parse, n), _bench(sf_parse, n)),
        ("encode ExecutionReport", _bench(ours_encode, n), _bench(sf_encode, n)),
    ]
    print(f"{'operation':34} {'ours us':>9} {'simplefix us':>13} {'speedup':>8}")
    for name, ours, theirs in rows:
        print(f"{name:34} {ours:9.2f} {theirs:13.2f} {theirs / ours:7.1f}x")
    print(f"{'dictionary validate (ours only)':34} {_bench(validate, n):9.2f}")


if __name__ == "__main__":
    main()
