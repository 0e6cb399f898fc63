"""Global halt, instrument status, account disable: what is refused and what still works."""

from __future__ import annotations

from engine.commands import (
    Cancel,
    MassCancel,
    Replace,
    SetAccountEnabled,
    SetGlobalHalt,
    SetInstrumentStatus,
)
from engine.events import AdminApplied, OrderCanceled, RejectCode
from engine.model import Side, TradingStatus
from tests.engine.helpers import (
    accepted_id,
    book,
    limit,
    make_engine,
    market,
    of,
    open_account,
    reject_code,
)

BUY, SELL = Side.BUY, Side.SELL


def venue():  # type: ignore[no-untyped-def]
    eng, _ = make_engine()
    open_account(eng, "A")
    open_account(eng, "B")
    a = accepted_id(eng.submit(limit("A", BUY, 100, 5)))
    b = accepted_id(eng.submit(limit("A", BUY, 99, 5)))
    return eng, a, b


def test_global_halt() -> None:
    eng, a, b = venue()
    assert of(eng.submit(SetGlobalHalt(True)), AdminApplied)[0].detail == "on"
    assert reject_code(eng.submit(limit("B", SELL, 100, 1))) == RejectCode.TRADING_HALTED
    assert reject_code(eng.submit(market("B", SELL, 1))) == RejectCode.TRADING_HALTED
    ev = eng.submit(Replace("A", "BTC-USD", 3, order_id=a))
    assert reject_code(ev) == RejectCode.TRADING_HALTED and ev[0].order_id == a
    assert of(eng.submit(Cancel("A", "BTC-USD", order_id=a)), OrderCanceled)[0].order_id == a
    assert of(eng.submit(MassCancel(account="A")), OrderCanceled)[0].order_id == b
    eng.submit(SetGlobalHalt(False))
    accepted_id(eng.submit(limit("B", SELL, 100, 1)))


def test_instrument_halted_refuses_everything() -> None:
    eng, a, b = venue()
    eng.submit(SetInstrumentStatus("BTC-USD", TradingStatus.HALTED))
    for cmd in (
        limit("B", SELL, 100, 1),
        Replace("A", "BTC-USD", 3, order_id=a),
        Cancel("A", "BTC-USD", order_id=a),
        MassCancel(symbol="BTC-USD"),
    ):
        assert reject_code(eng.submit(cmd)) == RejectCode.INSTRUMENT_HALTED, cmd
    # A mass cancel without a symbol skips halted instruments.
    assert of(eng.submit(MassCancel(account="A")), OrderCanceled) == []
    assert set(eng.orders) == {a, b}
    eng.submit(SetInstrumentStatus("BTC-USD", TradingStatus.OPEN))
    assert len(of(eng.submit(MassCancel(account="A")), OrderCanceled)) == 2


def test_cancel_only() -> None:
    eng, a, b = venue()
    eng.submit(SetInstrumentStatus("BTC-USD", TradingStatus.CANCEL_ONLY))
    assert reject_code(eng.submit(limit("B", SELL, 100, 1))) == RejectCode.INSTRUMENT_CANCEL_ONLY
    ev = eng.submit(Replace("A", "BTC-USD", 3, order_id=a))
    assert reject_code(ev) == RejectCode.INSTRUMENT_CANCEL_ONLY
    assert book(eng)["bids"] == [(100, [(a, 5)]), (99, [(b, 5)])]
    assert of(eng.submit(Cancel("A", "BTC-USD", order_id=a)), OrderCanceled)[0].order_id == a
    assert of(eng.submit(MassCancel(symbol="BTC-USD")), OrderCanceled)[0].order_id == b


def test_account_disabled() -> None:
    eng, a, _b = venue()
    eng.submit(SetAccountEnabled("A", False))
    assert reject_code(eng.submit(limit("A", SELL, 200, 1))) == RejectCode.ACCOUNT_DISABLED
    ev = eng.submit(Replace("A", "BTC-USD", 3, order_id=a))
    assert reject_code(ev) == RejectCode.ACCOUNT_DISABLED
    # other accounts trade normally, including against A's resting orders
    ev = eng.submit(limit("B", SELL, 100, 2))
    assert eng.orders[a].leaves == 3
    assert of(eng.submit(Cancel("A", "BTC-USD", order_id=a)), OrderCanceled)[0].qty == 3
    eng.submit(SetAccountEnabled("A", True))
    accepted_id(eng.submit(limit("A", SELL, 200, 1)))
    assert reject_code(eng.submit(SetAccountEnabled("Z", False))) == RejectCode.UNKNOWN_ACCOUNT


def test_precedence_halted_instrument_over_global_halt() -> None:
    eng, _, _ = venue()
    eng.submit(SetGlobalHalt(True))
    eng.submit(SetInstrumentStatus("BTC-USD", TradingStatus.HALTED))
    eng.submit(SetAccountEnabled("B", False))
    assert reject_code(eng.submit(limit("B", SELL, 100, 1))) == RejectCode.INSTRUMENT_HALTED
    eng.submit(SetInstrumentStatus("BTC-USD", TradingStatus.OPEN))
    assert reject_code(eng.submit(limit("B", SELL, 100, 1))) == RejectCode.TRADING_HALTED
    eng.submit(SetGlobalHalt(False))
    assert reject_code(eng.submit(limit("B", SELL, 100, 1))) == RejectCode.ACCOUNT_DISABLED
