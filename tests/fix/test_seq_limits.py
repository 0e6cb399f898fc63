"""Sequence numbers beyond what the store holds (MAX_SEQ_NUM, 2**63 - 1) are refused
with a reason, over a real socket, and leave the stored numbers usable."""

from __future__ import annotations

from gateway.fix.store import MAX_SEQ_NUM
from tests.fix.conftest import Harness

HUGE = 10**20  # more digits than the store's sequence field
TEXT = b"above the maximum 9223372036854775807"


async def test_sequence_reset_to_a_huge_number_is_rejected(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("4", [(36, HUGE)], seq=2)
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(371), rj.get(373)) == (b"2", b"36", b"5")
    assert TEXT in (rj.get(58) or b"")
    await c.send("1", [(112, "alive")], seq=2)  # Reset mode consumes no number
    assert (await c.expect("0")).get(112) == b"alive"
    assert harness.session().next_target_seq == 3


async def test_gap_fill_to_a_huge_number_is_rejected(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("4", [(123, "Y"), (36, HUGE)], seq=2)
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(371), rj.get(373)) == (b"2", b"36", b"5")
    assert TEXT in (rj.get(58) or b"")
    await c.send("1", [(112, "alive")], seq=3)  # the GapFill itself counted
    assert (await c.expect("0")).get(112) == b"alive"


async def test_a_sequence_reset_to_the_maximum_is_accepted(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("4", [(36, MAX_SEQ_NUM)], seq=2)
    await c.send("1", [(112, "top")], seq=MAX_SEQ_NUM)
    assert (await c.expect("0")).get(112) == b"top"
    await c.send("5", seq=MAX_SEQ_NUM + 1)
    rj = await c.expect("3")
    assert (rj.get(371), rj.get(373)) == (b"34", b"5")
    await c.expect("5")
    await c.expect_closed()


async def test_a_huge_msg_seq_num_is_rejected_then_logged_out(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("0", seq=HUGE)
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(371), rj.get(373)) == (b"%d" % HUGE, b"34", b"5")
    assert TEXT in (rj.get(58) or b"")
    lo = await c.expect("5")
    assert TEXT in (lo.get(58) or b"")
    await c.expect_closed()
    assert harness.session().next_target_seq == 2  # nothing counted


async def test_a_logon_with_a_huge_msg_seq_num_is_refused_and_leaves_the_session_usable(
    harness: Harness,
) -> None:
    await harness.start()
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30)], seq=HUGE)
    lo = await c.expect("5")
    assert TEXT in (lo.get(58) or b"")
    await c.expect_closed()
    c2 = await harness.connect()
    await c2.logon()  # MsgSeqNum 1: nothing was stored from the refused Logon
    await c2.send("1", [(112, "fine")])
    assert (await c2.expect("0")).get(112) == b"fine"
