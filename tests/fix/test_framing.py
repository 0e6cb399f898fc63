"""Strict framing over a real socket: a damaged message never takes the valid
message after it down with it."""

from __future__ import annotations

from tests.fix.conftest import Harness


async def test_message_missing_its_checksum_does_not_swallow_the_next(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    await c.logon()
    no_checksum = c.build("1", [(112, "no-checksum")], seq=2)
    no_checksum = no_checksum[: no_checksum.rindex(b"10=")]  # BodyLength still right
    valid = c.build("1", [(112, "after")], seq=2)  # 2 is still the expected number
    await c.send_raw(no_checksum + valid)  # one write: one read for the acceptor
    hb = await c.expect("0")
    assert hb.get(112) == b"after"
    assert harness.session().next_target_seq == 3
