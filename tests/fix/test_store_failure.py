"""A FIX message store that cannot write (a full real filesystem): nothing that
could not be stored is sent, the session is logged out with the OS error logged, its
Logons are refused until the store writes again, and then every message is resent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.diskfull import fill, tmpfs
from tests.fix.conftest import FixClient, Harness, new_order_single

REFUSED = b"Message store unavailable; log on again later"
C2 = "c2-" + "x" * 5000


async def _logged_out(client: FixClient) -> None:
    lo = await client.expect("5")  # and nothing before it: no ExecutionReport
    assert lo.get(58) == REFUSED
    await client.expect_closed()


async def test_a_full_store_disconnects_and_refuses_logons_until_it_writes_again(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tmpfs(tmp_path / "store"):
        await harness.start()
        c = await harness.connect()
        await c.logon()
        await c.send("D", new_order_single("c1"))
        assert (await c.expect("8")).get(11) == b"c1"  # our MsgSeqNum 2

        filler = fill(tmp_path / "store" / "filler")
        with caplog.at_level(logging.ERROR, logger="gateway.fix.session"):
            # its ER (3) is longer than the page the store's file still has room in
            await c.send("D", new_order_single(C2))
            await _logged_out(c)
        assert "No space left on device" in caplog.text

        c = await harness.connect()
        c.seq = 4  # the store counted the order (3)
        await c.send("A", [(98, 0), (108, 30)])
        await _logged_out(c)  # refused while the store cannot write

        filler.unlink()
        c = await harness.connect()
        c.seq = 4
        await c.logon()
        await c.send("2", [(7, 3), (16, 0)])
        resent = await c.expect("8")
        assert (resent.get(34), resent.get(11), resent.get(43)) == (b"3", C2.encode(), b"Y")
        await harness.close()


async def test_a_store_that_cannot_write_is_closed_with_the_error_logged(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tmpfs(tmp_path / "store"):
        acceptor = await harness.start()
        c = await harness.connect()
        await c.logon()
        fill(tmp_path / "store" / "filler")
        await c.send("D", new_order_single(C2))
        await _logged_out(c)
        with caplog.at_level(logging.ERROR, logger="gateway.fix.acceptor"):
            await acceptor.stop(timeout=0.2)
        assert "message store closed unwritten" in caplog.text
        assert "No space left on device" in caplog.text
