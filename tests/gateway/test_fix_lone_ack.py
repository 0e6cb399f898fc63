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


async def test_the_origin_is_written_before_the_reports_its_order_owes_others(
    app: App, fix_login: Connect
) -> None:
    """A lone crossing order: its session's ack and fill leave (stored, then written)
    before the counterparty's fill and the drop copies are even sequenced; each session
    still gets its messages in event order."""
    maker = await fix_login("CLIENT1")
    await maker.send("D", order("rest", 1, "0.1", "40000"))
    assert (await maker.expect("8")).get(150) == b"0"
    taker = await fix_login("CLIENT2")
    acceptor = app.fix.acceptor
    maker_session, taker_session = acceptor.session("CLIENT1"), acceptor.session("CLIENT2")
    drop = acceptor.session("DC1")  # offline: its reports are stored for its next logon
    (connection,) = [c for c in acceptor._connections if c.session is taker_session]
    maker_seq, drop_seq = maker_session.next_sender_seq, drop.next_sender_seq
    seen: list[tuple[int, int]] = []
    write = connection.write

    def spy(data: bytes) -> None:
        seen.append((maker_session.next_sender_seq, drop.next_sender_seq))
        write(data)

    connection.write = spy  # type: ignore[method-assign]
    connection.data_received(taker.build("D", order("cross", 2, "0.1", "40000")))
    assert seen == [(maker_seq, drop_seq)]  # the taker's one write came before them
    assert maker_session.next_sender_seq == maker_seq + 1  # then its fill
    assert drop.next_sender_seq == drop_seq + 3  # and the drop copies
    ack, fill = await taker.expect("8"), await taker.expect("8")
    assert (ack.get(150), fill.get(150)) == (b"0", b"F")
    made = await maker.expect("8")
    assert (made.get(150), made.get(11)) == (b"F", b"rest")
    copies = drop.store.get_range(drop_seq, drop_seq + 2)
    assert [(m.msg_type, m.body.split(b"\x01150=")[1][:1]) for m in copies] == [
        (b"8", b"0"),
        (b"8", b"F"),
        (b"8", b"F"),
    ]
    assert [b"\x0111=rest\x01" in b"\x01" + m.body for m in copies] == [False, True, False]
