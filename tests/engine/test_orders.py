"""Order types, time in force, sequencing, md_seq and event shape."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.commands import Cancel, MassCancel, NewOrder, Tick
from engine.events import (
    BalanceChanged,
    BookDelta,
    CloseReason,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    RejectCode,
    Trade,
)
from engine.model import GridError, Instrument, OrdType, Side, TimeInForce
from engine.risk import bps_to_ppm
from engine.sequencer import Sequencer
from tests.engine.helpers import (
    BPL,
    QPT,
    USD,
    Clock,
    accepted_id,
    bal,
    book,
    fills,
    limit,
    make_engine,
    market,
    of,
    open_account,
    out_of_enum,
    reject_code,
)

BUY, SELL = Side.BUY, Side.SELL


def venue(**kw: str):  # type: ignore[no-untyped-def]
    eng, clock = make_engine(**kw)
    open_account(eng, "A")
    open_account(eng, "B")
    open_account(eng, "C")
    return eng, clock


# ---------------------------------------------------------------- model / grid


def test_instrument_grid_conversions() -> None:
    inst = Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.0001", "0.00015", "1")
    assert inst.quote_per_tick_lot == 100  # 0.01 * 0.0001 = 1e-6 USD = 100 units
    assert inst.base_per_lot == 10_000
    assert inst.min_qty == 2  # rounded up to the lot grid
    assert inst.min_notional == 100_000_000
    assert inst.price_to_ticks("123.45") == 12345
    assert inst.qty_to_lots("0.0003") == 3
    assert inst.ticks_to_price(12340) == "123.4"
    assert inst.lots_to_qty(10_000) == "1"
    assert inst.notional(12345, 3) == 12345 * 3 * 100
    for bad in ("123.456", "0", "-1", "abc", "NaN", "Infinity"):
        with pytest.raises(GridError):
            inst.price_to_ticks(bad)
    for bad in ("0.00001", "0", "-0.0001"):
        with pytest.raises(GridError):
            inst.qty_to_lots(bad)


def test_instrument_validation() -> None:
    with pytest.raises(GridError):
        Instrument.from_decimals("X", "X", "Y", "0", "1")
    with pytest.raises(GridError):  # tick*lot below one asset unit
        Instrument.from_decimals("X", "X", "Y", "0.0001", "0.00001")
    with pytest.raises(GridError):
        Instrument.from_decimals("X", "X", "Y", "1", "1", collar_pct="-1")
    assert bps_to_ppm("2.5") == 250
    with pytest.raises(ValueError):
        bps_to_ppm("0.001")


# ---------------------------------------------------------------- sequencing


def test_seq_gapless_ts_monotonic_idx_positions() -> None:
    clock = Clock(5_000)
    eng, _ = make_engine(clock=clock)
    open_account(eng, "A", usd=10 * USD, btc=0)
    assert eng.last_seq == 3
    clock.now = 4_000  # clock steps back: ts stays at 5_000
    ev = eng.submit(limit("A", BUY, 100, 1))
    assert all((e.seq, e.ts_us) == (4, 5_000) for e in ev)
    assert [e.idx for e in ev] == list(range(len(ev)))
    assert accepted_id(ev) == 4
    rej = eng.submit(limit("A", BUY, 100, 10**9))  # rejected still gets a seq
    assert rej[0].seq == 5 and reject_code(rej) == RejectCode.INSUFFICIENT_BALANCE
    clock.now = 9_000
    ev = eng.submit(Tick())
    assert ev == [] and eng.last_seq == 6 and eng.last_ts_us == 9_000


def test_apply_refuses_gaps() -> None:
    eng, _ = make_engine()
    with pytest.raises(ValueError, match="sequence gap"):
        eng.apply(5, 1, Tick())
    eng.apply(2, 1, Tick())
    assert eng.last_seq == 2


def test_sequencer_resume() -> None:
    seq = Sequencer(lambda: 10)
    seq.resume(41, 50)
    assert seq.next() == (42, 50)


def test_md_seq_gapless_over_deltas_and_trades() -> None:
    eng, _ = venue()
    seen: list[int] = []
    cmds = [
        limit("A", SELL, 101, 2),
        limit("A", SELL, 101, 3),
        limit("B", SELL, 102, 4),
        limit("C", BUY, 102, 6),
        limit("C", BUY, 99, 1),
    ]
    for c in cmds:
        for e in eng.submit(c):
            if isinstance(e, BookDelta | Trade):
                seen.append(e.md_seq)
    oid = eng.open_orders("C")[0].order_id
    for e in eng.submit(Cancel("C", "BTC-USD", order_id=oid)):
        if isinstance(e, BookDelta | Trade):
            seen.append(e.md_seq)
    assert seen == list(range(1, len(seen) + 1))
    assert eng.listings["BTC-USD"].book.md_seq == len(seen) == 10


# ---------------------------------------------------------------- limit / GTC


def test_limit_rests_then_price_time_priority() -> None:
    eng, _ = venue()
    a1 = accepted_id(eng.submit(limit("A", SELL, 101, 2)))
    b1 = accepted_id(eng.submit(limit("B", SELL, 100, 3)))
    a2 = accepted_id(eng.submit(limit("A", SELL, 101, 4)))
    assert book(eng)["asks"] == [(100, [(b1, 3)]), (101, [(a1, 2), (a2, 4)])]
    ev = eng.submit(limit("C", BUY, 101, 6))
    taker = accepted_id(ev)
    assert fills(ev) == [(100, 3, b1, taker), (101, 2, a1, taker), (101, 1, a2, taker)]
    assert book(eng) == {"bids": [], "asks": [(101, [(a2, 3)])]}
    deltas = [(d.side, d.price, d.level_qty) for d in of(ev, BookDelta)]
    assert deltas == [(SELL, 100, 0), (SELL, 101, 3)]
    # Trades report both orders' post-trade state.
    t = of(ev, Trade)[-1]
    assert (t.maker_filled, t.maker_leaves, t.taker_filled, t.taker_leaves) == (1, 3, 6, 0)
    assert t.taker_notional == (100 * 3 + 101 * 3) * QPT
    assert eng.listings["BTC-USD"].book.last_price == 101


def test_limit_buy_improves_price_and_releases_hold() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", usd=10 * USD, btc=0, maker_bps="1", taker_bps="2.5")
    open_account(eng, "B")
    eng.submit(limit("B", SELL, 90, 4))
    ev = eng.submit(limit("A", BUY, 100, 10))
    # Hold for remaining 6 lots at the limit price with the higher fee rate (250 ppm).
    rest = 100 * 6 * QPT
    hold = rest + rest * 250 // 1_000_000
    paid = 90 * 4 * QPT + (90 * 4 * QPT) * 250 // 1_000_000
    assert bal(eng, "A", "USD") == (10 * USD - paid, hold)
    assert bal(eng, "A", "BTC") == (4 * BPL, 0)
    assert eng.open_orders("A")[0].hold == hold
    assert of(ev, Trade)[0].taker_fee == 900
    # BalanceChanged once per touched (account, asset), at the end.
    changed = of(ev, BalanceChanged)
    assert len(changed) == len({(c.account, c.asset) for c in changed}) == 4
    assert ev[-len(changed) :] == changed


def test_sell_holds_base() -> None:
    eng, _ = venue()
    eng.submit(limit("A", SELL, 100, 7))
    assert bal(eng, "A", "BTC")[1] == 7 * BPL


# ---------------------------------------------------------------- IOC / FOK


def test_ioc_remainder_expired() -> None:
    eng, _ = venue()
    m = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    ev = eng.submit(limit("B", BUY, 100, 5, tif=TimeInForce.IOC))
    t = accepted_id(ev)
    assert fills(ev) == [(100, 2, m, t)]
    exp = of(ev, OrderExpired)
    assert [(e.order_id, e.qty, e.filled, e.reason) for e in exp] == [
        (t, 3, 2, CloseReason.IOC_REMAINDER)
    ]
    assert book(eng) == {"bids": [], "asks": []}
    assert bal(eng, "B", "USD")[1] == 0


def test_fok_not_fillable_changes_nothing() -> None:
    eng, _ = venue()
    m = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    eng.submit(limit("A", SELL, 102, 5))
    before = eng.state()
    ev = eng.submit(limit("B", BUY, 101, 3, tif=TimeInForce.FOK, client_order_id="f1"))
    assert [type(e) for e in ev] == [OrderAccepted, OrderExpired]
    assert ev[1].reason == CloseReason.FOK_NOT_FILLABLE and ev[1].qty == 3
    after = eng.state()
    after["last_seq"] = before["last_seq"]
    after["last_ts_us"] = before["last_ts_us"]
    before["accounts"]["B"]["recent_client_ids"] = ["f1"]
    assert after == before
    ev = eng.submit(limit("B", BUY, 100, 2, tif=TimeInForce.FOK))
    assert fills(ev) == [(100, 2, m, ev[0].order_id)]


def test_fok_fillable_across_levels() -> None:
    eng, _ = venue()
    m1 = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    m2 = accepted_id(eng.submit(limit("C", SELL, 101, 5)))
    ev = eng.submit(limit("B", BUY, 101, 4, tif=TimeInForce.FOK))
    t = accepted_id(ev)
    assert fills(ev) == [(100, 2, m1, t), (101, 2, m2, t)]
    assert of(ev, OrderExpired) == []


# ---------------------------------------------------------------- GTD


def test_gtd_expires_on_first_command_at_or_after_expiry() -> None:
    eng, clock = venue()
    now = clock.now
    rej = eng.submit(limit("A", BUY, 100, 1, tif=TimeInForce.GTD, expire_ts_us=now))
    assert reject_code(rej) == RejectCode.INVALID_EXPIRE_TIME
    oid = accepted_id(
        eng.submit(limit("A", BUY, 100, 1, tif=TimeInForce.GTD, expire_ts_us=now + 500))
    )
    assert eng.next_expiry_us() == now + 500
    clock.now = now + 499
    assert eng.submit(Tick()) == []
    clock.now = now + 500
    ev = eng.submit(Tick())
    exp = of(ev, OrderExpired)
    assert [(e.order_id, e.reason) for e in exp] == [(oid, CloseReason.GTD_EXPIRED)]
    assert of(ev, BookDelta)[0].level_qty == 0
    assert bal(eng, "A", "USD")[1] == 0
    assert eng.next_expiry_us() is None
    assert book(eng)["bids"] == []


def test_gtd_expiry_happens_before_the_command_that_triggers_it() -> None:
    eng, clock = venue()
    eng.submit(limit("A", SELL, 100, 1, tif=TimeInForce.GTD, expire_ts_us=clock.now + 10))
    clock.now += 10
    ev = eng.submit(limit("B", BUY, 100, 1))
    assert of(ev, OrderExpired)[0].reason == CloseReason.GTD_EXPIRED
    assert fills(ev) == []
    assert len(book(eng)["bids"]) == 1


def test_gtd_canceled_before_expiry_is_forgotten() -> None:
    eng, clock = venue()
    oid = accepted_id(
        eng.submit(limit("A", BUY, 100, 1, tif=TimeInForce.GTD, expire_ts_us=clock.now + 5))
    )
    eng.submit(Cancel("A", "BTC-USD", order_id=oid))
    assert eng.next_expiry_us() is None
    clock.now += 10
    assert eng.submit(Tick()) == []


# ---------------------------------------------------------------- post-only


def test_post_only() -> None:
    eng, _ = venue()
    eng.submit(limit("A", SELL, 101, 2))
    rej = eng.submit(limit("B", BUY, 101, 1, post_only=True))
    assert reject_code(rej) == RejectCode.POST_ONLY_WOULD_TAKE
    ok = eng.submit(limit("B", BUY, 100, 1, post_only=True))
    assert book(eng)["bids"] == [(100, [(accepted_id(ok), 1)])]
    for tif in (TimeInForce.IOC, TimeInForce.FOK):
        rej = eng.submit(limit("B", BUY, 99, 1, post_only=True, tif=tif))
        assert reject_code(rej) == RejectCode.INVALID_ORDER


# ---------------------------------------------------------------- market


def test_market_qty_walks_levels() -> None:
    eng, _ = venue()
    m1 = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    m2 = accepted_id(eng.submit(limit("A", SELL, 105, 10)))
    ev = eng.submit(market("B", BUY, 5))
    t = accepted_id(ev)
    assert fills(ev) == [(100, 2, m1, t), (105, 3, m2, t)]
    assert of(ev, OrderExpired) == []
    assert bal(eng, "B", "USD")[1] == 0
    assert eng.orders.keys() == {m2}


def test_market_buy_with_fee_fills_fully() -> None:
    """Regression: the per-fill budget check used to stop one lot early when fee*notional
    was not a whole number of units (INSUFFICIENT_BALANCE with plenty of funds)."""
    eng, _ = make_engine()
    open_account(eng, "A", taker_bps="2.5")
    open_account(eng, "B")
    m = accepted_id(eng.submit(limit("B", SELL, 123, 7)))
    ev = eng.submit(market("A", BUY, 7))
    assert fills(ev) == [(123, 7, m, ev[0].order_id)]
    assert of(ev, OrderExpired) == []
    fee = 123 * 7 * QPT * 250 // 1_000_000
    assert of(ev, Trade)[0].taker_fee == fee == 2152
    assert bal(eng, "A", "USD") == (1_000_000 * USD - 123 * 7 * QPT - fee, 0)


def test_market_buy_exact_balance_fills_across_levels_with_fee() -> None:
    eng, _ = make_engine()
    n = 101 * 3 * QPT + 103 * 4 * QPT
    cost = n + n * 250 // 1_000_000
    open_account(eng, "A", usd=cost, btc=0, taker_bps="2.5")
    open_account(eng, "B")
    eng.submit(limit("B", SELL, 101, 3))
    eng.submit(limit("B", SELL, 103, 4))
    ev = eng.submit(market("A", BUY, 7))
    assert [f[:2] for f in fills(ev)] == [(101, 3), (103, 4)]
    assert of(ev, OrderExpired) == []
    assert bal(eng, "A", "USD")[1] == 0
    assert 0 <= bal(eng, "A", "USD")[0] <= 1  # at most the rounding of per-fill fees


def test_market_buy_insufficient_balance_rejected() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", usd=100 * 5 * QPT - 1, btc=0)
    open_account(eng, "B")
    eng.submit(limit("B", SELL, 100, 5))
    assert reject_code(eng.submit(market("A", BUY, 5))) == RejectCode.INSUFFICIENT_BALANCE


def test_insufficient_balance_text_in_decimal_amounts() -> None:
    """The text reaches clients verbatim: amounts in the asset's decimals, not units."""
    eng, _ = make_engine()
    open_account(eng, "A", usd=150_000_000, btc=0)  # 1.5 USD
    (rej,) = eng.submit(limit("A", BUY, 10_000, 50))  # 50 USD of notional
    assert isinstance(rej, OrderRejected)
    assert rej.text == "insufficient USD: need 50, available 1.5"


def test_market_no_liquidity() -> None:
    eng, _ = venue()
    ev = eng.submit(market("A", BUY, 3, client_order_id="m1"))
    assert [type(e) for e in ev] == [OrderAccepted, OrderExpired]
    assert (ev[1].qty, ev[1].reason) == (3, CloseReason.NO_LIQUIDITY)
    ev = eng.submit(market("A", SELL, quote_qty=USD))
    assert [type(e) for e in ev] == [OrderAccepted, OrderExpired]
    assert ev[1].reason == CloseReason.NO_LIQUIDITY
    # partially fillable: rest expired NO_LIQUIDITY
    m = accepted_id(eng.submit(limit("B", BUY, 100, 2)))
    ev = eng.submit(market("A", SELL, 5))
    assert fills(ev) == [(100, 2, m, ev[0].order_id)]
    assert [(e.qty, e.reason) for e in of(ev, OrderExpired)] == [(3, CloseReason.NO_LIQUIDITY)]
    assert bal(eng, "A", "BTC") == (1_000 * 100_000_000 - 2 * BPL, 0)
    # client id of an order that never rested stays reserved
    rej = eng.submit(limit("A", BUY, 90, 1, client_order_id="m1"))
    assert reject_code(rej) == RejectCode.DUPLICATE_CLIENT_ORDER_ID


def test_market_quote_qty_buy_and_sell() -> None:
    eng, _ = venue()
    m1 = accepted_id(eng.submit(limit("A", SELL, 100, 2)))
    m2 = accepted_id(eng.submit(limit("A", SELL, 110, 10)))
    # spend 0.06 USD = 6_000_000 units: 2 lots @100 (2_000_000), then 3 lots @110 (3_300_000)
    ev = eng.submit(market("B", BUY, quote_qty=6_000_000))
    t = accepted_id(ev)
    assert ev[0].qty == 5
    assert fills(ev) == [(100, 2, m1, t), (110, 3, m2, t)]
    assert of(ev, OrderExpired) == []
    b1 = accepted_id(eng.submit(limit("C", BUY, 90, 4)))
    ev = eng.submit(market("B", SELL, quote_qty=2_000_000))  # raise 0.02 USD: 2 lots @90
    assert fills(ev) == [(90, 2, b1, ev[0].order_id)]


def test_market_validation() -> None:
    eng, _ = venue()
    both = NewOrder("A", "BTC-USD", BUY, OrdType.MARKET, 1, 0, TimeInForce.IOC, quote_qty=5)
    neither = NewOrder("A", "BTC-USD", BUY, OrdType.MARKET, 0)
    priced = NewOrder("A", "BTC-USD", BUY, OrdType.MARKET, 1, 100)
    gtd = NewOrder("A", "BTC-USD", BUY, OrdType.MARKET, 1, 0, TimeInForce.GTD, expire_ts_us=9**9)
    post = NewOrder("A", "BTC-USD", BUY, OrdType.MARKET, 1, post_only=True)
    assert reject_code(eng.submit(both)) == RejectCode.INVALID_QUANTITY
    assert reject_code(eng.submit(neither)) == RejectCode.INVALID_QUANTITY
    for bad in (priced, gtd, post):
        assert reject_code(eng.submit(bad)) == RejectCode.INVALID_ORDER
    assert reject_code(eng.submit(limit("A", BUY, 100, 1, quote_qty=5))) == (
        RejectCode.INVALID_ORDER
    )
    for bad_side in out_of_enum(lambda: NewOrder("A", "BTC-USD", 3, OrdType.LIMIT, 1, 100)):
        assert reject_code(eng.submit(bad_side)) == RejectCode.INVALID_ORDER
    for bad_type in out_of_enum(lambda: NewOrder("A", "BTC-USD", BUY, 9, 1, 100)):
        assert reject_code(eng.submit(bad_type)) == RejectCode.INVALID_ORDER
    for bad_tif in out_of_enum(lambda: limit("A", BUY, 100, 1, tif=7)):
        assert reject_code(eng.submit(bad_tif)) == RejectCode.INVALID_TIME_IN_FORCE


def test_market_fok() -> None:
    eng, _ = venue()
    eng.submit(limit("A", SELL, 100, 2))
    ev = eng.submit(NewOrder("B", "BTC-USD", BUY, OrdType.MARKET, 3, 0, TimeInForce.FOK))
    assert [type(e) for e in ev] == [OrderAccepted, OrderExpired]
    assert ev[1].reason == CloseReason.FOK_NOT_FILLABLE


# ---------------------------------------------------------------- collar


def test_collar_limits_and_market_stop() -> None:
    eng, _ = make_engine(collar_pct="10")
    open_account(eng, "A")
    open_account(eng, "B")
    # No reference price yet: anything goes.
    eng.submit(limit("A", SELL, 1000, 1))
    eng.submit(limit("B", BUY, 1000, 1))
    assert eng.listings["BTC-USD"].collar() == (900, 1100)
    assert reject_code(eng.submit(limit("A", SELL, 1101, 1))) == RejectCode.PRICE_OUTSIDE_COLLAR
    assert reject_code(eng.submit(limit("A", BUY, 899, 1))) == RejectCode.PRICE_OUTSIDE_COLLAR
    m1 = accepted_id(eng.submit(limit("A", SELL, 1100, 2)))
    accepted_id(eng.submit(limit("A", BUY, 900, 1)))
    # Move the reference to 1050 by trading, then the collar is [945, 1155].
    eng.submit(limit("A", SELL, 1050, 1))
    eng.submit(limit("B", BUY, 1050, 1))
    eng.submit(limit("A", SELL, 1155, 3))
    ev = eng.submit(market("B", BUY, 10))
    t = ev[0].order_id
    assert [f[:2] for f in fills(ev)] == [(1100, 2), (1155, 3)]
    assert fills(ev)[0][2:] == (m1, t)
    # after trading at 1155 the bound moved, but the order's bound was fixed at 1155
    assert [(e.qty, e.reason) for e in of(ev, OrderExpired)] == [(5, CloseReason.NO_LIQUIDITY)]


def test_market_stops_at_collar_bound() -> None:
    eng, _ = make_engine(collar_pct="10")
    open_account(eng, "A")
    open_account(eng, "B")

    def trade_at(price: int) -> None:
        eng.submit(limit("A", SELL, price, 1))
        assert len(fills(eng.submit(limit("B", BUY, price, 1)))) == 1

    trade_at(1000)
    eng.submit(limit("A", SELL, 1100, 2))
    trade_at(1090)  # collar [981, 1199]
    eng.submit(limit("A", SELL, 1150, 4))
    trade_at(1000)  # collar [900, 1100]
    ev = eng.submit(market("B", BUY, 10))
    assert [f[:2] for f in fills(ev)] == [(1100, 2)]
    assert [(e.qty, e.reason) for e in of(ev, OrderExpired)] == [(8, CloseReason.COLLAR_REACHED)]
    assert bal(eng, "B", "USD")[1] == 0
    assert eng.listings["BTC-USD"].collar() == (990, 1210)  # reference moved to 1100
    trade_at(1000)  # back to [900, 1100]: the best ask 1150 is now beyond the collar
    ev = eng.submit(market("B", BUY, 10))
    assert fills(ev) == []
    assert [(e.qty, e.reason) for e in of(ev, OrderExpired)] == [(10, CloseReason.COLLAR_REACHED)]
    assert book(eng)["asks"][0][0] == 1150


# ---------------------------------------------------------------- cancel / mass cancel


def test_cancel_by_id_and_client_id() -> None:
    eng, _ = venue()
    o1 = accepted_id(eng.submit(limit("A", BUY, 100, 3, client_order_id="x")))
    o2 = accepted_id(eng.submit(limit("A", BUY, 100, 4)))
    ev = eng.submit(Cancel("A", "BTC-USD", client_order_id="x", request_id="r1"))
    c = of(ev, OrderCanceled)
    assert [(e.order_id, e.qty, e.reason, e.request_id) for e in c] == [
        (o1, 3, CloseReason.USER_CANCEL, "r1")
    ]
    assert [(d.price, d.level_qty) for d in of(ev, BookDelta)] == [(100, 4)]
    assert bal(eng, "A", "USD")[1] == 100 * 4 * QPT
    ev = eng.submit(Cancel("A", "BTC-USD", order_id=o2))
    assert of(ev, OrderCanceled)[0].order_id == o2
    assert bal(eng, "A", "USD")[1] == 0
    for cmd in (
        Cancel("A", "BTC-USD", order_id=o2),  # closed
        Cancel("A", "BTC-USD", client_order_id="x"),  # closed
        Cancel("A", "BTC-USD", order_id=999),  # never existed
        Cancel("B", "BTC-USD", order_id=o1),
    ):
        assert reject_code(eng.submit(cmd)) == RejectCode.UNKNOWN_ORDER
    o3 = accepted_id(eng.submit(limit("A", BUY, 100, 1)))
    assert reject_code(eng.submit(Cancel("B", "BTC-USD", order_id=o3))) == RejectCode.UNKNOWN_ORDER
    assert reject_code(eng.submit(Cancel("A", "ETH-USD", order_id=o3))) == (
        RejectCode.UNKNOWN_INSTRUMENT
    )
    assert reject_code(eng.submit(Cancel("Z", "BTC-USD", order_id=o3))) == (
        RejectCode.UNKNOWN_ACCOUNT
    )


def test_mass_cancel_filters() -> None:
    eng, _ = venue()
    eng.submit(
        __import__("engine.commands", fromlist=["AddInstrument"]).AddInstrument(
            "ETH-USD", "ETH", "USD", "0.01", "0.01"
        )
    )
    from engine.commands import AdjustBalance

    eng.submit(AdjustBalance("A", "ETH", 10**12))
    a_buy = accepted_id(eng.submit(limit("A", BUY, 100, 1)))
    a_sell = accepted_id(eng.submit(limit("A", SELL, 200, 1)))
    b_buy = accepted_id(eng.submit(limit("B", BUY, 100, 1)))
    a_eth = accepted_id(eng.submit(NewOrder("A", "ETH-USD", SELL, OrdType.LIMIT, 1, 300)))
    ev = eng.submit(MassCancel(account="A", symbol="BTC-USD", side=SELL, request_id="m"))
    assert [(c.order_id, c.reason) for c in of(ev, OrderCanceled)] == [
        (a_sell, CloseReason.MASS_CANCEL)
    ]
    ev = eng.submit(MassCancel(account="A"))
    assert sorted(c.order_id for c in of(ev, OrderCanceled)) == [a_buy, a_eth]
    ev = eng.submit(MassCancel(symbol="BTC-USD"))
    assert [c.order_id for c in of(ev, OrderCanceled)] == [b_buy]
    assert eng.orders == {}
    assert reject_code(eng.submit(MassCancel(account="Z"))) == RejectCode.UNKNOWN_ACCOUNT
    assert reject_code(eng.submit(MassCancel(symbol="NOPE"))) == RejectCode.UNKNOWN_INSTRUMENT
    for acct in ("A", "B"):
        assert bal(eng, acct, "USD")[1] == 0 and bal(eng, acct, "BTC")[1] == 0
    assert bal(eng, "A", "ETH") == (10**12, 0)


def test_decimal_sanity() -> None:
    assert Decimal("0.01") * Decimal("0.01") / Decimal("1e-8") == QPT
