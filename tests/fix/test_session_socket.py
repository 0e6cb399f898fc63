"""FIX session-layer test cases (FIX Trading Community Session Layer Test Cases),
each speaking FIX over a real TCP socket to the acceptor."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.fix.auth import hash_password
from gateway.fix.session import SessionState
from gateway.fix.settings import AuthMode, SessionSettings
from tests.fix.conftest import (
    CLIENT,
    FIX44_AND_FIXT,
    GATEWAY,
    Harness,
    encode,
    new_order_single,
    now_ts,
    signed_logon,
)

order = new_order_single


async def logged_on(h: Harness, **kw: object) -> tuple[object, object]:
    await h.start()
    c = await h.connect()
    resp = await c.logon(**kw)  # type: ignore[arg-type]
    return c, resp


# -- 1S: logon --------------------------------------------------------------------


@FIX44_AND_FIXT
async def test_logon_valid(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    resp = await c.logon(heartbeat=30)
    assert resp.get(34) == b"1"
    assert resp.get(98) == b"0" and resp.get(108) == b"30"
    assert resp.get(49) == GATEWAY.encode() and resp.get(56) == CLIENT.encode()
    assert harness.session().state is SessionState.LOGGED_ON
    assert harness.app.logons == [harness.session()]
    assert harness.session().next_target_seq == 2


async def test_first_message_not_logon_disconnects(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.send("1", [(112, "X")])
    await c.expect_closed()
    assert harness.app.logons == []


async def test_logon_unknown_compid_disconnects(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect(sender="NOBODY")
    await c.send("A", [(98, 0), (108, 30)])
    await c.expect_closed()


@FIX44_AND_FIXT
async def test_logon_seq_too_high_sends_resend_request(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon(seq=5)
    rr = await c.expect("2")
    assert rr.get(7) == b"1" and rr.get(16) == b"0"
    assert harness.session().state is SessionState.RESEND_IN_PROGRESS
    # client gap-fills 1..4; the queued Logon (5) then completes the gap
    await c.send("4", [(123, "Y"), (36, 5)], seq=1, header=[(43, "Y"), (122, now_ts())])
    await harness.wait_for(lambda: harness.session().next_target_seq == 6)
    assert harness.session().state is SessionState.LOGGED_ON


async def test_logon_bad_password_logout_and_no_reset(harness: Harness) -> None:
    s = SessionSettings(
        target_comp_id=CLIENT, auth=AuthMode.PASSWORD, password_hash=hash_password("s3cret")
    )
    await harness.start(s)
    c = await harness.connect()
    await c.logon([(553, "u"), (554, "s3cret")])
    await c.send("5")
    await c.expect("5")
    await c.expect_closed()
    sess = harness.session()
    assert (sess.next_target_seq, sess.next_sender_seq) == (3, 3)
    c2 = await harness.connect()
    await c2.send("A", [(98, 0), (108, 30), (141, "Y"), (553, "u"), (554, "wrong")], seq=1)
    lo = await c2.expect("5")
    assert lo.get(58) == b"Authentication failed"
    await c2.expect_closed()
    # bad credentials never reset the stored sequence numbers
    assert sess.next_target_seq == 3
    assert sess.state is SessionState.DISCONNECTED


async def test_logon_ed25519(harness: Harness) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pub = key.public_key().public_bytes_raw().hex()
    s = SessionSettings(
        target_comp_id=CLIENT, auth=AuthMode.ED25519, ed25519_public_keys={"k1": pub}
    )
    await harness.start(s)
    c = await harness.connect()
    await c.send_raw(signed_logon(c, key, "k1"))
    await c.expect("A")
    await c.close()
    await harness.wait_for(lambda: not harness.session().is_connected)
    # signed with another key: Logout + disconnect
    c2 = await harness.connect()
    c2.seq = 2
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    await c2.send_raw(signed_logon(c2, other, "k1"))
    lo = await c2.expect("5")
    assert lo.get(58) == b"Authentication failed"
    await c2.expect_closed()


async def test_duplicate_logon_refused_existing_kept(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    c2 = await harness.connect()
    await c2.send("A", [(98, 0), (108, 30)], seq=2)
    await c2.expect_closed()
    await c.send("1", [(112, "still-here")])
    hb = await c.expect("0")
    assert hb.get(112) == b"still-here"


async def test_logon_heartbeat_out_of_bounds(harness: Harness) -> None:
    await harness.start(SessionSettings(target_comp_id=CLIENT, heartbeat_min_s=5))
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 1)])
    lo = await c.expect("5")
    assert lo.get(58) == b"HeartBtInt(108) must be between 5 and 300"
    await c.expect_closed()


async def test_no_logon_within_logon_timeout_disconnects(harness: Harness) -> None:
    """A connection that never completes a Logon is closed after logon_timeout_s, even
    if it sends bytes (half a Logon here); the session itself is untouched."""
    await harness.start(logon_timeout_s=0.6)
    loop = asyncio.get_running_loop()
    idle = await harness.connect()
    partial = await harness.connect()
    t0 = loop.time()
    logon = partial.build("A", [(98, 0), (108, 30)])
    await partial.send_raw(logon[: len(logon) // 2])
    await idle.expect_nothing(0.2)  # still open before the timeout
    await idle.expect_closed(timeout=2)
    await partial.expect_closed(timeout=2)
    assert loop.time() - t0 >= 0.55
    assert harness.session().state is SessionState.DISCONNECTED
    assert harness.app.logons == []
    c = await harness.connect()  # a connection that logs on in time is not affected
    await c.logon()
    await c.expect_nothing(0.8)  # past logon_timeout_s
    assert harness.session().is_logged_on


async def test_second_logon_without_reset_rejected_session_kept(harness: Harness) -> None:
    """A Logon on a logged-on session without 141=Y: Reject 373=99 `Already logged on`
    (its sequence number consumed), the session and its numbers otherwise unchanged."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("A", [(98, 0), (108, 30)])  # seq 2
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(372), rj.get(373), rj.get(371)) == (b"2", b"A", b"99", None)
    assert rj.get(58) == b"Already logged on"
    assert harness.session().state is SessionState.LOGGED_ON
    assert harness.app.logons == [harness.session()]  # no second on_logon
    await c.send("1", [(112, "still-on")])  # seq 3: the Logon consumed 2
    hb = await c.expect("0")
    assert (hb.get(112), hb.get(34)) == (b"still-on", b"3")


# -- NextExpectedMsgSeqNum (789) on Logon, FIX 4.4 ------------------------------------


async def test_logon_next_expected_equal_answered_with_789(harness: Harness) -> None:
    """789 equal to our next MsgSeqNum: normal Logon; our answer carries 789 = the
    next MsgSeqNum we expect (the Logon counted, or the start of a gap)."""
    await harness.start()
    c = await harness.connect()
    resp = await c.logon([(789, 1)])
    assert (resp.get(34), resp.get(789)) == (b"1", b"2")
    await c.expect_nothing()
    await c.send("5")
    await c.expect("5")
    await c.expect_closed()
    c2 = await harness.connect()
    c2.seq = 3
    plain = await c2.logon()  # no 789 from the client: none in our answer
    assert plain.get(789) is None and plain.get(34) == b"3"
    await c2.send("5")
    await c2.expect("5")
    await c2.expect_closed()
    c3 = await harness.connect()
    resp = await c3.logon([(789, 5)], seq=9)  # our next is 5; the client skipped 5..8
    assert (resp.get(34), resp.get(789)) == (b"5", b"5")
    rr = await c3.expect("2")
    assert (rr.get(7), rr.get(16)) == (b"5", b"0")


@FIX44_AND_FIXT
async def test_logon_next_expected_lower_resends_from_789(harness: Harness) -> None:
    """789 below our next MsgSeqNum: after the Logon answer we resend from 789 up to
    the message before the answer, as for a ResendRequest (43=Y, 122, admin runs
    gap-filled)."""
    await harness.start()
    c = await harness.connect()
    await c.logon()  # out 1: Logon
    await c.send("D", order("A"))  # out 2: ER
    er_a = await c.expect("8")
    await c.send("1", [(112, "x")])  # out 3: Heartbeat
    await c.expect("0")
    await c.send("D", order("B"))  # out 4: ER (the client will say it never got it)
    await c.expect("8")
    await c.close()
    await harness.wait_for(lambda: not harness.session().is_connected)
    sess = harness.session()
    c2 = await harness.connect()
    c2.seq = 5
    resp = await c2.logon([(789, 2)])
    assert (resp.get(34), resp.get(789)) == (b"5", b"6")
    got = [await c2.recv() for _ in range(3)]
    summary = [(m.msg_type, m.get_int(34), m.get_int(36), m.get(43)) for m in got]
    assert summary == [("8", 2, None, b"Y"), ("4", 3, 4, b"Y"), ("8", 4, None, b"Y")]
    assert got[0].get(122) == er_a.get(52) and got[0].get(11) == b"A"
    assert got[1].get(123) == b"Y" and got[2].get(11) == b"B"
    await c2.expect_nothing()
    assert (sess.next_sender_seq, sess.next_target_seq) == (6, 6)
    await c2.send("1", [(112, "after")])
    hb = await c2.expect("0")
    assert (hb.get(112), hb.get(34)) == (b"after", b"6")


async def test_logon_next_expected_too_high_logout_numbers_kept(harness: Harness) -> None:
    """789 above our next MsgSeqNum (we cannot resend what we never sent): Logout with
    the reason and disconnect; stored numbers are not reset or changed (only the
    Logout consumes its own MsgSeqNum), with or without 141=Y."""
    sess = await harness.log_on_and_out()
    c2 = await harness.connect()
    c2.seq = 3
    await c2.send("A", [(98, 0), (108, 30), (789, 7)])
    lo = await c2.expect("5")
    assert lo.get(58) == b"NextExpectedMsgSeqNum(789) too high, expecting 3 but received 7"
    assert lo.get(34) == b"3"
    await c2.expect_closed()
    assert (sess.next_sender_seq, sess.next_target_seq) == (4, 3)
    c3 = await harness.connect()  # with 141=Y our next would be 1: 789=2 is too high
    await c3.send("A", [(98, 0), (108, 30), (141, "Y"), (789, 2)], seq=1)
    lo = await c3.expect("5")
    assert lo.get(58) == b"NextExpectedMsgSeqNum(789) too high, expecting 1 but received 2"
    await c3.expect_closed()
    assert (sess.next_sender_seq, sess.next_target_seq) == (5, 3)  # no reset happened
    c4 = await harness.connect()
    await c4.send("A", [(98, 0), (108, 30), (789, 0)], seq=3)
    lo = await c4.expect("5")
    assert lo.get(58) == b"NextExpectedMsgSeqNum(789) must be at least 1"
    await c4.expect_closed()
    assert harness.app.logons == [sess]


async def test_logon_next_expected_on_fix42_refused(harness: Harness) -> None:
    """789 is not a FIX 4.2 field: such a Logon fails dictionary validation."""
    await harness.start(SessionSettings(target_comp_id="C42", begin_string="FIX.4.2"))
    c = await harness.connect(begin_string="FIX.4.2", sender="C42")
    await c.send("A", [(98, 0), (108, 30), (789, 1)])
    lo = await c.expect("5")
    assert lo.get(58) == b"Logon rejected: Invalid tag number (tag 789)"
    await c.expect_closed()


# -- 2: standard header ------------------------------------------------------------


@FIX44_AND_FIXT
async def test_seq_too_high_resend_request_then_queue(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "queued")], seq=5)
    rr = await c.expect("2")
    assert (rr.get(7), rr.get(16)) == (b"2", b"0")
    await c.send("4", [(123, "Y"), (36, 5)], seq=2, header=[(43, "Y"), (122, now_ts())])
    hb = await c.expect("0")  # the queued TestRequest (5) is processed once the gap is filled
    assert hb.get(112) == b"queued"
    assert harness.session().next_target_seq == 6


@FIX44_AND_FIXT
async def test_seq_too_low_without_possdup_logout(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("0")
    await c.send("0", seq=2)
    lo = await c.expect("5")
    assert lo.get(58) == b"MsgSeqNum too low, expecting 3 but received 2"
    await c.expect_closed()


@FIX44_AND_FIXT
async def test_possdup_too_low_ignored(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "dup")], seq=1, header=[(43, "Y"), (122, now_ts(-1))])
    await c.expect_nothing()
    await c.send("1", [(112, "ok")])
    assert (await c.expect("0")).get(112) == b"ok"


@FIX44_AND_FIXT
async def test_possdup_missing_orig_sending_time_rejected(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "x")], header=[(43, "Y")])
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(373), rj.get(371), rj.get(58)) == (
        b"2",
        b"1",
        b"122",
        b"Required tag missing",
    )
    await c.send("1", [(112, "next")])  # seq 3: 2 was consumed
    assert (await c.expect("0")).get(112) == b"next"


async def test_possdup_orig_sending_time_after_sending_time(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "x")], header=[(43, "Y"), (122, now_ts(+5))])
    rj = await c.expect("3")
    assert rj.get(373) == b"10" and rj.get(58) == b"SendingTime accuracy problem"
    await c.expect("5")
    await c.expect_closed()


async def test_garbled_messages_ignored(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    good = c.build("1", [(112, "bad-cs")], seq=2)
    bad_checksum = good[:-4] + (b"000" if not good.endswith(b"000\x01") else b"001") + b"\x01"
    bad_length = good.replace(b"\x019=", b"\x019=1", 1)
    await c.send_raw(b"garbage\x01" + bad_checksum + bad_length)
    await c.send("1", [(112, "after")], seq=2)  # 2 is still the expected number
    hb = await c.expect("0")
    assert hb.get(112) == b"after"
    assert harness.session().next_target_seq == 3


@FIX44_AND_FIXT
async def test_bad_begin_string_logout(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("0", begin_string="FIX.4.2")
    lo = await c.expect("5")
    assert lo.get(58) == b"Incorrect BeginString"
    await c.expect_closed()


async def test_compid_mismatch_reject_and_logout(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("0", target="SOMEONE")
    rj = await c.expect("3")
    assert (rj.get(373), rj.get(371), rj.get(58)) == (b"9", b"56", b"CompID problem")
    await c.expect("5")
    await c.expect_closed()


async def test_sending_time_out_of_tolerance(harness: Harness) -> None:
    await harness.start(tolerance=2)
    c = await harness.connect()
    await c.logon()
    await c.send("0", sending_time=now_ts(-60))
    rj = await c.expect("3")
    assert (rj.get(373), rj.get(371)) == (b"10", b"52")
    lo = await c.expect("5")
    assert lo.get(58) == b"SendingTime accuracy problem"
    await c.expect_closed()


@FIX44_AND_FIXT
async def test_invalid_msg_type_rejected(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("ZZ")
    rj = await c.expect("3")
    assert (rj.get(373), rj.get(372), rj.get(58)) == (b"11", b"ZZ", b"Invalid MsgType")
    await c.send("1", [(112, "alive")], seq=3)
    assert (await c.expect("0")).get(112) == b"alive"


@FIX44_AND_FIXT
async def test_unsupported_msg_type_business_reject(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("e", [(324, "S1"), (55, "BTC-USD"), (263, "0")])
    j = await c.expect("j")
    assert (j.get(45), j.get(372), j.get(380)) == (b"2", b"e", b"3")
    assert harness.session().next_target_seq == 3


# -- 4: heartbeats and test requests ----------------------------------------------


async def test_test_request_answered_with_heartbeat(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("1", [(112, "T-1")])
    hb = await c.expect("0")
    assert hb.get(112) == b"T-1"


async def test_heartbeat_and_test_request_on_silence_then_disconnect(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon(heartbeat=1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    first = await c.recv(timeout=2)
    assert first.msg_type == "0"  # nothing sent for 1 s
    tr = await c.expect("1", timeout=2)  # nothing received for 1.2 s
    assert tr.get(112) == b"TEST1"
    msgs = []
    while True:
        m = await c.recv(timeout=3)
        msgs.append(m)
        if m.msg_type == "5":
            break
    assert msgs[-1].get(58) == b"Timed out waiting for heartbeat"
    assert loop.time() - t0 >= 2.0
    await c.expect_closed()
    assert harness.app.logouts[-1][1] is False


async def test_heartbeat_answers_test_request_keeps_session(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon(heartbeat=1)
    for _ in range(3):
        m = await c.recv(timeout=2)
        if m.msg_type == "1":
            await c.send("0", [(112, m.get(112) or b"")])
        else:
            await c.send("0")
    assert harness.session().is_logged_on


# -- 5: reject received -----------------------------------------------------------------


async def test_reject_received_increments_seq(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("3", [(45, 1), (58, "client says no")])
    await c.expect_nothing()
    assert harness.session().next_target_seq == 3


# -- 7/8: resend requests -------------------------------------------------------------


@FIX44_AND_FIXT
async def test_resend_request_app_and_gap_fill_runs(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()  # out 1: Logon (admin)
    await c.send("D", order("A"))  # out 2: ER
    er_a = await c.expect("8")
    await c.send("D", order("B"))  # out 3: ER
    await c.expect("8")
    await c.send("1", [(112, "x")])  # out 4: Heartbeat (admin)
    await c.expect("0")
    await c.send("1", [(112, "y")])  # out 5: Heartbeat (admin)
    await c.expect("0")
    await c.send("D", order("C"))  # out 6: ER
    await c.expect("8")
    await c.send("2", [(7, 1), (16, 0)])
    got = [await c.recv() for _ in range(5)]
    summary = [(m.msg_type, m.get_int(34), m.get_int(36)) for m in got]
    assert summary == [
        ("4", 1, 2),
        ("8", 2, None),
        ("8", 3, None),
        ("4", 4, 6),  # ONE gap fill for the run of admin messages 4..5
        ("8", 6, None),
    ]
    for m in got:
        assert m.get(43) == b"Y"
        assert m.get(122) is not None
    assert got[1].get(122) == er_a.get(52)
    assert got[1].get(11) == b"A" and got[0].get(123) == b"Y"
    await c.expect_nothing()


async def test_resend_request_end_seq_range(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", order("A"))
    await c.expect("8")
    await c.send("D", order("B"))
    await c.expect("8")
    await c.send("2", [(7, 3), (16, 3)])
    m = await c.expect("8")
    assert (m.get(34), m.get(11), m.get(43)) == (b"3", b"B", b"Y")
    await c.expect_nothing()


async def test_simultaneous_resend_request(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", order("A"))  # in 2, out 2
    await c.expect("8")
    await c.send("2", [(7, 2), (16, 2)], seq=5)  # too high AND a resend request
    msgs = [await c.recv(), await c.recv()]
    assert sorted((m.msg_type, m.get_int(34)) for m in msgs) == [("2", 3), ("8", 2)]


# -- 10/11: sequence reset ----------------------------------------------------------


@FIX44_AND_FIXT
async def test_gap_fill_advances_and_rejects_lowering(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("4", [(123, "Y"), (36, 10)], seq=2)
    await harness.wait_for(lambda: harness.session().next_target_seq == 10)
    await c.send("4", [(123, "Y"), (36, 9)], seq=10)
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(373), rj.get(371)) == (b"10", b"5", b"36")
    assert rj.get(58) == b"Attempt to lower sequence number, invalid value NewSeqNo=9"
    assert harness.session().next_target_seq == 11


async def test_sequence_reset_reset_mode(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("4", [(36, 20)], seq=99)  # MsgSeqNum ignored in Reset mode
    await harness.wait_for(lambda: harness.session().next_target_seq == 20)
    await c.send("4", [(36, 20)], seq=1)  # equal: accepted, no change
    await c.expect_nothing(0.2)
    await c.send("4", [(36, 5)], seq=1)  # lower: Reject 5
    rj = await c.expect("3")
    assert (rj.get(373), rj.get(371)) == (b"5", b"36")
    assert harness.session().next_target_seq == 20
    await c.send("1", [(112, "z")], seq=20)
    assert (await c.expect("0")).get(112) == b"z"


# -- 13: logout ---------------------------------------------------------------------


@FIX44_AND_FIXT
async def test_unsolicited_logout_answered(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("5", [(58, "bye")])
    await c.expect("5")
    await c.expect_closed()
    assert harness.app.logouts[-1][1] is True


@FIX44_AND_FIXT
async def test_gateway_initiated_logout(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    harness.session().logout("end of day")
    lo = await c.expect("5")
    assert lo.get(58) == b"end of day"
    assert harness.session().state is SessionState.LOGOUT_SENT
    await c.send("5")
    await c.expect_closed()
    assert harness.app.logouts[-1][1] is True


async def test_logout_timeout_disconnects(harness: Harness) -> None:
    await harness.start(SessionSettings(target_comp_id=CLIENT, logout_timeout_s=0.2))
    c = await harness.connect()
    await c.logon()
    harness.session().logout()
    await c.expect("5")
    await c.expect_closed(timeout=1)


async def test_disconnect_without_logout_is_unclean(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.close()
    await harness.wait_for(lambda: bool(harness.app.logouts))
    assert harness.app.logouts[-1][1] is False


# -- ResetSeqNumFlag ---------------------------------------------------------------


async def test_reset_seq_num_flag_on_logon(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("0")
    await c.send("5")
    await c.expect("5")
    await c.expect_closed()
    c2 = await harness.connect()
    resp = await c2.logon(reset=True)
    assert resp.get(141) == b"Y" and resp.get(34) == b"1"
    assert harness.session().next_target_seq == 2


async def test_reset_seq_num_flag_refused_when_disabled(harness: Harness) -> None:
    await harness.start(SessionSettings(target_comp_id=CLIENT, reset_on_logon=False))
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30), (141, "Y")])
    lo = await c.expect("5")
    assert lo.get(58) == b"ResetSeqNumFlag(141)=Y is not allowed on this session"
    await c.expect_closed()


@FIX44_AND_FIXT
async def test_reset_seq_num_flag_mid_session(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    for _ in range(3):
        await c.send("0")
    c.seq = 1
    resp = await c.logon(reset=True)
    assert resp.get(141) == b"Y" and resp.get(34) == b"1"
    await c.send("1", [(112, "after-reset")])  # seq 2
    hb = await c.expect("0")
    assert hb.get(112) == b"after-reset" and hb.get(34) == b"2"


# -- store / restart -----------------------------------------------------------------


@FIX44_AND_FIXT
async def test_sequence_numbers_and_resend_survive_restart(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", order("A"))
    er = await c.expect("8")
    await c.close()
    await harness.wait_for(lambda: not harness.session().is_connected)
    await harness.restart()
    c2 = await harness.connect()
    c2.seq = 3
    resp = await c2.logon()
    assert resp.get(34) == b"3"
    await c2.send("2", [(7, 2), (16, 2)])
    again = await c2.expect("8")
    assert again.get(34) == b"2" and again.get(43) == b"Y" and again.get(122) == er.get(52)
    assert again.get(11) == b"A"


# -- application layer hooks -----------------------------------------------------------


async def test_app_message_delivered_and_answered(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", order("X1"))
    er = await c.expect("8")
    assert er.get(11) == b"X1" and er.get(34) == b"2"
    assert harness.app.messages[-1].get(11) == b"X1"


async def test_throttle_rejects_excess_and_session_survives(harness: Harness) -> None:
    await harness.start(SessionSettings(target_comp_id=CLIENT, max_msgs_per_s=2))
    c = await harness.connect()
    await c.logon()
    data = b"".join(c.build("D", order(f"T{i}")) for i in range(3))
    await c.send_raw(data)
    got = [await c.recv() for _ in range(3)]
    types = sorted(m.msg_type for m in got)
    if types != ["8", "8", "j"]:  # the 1 s window may have rolled over mid-burst
        assert types == ["8", "8", "8"]
    else:
        j = next(m for m in got if m.msg_type == "j")
        assert (j.get(58), j.get(380), j.get(379)) == (b"Throttle limit exceeded", b"0", b"T2")
    await c.send("1", [(112, "alive")])
    assert (await c.expect("0")).get(112) == b"alive"


async def test_counters_count_messages_in_out_and_throttle_hits(harness: Harness) -> None:
    """What the console and GET /admin/v1/sessions show of a live session: every message
    read and written on its connection, and the application messages the throttle
    refused; a new connection counts from 0."""
    await harness.start(SessionSettings(target_comp_id=CLIENT, max_msgs_per_s=2))
    c = await harness.connect()
    await c.logon()
    sess = harness.session()
    assert (sess.msgs_in, sess.msgs_out, sess.throttle_hits) == (1, 1, 0)  # Logon, its answer
    await c.send_raw(b"".join(c.build("D", order(f"T{i}")) for i in range(10)))
    got = [await c.recv() for _ in range(10)]
    refused = sum(m.msg_type == "j" for m in got)
    assert refused >= 1  # two per second: a burst of ten cannot all pass
    assert (sess.msgs_in, sess.msgs_out, sess.throttle_hits) == (11, 11, refused)
    await c.send("1", [(112, "ping")])
    await c.expect("0")
    assert (sess.msgs_in, sess.msgs_out, sess.throttle_hits) == (12, 12, refused)

    await c.send("5")
    await c.expect("5")
    await c.expect_closed()
    again = await harness.connect()
    again.seq = c.seq  # where the first connection left off
    await again.logon()
    assert (sess.msgs_in, sess.msgs_out, sess.throttle_hits) == (1, 1, 0)


async def test_message_sent_while_disconnected_is_resendable(harness: Harness) -> None:
    await harness.start()
    sess = harness.session()
    seq = sess.send(
        "8",
        [
            (37, "O1"),
            (17, "E1"),
            (150, "4"),
            (39, "4"),
            (55, "X"),
            (54, "1"),
            (151, "0"),
            (14, "0"),
            (6, "0"),
        ],
    )
    assert seq == 1
    c = await harness.connect()
    resp = await c.logon()
    assert resp.get_int(34) == 2
    await c.send("2", [(7, 1), (16, 0)])
    er = await c.expect("8")
    assert er.get(34) == b"1" and er.get(43) == b"Y" and er.get(37) == b"O1"
    gf = await c.expect("4")  # the Logon (2) is gap-filled, never resent
    assert (gf.get(34), gf.get(36), gf.get(123)) == (b"2", b"3", b"Y")


async def test_fix42_session(harness: Harness) -> None:
    await harness.start(SessionSettings(target_comp_id="C42", begin_string="FIX.4.2"))
    c = await harness.connect(begin_string="FIX.4.2", sender="C42")
    resp = await c.logon()
    assert resp.get(8) == b"FIX.4.2"
    await c.send("D", [*order("Q"), (21, "1"), (55, "BTC-USD"), (55, "BTC-USD")])
    rj = await c.expect("3")
    assert rj.get(373) is None and rj.get(58) == b"Tag appears more than once"


async def test_raw_logon_bytes_example(harness: Harness) -> None:
    """The Logon example of RULES_OF_ENGAGEMENT.md, byte for byte (SendingTime aside)."""
    await harness.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.acceptor.port)  # type: ignore[union-attr]
    writer.write(
        encode(
            "FIX.4.4",
            [(35, "A"), (49, CLIENT), (56, GATEWAY), (34, 1), (52, now_ts()), (98, 0), (108, 30)],
        )
    )
    data = await asyncio.wait_for(reader.read(4096), 2)
    assert data.startswith(b"8=FIX.4.4\x019=") and b"\x0135=A\x01" in data
    writer.close()


async def test_resend_below_the_resend_window_is_gap_filled(harness: Harness) -> None:
    """Only the latest resend_window numbers stay resendable: a ResendRequest from 1
    gets one GapFill over the older ones, then the window's messages (43=Y)."""
    await harness.start(resend_window=4)
    c = await harness.connect()
    await c.logon()  # out 1: Logon
    for i in range(6):  # out 2..7: one ER each
        await c.send("D", order(f"O{i}"))
        await c.expect("8")
    await c.send("2", [(7, 1), (16, 0)])
    got = [await c.recv() for _ in range(5)]
    summary = [(m.msg_type, m.get_int(34), m.get_int(36), m.get(43)) for m in got]
    assert summary == [("4", 1, 4, b"Y")] + [("8", n, None, b"Y") for n in range(4, 8)]
    assert [m.get(11) for m in got[1:]] == [b"O2", b"O3", b"O4", b"O5"]
    await c.expect_nothing()


async def test_a_resend_larger_than_the_write_buffer_is_paced_not_disconnected(
    harness: Harness,
) -> None:
    """20,000 ERs (~4 MB) missed while offline, against a 1 MiB max_write_buffer: sent
    in one go the resend overflowed it and the client was disconnected as a slow
    consumer on every attempt. Paced, all arrive (43=Y), and a message sequenced
    meanwhile follows the resend in order, as a first transmission."""
    await harness.start(max_write_buffer=1 << 20, write_buffer_high=64 << 10)
    c = await harness.connect()
    await c.logon()  # out 1
    await c.send("5")
    await c.expect("5")  # out 2: our Logout answer
    await c.expect_closed()
    sess = harness.session()
    body = (
        b"37=O1\x0111=C1\x0117=E1\x01150=0\x0139=0\x0155=BTC-USD\x0154=1\x01"
        + b"58="
        + (b"x" * 120)
        + b"\x01"
    )
    for _ in range(20_000):  # out 3..20002, stored while the client is away
        sess.send("8", body)
    c2 = await harness.connect()
    c2.seq = 3
    await c2.logon()  # out 20003
    await c2.send("2", [(7, 3), (16, 0)])
    seqs: list[int] = []
    reports = []
    while len(seqs) < 20_002:  # 3..20004
        m = await c2.recv(timeout=10)
        if not seqs:  # the resend has begun, and 20,000 do not fit in one step
            sess.send("8", body)  # out 20004: sequenced while the resend is paced
        if m.msg_type == "4":
            seqs.extend(range(m.get_int(34) or 0, m.get_int(36) or 0))
            continue
        assert m.msg_type == "8", m
        seqs.append(m.get_int(34) or 0)
        reports.append(m)
    assert seqs == list(range(3, 20_005))  # in order; the Logon (20003) gap-filled
    assert all(m.get(43) == b"Y" for m in reports[:-1])  # the resend
    assert reports[-1].get(43) is None  # 20004: its first transmission
    assert sess.is_logged_on
    await c2.expect_nothing()
