"""The acceptor with an ``after_durable`` hook (in the gateway, EngineHost.defer): an
inbound MsgSeqNum is stored only once the hook confirms what it caused is durable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from gateway.fix.acceptor import FixAcceptor
from gateway.fix.settings import AcceptorSettings, SessionSettings
from tests.fix.conftest import CLIENT, FixClient, RecordingApp

DELAY_S = 0.2  # a slow journal fsync


def _seqnums(store_dir: Path) -> tuple[int, int]:
    sender, target = (store_dir / "FIX.4.4-GATEWAY-CLIENT1" / "seqnums").read_bytes().split()
    return int(sender), int(target)


async def test_a_clean_stop_waits_for_the_last_inbound_numbers_to_be_durable(
    tmp_path: Path,
) -> None:
    loop = asyncio.get_running_loop()

    def after_durable(callback: Callable[[], object]) -> None:
        loop.call_later(DELAY_S, callback)

    acceptor = FixAcceptor(
        AcceptorSettings(host="127.0.0.1", port=0, store_dir=tmp_path),
        [SessionSettings(target_comp_id=CLIENT, accounts=("ACC1",))],
        RecordingApp(),
        after_durable=after_durable,
    )
    await acceptor.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", acceptor.port)
    client = FixClient(reader, writer)
    await client.logon()
    stopping = asyncio.ensure_future(acceptor.stop())
    await client.expect("5")
    await client.send("5")  # MsgSeqNum 2, the last inbound message
    await client.expect_closed()
    await stopping
    await client.close()
    assert _seqnums(tmp_path) == (3, 3)
