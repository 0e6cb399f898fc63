"""The liquidation ladder, one test per path: cancel-only recovery, partial
liquidation in slices, insurance-fund takeover, auto-deleveraging; and replay.

A (cross, 20x, 1,000 USDT) is long 0.4 BTC from 50,000 against B: notional 20,000,
maintenance 0.4% of the mark notional, bankruptcy price 47,500
(1,000 + 0.4 x (p - 50,000) = 0).
"""

from __future__ import annotations

from pathlib import Path

from engine.core import Engine
from engine.events import CloseReason, Event, OrderAccepted, OrderCanceled
from engine.journal import JournalWriter, recover, write_snapshot
from engine.model import Side
from engine.perp.commands import DepositInsurance, SetIndexPrice
from engine.perp.state import INSURANCE
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import (
    SYMBOL,
    USDT,
    kinds,
    mark_at,
    open_trader,
    order,
    perp_command,
    size,
    total_value,
    trades,
    venue,
    wallet,
)

USD = 10  # ticks per USDT
PX = 50_000 * USD
LONG = 400  # 0.4 BTC


def setup(a_usdt: int = 1_000, eng: Engine | None = None, **kw: object) -> Engine:
    if eng is None:
        eng = Engine(Sequencer(Clock()))
    eng.submit(perp_command(**kw))
    open_trader(eng, "A", a_usdt * USDT)
    open_trader(eng, "B", 100_000 * USDT)
    open_trader(eng, "C", 1_000_000 * USDT)
    mark_at(eng, PX)
    eng.submit(order("B", Side.SELL, PX, LONG))
    assert trades(eng.submit(order("A", Side.BUY, PX, LONG)))
    assert size(eng, "A") == LONG
    return eng


def steps(events: list) -> list[str]:  # type: ignore[type-arg]
    return [str(e.data["step"]) for e in venue(events, "perp.liquidation")]


def test_a_healthy_account_is_left_alone() -> None:
    eng = setup()
    assert steps(mark_at(eng, 48_000 * USD)) == []


def test_cancel_only_recovery() -> None:
    """Margin held by an open order does not support the position; canceling it does."""
    eng = setup(1_200)
    eng.submit(order("A", Side.BUY, 40_000 * USD, 100))  # 4,000 / 20 = 200 held
    assert wallet(eng, "A") == (1_200 * USDT, 200 * USDT)
    # at 47,500: 1,200 - 200 - 1,000 = 0 <= 76: breached; without the hold 200 > 76
    events = mark_at(eng, 47_500 * USD)
    assert steps(events) == ["canceled", "recovered"]
    (canceled,) = [e for e in events if isinstance(e, OrderCanceled)]
    assert canceled.reason == CloseReason.LIQUIDATION
    assert size(eng, "A") == LONG and wallet(eng, "A") == (1_200 * USDT, 0)


def test_partial_liquidation_in_slices() -> None:
    """Slices of 0.1 BTC; the book still bids 48,500 while the mark gaps to 47,600."""
    eng = setup(liquidation_slice_lots=100, liquidation_fee_rate="0.001")
    eng.submit(order("C", Side.BUY, 48_500 * USD, 100))
    start = total_value(eng, PX)
    events = mark_at(eng, 47_600 * USD)
    # equity 1,000 - 960 = 40 <= 76.16: one slice at 48,500 realizes -150 and the
    # fee 4.85; then 850 - 4.85 - 720 = 125.15 > 57.12 maintenance: recovered
    assert steps(events) == ["canceled", "slice", "recovered"]
    (fill,) = trades(events)
    assert (fill.price, fill.qty, fill.taker_account, fill.taker_fee) == (48_500 * USD, 100, "A", 0)
    assert size(eng, "A") == 300
    assert wallet(eng, "A")[0] == 850 * USDT - 485_000_000
    assert eng.perps.markets[SYMBOL].insurance == 485_000_000
    assert total_value(eng, PX) == start


def test_insurance_fund_takes_over_at_the_bankruptcy_price() -> None:
    eng = setup()
    eng.submit(DepositInsurance(SYMBOL, 10_000 * USDT))
    eng.submit(order("C", Side.BUY, 46_000 * USD, LONG))  # below bankruptcy: no help
    start = total_value(eng, PX)
    events = mark_at(eng, 47_000 * USD)  # a gap: equity -200
    assert steps(events) == ["canceled", "insurance"]
    assert [t.maker_account for t in trades(events)] == [INSURANCE]  # off the book
    assert size(eng, "A") == 0 and wallet(eng, "A")[0] == 0
    fund = eng.perps.positions[SYMBOL][INSURANCE]
    assert (fund.size, fund.entry) == (LONG, LONG * 47_500 * USD * 10_000)
    assert total_value(eng, PX) == start == total_value(eng, 1)


def test_auto_deleveraging_when_the_fund_is_empty() -> None:
    eng = setup()
    open_trader(eng, "D", 100_000 * USDT)
    # D is short 0.1 at 50,000 too (a smaller profit than B's): B ranks first
    eng.submit(order("D", Side.SELL, PX, 100))
    eng.submit(order("C", Side.BUY, PX, 100))
    eng.submit(order("B", Side.SELL, 60_000 * USD, 10))  # canceled by deleveraging
    start = total_value(eng, PX)
    events = mark_at(eng, 47_000 * USD)
    assert steps(events) == ["canceled", "adl", "deleveraged"]
    adl = venue(events, "perp.liquidation")[1]
    assert adl.data["counterparty"] == "B" and adl.data["price"] == 47_500 * USD
    assert size(eng, "A") == 0 and size(eng, "B") == 0 and size(eng, "D") == -100
    assert wallet(eng, "A")[0] == 0
    assert wallet(eng, "B") == (101_000 * USDT, 0)  # +0.4 x 2,500, order canceled
    assert total_value(eng, PX) == start


def test_replay_of_a_liquidation_gives_the_same_state(tmp_path: Path) -> None:
    clock = Clock()
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(tmp_path)
    eng.on_command = writer.append
    setup(eng=eng, liquidation_slice_lots=100)
    eng.submit(DepositInsurance(SYMBOL, 100 * USDT))
    eng.submit(order("C", Side.BUY, 47_800 * USD, 100))
    events = mark_at(eng, 47_000 * USD)
    assert "slice" in steps(events) and "adl" in steps(events)
    writer.flush()
    writer.close()
    replayed = Engine()
    recover(replayed, tmp_path)
    assert replayed.state_hash() == eng.state_hash()


def test_a_snapshot_carries_positions_fund_and_schedules(tmp_path: Path) -> None:
    """Recovery from a snapshot taken mid-life (positions, an insurance position, premium
    and mark samples, perp listings) continues exactly as the live engine does."""
    clock = Clock()
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(tmp_path)
    eng.on_command = writer.append
    setup(eng=eng, mark_window=3)
    eng.submit(DepositInsurance(SYMBOL, 10_000 * USDT))
    eng.submit(order("C", Side.BUY, 46_000 * USD, LONG))
    eng.submit(order("C", Side.SELL, 47_500 * USD, LONG))  # mid 46,750: mark 47,000
    assert "insurance" in steps(mark_at(eng, 47_000 * USD))
    writer.flush()
    write_snapshot(eng, tmp_path)
    later = [order("C", Side.SELL, 46_000 * USD, 50), order("B", Side.BUY, 0, 10)]
    for command in later:
        eng.submit(command)
    clock.now = eng.perps.markets[SYMBOL].next_funding_us
    mark_at(eng, 47_100 * USD)
    writer.flush()
    writer.close()
    restored = Engine()
    report = recover(restored, tmp_path)
    assert report.snapshot_seq > 0 and report.replayed > 0
    assert restored.listings[SYMBOL].perp
    assert restored.state_hash() == eng.state_hash()


def test_a_new_index_alone_moves_the_mark_and_liquidates() -> None:
    """SetIndexPrice recomputes the mark and checks liquidations in the same command: a
    gap is acted on when the index arrives, not at the next PerpTick."""
    eng = setup()
    eng.submit(DepositInsurance(SYMBOL, 10_000 * USDT))
    events = eng.submit(SetIndexPrice(SYMBOL, 47_000 * USD))
    assert kinds(events)[:2] == ["perp.index", "perp.mark"]
    assert venue(events, "perp.mark")[0].data["mark"] == 47_000 * USD
    assert steps(events) == ["canceled", "insurance"]
    assert size(eng, "A") == 0


def test_an_index_before_the_first_tick_sets_no_mark() -> None:
    """Until the first PerpTick starts the schedules there is no mark: orders wait."""
    eng = Engine(Sequencer(Clock()))
    eng.submit(perp_command())
    events = eng.submit(SetIndexPrice(SYMBOL, PX))
    assert kinds(events) == ["perp.index"]
    assert eng.perps.markets[SYMBOL].mark == 0


def _fund_slice_and_adl() -> tuple[Engine, list[Event]]:
    """A is liquidated by one 0.1 slice into C's bid at 47,800, the fund (100 USDT) cannot
    take the rest, so B (short 0.4) is deleveraged at the bankruptcy price."""
    eng = setup(liquidation_slice_lots=100)
    eng.submit(DepositInsurance(SYMBOL, 100 * USDT))
    eng.submit(order("C", Side.BUY, 47_800 * USD, 100))
    events = mark_at(eng, 47_000 * USD)
    assert steps(events) == ["canceled", "slice", "adl", "deleveraged"]
    return eng, events


def test_liquidation_and_adl_orders_take_ids_of_their_own() -> None:
    """Every order the engine places or books for a liquidation has its own id, above
    every NewOrder's (a seq), and each fill names the order it belongs to."""
    eng, events = _fund_slice_and_adl()
    accepted = [e for e in events if isinstance(e, OrderAccepted)]
    ids = [e.order_id for e in accepted]
    # a slice that fills, one that finds no bid above the bound, both sides of the ADL
    assert len(ids) == len(set(ids)) == 4
    assert all(i > eng.last_seq + 10**15 for i in ids)
    slice_fill, adl = trades(events)
    assert slice_fill.taker_order_id == ids[0] and accepted[0].account == "A"
    assert (adl.taker_order_id, adl.maker_order_id) == (ids[2], ids[3])
    assert (accepted[2].account, accepted[3].account) == ("A", "B")
    assert adl.trade_id == slice_fill.trade_id + 1 == eng.trade_id
    liq = venue(events, "perp.liquidation")
    assert liq[1].data["order_id"] == ids[0]
    assert liq[2].data["trade_id"] == adl.trade_id
    # the next liquidation continues the sequence
    open_trader(eng, "E", 1_000 * USDT)
    eng.submit(order("C", Side.SELL, 47_000 * USD, LONG))
    eng.submit(order("E", Side.BUY, 47_000 * USD, LONG))
    later = [e for e in mark_at(eng, 44_000 * USD) if isinstance(e, OrderAccepted)]
    assert later and later[0].order_id == ids[-1] + 1


def test_adl_fills_are_trades_for_both_sides() -> None:
    """Deleveraging books a Trade at the bankruptcy price between the liquidated account
    (taker) and the deleveraged one (maker), flagged by the ``adl-`` client order ids,
    with no fee; the book is untouched and its last price stays."""
    eng, events = _fund_slice_and_adl()
    _, adl = trades(events)
    assert (adl.taker_account, adl.maker_account) == ("A", "B")
    assert (
        adl.taker_side == Side.SELL
        and adl.price == venue(events, "perp.liquidation")[2].data["price"]
    )
    assert adl.qty == 300 and adl.maker_fee == adl.taker_fee == 0
    assert adl.taker_client_order_id.startswith("adl-")
    assert adl.maker_client_order_id.startswith("adl-")
    assert (adl.taker_leaves, adl.maker_leaves) == (0, 0)
    assert (adl.taker_filled, adl.maker_filled) == (300, 300)
    assert eng.listings[SYMBOL].book.last_price == 47_800 * USD


def test_an_insurance_takeover_is_a_trade_with_the_fund() -> None:
    eng = setup()
    eng.submit(DepositInsurance(SYMBOL, 10_000 * USDT))
    events = mark_at(eng, 47_000 * USD)
    (fill,) = trades(events)
    assert (fill.taker_account, fill.maker_account) == ("A", INSURANCE)
    assert (fill.price, fill.qty, fill.taker_fee) == (47_500 * USD, LONG, 0)
    assert fill.taker_client_order_id.startswith("ins-")


def test_a_takeover_over_the_funds_limit_goes_to_adl() -> None:
    """The fund may hold at most insurance_max_notional at mark: taking A's 0.4 BTC
    (18,800 at 47,000) would exceed 10,000, so B is deleveraged although the fund has
    the cash; under a higher limit the fund takes it."""
    for limit, expected in (("10000", "adl"), ("20000", "insurance")):
        eng = setup(insurance_max_notional=limit)
        eng.submit(DepositInsurance(SYMBOL, 10_000 * USDT))
        assert steps(mark_at(eng, 47_000 * USD))[1] == expected


def test_a_snapshot_without_the_funds_limit_restores_with_none() -> None:
    """A spec stored before insurance_max_notional existed (one field fewer) restores
    with no limit."""
    eng = setup()
    state = eng.perps.to_state()
    state["markets"][SYMBOL][0] = state["markets"][SYMBOL][0][:-1]
    restored = Engine()
    restored.perps.from_state(state)
    assert restored.perps.markets[SYMBOL].spec.insurance_max_notional == 0


def test_adl_ranks_by_profit_times_effective_leverage() -> None:
    """D's short is a quarter of B's, same entry, so a quarter of B's profit; but D's
    1,000 USDT wallet makes its effective leverage ~100x B's: pnl% x leverage puts D
    first, and B takes only what D could not."""
    eng = setup()
    open_trader(eng, "D", 1_000 * USDT)
    eng.submit(order("D", Side.SELL, PX, 100))
    eng.submit(order("C", Side.BUY, PX, 100))
    events = mark_at(eng, 47_000 * USD)
    assert steps(events) == ["canceled", "adl", "deleveraged", "adl", "deleveraged"]
    done = [e for e in venue(events, "perp.liquidation") if e.data["step"] == "deleveraged"]
    assert [(e.subject, e.data["qty"]) for e in done] == [("D", 100), ("B", LONG - 100)]
    assert (size(eng, "A"), size(eng, "D"), size(eng, "B")) == (0, 0, -100)
