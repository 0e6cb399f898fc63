"""Session-layer behaviours of the FIX Session Layer Test Cases where the gateway once
differed (issue #15), each over a real TCP socket to the acceptor."""

from __future__ import annotations

import pytest

from gateway.fix.codec import FieldValue
from tests.fix.conftest import Harness, now_ts

ORDER_REST: list[tuple[int, FieldValue]] = [
    (55, "BTC-USD"),
    (54, "1"),
    (60, "20240101-00:00:00.000"),
    (38, "1"),
    (40, "2"),
    (44, "100"),
]


# -- a garbled first message: disconnect at once ---------------------------------------


@pytest.mark.parametrize("damage", ["checksum", "body-length-short", "body-length-long"])
async def test_garbled_logon_disconnects_at_once(harness: Harness, damage: str) -> None:
    """Well inside logon_timeout_s (10 s here): the connection is closed as soon as its
    first frame proves garbled, a BodyLength too large included (its trailer is there,
    with the CheckSum of the bytes before it)."""
    await harness.start(logon_timeout_s=10)
    c = await harness.connect()
    good = c.build("A", [(98, 0), (108, 30)])
    if damage == "checksum":
        bad = good[:-4] + (b"000" if not good.endswith(b"000\x01") else b"001") + b"\x01"
    else:
        length = int(good.split(b"\x01")[1][2:]) + (-3 if damage == "body-length-short" else 3)
        bad = good.replace(good.split(b"\x01")[1], b"9=%d" % length, 1)
        bad = bad[:-4] + b"%03d\x01" % (sum(bad[: bad.rindex(b"10=")]) % 256)
    await c.send_raw(bad)
    await c.expect_closed(timeout=2)
    assert harness.session().next_target_seq == 1


# -- a real message behind a frame with a wrong BodyLength ------------------------------


@pytest.mark.parametrize("damage", ["no-trailer", "covers-next", "too-large"])
async def test_message_behind_bad_body_length_recovered_by_ordinary_resend(
    harness: Harness, damage: str
) -> None:
    """Order 2 is sent with a bad BodyLength, orders 3 and 4 correctly, in one write: 2
    is dropped, 3 is read on its own (too high: ResendRequest 7=2, 3 and 4 queued); the
    client's ordinary resend of 2..4 gets each order processed once, in order."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    orders = [c.build("D", [(11, f"C{n}"), *ORDER_REST], seq=n) for n in (2, 3, 4)]
    bad = orders[0]
    body = len(bad.split(b"\x01", 2)[2]) - 7
    if damage == "no-trailer":
        bad = bad[: bad.rindex(b"10=")]
    else:  # BodyLength reaching exactly to the end of 3, or just past the end of 2
        wrong = body + (len(orders[1]) if damage == "covers-next" else 5)
        bad = bad.replace(b"\x019=%d\x01" % body, b"\x019=%d\x01" % wrong, 1)
    await c.send_raw(bad + orders[1] + orders[2])
    rr = await c.expect("2")
    assert (rr.get(7), rr.get(16)) == (b"2", b"0")
    for n in (2, 3, 4):  # the ordinary answer to 7=2|16=0
        dup = [(43, "Y"), (122, now_ts(-1))]
        await c.send("D", [(11, f"C{n}"), *ORDER_REST], seq=n, header=dup)
    acks = [await c.expect("8") for _ in range(3)]
    assert [a.get(11) for a in acks] == [b"C2", b"C3", b"C4"]
    await c.expect_nothing()
    assert [m.get(11) for m in harness.app.messages] == [b"C2", b"C3", b"C4"]
    assert harness.session().next_target_seq == 5
