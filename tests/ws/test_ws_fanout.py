"""The market-data fan-out: updates delivered at the end of the loop iteration, once
per subscriber set, straight to the sockets that take them, in order with each
connection's other frames.

The first tests drive WsMarketData and Outbox without sockets (a stand-in publisher),
so that the order of a connection's frames is checked exactly; the last one runs a
gateway and real WebSocket clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from gateway.app import App
from gateway.marketdata import MarketDataPublisher
from gateway.ws.outbox import Outbox
from gateway.ws.subscriptions import Subscription, WsMarketData
from tests.ws.helpers import Client, connect_client, limit
from tests.ws.test_ws_streams import LocalBook

BOOK = "book.BTC-USD.10"


class Encoded:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def encoded(self, codec: Callable[[Any], bytes]) -> bytes:
        return self.data


class Publisher:
    """What WsMarketData asks of the publisher: a sink list and book snapshots."""

    def __init__(self) -> None:
        self.sinks: list[object] = []
        self.seq = 0

    def watch(self, symbol: str, depth: int) -> None:
        pass

    def unwatch(self, symbol: str, depth: int) -> None:
        pass

    def snapshot(self, symbol: str, depth: int) -> Encoded:
        return Encoded(b"snap%d" % self.seq)


def update(seq: int, kind: str = "delta") -> Any:
    return SimpleNamespace(
        instrument=SimpleNamespace(symbol="BTC-USD"),
        depth=10,
        encoded=lambda codec: b"%s%d" % (kind.encode(), seq),
    )


def deferred() -> tuple[WsMarketData, Publisher, list[int]]:
    """WsMarketData as the server runs it: delivery waits for flush()."""
    pub = Publisher()
    market = WsMarketData(cast(MarketDataPublisher, pub))
    wakes: list[int] = []
    market.wake = lambda: wakes.append(1)
    return market, pub, wakes


def subscribe(market: WsMarketData, pub: Publisher, box: Outbox, kind: str = "book") -> Any:
    sub = Subscription(BOOK, kind, "BTC-USD", 10, box, cast(MarketDataPublisher, pub))
    market.add(sub)
    return sub


def outbox(limit: int = 16) -> tuple[Outbox, list[str]]:
    closed: list[str] = []
    return Outbox(limit, closed.append, lambda: None), closed


def test_an_update_goes_before_what_its_subscriber_queues_after_it() -> None:
    market, pub, wakes = deferred()
    box, _ = outbox()
    subscribe(market, pub, box)
    market.on_depth(update(1))
    box.push(b"answer")  # e.g. the answer to the next order, in the same iteration
    market.on_depth(update(2))
    assert wakes == [1]  # one flush asked for, at the first update
    assert market.flush() == 0  # the outbox was not empty: nothing written directly
    assert list(box.queue) == [b"snap0", b"delta1", b"answer", b"delta2"]


def test_a_later_subscriber_does_not_get_an_update_its_snapshot_holds() -> None:
    market, pub, _ = deferred()
    early, _ = outbox()
    late, _ = outbox()
    subscribe(market, pub, early)
    early.queue.clear()
    market.on_depth(update(1))
    pub.seq = 1
    subscribe(market, pub, late)
    market.on_depth(update(2))
    market.flush()
    assert list(early.queue) == [b"delta1", b"delta2"]
    assert list(late.queue) == [b"snap1", b"delta2"]


def test_an_unsubscribe_answer_comes_after_the_updates_published_before_it() -> None:
    market, pub, _ = deferred()
    box, _ = outbox()
    sub = subscribe(market, pub, box)
    market.on_depth(update(1))
    market.remove(sub)
    box.push(b"unsubscribed")
    market.on_depth(update(2))
    market.flush()
    assert list(box.queue) == [b"snap0", b"delta1", b"unsubscribed"]


def test_a_resync_drops_the_pending_updates_of_a_stale_subscription() -> None:
    market, pub, _ = deferred()
    box, _ = outbox(limit=4)
    sub = subscribe(market, pub, box)
    box.add(sub, b"delta0")
    box.add(sub, b"delta00")  # soft limit (2) reached: stale
    assert sub in box.stale
    market.on_depth(update(1))
    box.queue.clear()  # the socket took the backlog
    pub.seq = 1
    box.resync()
    market.flush()
    assert list(box.queue) == [b"snap1"]  # not followed by delta1, which it holds


def test_subscribers_that_keep_up_get_each_run_of_updates_in_one_direct_write() -> None:
    market, pub, _ = deferred()
    ready, _ = outbox()
    busy, _ = outbox()
    for box in (ready, busy):
        subscribe(market, pub, box)
    ready.queue.clear()
    writes: list[tuple[bytes, int]] = []

    def direct(frames: bytes, count: int) -> bool:
        writes.append((frames, count))
        return True

    ready.direct = busy.direct = direct
    market.on_depth(update(1))
    market.on_depth(update(2))
    assert market.flush(lambda data: b"<" + data + b">") == 2
    assert writes == [(b"<delta1><delta2>", 2)]  # framed and joined once
    assert not ready.queue
    assert list(busy.queue) == [b"snap0", b"delta1", b"delta2"]  # behind its snapshot


def test_a_socket_that_does_not_take_the_write_leaves_the_updates_to_the_outbox() -> None:
    market, pub, _ = deferred()
    box, _ = outbox()
    subscribe(market, pub, box)
    box.queue.clear()
    box.direct = lambda frames, count: False  # paused, closing or too long
    market.on_depth(update(1))
    assert market.flush() == 0
    assert list(box.queue) == [b"delta1"]


def test_must_deliver_updates_past_the_limit_still_disconnect() -> None:
    market, pub, _ = deferred()
    box, closed = outbox(limit=2)
    subscribe(market, pub, box, kind="trades")
    box.push(b"r0")
    trade = SimpleNamespace(instrument=SimpleNamespace(symbol="BTC-USD"))
    for n in range(2):
        trade.encoded = lambda codec, n=n: b"trade%d" % n
        market.on_trade(cast(Any, trade))
    market.flush()
    assert closed == ["slow consumer: send queue full (2 messages)"] and box.closed


async def test_subscribers_that_keep_up_are_written_to_directly(gateway: App) -> None:
    """Real sockets: the fan-out's direct writes are whole frames (websockets' client
    parses them), the chains stay gapless, and a subscriber that leaves mid-stream
    does not disturb the others."""
    subs = [await connect_client(gateway) for _ in range(3)]
    for sub in subs:
        await sub.ok("subscribe", {"channels": [BOOK]})
    assert gateway.ws is not None
    direct_writes = [0]
    for conn in gateway.ws.connections:
        write = conn.outbox.direct

        def counted(frames: bytes, count: int, write: Any = write) -> bool:
            done = bool(write(frames, count))
            direct_writes[0] += done
            return done

        conn.outbox.direct = counted
    trader = await connect_client(gateway)
    await trader.logon("demo-acc1")
    books = [LocalBook(10) for _ in subs]

    async def read(sub: Client, book: LocalBook, until: int) -> None:
        while book.seq != until:
            book.apply(await sub.push(BOOK))

    for n in range(40):
        await trader.ok("order.place", limit("BTC-USD", "buy", "1", f"{90 + n / 100:.2f}"))
        if n == 20:
            await subs[2].close()
    assert gateway.publisher is not None
    last = gateway.publisher.books["BTC-USD"].seq
    await asyncio.wait_for(
        asyncio.gather(*(read(s, b, last) for s, b in zip(subs[:2], books, strict=False))), 5
    )
    for book in books[:2]:
        assert book.snapshots == 1 and book.deltas == 40
    assert direct_writes[0] >= 2 * 40
    assert len(gateway.ws.connections) == 3  # the two subscribers and the trader
    for c in (*subs[:2], trader):
        await c.close()
