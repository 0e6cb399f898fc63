"""Perp orders and fills: initial margin at entry, one-way positions, realized PnL,
fees, isolated margin, leverage, close-position (and the kill switches it passes),
funding payments."""

from __future__ import annotations

import pytest

from engine.commands import (
    AdjustBalance,
    Command,
    NewOrder,
    SetAccountEnabled,
    SetGlobalHalt,
    SetInstrumentStatus,
)
from engine.core import Engine
from engine.events import RejectCode
from engine.model import OrdType, Side, TimeInForce, TradingStatus
from engine.perp.commands import (
    AdjustIsolatedMargin,
    ClosePosition,
    PerpTick,
    SetLeverage,
    SetMarginMode,
)
from tests.engine.perp.perp_setup import (
    SYMBOL,
    USDT,
    mark_at,
    open_trader,
    order,
    perp_engine,
    rejected,
    size,
    total_value,
    trades,
    venue,
    wallet,
)

PX = 500_000  # 50,000.0 USDT in 0.1 ticks
BTC = 1_000  # lots of 0.001


def two_traders(usdt: int = 10_000 * USDT, **kw: str) -> tuple:  # type: ignore[type-arg]
    eng, clock = perp_engine(**kw)
    open_trader(eng, "A", usdt)
    open_trader(eng, "B", usdt)
    mark_at(eng, PX)
    return eng, clock


def test_no_mark_no_order() -> None:
    eng, _ = perp_engine()
    open_trader(eng, "A", 10_000 * USDT)
    assert rejected(eng.submit(order("A", Side.BUY, PX, 1))).code == RejectCode.INSTRUMENT_HALTED


def test_initial_margin_is_notional_over_leverage_and_is_held() -> None:
    eng, _ = two_traders(1_000 * USDT)
    eng.submit(SetLeverage("A", SYMBOL, 20))
    # 0.5 BTC x 50,000 = 25,000 USDT / 20 = 1,250 > 1,000
    assert rejected(eng.submit(order("A", Side.BUY, PX, BTC // 2))).code == (
        RejectCode.INSUFFICIENT_BALANCE
    )
    eng.submit(order("A", Side.BUY, PX, 400))  # 20,000 / 20 = 1,000: all of it
    assert wallet(eng, "A") == (1_000 * USDT, 1_000 * USDT)
    # a sell also holds margin, in quote (not base)
    eng.submit(SetLeverage("B", SYMBOL, 100))
    events = eng.submit(order("B", Side.SELL, PX, 400))
    assert len(trades(events)) == 1
    assert wallet(eng, "A") == (1_000 * USDT, 0)  # margin now backs the position
    assert (size(eng, "A"), size(eng, "B")) == (400, -400)
    (pos,) = [e for e in venue(events, "perp.position") if e.subject == "A"]
    assert pos.data["entry_notional"] == 20_000 * USDT


def test_realized_pnl_and_fees_go_to_the_wallet_and_conserve() -> None:
    eng, _ = perp_engine()
    open_trader(eng, "A", 10_000 * USDT, taker_bps="5")
    open_trader(eng, "B", 10_000 * USDT)
    mark_at(eng, PX)
    start = total_value(eng, PX)
    eng.submit(order("B", Side.SELL, PX, BTC))
    eng.submit(order("A", Side.BUY, PX, BTC))  # A takes: 50,000 x 5 bps = 25 USDT
    assert wallet(eng, "A")[0] == 10_000 * USDT - 25 * USDT
    mark_at(eng, PX + 10_000)
    eng.submit(order("B", Side.BUY, PX + 10_000, BTC // 2))
    eng.submit(order("A", Side.SELL, PX + 10_000, BTC // 2))  # +1,000 x 0.5 - fee 12.75
    assert wallet(eng, "A")[0] == 10_000 * USDT - 25 * USDT + 500 * USDT - 1_275_000_000
    assert wallet(eng, "B")[0] == 10_000 * USDT - 500 * USDT
    assert (size(eng, "A"), size(eng, "B")) == (BTC // 2, -BTC // 2)
    for price in (1, PX, 7 * PX):
        assert total_value(eng, price) == start


def test_flip_through_zero_realizes_then_opens() -> None:
    eng, _ = two_traders()
    eng.submit(order("B", Side.SELL, PX, BTC))
    eng.submit(order("A", Side.BUY, PX, BTC))
    mark_at(eng, PX - 1_000)
    eng.submit(order("B", Side.BUY, PX - 1_000, 2 * BTC))
    eng.submit(order("A", Side.SELL, PX - 1_000, 2 * BTC))
    pos = eng.perps.positions[SYMBOL]["A"]
    assert pos.size == -BTC and pos.entry == BTC * (PX - 1_000) * 10_000
    assert pos.realized == -100 * USDT


def test_isolated_margin_moves_out_of_the_wallet_and_back() -> None:
    eng, _ = two_traders()
    eng.submit(SetMarginMode("A", SYMBOL, True))
    eng.submit(SetLeverage("A", SYMBOL, 10))
    eng.submit(order("B", Side.SELL, PX, BTC))
    eng.submit(order("A", Side.BUY, PX, BTC))
    pos = eng.perps.positions[SYMBOL]["A"]
    assert pos.margin == 5_000 * USDT
    assert wallet(eng, "A") == (5_000 * USDT, 0)
    eng.submit(AdjustIsolatedMargin("A", SYMBOL, 1_000 * USDT))
    assert (pos.margin, wallet(eng, "A")[0]) == (6_000 * USDT, 4_000 * USDT)
    # removing more than keeps the initial margin is refused
    assert rejected(eng.submit(AdjustIsolatedMargin("A", SYMBOL, -1_001 * USDT))).code == (
        RejectCode.INSUFFICIENT_BALANCE
    )
    mark_at(eng, PX + 1_000)
    events = eng.submit(order("B", Side.BUY, PX + 1_000, BTC))
    events += eng.submit(ClosePosition("A", SYMBOL))
    assert len(trades(events)) == 1 and size(eng, "A") == 0
    assert (pos.margin, wallet(eng, "A")[0]) == (0, 10_100 * USDT)


def _closed_by(close: str, *, isolated: bool) -> Engine:
    """A, a 5 bps taker, long 1 BTC, closes it into B's bid one way or the other."""
    eng, _ = perp_engine()
    open_trader(eng, "A", 10_000 * USDT, taker_bps="5")
    open_trader(eng, "B", 10_000 * USDT)
    mark_at(eng, PX)
    if isolated:
        eng.submit(SetMarginMode("A", SYMBOL, True))
    eng.submit(order("B", Side.SELL, PX, BTC))
    eng.submit(order("A", Side.BUY, PX, BTC))
    mark_at(eng, PX + 1_000)
    eng.submit(order("B", Side.BUY, PX + 1_000, BTC))
    if close == "engine":
        events = eng.submit(ClosePosition("A", SYMBOL, "bye"))
    else:  # what WS position.close, REST and FIX send: a reduce-only market order
        events = eng.submit(
            NewOrder("A", SYMBOL, Side.SELL, OrdType.MARKET, BTC, 0, TimeInForce.IOC, "bye",
                     reduce_only=True)
        )  # fmt: skip
    (trade,) = trades(events)
    # 50,100 USDT x 5 bps = 25.05 USDT, as for any market order
    assert trade.taker_fee == 2_505_000_000 and size(eng, "A") == 0
    return eng


@pytest.mark.parametrize("isolated", [False, True])
def test_close_position_pays_the_taker_fee_like_a_reduce_only_market_order(
    isolated: bool,
) -> None:
    """The engine's ClosePosition and the edges' close end in the same state: the taker
    fee leaves the wallet for the venue (not the insurance fund), and every unit is
    still accounted for."""
    by_engine = _closed_by("engine", isolated=isolated)
    by_order = _closed_by("order", isolated=isolated)
    for eng in (by_engine, by_order):
        # +100 realized, -25 to open, -25.05 to close
        assert wallet(eng, "A") == (10_000 * USDT + 100 * USDT - 25 * USDT - 2_505_000_000, 0)
        assert eng.fees["USDT"] == 25 * USDT + 2_505_000_000
        assert eng.perps.markets[SYMBOL].insurance == 0
        assert total_value(eng, PX) == 20_000 * USDT
    assert by_engine.accounts["A"].fee_volume == by_order.accounts["A"].fee_volume


def test_leverage_is_bounded_by_the_bracket() -> None:
    eng, _ = two_traders()
    assert rejected(eng.submit(SetLeverage("A", SYMBOL, 126))).code == RejectCode.INVALID_COMMAND
    eng.submit(SetLeverage("A", SYMBOL, 125))
    open_trader(eng, "C", 10_000_000 * USDT)
    eng.submit(order("C", Side.SELL, PX, 10 * BTC))
    # 2 BTC = 100,000 USDT: the 50k-250k bracket allows 100x, not 125x
    assert rejected(eng.submit(order("A", Side.BUY, PX, 2 * BTC))).code == (
        RejectCode.LIMIT_EXCEEDED
    )


def test_close_position_needs_a_position() -> None:
    eng, _ = two_traders()
    assert rejected(eng.submit(ClosePosition("A", SYMBOL))).code == RejectCode.INVALID_COMMAND


# Which closes pass the kill switches: a ClosePosition (a close the account asks for) is
# refused by the global halt, a disabled account and an instrument that does not trade,
# as the reduce-only market order the edges send for a close is; a liquidation still
# closes the position under all of them.

USD = 10  # ticks per USDT
LONG = 400  # 0.4 BTC: A's 1,000 USDT at 20x, bankrupt at 47,500


def long_a() -> Engine:
    """A (cross, 20x, 1,000 USDT) long 0.4 BTC from 50,000 against B; C bids for all of
    it at 48,000, above A's bankruptcy price."""
    eng, _ = perp_engine()
    open_trader(eng, "A", 1_000 * USDT)
    open_trader(eng, "B", 100_000 * USDT)
    open_trader(eng, "C", 1_000_000 * USDT)
    mark_at(eng, PX)
    eng.submit(order("B", Side.SELL, PX, LONG))
    assert trades(eng.submit(order("A", Side.BUY, PX, LONG)))
    eng.submit(order("C", Side.BUY, 48_000 * USD, LONG))
    return eng


SWITCHES = [
    (SetGlobalHalt(True), RejectCode.TRADING_HALTED),
    (SetAccountEnabled("A", False), RejectCode.ACCOUNT_DISABLED),
    (SetInstrumentStatus(SYMBOL, TradingStatus.HALTED), RejectCode.INSTRUMENT_HALTED),
    (SetInstrumentStatus(SYMBOL, TradingStatus.CANCEL_ONLY), RejectCode.INSTRUMENT_CANCEL_ONLY),
]


@pytest.mark.parametrize(("switch", "code"), SWITCHES)
def test_a_close_the_account_asks_for_passes_the_kill_switches(
    switch: Command, code: RejectCode
) -> None:
    eng = long_a()
    eng.submit(switch)
    assert rejected(eng.submit(ClosePosition("A", SYMBOL, "bye"))).code == code
    assert size(eng, "A") == LONG
    # the edges' close, a reduce-only market order, is refused the same way
    edges = NewOrder("A", SYMBOL, Side.SELL, OrdType.MARKET, LONG, 0, TimeInForce.IOC, "bye",
                     reduce_only=True)  # fmt: skip
    assert rejected(eng.submit(edges)).code == code
    assert not eng.accounts["A"].client_id_in_use("bye")


def test_a_close_runs_once_the_switch_is_off() -> None:
    eng = long_a()
    eng.submit(SetGlobalHalt(True))
    rejected(eng.submit(ClosePosition("A", SYMBOL)))
    eng.submit(SetGlobalHalt(False))
    assert trades(eng.submit(ClosePosition("A", SYMBOL))) and size(eng, "A") == 0


def test_a_liquidation_closes_under_the_halt_and_a_disabled_account() -> None:
    """A venue halted in a crash still liquidates, or the losses outgrow the margin and
    land on the insurance fund and the counterparties."""
    eng = long_a()
    eng.submit(SetGlobalHalt(True))
    eng.submit(SetAccountEnabled("A", False))
    events = mark_at(eng, 47_600 * USD)  # equity 40 <= maintenance 76 USDT: breached
    assert "slice" in [e.data["step"] for e in venue(events, "perp.liquidation")]
    assert trades(events) and size(eng, "A") == 0


def test_funding_longs_pay_shorts_remainder_to_insurance() -> None:
    eng, clock = two_traders()
    open_trader(eng, "C", 10_000 * USDT)
    eng.submit(order("B", Side.SELL, PX, 1))
    eng.submit(order("A", Side.BUY, PX, 1))
    eng.submit(order("C", Side.SELL, PX, 2))
    eng.submit(order("A", Side.BUY, PX, 2))
    start = total_value(eng, PX)
    before = {a: wallet(eng, a)[0] for a in "ABC"}
    market = eng.perps.markets[SYMBOL]
    clock.now = market.next_funding_us
    events = eng.submit(PerpTick(SYMBOL))  # no premium samples: F = interest, 0.01%
    (funding,) = venue(events, "perp.funding")
    assert funding.data["rate"] == 10_000
    # A: 3 lots x 50 USDT = 150 USDT x 0.01% = 0.015 USDT: 1,500,000 units exactly
    assert before["A"] - wallet(eng, "A")[0] == 1_500_000
    assert wallet(eng, "B")[0] - before["B"] == 500_000
    assert wallet(eng, "C")[0] - before["C"] == 1_000_000
    assert funding.data["to_insurance"] == 0
    assert total_value(eng, PX) == start
    assert market.next_funding_us > clock.now


def test_withdrawals_leave_the_margin_and_the_loss_of_cross_positions() -> None:
    """A cross position's initial margin at mark and its unrealized loss stay in the
    wallet: a withdrawal (AdjustBalance < 0) may take only the rest."""
    eng, _ = two_traders(1_000 * USDT)
    eng.submit(order("B", Side.SELL, PX, 200))
    eng.submit(order("A", Side.BUY, PX, 200))  # 10,000 USDT at 20x: 500 margin
    mark_at(eng, PX - 1_000)  # 49,900: -20 USDT unrealized, margin 499
    assert rejected(eng.submit(AdjustBalance("A", "USDT", -482 * USDT))).code == (
        RejectCode.INSUFFICIENT_BALANCE
    )
    eng.submit(AdjustBalance("A", "USDT", -481 * USDT))
    assert wallet(eng, "A") == (519 * USDT, 0)
