"""Self-trade prevention: each mode, the account default, FOK interaction."""

from __future__ import annotations

from engine.events import (
    BookDelta,
    CloseReason,
    OrderAccepted,
    OrderExpired,
    SelfTradePrevented,
    Trade,
)
from engine.model import Side, Stp, TimeInForce
from tests.engine.helpers import (
    BPL,
    QPT,
    USD,
    accepted_id,
    bal,
    book,
    fills,
    limit,
    make_engine,
    market,
    of,
    open_account,
)

BUY, SELL = Side.BUY, Side.SELL
BTC0 = 1_000 * 100_000_000
USD0 = 1_000_000 * USD


def venue(stp_a: Stp = Stp.NONE):  # type: ignore[no-untyped-def]
    eng, _clock = make_engine()
    open_account(eng, "A", stp=stp_a)
    open_account(eng, "B")
    return eng


def expired(ev: list) -> list[tuple[int, int, int]]:  # type: ignore[type-arg]
    return [(e.order_id, e.qty, e.reason) for e in of(ev, OrderExpired)]


def prevented(ev: list) -> list[tuple[int, int, int, int]]:  # type: ignore[type-arg]
    return [(p.taker_order_id, p.maker_order_id, p.qty, p.mode) for p in of(ev, SelfTradePrevented)]


def test_expire_taker() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 5)))
    accepted_id(eng.submit(limit("B", SELL, 100, 5)))
    ev = eng.submit(limit("A", BUY, 100, 3, stp=Stp.EXPIRE_TAKER))
    t = accepted_id(ev)
    assert prevented(ev) == [(t, own, 3, Stp.EXPIRE_TAKER)]
    assert expired(ev) == [(t, 3, CloseReason.STP_EXPIRE_TAKER)]
    assert fills(ev) == [] and of(ev, BookDelta) == []
    assert book(eng)["asks"] == [(100, [(own, 5), (own + 1, 5)])]
    assert bal(eng, "A", "USD") == (USD0, 0)


def test_expire_maker_taker_continues() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    other = accepted_id(eng.submit(limit("B", SELL, 100, 3)))
    ev = eng.submit(limit("A", BUY, 100, 4, stp=Stp.EXPIRE_MAKER))
    t = accepted_id(ev)
    assert prevented(ev) == [(t, own, 2, Stp.EXPIRE_MAKER)]
    assert expired(ev) == [(own, 2, CloseReason.STP_EXPIRE_MAKER)]
    assert fills(ev) == [(100, 3, other, t)]
    assert book(eng) == {"bids": [(100, [(t, 1)])], "asks": []}
    # one delta for the consumed ask level, one for the resting bid
    assert [(d.side, d.price, d.level_qty) for d in of(ev, BookDelta)] == [
        (SELL, 100, 0),
        (BUY, 100, 1),
    ]
    assert bal(eng, "A", "BTC") == (BTC0 + 3 * BPL, 0)
    assert bal(eng, "A", "USD") == (USD0 - 300 * QPT, 100 * QPT)


def test_expire_both() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    accepted_id(eng.submit(limit("B", SELL, 100, 3)))
    ev = eng.submit(limit("A", BUY, 100, 4, stp=Stp.EXPIRE_BOTH))
    t = accepted_id(ev)
    assert prevented(ev) == [(t, own, 2, Stp.EXPIRE_BOTH)]
    assert expired(ev) == [
        (own, 2, CloseReason.STP_EXPIRE_BOTH),
        (t, 4, CloseReason.STP_EXPIRE_BOTH),
    ]
    assert fills(ev) == []
    assert book(eng)["asks"] == [(100, [(own + 1, 3)])]
    assert bal(eng, "A", "BTC") == (BTC0, 0) and bal(eng, "A", "USD") == (USD0, 0)


def test_decrement_maker_larger() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 5)))
    ev = eng.submit(limit("A", BUY, 100, 3, stp=Stp.DECREMENT))
    t = accepted_id(ev)
    assert prevented(ev) == [(t, own, 3, Stp.DECREMENT)]
    assert expired(ev) == [(t, 3, CloseReason.STP_DECREMENT)]
    assert book(eng)["asks"] == [(100, [(own, 2)])]
    assert eng.orders[own].qty == 2
    assert bal(eng, "A", "BTC") == (BTC0, 2 * BPL)
    assert [(d.price, d.level_qty) for d in of(ev, BookDelta)] == [(100, 2)]


def test_decrement_taker_larger_continues() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", maker_bps="1", taker_bps="2.5")
    open_account(eng, "B")
    own = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    other = accepted_id(eng.submit(limit("B", SELL, 101, 10)))
    ev = eng.submit(limit("A", BUY, 101, 6, stp=Stp.DECREMENT))
    t = accepted_id(ev)
    assert prevented(ev) == [(t, own, 2, Stp.DECREMENT)]
    assert expired(ev) == [(own, 2, CloseReason.STP_DECREMENT)]
    assert fills(ev) == [(101, 4, other, t)]
    assert book(eng)["asks"] == [(101, [(other, 6)])]
    n = 101 * 4 * QPT
    assert bal(eng, "A", "USD") == (USD0 - n - n * 250 // 1_000_000, 0)
    assert bal(eng, "A", "BTC") == (BTC0 + 4 * BPL, 0)


def test_decrement_equal_expires_both() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 3)))
    ev = eng.submit(limit("A", BUY, 100, 3, stp=Stp.DECREMENT))
    t = accepted_id(ev)
    assert expired(ev) == [
        (own, 3, CloseReason.STP_DECREMENT),
        (t, 3, CloseReason.STP_DECREMENT),
    ]
    assert eng.orders == {}
    assert bal(eng, "A", "BTC") == (BTC0, 0) and bal(eng, "A", "USD") == (USD0, 0)


def test_decrement_resting_buy_maker_hold_recomputed() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", maker_bps="1.5", taker_bps="0.5")
    own = accepted_id(eng.submit(limit("A", BUY, 97, 9)))
    ev = eng.submit(limit("A", SELL, 97, 4, stp=Stp.DECREMENT))
    assert expired(ev) == [(ev[0].order_id, 4, CloseReason.STP_DECREMENT)]
    n = 97 * 5 * QPT
    assert eng.orders[own].hold == n + n * 150 // 1_000_000
    assert bal(eng, "A", "USD")[1] == eng.orders[own].hold


def test_none_allows_self_trade_with_fees() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", maker_bps="1", taker_bps="2")
    own = accepted_id(eng.submit(limit("A", SELL, 100, 5)))
    ev = eng.submit(limit("A", BUY, 100, 5))
    assert fills(ev) == [(100, 5, own, ev[0].order_id)]
    n = 500 * QPT
    fee = n * 100 // 1_000_000 + n * 200 // 1_000_000
    assert bal(eng, "A", "USD") == (USD0 - fee, 0)
    assert bal(eng, "A", "BTC") == (BTC0, 0)
    assert eng.fees == {"USD": fee}


def test_account_default_and_override() -> None:
    eng = venue(stp_a=Stp.EXPIRE_TAKER)
    own = accepted_id(eng.submit(limit("A", SELL, 100, 5)))
    ev = eng.submit(limit("A", BUY, 100, 1))
    assert ev[0].stp == Stp.EXPIRE_TAKER
    assert expired(ev) == [(ev[0].order_id, 1, CloseReason.STP_EXPIRE_TAKER)]
    ev = eng.submit(limit("A", BUY, 100, 1, stp=Stp.NONE))
    assert fills(ev) == [(100, 1, own, ev[0].order_id)]


def test_market_order_stp() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    other = accepted_id(eng.submit(limit("B", SELL, 100, 2)))
    ev = eng.submit(market("A", BUY, 3, stp=Stp.EXPIRE_MAKER))
    t = ev[0].order_id
    assert expired(ev) == [(own, 2, CloseReason.STP_EXPIRE_MAKER), (t, 1, CloseReason.NO_LIQUIDITY)]
    assert fills(ev) == [(100, 2, other, t)]
    assert bal(eng, "A", "USD") == (USD0 - 200 * QPT, 0)


def test_fok_walk_respects_stp() -> None:
    eng = venue()
    own = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    other = accepted_id(eng.submit(limit("B", SELL, 101, 5)))
    # EXPIRE_TAKER: the walk stops at the own order -> not fillable, nothing changes.
    ev = eng.submit(limit("A", BUY, 101, 4, tif=TimeInForce.FOK, stp=Stp.EXPIRE_TAKER))
    assert [type(e) for e in ev] == [OrderAccepted, OrderExpired]
    assert ev[1].reason == CloseReason.FOK_NOT_FILLABLE
    assert own in eng.orders
    # EXPIRE_MAKER: own orders are skipped by the walk -> B's 5 lots suffice.
    ev = eng.submit(limit("A", BUY, 101, 4, tif=TimeInForce.FOK, stp=Stp.EXPIRE_MAKER))
    t = accepted_id(ev)
    assert expired(ev) == [(own, 2, CloseReason.STP_EXPIRE_MAKER)]
    assert fills(ev) == [(101, 4, other, t)]
    assert of(ev, Trade)[0].taker_leaves == 0


def test_budget_capped_market_never_skips_past_a_partly_filled_maker() -> None:
    """Regression: a market buy whose budget ran out mid-level moved on to the next maker
    in the queue and expired the taker's own order behind it (STP EXPIRE_MAKER)."""
    eng = venue()
    a1 = accepted_id(eng.submit(limit("B", SELL, 100, 2)))
    a2 = accepted_id(eng.submit(limit("B", SELL, 104, 5)))
    own = accepted_id(eng.submit(limit("A", SELL, 104, 2)))
    # sized by the walk to 2@100 + 1@104; the budget is then spent mid-level at 104
    ev = eng.submit(market("A", BUY, quote_qty=100 * 2 * QPT + 104 * QPT, stp=Stp.EXPIRE_MAKER))
    t = ev[0].order_id
    assert fills(ev) == [(100, 2, a1, t), (104, 1, a2, t)]
    assert prevented(ev) == []
    assert book(eng)["asks"] == [(104, [(a2, 4), (own, 2)])]
