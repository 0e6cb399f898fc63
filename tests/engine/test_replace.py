"""Replace: total-qty semantics, priority rules, holds, rejects leave the order unchanged."""

from __future__ import annotations

from engine.commands import Cancel, Replace
from engine.events import BookDelta, OrderReplaced, RejectCode
from engine.model import Side
from tests.engine.helpers import (
    QPT,
    USD,
    accepted_id,
    bal,
    book,
    fills,
    limit,
    make_engine,
    of,
    open_account,
    reject_code,
)

BUY, SELL = Side.BUY, Side.SELL


def venue(**kw: str):  # type: ignore[no-untyped-def]
    eng, _clock = make_engine(**kw)
    open_account(eng, "A", maker_bps="1", taker_bps="2.5")
    open_account(eng, "B")
    return eng


def hold(price: int, lots: int, ppm: int = 250) -> int:
    n = price * lots * QPT
    return n + n * ppm // 1_000_000


def rep(order_id: int, qty: int, price: int = 0, **kw: str) -> Replace:
    return Replace("A", "BTC-USD", qty, price, order_id, **kw)


def test_qty_decrease_keeps_priority() -> None:
    eng = venue()
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5)))
    b = accepted_id(eng.submit(limit("B", BUY, 100, 5)))
    ev = eng.submit(rep(a, 3))
    r = of(ev, OrderReplaced)[0]
    assert (r.priority_kept, r.qty, r.leaves, r.price) == (True, 3, 3, 100)
    assert book(eng)["bids"] == [(100, [(a, 3), (b, 5)])]
    assert [(d.price, d.level_qty) for d in of(ev, BookDelta)] == [(100, 8)]
    assert bal(eng, "A", "USD")[1] == hold(100, 3) == eng.orders[a].hold
    # same qty, same price: still keeps priority
    assert of(eng.submit(rep(a, 3)), OrderReplaced)[0].priority_kept is True


def test_qty_increase_loses_priority() -> None:
    eng = venue()
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5)))
    b = accepted_id(eng.submit(limit("B", BUY, 100, 5)))
    ev = eng.submit(rep(a, 8))
    assert of(ev, OrderReplaced)[0].priority_kept is False
    assert book(eng)["bids"] == [(100, [(b, 5), (a, 8)])]
    assert bal(eng, "A", "USD")[1] == hold(100, 8)


def test_price_change_requeues_and_may_trade() -> None:
    eng = venue()
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5)))
    ask = accepted_id(eng.submit(limit("B", SELL, 101, 2)))
    ev = eng.submit(rep(a, 5, 102))
    assert of(ev, OrderReplaced)[0].priority_kept is False
    assert fills(ev) == [(101, 2, ask, a)]
    assert book(eng) == {"bids": [(102, [(a, 3)])], "asks": []}
    assert bal(eng, "A", "USD") == (
        1_000_000 * USD - 202 * QPT - 202 * QPT * 250 // 1_000_000,
        hold(102, 3),
    )
    deltas = [(d.side, d.price, d.level_qty) for d in of(ev, BookDelta)]
    assert deltas == [(BUY, 100, 0), (SELL, 101, 0), (BUY, 102, 3)]


def test_qty_is_total_including_filled() -> None:
    eng = venue()
    a = accepted_id(eng.submit(limit("A", SELL, 100, 10)))
    eng.submit(limit("B", BUY, 100, 4))
    assert reject_code(eng.submit(rep(a, 4))) == RejectCode.REPLACE_BELOW_FILLED
    assert reject_code(eng.submit(rep(a, 3))) == RejectCode.REPLACE_BELOW_FILLED
    ev = eng.submit(rep(a, 7))
    r = of(ev, OrderReplaced)[0]
    assert (r.qty, r.leaves, r.filled, r.priority_kept) == (7, 3, 4, True)
    assert bal(eng, "A", "BTC")[1] == 3 * 1_000_000


def test_insufficient_balance_leaves_order_unchanged() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", usd=100 * 10 * QPT, btc=0)
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5)))
    before = book(eng)
    assert reject_code(eng.submit(rep(a, 11))) == RejectCode.INSUFFICIENT_BALANCE
    assert book(eng) == before and eng.orders[a].qty == 5
    assert bal(eng, "A", "USD") == (100 * 10 * QPT, 100 * 5 * QPT)
    ev = eng.submit(rep(a, 10))
    assert of(ev, OrderReplaced)[0].leaves == 10
    assert bal(eng, "A", "USD") == (100 * 10 * QPT, 100 * 10 * QPT)


def test_post_only_replace_that_would_cross_is_rejected() -> None:
    eng = venue()
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5, post_only=True)))
    eng.submit(limit("B", SELL, 102, 5))
    assert reject_code(eng.submit(rep(a, 5, 102))) == RejectCode.POST_ONLY_WOULD_TAKE
    assert book(eng)["bids"] == [(100, [(a, 5)])]
    assert of(eng.submit(rep(a, 5, 101)), OrderReplaced)[0].price == 101


def test_client_id_rename() -> None:
    eng = venue()
    accepted_id(eng.submit(limit("A", BUY, 100, 5, client_order_id="old")))
    accepted_id(eng.submit(limit("A", BUY, 99, 5, client_order_id="other")))
    dup = Replace("A", "BTC-USD", 4, orig_client_order_id="old", client_order_id="other")
    assert reject_code(eng.submit(dup)) == RejectCode.DUPLICATE_CLIENT_ORDER_ID
    ev = eng.submit(Replace("A", "BTC-USD", 4, orig_client_order_id="old", client_order_id="new"))
    r = of(ev, OrderReplaced)[0]
    assert (r.client_order_id, r.orig_client_order_id) == ("new", "old")
    assert reject_code(eng.submit(Cancel("A", "BTC-USD", client_order_id="old"))) == (
        RejectCode.UNKNOWN_ORDER
    )
    again = eng.submit(limit("A", BUY, 98, 1, client_order_id="old"))
    assert reject_code(again) == RejectCode.DUPLICATE_CLIENT_ORDER_ID
    assert len(eng.submit(Cancel("A", "BTC-USD", client_order_id="new"))) >= 1
    assert [o.client_order_id for o in eng.open_orders("A")] == ["other"]


def test_replace_rejects() -> None:
    eng = venue(min_qty="0.02", min_notional="0.01")
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5)))
    cases = [
        (rep(a, 0), RejectCode.INVALID_QUANTITY),
        (rep(a, 5, -3), RejectCode.INVALID_PRICE),
        (rep(a, 1), RejectCode.BELOW_MIN_QTY),
        (rep(a, 2, 10), RejectCode.BELOW_MIN_NOTIONAL),
        (rep(a + 100, 5), RejectCode.UNKNOWN_ORDER),
        (Replace("A", "BTC-USD", 5, orig_client_order_id="nope"), RejectCode.UNKNOWN_ORDER),
        (Replace("B", "BTC-USD", 5, 0, a), RejectCode.UNKNOWN_ORDER),
    ]
    for cmd, code in cases:
        ev = eng.submit(cmd)
        assert reject_code(ev) == code, cmd
        assert ev[0].request == "replace"
    assert book(eng)["bids"] == [(100, [(a, 5)])]
    assert bal(eng, "A", "USD")[1] == hold(100, 5)


def test_replace_collar_and_limits() -> None:
    eng, _ = make_engine(collar_pct="10")
    open_account(eng, "A", max_order_qty=10 * 1_000_000, max_order_notional=1000 * 10 * QPT)
    open_account(eng, "B")
    eng.submit(limit("B", SELL, 1000, 1))
    eng.submit(limit("A", BUY, 1000, 1))  # reference 1000
    a = accepted_id(eng.submit(limit("A", BUY, 950, 5)))
    assert reject_code(eng.submit(rep(a, 5, 899))) == RejectCode.PRICE_OUTSIDE_COLLAR
    assert reject_code(eng.submit(rep(a, 11))) == RejectCode.MAX_ORDER_QTY
    assert reject_code(eng.submit(rep(a, 10, 1001))) == RejectCode.MAX_ORDER_NOTIONAL
    assert of(eng.submit(rep(a, 10, 1000)), OrderReplaced)[0].price == 1000
