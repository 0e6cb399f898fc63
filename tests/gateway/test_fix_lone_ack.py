"""One order in flight: the FIX edge commits a read's orders at the end of that read."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.app import App
from tests.gateway.conftest import Connect, gateway_config, order


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    """fsync never: the ack follows the journal's write (no fsync thread in between)."""
    cfg = gateway_config(tmp_path)
    cfg = dataclasses.replace(cfg, journal=dataclasses.replace(cfg.journal, fsync="never"))
    gateway = App(cfg)
    await gateway.start()
    yield gateway
    await gateway.stop()


async def test_a_lone_order_is_acknowledged_before_its_read_returns(
    app: App, fix_login: Connect
) -> None:
    """The FIX edge brackets each read with the host's begin_input/end_input: an order
    that came alone is journaled, and its ExecutionReport stored and written to the
    socket, before data_received returns (no later loop pass in between)."""
    client = await fix_login("CLIENT1")
    session = app.fix.acceptor.session("CLIENT1")
    (connection,) = app.fix.acceptor._connections
    before = session.store.next_sender_seq
    last_seq = app.host.engine.last_seq
    data = client.build("D", order("lone", 1, "0.1", "40000"))
    connection.data_received(data)  # synchronously: no loop pass from here on
    assert app.host.engine.last_seq > last_seq
    assert app.host.journal is not None and not app.host.journal.pending
    assert session.store.next_sender_seq > before  # the ack, sequenced and stored
    assert not session._out  # and handed to the transport
    assert (await client.expect("8")).get(150) == b"0"
