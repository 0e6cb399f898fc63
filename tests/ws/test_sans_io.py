"""Protocol pieces without sockets: outbox policy, checksum format, logon signatures."""

from __future__ import annotations

import pytest

from engine.model import Instrument
from gateway.marketdata import checksum
from gateway.ws.auth import KeyRing, LiveKey, sign_ed25519, sign_hmac
from gateway.ws.errors import ApiError, ErrorCode
from gateway.ws.outbox import Outbox

BTC = Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.0001")


class Sub:
    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.resyncs = 0

    def resync(self) -> bytes:
        self.resyncs += 1
        return self.frame


def make_outbox(limit: int) -> tuple[Outbox, list[str], list[int]]:
    closed: list[str] = []
    wakes: list[int] = []
    return Outbox(limit, closed.append, lambda: wakes.append(1)), closed, wakes


def test_conflatable_frames_stop_at_half_the_limit_then_resync_once() -> None:
    box, closed, wakes = make_outbox(8)
    sub = Sub(b"snapshot")
    for i in range(10):
        box.offer(sub, b"delta%d" % i)
    assert list(box.queue) == [b"delta0", b"delta1", b"delta2", b"delta3"]
    assert box.conflated == 1 and list(box.stale) == [sub]
    assert wakes == [1]  # woken once, when the queue became non-empty
    box.queue.clear()
    box.resync()
    assert list(box.queue) == [b"snapshot"] and sub.resyncs == 1 and not box.stale
    assert closed == []


def test_must_deliver_overflow_closes_and_clears() -> None:
    box, closed, _ = make_outbox(4)
    for i in range(4):
        assert box.push(b"%d" % i)
    assert not box.push(b"4")
    assert closed == ["slow consumer: send queue full (4 messages)"]
    assert len(box) == 0 and box.closed
    assert not box.push(b"5")
    assert closed == ["slow consumer: send queue full (4 messages)"]  # reported once


def test_must_deliver_frames_use_the_room_market_data_leaves() -> None:
    box, closed, _ = make_outbox(4)
    sub = Sub(b"s")
    box.offer(sub, b"d0")
    box.offer(sub, b"d1")
    box.offer(sub, b"d2")  # soft limit (2) reached: stale
    assert box.push(b"r0") and box.push(b"r1")
    assert list(box.queue) == [b"d0", b"d1", b"r0", b"r1"] and closed == []


def test_checksum_format_is_interleaved_price_qty_strings() -> None:
    bids = [(10050, 10000), (10049, 2500)]  # 100.5 x 1, 100.49 x 0.25
    asks = [(10100, 20000)]  # 101 x 2
    # "100.5:1:101:2:100.49:0.25"
    assert checksum(BTC, bids, asks) == 1862107259
    assert checksum(BTC, [], []) == 0
    eleven = [(10000 - i, 1) for i in range(11)]
    assert checksum(BTC, eleven, []) == checksum(BTC, eleven[:10], [])


def test_keyring_hmac_and_ed25519() -> None:
    seed = bytes(range(32)).hex()
    ring = KeyRing(1000, lambda key_id, salt: b"s3cret" if salt == "config" else b"")
    ring.put(
        LiveKey(
            "k1",
            "ACC1",
            "config",
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
            frozenset({"read"}),
        )
    )
    now = 1_700_000_000_000
    assert ring.verify("k1", now, sign_hmac("s3cret", "k1", now), now + 999).account == "ACC1"
    later = now + 1
    assert ring.verify("k1", later, sign_ed25519(seed, "k1", later), now - 999).account == "ACC1"
    cases = [
        ("k1", now, sign_ed25519(seed, "k1", now), ErrorCode.LOGON_REPLAYED),
        ("k2", now, sign_hmac("s3cret", "k2", now), ErrorCode.UNKNOWN_API_KEY),
        ("k1", now, sign_hmac("s3cret", "k1", now + 1), ErrorCode.BAD_SIGNATURE),
        ("k1", now, sign_hmac("wrong", "k1", now), ErrorCode.BAD_SIGNATURE),
        ("k1", now, "zz", ErrorCode.BAD_SIGNATURE),
        ("k1", now - 1001, sign_hmac("s3cret", "k1", now - 1001), ErrorCode.STALE_TIMESTAMP),
    ]
    for key, ts, sig, code in cases:
        with pytest.raises(ApiError) as info:
            ring.verify(key, ts, sig, now)
        assert info.value.code == code, (key, ts, sig)
        assert info.value.status == 401
