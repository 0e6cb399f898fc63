"""Slow consumers on real sockets: a client that stops reading is conflated (book) or
disconnected (user channel), and what the gateway holds for it stays bounded.

No monkeypatched sends: the slow client is a real WebSocket connection whose reader is
simply not called (websockets then stops reading the socket once its own small queue
is full), so the backlog has to travel through the kernel's socket buffers and the
transport's write buffer before it reaches the outbox.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.app import App
from gateway.ws.server import SEND_BUFFER_BYTES, WRITE_LIMIT_BYTES
from tests.conftest import MakeGateway
from tests.ws.helpers import Client, connect_client, limit, url
from tests.ws.test_ws_streams import LocalBook

SEND_QUEUE = 64


async def connect_slow(app: App) -> Client:
    """A real client with a small receive buffer and a tiny library-side queue."""
    assert app.ws is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", app.ws.port))
    ws = await connect(url(app), sock=sock, compression=None, max_size=None, max_queue=4)
    return Client(ws)


def server_conn(app: App, index: int) -> Any:
    assert app.ws is not None
    return list(app.ws.connections)[index]


def kernel_queued(conn: Any) -> int:
    """Bytes in the server socket's kernel send queue (not yet acknowledged)."""
    sock = conn.transport.get_extra_info("socket")
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", raw)[0])


async def place_many(client: Client, orders: list[dict[str, Any]]) -> None:
    """Pipelined in chunks well below the trader's own send queue."""
    for k in range(0, len(orders), SEND_QUEUE // 4):
        ids = [await client.send("order.place", o) for o in orders[k : k + SEND_QUEUE // 4]]
        for req_id in ids:
            msg = await client.answer(req_id, timeout=10)
            assert msg["status"] == 200, msg


def bounds(conn: Any) -> tuple[int, int, int]:
    return len(conn.outbox), conn.buffered(), kernel_queued(conn)


def assert_bounded(conn: Any) -> None:
    frames, buffered, queued = bounds(conn)
    assert frames <= SEND_QUEUE
    # below the mark, at most one more write of about WRITE_LIMIT_BYTES is accepted
    assert buffered <= 2 * WRITE_LIMIT_BYTES + 4096, buffered
    assert queued <= 2 * SEND_BUFFER_BYTES + 4096, queued  # Linux doubles SO_SNDBUF


async def test_book_subscriber_that_stops_reading_is_conflated_and_bounded(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway(ws={"send_queue": SEND_QUEUE, "max_requests_per_s": 100_000})
    slow = await connect_slow(app)
    await slow.ok("subscribe", {"channels": ["book.BTC-USD.10"]})
    await slow.push("book.BTC-USD.10")  # the initial snapshot
    conn = server_conn(app, 0)
    trader = await connect_client(app)
    await trader.logon("demo-acc1")
    # `slow` reads nothing from here on. Each order is one book delta for it.
    n = 0
    for _ in range(10):
        await place_many(
            trader,
            [limit("BTC-USD", "buy", "1", f"{90 + (n + i) / 100:.2f}") for i in range(100)],
        )
        n += 100
        await asyncio.sleep(0.02)  # let the writer run
        assert_bounded(conn)
        if conn.outbox.stale:
            break
    assert conn.outbox.stale, bounds(conn)  # the backlog reached the outbox: conflated
    assert conn.ws.paused  # because the transport above its write limit paused it
    metrics = app.registry.render()
    assert 'gw_slow_consumers_total{action="conflated",protocol="ws"} 1' in metrics
    # Keep publishing: nothing more is queued for the stale subscription.
    held = bounds(conn)
    await place_many(
        trader, [limit("BTC-USD", "buy", "1", f"{90 + (n + i) / 100:.2f}") for i in range(200)]
    )
    n += 200
    await asyncio.sleep(0.05)
    assert_bounded(conn)
    assert bounds(conn)[0] == held[0]  # the outbox did not grow
    assert app.ws is not None
    assert f'gw_ws_write_buffer_bytes{{stat="max"}} {conn.buffered()}' in app.registry.render()
    # Read again: the queued deltas, then ONE fresh snapshot, in sync with the book.
    book = LocalBook(10)
    saw_snapshot_after_gap = False
    assert app.publisher is not None
    target_seq = app.publisher.books["BTC-USD"].seq
    while book.seq != target_seq:
        msg = await slow.push("book.BTC-USD.10", timeout=5)
        if msg["data"]["type"] == "snapshot":
            saw_snapshot_after_gap = book.seq is not None
        if book.seq is None and msg["data"]["type"] != "snapshot":
            book.seq = msg["data"]["prev_seq"]  # join the chain where the reading resumed
        book.apply(msg)
    assert saw_snapshot_after_gap
    assert book.sorted()[0][0] == [f"{90 + (n - 1) / 100:.2f}", "1"]
    assert not conn.outbox.stale and not conn.ws.paused
    for c in (slow, trader):
        await c.close()


async def test_user_subscriber_that_stops_reading_is_disconnected(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway(ws={"send_queue": SEND_QUEUE, "max_requests_per_s": 100_000})
    slow = await connect_slow(app)
    await slow.logon("demo-acc1")
    await slow.ok("subscribe", {"channels": ["user"]})
    conn = server_conn(app, 0)
    trader = await connect_client(app)
    await trader.logon("demo-acc1")
    # Every order is an order update and a balance update for ACC1 on `slow`.
    n = 0
    while not conn.outbox.closed and n < 3000:
        assert_bounded(conn)
        await place_many(
            trader,
            [limit("ETH-USD", "buy", "1", f"{90 + (n + i) / 100:.2f}") for i in range(100)],
        )
        n += 100
        await asyncio.sleep(0.02)
    assert conn.outbox.closed and len(conn.outbox) == 0, (n, bounds(conn))
    assert 'gw_slow_consumers_total{action="disconnected",protocol="ws"} 1' in (
        app.registry.render()
    )
    # Reading again, the client gets what was in flight, then the 4008 close.
    try:
        while True:
            await slow._read(5)
    except ConnectionClosed:
        pass
    assert slow.ws.close_code == 4008
    assert slow.ws.close_reason == f"slow consumer: send queue full ({SEND_QUEUE} messages)"
    await trader.close()
