"""Every pre-trade reject code, limits, balances and admin commands."""

from __future__ import annotations

from engine.commands import (
    AddInstrument,
    AdjustBalance,
    NewOrder,
    OpenAccount,
    SetInstrumentStatus,
)
from engine.events import AdminApplied, BalanceChanged, OrderRejected, RejectCode
from engine.model import OrdType, Side, TimeInForce, TradingStatus
from tests.engine.helpers import (
    BPL,
    QPT,
    accepted_id,
    bal,
    limit,
    make_engine,
    market,
    of,
    open_account,
    out_of_enum,
    reject_code,
)

BUY, SELL = Side.BUY, Side.SELL


def test_order_reject_codes() -> None:
    eng, clock = make_engine(collar_pct="10", min_qty="0.02", min_notional="0.01")
    open_account(
        eng,
        "A",
        usd=1000 * 10 * QPT,
        btc=5 * BPL,
        max_order_qty=20 * BPL,
        max_order_notional=2000 * 10 * QPT,
    )
    open_account(eng, "B")
    eng.submit(limit("B", SELL, 1000, 4))
    eng.submit(limit("B", BUY, 1000, 2))  # reference price 1000 -> collar [900, 1100]
    assert eng.listings["BTC-USD"].collar() == (900, 1100)
    accepted_id(eng.submit(limit("A", BUY, 950, 2, client_order_id="dup")))
    cases = [
        (NewOrder("A", "NOPE", BUY, OrdType.LIMIT, 2, 1000), RejectCode.UNKNOWN_INSTRUMENT),
        (limit("Z", BUY, 1000, 2), RejectCode.UNKNOWN_ACCOUNT),
        (limit("A", BUY, 1000, 0), RejectCode.INVALID_QUANTITY),
        (limit("A", BUY, 1000, -1), RejectCode.INVALID_QUANTITY),
        (limit("A", BUY, 1000, 1), RejectCode.BELOW_MIN_QTY),
        (limit("A", BUY, 0, 2), RejectCode.INVALID_PRICE),
        (limit("A", BUY, 40, 2), RejectCode.BELOW_MIN_NOTIONAL),
        (limit("A", BUY, 1101, 2), RejectCode.PRICE_OUTSIDE_COLLAR),
        (limit("A", SELL, 899, 2), RejectCode.PRICE_OUTSIDE_COLLAR),
        (limit("A", BUY, 950, 21), RejectCode.MAX_ORDER_QTY),
        (limit("A", BUY, 1100, 19), RejectCode.MAX_ORDER_NOTIONAL),
        (limit("A", BUY, 950, 9), RejectCode.INSUFFICIENT_BALANCE),
        (limit("A", SELL, 1050, 6), RejectCode.INSUFFICIENT_BALANCE),
        (limit("A", BUY, 950, 2, client_order_id="dup"), RejectCode.DUPLICATE_CLIENT_ORDER_ID),
        (limit("A", BUY, 1000, 2, post_only=True), RejectCode.POST_ONLY_WOULD_TAKE),
        *[
            (c, RejectCode.INVALID_TIME_IN_FORCE)
            for c in out_of_enum(lambda: limit("A", BUY, 950, 2, tif=5))
        ],
        (
            limit("A", BUY, 950, 2, tif=TimeInForce.GTD, expire_ts_us=clock.now - 1),
            RejectCode.INVALID_EXPIRE_TIME,
        ),
        *[
            (c, RejectCode.INVALID_ORDER)
            for c in out_of_enum(lambda: limit("A", BUY, 950, 2, stp=9))
        ],
        (market("A", BUY, 1), RejectCode.BELOW_MIN_QTY),
        (market("A", BUY, quote_qty=999_999), RejectCode.BELOW_MIN_NOTIONAL),
        *[
            (c, RejectCode.INVALID_TIME_IN_FORCE)
            for c in out_of_enum(lambda: market("A", BUY, tif=8, qty=2))
        ],
    ]
    before = (bal(eng, "A", "USD"), bal(eng, "A", "BTC"), len(eng.orders))
    for cmd, code in cases:
        ev = eng.submit(cmd)
        assert len(ev) == 1, (cmd, ev)
        rej = ev[0]
        assert isinstance(rej, OrderRejected)
        assert (rej.code, rej.request) == (code, "new"), cmd
        assert rej.text and rej.client_order_id == cmd.client_order_id
    assert (bal(eng, "A", "USD"), bal(eng, "A", "BTC"), len(eng.orders)) == before


def test_max_open_orders() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", max_open_orders=2)
    a = accepted_id(eng.submit(limit("A", BUY, 100, 1)))
    accepted_id(eng.submit(limit("A", BUY, 100, 1)))
    assert reject_code(eng.submit(limit("A", BUY, 100, 1))) == RejectCode.MAX_OPEN_ORDERS
    from engine.commands import Cancel

    eng.submit(Cancel("A", "BTC-USD", order_id=a))
    accepted_id(eng.submit(limit("A", BUY, 100, 1)))
    assert eng.accounts["A"].open_orders == 2


def test_exact_balance_accepted_one_more_unit_rejected() -> None:
    eng, _ = make_engine()
    n = 123 * 7 * QPT
    open_account(eng, "A", usd=n + n * 250 // 1_000_000, btc=0, maker_bps="2.5", taker_bps="1")
    ev = eng.submit(limit("A", BUY, 123, 7))
    accepted_id(ev)
    assert bal(eng, "A", "USD") == (n + n * 250 // 1_000_000,) * 2
    eng.submit(AdjustBalance("A", "USD", 10 * QPT))
    assert reject_code(eng.submit(limit("A", BUY, 1, 11))) == RejectCode.INSUFFICIENT_BALANCE


def test_client_id_window() -> None:
    eng, _ = make_engine()
    open_account(eng, "A")
    eng.accounts["A"].recent_window = 3  # an instance setting: compiled builds see it too
    open_account(eng, "B")
    from engine.commands import Cancel

    for i in range(4):
        accepted_id(eng.submit(limit("A", BUY, 100, 1, client_order_id=f"c{i}")))
        eng.submit(Cancel("A", "BTC-USD", client_order_id=f"c{i}"))
    # c0 fell out of the window of 3; c1..c3 are still reserved
    accepted_id(eng.submit(limit("A", BUY, 100, 1, client_order_id="c0")))
    for i in (1, 2, 3):
        ev = eng.submit(limit("A", BUY, 100, 1, client_order_id=f"c{i}"))
        assert reject_code(ev) == RejectCode.DUPLICATE_CLIENT_ORDER_ID
    # ids are per account
    accepted_id(eng.submit(limit("B", BUY, 100, 1, client_order_id="c1")))


def test_adjust_balance() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", usd=100 * QPT, btc=0)
    eng.submit(limit("A", BUY, 60, 1))
    ev = eng.submit(AdjustBalance("A", "USD", -41 * QPT))
    assert reject_code(ev) == RejectCode.INSUFFICIENT_BALANCE and ev[0].request == "admin"
    ev = eng.submit(AdjustBalance("A", "USD", -40 * QPT))
    assert of(ev, AdminApplied)[0].detail == f"A USD {-40 * QPT:+d}"
    assert [(b.account, b.asset, b.total, b.held) for b in of(ev, BalanceChanged)] == [
        ("A", "USD", 60 * QPT, 60 * QPT)
    ]
    assert reject_code(eng.submit(AdjustBalance("Z", "USD", 1))) == RejectCode.UNKNOWN_ACCOUNT


def test_refused_withdrawal_of_an_asset_never_held_leaves_no_trace() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", usd=0, btc=0)
    before = eng.state()["accounts"]
    assert reject_code(eng.submit(AdjustBalance("A", "ETH", -1))) == RejectCode.INSUFFICIENT_BALANCE
    assert eng.state()["accounts"] == before


def test_admin_rejects() -> None:
    eng, _ = make_engine()
    add = AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.01")
    assert reject_code(eng.submit(add)) == RejectCode.ALREADY_EXISTS
    bad = AddInstrument("X-Y", "X", "Y", "0.001", "0.000001")  # tick*lot below 1e-8
    assert reject_code(eng.submit(bad)) == RejectCode.INVALID_COMMAND
    bad2 = AddInstrument("X-Y", "X", "Y", "0.01", "0.01", collar_pct="1.001")
    assert reject_code(eng.submit(bad2)) == RejectCode.INVALID_COMMAND
    assert "X-Y" not in eng.listings
    eng.submit(OpenAccount("A"))
    assert reject_code(eng.submit(OpenAccount("A"))) == RejectCode.ALREADY_EXISTS
    ev = eng.submit(OpenAccount("B", taker_fee_bps="0.001"))
    assert reject_code(ev) == RejectCode.INVALID_COMMAND
    for bad_stp in out_of_enum(lambda: OpenAccount("C", stp=7)):
        assert reject_code(eng.submit(bad_stp)) == RejectCode.INVALID_COMMAND
    assert set(eng.accounts) == {"A"}
    ev = eng.submit(SetInstrumentStatus("NOPE", TradingStatus.OPEN))
    assert reject_code(ev) == RejectCode.UNKNOWN_INSTRUMENT
    for bad_status in out_of_enum(lambda: SetInstrumentStatus("BTC-USD", 9)):
        assert reject_code(eng.submit(bad_status)) == RejectCode.INVALID_COMMAND
