"""Market-data and user streams under load: book sync, gapless seqs, slow consumers,
cancel_on_disconnect, dead-connection detection."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
import zlib
from decimal import Decimal
from typing import Any

from websockets.exceptions import ConnectionClosed

from gateway.app import App
from tests.conftest import MakeGateway
from tests.ws.helpers import Client, connect_client, fresh_timestamp_ms, limit


class LocalBook:
    """What a client keeps: applies snapshots/deltas, checks prev_seq and checksum."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.seq: int | None = None
        self.snapshots = 0
        self.deltas = 0

    def sorted(self) -> tuple[list[list[str]], list[list[str]]]:
        bids = sorted(self.bids.items(), key=lambda kv: -Decimal(kv[0]))
        asks = sorted(self.asks.items(), key=lambda kv: Decimal(kv[0]))
        return [list(x) for x in bids], [list(x) for x in asks]

    def checksum(self) -> int:
        bids, asks = self.sorted()
        parts: list[str] = []
        for i in range(10):
            if i < len(bids):
                parts += bids[i]
            if i < len(asks):
                parts += asks[i]
        return zlib.crc32(":".join(parts).encode())

    def apply(self, msg: dict[str, Any]) -> None:
        data = msg["data"]
        assert msg["seq"] == data["seq"]
        if data["type"] == "snapshot":
            self.bids = {price: qty for price, qty in data["bids"]}
            self.asks = {price: qty for price, qty in data["asks"]}
            self.snapshots += 1
        else:
            assert data["type"] == "delta"
            assert self.seq is not None and data["prev_seq"] == self.seq, (self.seq, data)
            assert data["seq"] > data["prev_seq"]
            for levels, side in ((self.bids, data["bids"]), (self.asks, data["asks"])):
                for price, qty in side:
                    if qty == "0":
                        assert price in levels, (price, data)
                        del levels[price]
                    else:
                        levels[price] = qty
            self.deltas += 1
        self.seq = data["seq"]
        assert len(self.bids) <= self.depth and len(self.asks) <= self.depth
        assert self.checksum() == data["checksum"], data


async def random_flow(clients: list[Client], n: int, seed: int, symbol: str = "BTC-USD") -> None:
    """Pipelined random limit orders, cancels and market orders; waits for all answers."""
    rng = random.Random(seed)
    live: list[tuple[Client, int]] = []
    pending: list[tuple[Client, int]] = []
    for i in range(n):
        c = rng.choice(clients)
        roll = rng.random()
        if roll < 0.15 and live:
            owner, oid = live.pop(rng.randrange(len(live)))
            pending.append(
                (owner, await owner.send("order.cancel", {"symbol": symbol, "order_id": oid}))
            )
        elif roll < 0.22:
            qty = str(Decimal(rng.randint(1, 30)) / 10)
            side = rng.choice(["buy", "sell"])
            params = {"symbol": symbol, "side": side, "type": "market", "quantity": qty}
            pending.append((c, await c.send("order.place", params)))
        else:
            side = rng.choice(["buy", "sell"])
            ticks = rng.randint(-60, 60) + (-5 if side == "buy" else 5)
            price = str(Decimal(10000 + ticks) / 100)
            qty = str(Decimal(rng.randint(1, 50)) / 10)
            pending.append((c, await c.send("order.place", limit(symbol, side, qty, price))))
        if len(pending) >= 20 or i == n - 1:
            for owner, req in pending:
                ans = await owner.answer(req, timeout=5)
                if ans["status"] == 200 and ans["result"].get("remaining", "0") != "0":
                    live.append((owner, ans["result"]["id"]))
            pending.clear()  # fmt: skip


async def test_book_sync_under_random_order_flow(gateway: App) -> None:
    sub = await connect_client(gateway)
    await sub.ok("subscribe", {"channels": ["book.BTC-USD.10", "book.BTC-USD.50"]})
    a, b = await connect_client(gateway), await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    books = {10: LocalBook(10), 50: LocalBook(50)}
    reader_done = asyncio.Event()

    async def reader() -> None:
        while not reader_done.is_set() or sub.pushes:
            try:
                msg = await sub.push(timeout=0.3)
            except TimeoutError:
                continue
            books[int(msg["channel"].rsplit(".", 1)[1])].apply(msg)

    task = asyncio.create_task(reader())
    await random_flow([a, b], 600, seed=7)
    await asyncio.sleep(0.3)
    reader_done.set()
    await task

    assert gateway.publisher is not None
    state = gateway.publisher.books["BTC-USD"]
    engine_bids, engine_asks = gateway.host.engine.depth("BTC-USD", 50)
    inst = state.instrument
    for depth, book in books.items():
        assert book.snapshots == 1 and book.deltas > 100
        bids, asks = book.sorted()
        want_bids = [[inst.ticks_to_price(p), inst.lots_to_qty(q)] for p, q in engine_bids[:depth]]
        want_asks = [[inst.ticks_to_price(p), inst.lots_to_qty(q)] for p, q in engine_asks[:depth]]
        assert (bids, asks) == (want_bids, want_asks)
    assert books[10].seq == books[50].seq == state.seq  # top-10 moved with the last update
    for c in (sub, a, b):
        await c.close()


async def test_every_subscriber_gets_the_same_frames_when_updates_share_a_flush(
    gateway: App,
) -> None:
    """The server frames each shared update once per flush pass for all its subscribers;
    with several channels, one connection's flush holds several updates."""
    channels = ["book.BTC-USD.10", "book.BTC-USD.50", "bbo.BTC-USD"]
    subs = [await connect_client(gateway) for _ in range(3)]
    for sub in subs:
        await sub.ok("subscribe", {"channels": channels})
    a, b = await connect_client(gateway), await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    got: list[list[dict[str, Any]]] = [[] for _ in subs]
    done = asyncio.Event()

    async def reader(sub: Client, out: list[dict[str, Any]]) -> None:
        while not done.is_set() or sub.pushes:
            try:
                out.append(await sub.push(timeout=0.3))
            except TimeoutError:
                continue

    tasks = [asyncio.create_task(reader(sub, out)) for sub, out in zip(subs, got, strict=True)]
    await random_flow([a, b], 300, seed=11)
    await asyncio.sleep(0.3)
    done.set()
    await asyncio.gather(*tasks)
    assert len(got[0]) > 100 and {m["channel"] for m in got[0]} == set(channels)
    assert got[0] == got[1] == got[2]
    for c in (*subs, a, b):
        await c.close()


async def test_user_seq_is_gapless_under_load(gateway: App) -> None:
    watcher = await connect_client(gateway)
    await watcher.logon("demo-acc1")
    await watcher.ok("subscribe", {"channels": ["user"]})
    a, b = await connect_client(gateway), await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    await random_flow([a, b], 400, seed=11)
    await asyncio.sleep(0.2)
    earlier = list(watcher.pushes)
    got = [m for m in [*earlier, *await watcher.quiet(0.3)] if m.get("channel") == "user"]
    assert len(got) > 500
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(1, len(seqs) + 1))
    kinds = {m["data"]["type"] for m in got}
    assert kinds == {"order", "fill", "balance"}
    # Every ACC1 order the tracker knows about had its final state pushed.
    last: dict[int, str] = {}
    for m in got:
        if m["data"]["type"] == "order":
            last[m["data"]["order"]["id"]] = m["data"]["order"]["status"]
    tracker = gateway.tracker
    for oid, status in last.items():
        view = tracker.get(oid)
        assert view is not None and view.account == "ACC1"
        assert status == {0: "new", 1: "partially_filled", 2: "filled", 4: "canceled",
                          12: "expired"}[int(view.status)]  # fmt: skip
    for c in (watcher, a, b):
        await c.close()


class _Gate(asyncio.Event):
    """Opening the gate lets the stalled connection's socket drain again."""

    def __init__(self, ws: Any) -> None:
        super().__init__()
        self.ws = ws

    def set(self) -> None:
        super().set()
        if self.ws.paused:
            self.ws.resume_writing()


async def gate_sends(app: App, client_count_before: int) -> tuple[Any, asyncio.Event]:
    """Stall the server's writes to the newest connection (a consumer that stopped reading).

    The connection's transport reports a full write buffer (flow control paused), as
    when the client stops reading; setting the returned event resumes writing.
    """
    assert app.ws is not None
    for _ in range(100):
        if len(app.ws.connections) > client_count_before:
            break
        await asyncio.sleep(0.01)
    conns = list(app.ws.connections)
    conn = conns[client_count_before]
    conn.ws.pause_writing()
    return conn, _Gate(conn.ws)


async def test_slow_book_subscriber_is_conflated_to_a_fresh_snapshot(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway(ws={"send_queue": 16})
    slow = await connect_client(app)
    conn, gate = await gate_sends(app, 0)
    await slow.send("subscribe", {"channels": ["book.BTC-USD.10"]})
    a, b = await connect_client(app), await connect_client(app)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    peak = 0
    for i in range(40):
        await a.ok("order.place", limit("BTC-USD", "buy", "1", str(90 + i * Decimal("0.1"))))
        peak = max(peak, len(conn.outbox))
    assert peak == 8  # half of send_queue: book frames stop there
    assert len(conn.outbox.stale) == 1
    gate.set()
    book = LocalBook(10)
    msgs = [m for m in await slow.quiet(0.3) if "channel" in m]
    for m in msgs:
        book.apply(m)  # asserts prev_seq chains: a gap is only allowed before a snapshot
    types = [m["data"]["type"] for m in msgs]
    # queued: the subscribe answer + 7 book frames (8 = half of send_queue), then ONE
    # fresh snapshot replacing everything dropped
    assert types[0] == "snapshot" and types[-1] == "snapshot" and len(types) == 7 + 1
    assert app.publisher is not None
    assert book.seq == app.publisher.books["BTC-USD"].seq
    bids, _ = book.sorted()
    assert bids[0] == ["93.9", "1"] and len(bids) == 10
    metrics = app.registry.render()
    assert 'gw_slow_consumers_total{action="conflated",protocol="ws"} 1' in metrics
    # Back in sync: the next delta chains onto the fresh snapshot.
    await a.ok("order.place", limit("BTC-USD", "buy", "2", "94"))
    book.apply(await slow.push("book.BTC-USD.10"))
    assert book.sorted()[0][0] == ["94", "2"]
    for c in (slow, a, b):
        await c.close()


async def test_user_channel_overflow_disconnects_and_cancels(make_gateway: MakeGateway) -> None:
    app = await make_gateway(ws={"send_queue": 16})
    slow = await connect_client(app)
    conn, gate = await gate_sends(app, 0)
    ts = fresh_timestamp_ms()
    from gateway.ws.auth import sign_hmac

    await slow.send("session.logon", {"api_key": "demo-acc1", "timestamp_ms": ts,
                                      "signature": sign_hmac("demo-secret-acc1", "demo-acc1", ts),
                                      "cancel_on_disconnect": True})  # fmt: skip
    await slow.send("order.place", limit("BTC-USD", "buy", "1", "50", client_order_id="slow1"))
    await slow.send("subscribe", {"channels": ["user"]})
    other = await connect_client(app)
    await other.logon("demo-acc1")
    await other.ok("order.place", limit("BTC-USD", "buy", "1", "51", client_order_id="keep"))
    for i in range(10):  # each produces an order update and a balance update for ACC1
        await other.ok("order.place", limit("ETH-USD", "buy", "1", str(100 + i)))
    assert conn.outbox.closed and len(conn.outbox) == 0  # overflowed: queue dropped
    gate.set()
    try:
        while True:
            await slow._read(2)
    except ConnectionClosed:
        pass
    assert slow.ws.close_code == 4008
    assert slow.ws.close_reason == "slow consumer: send queue full (16 messages)"
    await asyncio.sleep(0.1)
    open_ids = {o["client_order_id"] for o in (await other.ok("orders.open"))["orders"]}
    assert "slow1" not in open_ids and "keep" in open_ids
    status = await other.ok("order.status", {"symbol": "BTC-USD", "client_order_id": "slow1"})
    assert status["status"] == "canceled" and status["reason"] == "user_cancel"
    assert 'gw_slow_consumers_total{action="disconnected",protocol="ws"} 1' in (
        app.registry.render()
    )
    await other.close()


async def test_cancel_on_disconnect_only_when_asked(gateway: App) -> None:
    keep = await connect_client(gateway)
    await keep.logon("demo-acc1", cancel_on_disconnect=False)
    cod = await connect_client(gateway)
    await cod.logon("demo-acc1", cancel_on_disconnect=True)
    await keep.ok("order.place", limit("BTC-USD", "buy", "1", "90", client_order_id="k1"))
    await cod.ok("order.place", limit("BTC-USD", "buy", "1", "91", client_order_id="c1"))
    await cod.ok("order.place", limit("BTC-USD", "sell", "1", "120", client_order_id="c2"))
    filled = await cod.ok("order.place", limit("BTC-USD", "sell", "0.5", "90",
                                               client_order_id="c3"))  # fmt: skip
    assert filled["status"] == "filled"
    await cod.close()
    await keep.close()
    await asyncio.sleep(0.2)
    watcher = await connect_client(gateway)
    await watcher.logon("demo-acc1")
    open_orders = (await watcher.ok("orders.open"))["orders"]
    assert [(o["client_order_id"], o["remaining"]) for o in open_orders] == [("k1", "1")]
    for clid in ("c1", "c2"):
        st = await watcher.ok("order.status", {"symbol": "BTC-USD", "client_order_id": clid})
        assert st["status"] == "canceled"
    await watcher.close()


async def test_dead_connection_is_closed_by_ping_timeout(make_gateway: MakeGateway) -> None:
    app = await make_gateway(ws={"ping_interval_s": 0.2, "ping_timeout_s": 0.2})
    assert app.ws is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", app.ws.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    )  # fmt: skip
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    await asyncio.sleep(0.05)
    assert len(app.ws.connections) == 1
    start = time.monotonic()
    data = b""
    while True:  # never answer the pings
        chunk = await asyncio.wait_for(reader.read(1024), 3)
        if not chunk:
            break
        data += chunk
    elapsed = time.monotonic() - start
    assert data[0] == 0x89  # a ping frame came first
    assert elapsed > 0.3  # not before the ping timeout (each read above is bounded)
    writer.close()  # a dead peer would not; then the 2 s close timeout applies
    for _ in range(100):
        if not app.ws.connections:
            break
        await asyncio.sleep(0.01)
    assert len(app.ws.connections) == 0
