"""Session-layer behaviours of the FIX Session Layer Test Cases where the gateway once
differed (issue #15), each over a real TCP socket to the acceptor."""

from __future__ import annotations

import pytest

from gateway.fix.codec import FieldValue
from tests.fix.conftest import (
    CLIENT,
    FIX44_AND_FIXT,
    GATEWAY,
    FixClient,
    Harness,
    encode,
    new_order_single,
    now_ts,
)

ROUTING: list[tuple[int, FieldValue]] = [
    (115, "BROKER"),
    (128, "DESK"),
    (116, "TRADER"),
    (129, "DESKSUB"),
    (144, "LDN"),
    (145, "NYC"),
]
#: what our answer must carry: each routing field's value in its reverse field
REVERSED = {128: b"BROKER", 115: b"DESK", 129: b"TRADER", 116: b"DESKSUB", 145: b"LDN", 144: b"NYC"}


def raw_message(c: FixClient, fields: list[tuple[int, FieldValue]]) -> bytes:
    """A message of exactly these fields after BodyLength (no header added)."""
    return encode(c.begin_string, fields)


# -- SequenceReset-Reset: MsgSeqNum ignored -------------------------------------------


@FIX44_AND_FIXT
@pytest.mark.parametrize(
    "seq",
    [0, None, -1, "x"],
    ids=["msgseqnum-0", "msgseqnum-missing", "msgseqnum-negative", "msgseqnum-not-a-number"],
)
async def test_sequence_reset_reset_ignores_msg_seq_num(
    harness: Harness, seq: int | str | None
) -> None:
    """Reset mode (123 absent) with 34=0, no 34 or a 34 that is no sequence number at
    all: NewSeqNo applies, no Logout, no Reject."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    fields: list[tuple[int, FieldValue]] = [(35, "4"), (49, CLIENT), (56, GATEWAY)]
    if seq is not None:
        fields.append((34, seq))
    fields += [(52, now_ts()), (36, 10)]
    await c.send_raw(raw_message(c, fields))
    await harness.wait_for(lambda: harness.session().next_target_seq == 10)
    await c.send("1", [(112, "after-reset")], seq=10)
    assert (await c.expect("0")).get(112) == b"after-reset"  # not a Reject first


async def test_sequence_reset_reset_without_msg_seq_num_still_validated(
    harness: Harness,
) -> None:
    """Only MsgSeqNum is excused: a Reset without 34 and without NewSeqNo(36) gets
    Reject 373=1|371=36 (45=0: there is no number to refer to), nothing changes."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    fields: list[tuple[int, FieldValue]] = [(35, "4"), (49, CLIENT), (56, GATEWAY), (52, now_ts())]
    await c.send_raw(raw_message(c, fields))
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(373), rj.get(371)) == (b"0", b"1", b"36")
    assert harness.session().next_target_seq == 2


# -- missing or empty CompIDs: required-field rejects, not CompID problems ---------------


@FIX44_AND_FIXT
@pytest.mark.parametrize(
    ("tag", "value", "reason"),
    [(56, None, b"1"), (56, "", b"4"), (49, None, b"1"), (49, "", b"4")],
    ids=["56-missing", "56-empty", "49-missing", "49-empty"],
)
async def test_missing_or_empty_compid_rejected_session_kept(
    harness: Harness, tag: int, value: str | None, reason: bytes
) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    fields: list[tuple[int, FieldValue]] = [(35, "0"), (49, CLIENT), (56, GATEWAY)]
    fields = [(t, v if t != tag else value) for t, v in fields if t != tag or value is not None]
    fields += [(34, 2), (52, now_ts())]
    await c.send_raw(raw_message(c, fields))
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(372), rj.get(373), rj.get(371)) == (b"2", b"0", reason, b"%d" % tag)
    await c.send("1", [(112, "alive")], seq=3)  # 2 was consumed, no Logout
    assert (await c.expect("0")).get(112) == b"alive"


# -- a Logon that is not accepted: disconnect without Logout ---------------------------


async def test_logon_wrong_begin_string_disconnected_without_logout(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30)], begin_string="FIX.4.2")
    await c.expect_closed()  # EOF with nothing before it
    assert harness.app.logons == [] and harness.session().next_sender_seq == 1


async def test_logon_sending_time_out_of_tolerance_disconnected_without_logout(
    harness: Harness,
) -> None:
    await harness.start(tolerance=2)
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30)], sending_time=now_ts(-60))
    await c.expect_closed()
    assert harness.app.logons == [] and harness.session().next_sender_seq == 1


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


# -- reverse routing on Reject and BusinessMessageReject ---------------------------------


@FIX44_AND_FIXT
async def test_reject_carries_reverse_routing(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "x"), (9999, "y")], header=ROUTING)
    rj = await c.expect("3")
    assert {t: rj.get(t) for t in REVERSED} == REVERSED
    assert (rj.get(49), rj.get(56)) == (GATEWAY.encode(), CLIENT.encode())


@FIX44_AND_FIXT
async def test_business_reject_carries_reverse_routing(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("e", [(324, "S1"), (55, "BTC-USD"), (263, "0")], header=ROUTING)
    j = await c.expect("j")
    assert {t: j.get(t) for t in REVERSED} == REVERSED
    assert j.get(380) == b"3"


async def test_reject_without_routing_has_none(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "x"), (9999, "y")], header=[(115, "BROKER")])
    rj = await c.expect("3")
    assert rj.get(128) == b"BROKER"
    assert [rj.get(t) for t in (115, 116, 129, 144, 145)] == [None] * 5


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
    orders = [c.build("D", new_order_single(f"C{n}"), seq=n) for n in (2, 3, 4)]
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
        await c.send("D", new_order_single(f"C{n}"), seq=n, header=dup)
    acks = [await c.expect("8") for _ in range(3)]
    assert [a.get(11) for a in acks] == [b"C2", b"C3", b"C4"]
    await c.expect_nothing()
    assert [m.get(11) for m in harness.app.messages] == [b"C2", b"C3", b"C4"]
    assert harness.session().next_target_seq == 5
