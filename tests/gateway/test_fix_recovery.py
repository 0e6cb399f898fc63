"""FIX recovery across a gateway killed with SIGKILL (a child process, real files)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.fix.codec import FieldValue
from tests.fix.conftest import FixClient, now_ts
from tests.gateway.conftest import password
from tests.gateway.fix_process import GatewayChild

ORDER: list[tuple[int, FieldValue]] = [
    (55, "BTC-USD"),
    (54, 1),
    (38, "0.5"),
    (40, 2),
    (44, "50000"),
    (59, 1),
    (60, now_ts()),
]


async def _connect(port: int, seq: int) -> FixClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = FixClient(reader, writer)
    client.seq = seq
    return client


async def test_an_order_killed_before_its_journal_write_is_asked_for_again(
    tmp_path: Path,
) -> None:
    """The inbound MsgSeqNum of an order counts only once the order is journaled: a
    gateway killed in between asks for the order again after the restart."""
    gateway = GatewayChild(tmp_path, kill_after_order=True)
    client = await _connect(gateway.port, 1)
    await client.logon([(553, "CLIENT1"), (554, password("CLIENT1"))], reset=True)
    sent_at = now_ts()
    await client.send("D", [(11, "lost-1"), *ORDER], sending_time=sent_at)  # MsgSeqNum 2
    gateway.wait_killed()
    await client.close()

    gateway = GatewayChild(tmp_path)
    try:
        client = await _connect(gateway.port, 3)
        await client.logon([(553, "CLIENT1"), (554, password("CLIENT1"))])
        resend = await client.expect("2")
        assert (resend.get(7), resend.get(16)) == (b"2", b"0")
        await client.send("D", [(11, "lost-1"), *ORDER], seq=2, header=[(43, "Y"), (122, sent_at)])
        ack = await client.expect("8")
        assert (ack.get(11), ack.get(150), ack.get(39)) == (b"lost-1", b"0", b"0")
        await client.close()
    finally:
        gateway.stop()
