"""NextExpectedMsgSeqNum (789) on a Logon with ResetSeqNumFlag(141)=Y in the middle of a
session (FIX 4.4 and FIXT.1.1): both sides restart at 1, so the client must expect our
answer as MsgSeqNum 1; our answer carries 789=2 (their Logon counted) when, and only
when, theirs carried 789. Any other 789 is refused as on a first Logon: Logout with the
reason + disconnect, nothing reset."""

from __future__ import annotations

import pytest

from gateway.fix.codec import FieldValue
from gateway.fix.session import SessionState
from gateway.fix.settings import SessionSettings
from tests.fix.conftest import FIX44_AND_FIXT, FixClient, Harness
from tests.fix.test_dictionary_rejects import NOS


async def _logged_on_with_traffic(harness: Harness) -> FixClient:
    """Logged on, an order and a heartbeat exchanged: both next numbers are 4."""
    await harness.start()
    c = await harness.connect()
    await c.logon()  # in 1, out 1
    await c.send("D", NOS)  # in 2, out 2 (ER)
    await c.expect("8")
    await c.send("1", [(112, "x")])  # in 3, out 3 (Heartbeat)
    await c.expect("0")
    sess = harness.session()
    assert (sess.next_sender_seq, sess.next_target_seq) == (4, 4)
    return c


def _reset_logon(c: FixClient, *extra: tuple[int, FieldValue]) -> list[tuple[int, FieldValue]]:
    body: list[tuple[int, FieldValue]] = [(98, 0), (108, 30), (141, "Y")]
    if c.begin_string == "FIXT.1.1":
        body.append((1137, "9"))
    return [*body, *extra]


@FIX44_AND_FIXT
async def test_midsession_reset_with_789_1_answered_with_789_2(harness: Harness) -> None:
    """789=1 (our reset answer is 1): Logon answer 34=1|141=Y|789=2; the session goes
    on at 2 in both directions."""
    c = await _logged_on_with_traffic(harness)
    await c.send("A", _reset_logon(c, (789, 1)), seq=1)
    resp = await c.expect("A")
    assert (resp.get(34), resp.get(141), resp.get(789)) == (b"1", b"Y", b"2")
    sess = harness.session()
    assert (sess.next_sender_seq, sess.next_target_seq) == (2, 2)
    c.seq = 2
    await c.send("1", [(112, "after-reset")])
    hb = await c.expect("0")
    assert (hb.get(112), hb.get(34)) == (b"after-reset", b"2")


@FIX44_AND_FIXT
async def test_midsession_reset_without_789_answered_without_789(harness: Harness) -> None:
    """No 789 in the client's reset Logon: none in our answer (unchanged behaviour)."""
    c = await _logged_on_with_traffic(harness)
    await c.send("A", _reset_logon(c), seq=1)
    resp = await c.expect("A")
    assert (resp.get(34), resp.get(141), resp.get(789)) == (b"1", b"Y", None)


@FIX44_AND_FIXT
@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(4, b"NextExpectedMsgSeqNum(789) too high, expecting 1 but received 4", id="4"),
        pytest.param(2, b"NextExpectedMsgSeqNum(789) too high, expecting 1 but received 2", id="2"),
        pytest.param(0, b"NextExpectedMsgSeqNum(789) must be at least 1", id="0"),
    ],
)
async def test_midsession_reset_with_wrong_789_logout_nothing_reset(
    harness: Harness, value: int, text: bytes
) -> None:
    """789 other than 1 (e.g. the pre-reset next number 4): Logout with the first-Logon
    reason (our next after the reset would be 1) and disconnect; nothing is reset, the
    Logout uses our current number 4."""
    c = await _logged_on_with_traffic(harness)
    await c.send("A", _reset_logon(c, (789, value)), seq=1)
    lo = await c.expect("5")
    assert (lo.get(58), lo.get(34)) == (text, b"4")
    await c.expect_closed()
    sess = harness.session()
    assert sess.state is SessionState.DISCONNECTED
    assert (sess.next_sender_seq, sess.next_target_seq) == (5, 4)
    assert harness.app.logouts == [(sess, False)]


async def test_midsession_reset_789_on_fix42_is_a_dictionary_reject(harness: Harness) -> None:
    """FIX 4.2 has no 789: a mid-session reset Logon carrying it fails the dictionary
    check (Reject 373=0 371=789: no such tag), nothing reset."""
    await harness.start(SessionSettings(target_comp_id="C42", begin_string="FIX.4.2"))
    c = await harness.connect(begin_string="FIX.4.2", sender="C42")
    await c.logon()
    await c.send("A", [(98, 0), (108, 30), (141, "Y"), (789, 1)], seq=1)
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(373), rj.get(371)) == (b"1", b"0", b"789")
    sess = harness.session("C42")
    assert (sess.next_sender_seq, sess.next_target_seq) == (3, 2)
