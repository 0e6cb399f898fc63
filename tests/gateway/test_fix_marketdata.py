"""FIX market data over real sockets: W + X rebuild the publisher's book, depth-N views,
trades, unsubscribe, session drop and the MarketDataRequestReject reasons."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from gateway.app import App
from gateway.fix.marketdata import FULL_DEPTH
from tests.fix.conftest import ClientMessage, FixClient
from tests.gateway.conftest import Connect

SYMBOL = "BTC-USD"
TT = (60, "20261123-00:00:00")


def order(clordid: str, side: int, qty: str, price: str, tif: int = 1) -> list:
    return [(11, clordid), (55, SYMBOL), (54, side), (38, qty), (40, 2), (44, price), (59, tif), TT]


def md_request(
    req_id: str, depth: int, types: tuple[int, ...] = (0, 1, 2), sub_type: int = 1
) -> list:
    return [
        (262, req_id),
        (263, sub_type),
        (264, depth),
        (267, len(types)),
        *[(269, t) for t in types],
        (146, 1),
        (55, SYMBOL),
    ]


Book = dict[str, dict[Decimal, Decimal]]  # "0" bids / "1" offers: price -> qty


class LocalBook:
    """A FIX client's book: W then X entries applied strictly (279 checked)."""

    def __init__(self, snapshot: ClientMessage, depth: int = 0) -> None:
        assert snapshot.msg_type == "W"
        self.depth = depth
        self.seq = int(snapshot.get(7929) or b"-1")
        self.book: Book = {"0": {}, "1": {}}
        self.trades: list[tuple[Decimal, Decimal, int]] = []
        for entry in entries(snapshot, 269):
            price, qty = Decimal(entry[270]), Decimal(entry[271])
            assert price not in self.book[entry[269]]
            self.book[entry[269]][price] = qty
        assert int(snapshot.get(268) or b"0") == sum(len(s) for s in self.book.values())
        self.check_depth()

    def apply(self, msg: ClientMessage) -> None:
        assert msg.msg_type == "X"
        rows = entries(msg, 279)
        assert int(msg.get(268) or b"0") == len(rows) > 0
        for entry in rows:
            seq = int(entry[83])
            assert seq >= self.seq  # RptSeq increasing (one update may carry several)
            self.seq = seq
            assert entry[55] == SYMBOL
            price, action, kind = Decimal(entry[270]), entry[279], entry[269]
            if kind == "2":
                assert action == "0"
                self.trades.append((price, Decimal(entry[271]), seq))
                continue
            side = self.book[kind]
            if action == "0":
                assert price not in side, f"new level {price} already known"
                side[price] = Decimal(entry[271])
            elif action == "1":
                assert price in side, f"change of unknown level {price}"
                side[price] = Decimal(entry[271])
            else:
                assert action == "2" and 271 not in entry
                assert side.pop(price, None) is not None, f"delete of unknown level {price}"
        self.check_depth()

    def check_depth(self) -> None:
        if self.depth:
            assert all(len(side) <= self.depth for side in self.book.values())


def entries(msg: ClientMessage, first: int) -> list[dict[int, str]]:
    """Repeating-group entries in wire order; an entry starts at tag ``first``."""
    out: list[dict[int, str]] = []
    for tag, value in msg.fields:
        if tag == first:
            out.append({})
        if out and tag in (279, 269, 55, 270, 271, 83):
            out[-1][tag] = value.decode()
    return out


def published(app: App, depth: int) -> Book:
    book = app.publisher.books[SYMBOL]
    inst = book.instrument
    out: Book = {}
    for key, side in (("0", book.bids), ("1", book.asks)):
        out[key] = {
            Decimal(inst.ticks_to_price(p)): Decimal(inst.lots_to_qty(q))
            for p, q in side.top(depth)
        }
    return out


def engine_book(app: App) -> Book:
    listing = app.host.engine.listings[SYMBOL]
    inst = listing.instrument
    out: Book = {}
    for key, side in (("0", listing.book.bids), ("1", listing.book.asks)):
        out[key] = {
            Decimal(inst.ticks_to_price(p)): Decimal(inst.lots_to_qty(q))
            for p, q in side.depth(len(side.levels))
        }
    return out


async def drain(client: FixClient, timeout: float = 0.3) -> list[ClientMessage]:
    out: list[ClientMessage] = []
    while True:
        try:
            out.append(await client.recv(timeout))
        except TimeoutError:
            return out


async def until(cond: object, timeout: float = 5.0) -> None:
    assert callable(cond)
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_book_from_w_and_x_equals_published_book_under_random_flow(
    app: App, fix_login: Connect
) -> None:
    traders = [await fix_login("CLIENT1"), await fix_login("CLIENT2")]
    md = await fix_login("MD1")
    await md.send("V", md_request("full", 0))
    await md.send("V", md_request("top3", 3, (0, 1)))
    books = {"full": LocalBook(await md.expect("W")), "top3": LocalBook(await md.expect("W"), 3)}
    rnd = random.Random(20261123)
    last = {}
    late: list[ClientMessage] = []
    for i in range(200):
        n = rnd.randrange(2)
        side = rnd.choice((1, 2))
        price = 50000 + rnd.randint(-6, 6) * 5
        qty = Decimal(rnd.randint(1, 40)) / 100
        tif = 3 if rnd.random() < 0.1 else 1  # some IOC
        last[n] = f"o{i}"
        await traders[n].send("D", order(f"o{i}", side, str(qty), str(price), tif))
        if i == 100:  # a subscriber joining while orders flow
            await md.send("V", md_request("late", 0, (0, 1)))
    await until(
        lambda: all(
            app.tracker.find(acct, last[n]) is not None for n, acct in ((0, "ACC1"), (1, "ACC2"))
        )
    )
    for msg in await drain(md):
        req = (msg.get(262) or b"").decode()
        if msg.msg_type == "W":
            assert req == "late" and req not in books
            books[req] = LocalBook(msg)
        elif req in books:
            books[req].apply(msg)
        else:
            late.append(msg)  # only X for "late" before its W: impossible
    assert late == []
    assert set(books) == {"full", "top3", "late"}

    full = published(app, FULL_DEPTH)
    assert full == engine_book(app)
    assert len(full["0"]) > 3 and len(full["1"]) > 3  # the flow built a multi-level book
    assert books["full"].book == full
    assert books["late"].book == full
    assert books["top3"].book == published(app, 3)
    assert all(len(side) == 3 for side in books["top3"].book.values())  # exactly the top 3
    assert books["full"].trades  # trades were published, in full only (types 0, 1 there)
    assert books["top3"].trades == [] and books["late"].trades == []
    trade_seqs = [s for _, _, s in books["full"].trades]
    assert trade_seqs == sorted(trade_seqs)


async def test_trade_entries_for_a_trade_only_subscription(app: App, fix_login: Connect) -> None:
    maker, taker = await fix_login("CLIENT1"), await fix_login("CLIENT2")
    md = await fix_login("MD1")
    await maker.send("D", order("m", 2, "0.3", "50000"))
    await maker.expect("8")
    await md.send("V", md_request("t", 0, (2,)))
    snap = await md.expect("W")
    assert snap.get(268) == b"0" and snap.get(262) == b"t"
    seq = int(snap.get(7929) or b"0")
    await taker.send("D", order("t", 1, "0.1", "50001"))
    inc = await md.expect("X")
    assert entries(inc, 279) == [
        {279: "0", 269: "2", 55: SYMBOL, 270: "50000", 271: "0.1", 83: entries(inc, 279)[0][83]}
    ]
    assert inc.get(262) == b"t" and int(inc.get(83) or b"0") > seq
    await md.expect_nothing()  # the book change is not sent to a trade-only request


async def test_depth_one_keeps_only_the_best_level(app: App, fix_login: Connect) -> None:
    trader = await fix_login("CLIENT1")
    md = await fix_login("MD1")
    await md.send("V", md_request("d1", 1, (0,)))
    local = LocalBook(await md.expect("W"), 1)
    for i, price in enumerate(("49990", "49995", "49980", "49996")):
        await trader.send("D", order(f"b{i}", 1, "0.1", price))
        await trader.expect("8")
    # 49990 new; 49995 new + 49990 delete; 49980 outside the view: nothing; 49996 replaces
    for _ in range(3):
        local.apply(await md.expect("X"))
    await md.expect_nothing()
    assert local.book == {"0": {Decimal("49996"): Decimal("0.1")}, "1": {}}
    await trader.send("F", [(11, "c"), (41, "b3"), (55, SYMBOL), (54, 1), TT])
    await trader.expect("8")
    local.apply(await md.expect("X"))  # 49996 deleted, 49995 back in view as new
    assert local.book == {"0": {Decimal("49995"): Decimal("0.1")}, "1": {}}


async def test_unsubscribe_stops_updates_and_unwatches(app: App, fix_login: Connect) -> None:
    trader = await fix_login("CLIENT1")
    md = await fix_login("MD1")
    views = app.publisher.books[SYMBOL].views
    await md.send("V", md_request("u", 5, (0, 1)))
    await md.expect("W")
    assert 5 in views
    await trader.send("D", order("b1", 1, "0.1", "49990"))
    await trader.expect("8")
    assert (await md.expect("X")).get(262) == b"u"
    await md.send("V", md_request("u", 5, (0, 1), sub_type=2))
    await trader.send("D", order("b2", 1, "0.1", "49991"))
    await trader.expect("8")
    await md.expect_nothing()
    assert 5 not in views
    await md.send("V", md_request("u", 5, (0, 1)))  # the MDReqID is free again
    snap = await md.expect("W")
    assert snap.get_all(270) == [b"49991", b"49990"]


async def test_session_drop_unwatches_views(app: App, fix_login: Connect) -> None:
    md = await fix_login("MD1")
    views = app.publisher.books[SYMBOL].views
    await md.send("V", md_request("a", 0))
    await md.send("V", md_request("b", 0, (0,)))  # same view: one reference
    await md.expect("W")
    await md.expect("W")
    assert FULL_DEPTH in views
    md.writer.close()
    await until(lambda: FULL_DEPTH not in views)


async def test_snapshot_only_request_leaves_no_view(app: App, fix_login: Connect) -> None:
    trader = await fix_login("CLIENT1")
    md = await fix_login("MD1")
    await trader.send("D", order("s1", 2, "0.2", "50010"))
    await trader.expect("8")
    await md.send("V", md_request("s", 7, (0, 1), sub_type=0))
    snap = await md.expect("W")
    assert snap.get_all(269) == [b"1"] and snap.get_all(271) == [b"0.2"]
    assert snap.get(55) == SYMBOL.encode()
    assert int(snap.get(7929) or b"0") == app.publisher.books[SYMBOL].seq
    assert 7 not in app.publisher.books[SYMBOL].views
    await trader.send("D", order("s2", 2, "0.2", "50011"))
    await trader.expect("8")
    await md.expect_nothing()


async def test_market_data_request_rejects(app: App, fix_login: Connect) -> None:
    md = await fix_login("MD1")
    await md.send("V", md_request("ok", 0))
    await md.expect("W")
    cases = [
        ([(262, "r2"), (263, 1), (264, -1), (267, 1), (269, 0), (146, 1), (55, SYMBOL)], "5"),
        ([(262, "r3"), (263, 1), (264, 0), (267, 1), (269, 5), (146, 1), (55, SYMBOL)], "8"),
        ([(262, "r4"), (263, 1), (264, 0), (267, 1), (269, 0), (146, 1), (55, "NOPE")], "0"),
        (md_request("ok", 0), "1"),
    ]
    for body, reason in cases:
        await md.send("V", body)
        reject = await md.expect("Y")
        assert (reject.get_str(262), reject.get_str(281)) == (dict(body)[262], reason)
    # a SubscriptionRequestType outside the dictionary's enum is a session-level Reject
    await md.send("V", md_request("r5", 0, sub_type=9))
    reject = await md.expect("3")
    assert (reject.get_str(371), reject.get_str(373)) == ("263", "5")


async def test_fix_listens_before_the_publisher(app: App) -> None:
    """A batch's ExecutionReports are rendered before its market data reaches the sinks."""
    listeners = app.host.listeners
    assert listeners.index(app.fix.on_batch) < listeners.index(app.publisher)
    assert app.fix.market_data in app.publisher.sinks
