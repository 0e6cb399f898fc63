"""Reduce-only perp orders (engine/perp/orders.py) and the stale-index reduce-only halt:
refused when they would open or increase, clipped to the position, holding nothing,
never trading past the position, shrunk or expired as the position shrinks, carried
by snapshots and replay."""

from __future__ import annotations

from pathlib import Path

from engine.commands import AddInstrument, NewOrder, Replace
from engine.core import Engine
from engine.events import (
    CloseReason,
    Event,
    OrderAccepted,
    OrderExpired,
    OrderReplaced,
    RejectCode,
)
from engine.journal import JournalWriter, recover, write_snapshot
from engine.model import OrdType, Side, TimeInForce
from engine.perp.commands import PerpTick, SetIndexPrice
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import (
    SYMBOL,
    USDT,
    mark_at,
    open_trader,
    order,
    perp_command,
    perp_engine,
    rejected,
    size,
    trades,
    venue,
    wallet,
)

PX = 500_000  # 50,000.0 USDT in 0.1 ticks


def reducing(
    account: str, side: Side, price: int, qty: int, tif: TimeInForce = TimeInForce.GTC
) -> NewOrder:
    if not price:
        return NewOrder(account, SYMBOL, side, OrdType.MARKET, qty, 0, TimeInForce.IOC,
                        reduce_only=True)  # fmt: skip
    return NewOrder(account, SYMBOL, side, OrdType.LIMIT, qty, price, tif, reduce_only=True)


def long_10() -> Engine:
    """A long 10 lots, B short 10, C a third trader; mark at PX."""
    eng, _ = perp_engine()
    for name in ("A", "B", "C"):
        open_trader(eng, name, 10_000 * USDT)
    mark_at(eng, PX)
    eng.submit(order("B", Side.SELL, PX, 10))
    eng.submit(order("A", Side.BUY, PX, 10))
    assert size(eng, "A") == 10
    return eng


def of(events: list[Event], cls: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, cls)]


def test_refused_when_it_would_open_or_increase() -> None:
    eng = long_10()
    for cmd in (reducing("A", Side.BUY, PX, 1), reducing("C", Side.SELL, PX, 1),
                reducing("C", Side.BUY, 0, 1)):  # fmt: skip
        reject = rejected(eng.submit(cmd))
        assert reject.code == RejectCode.REDUCE_ONLY and "increase" in reject.text
    assert size(eng, "A") == 10 and size(eng, "C") == 0


def test_clipped_to_the_position_and_holds_nothing() -> None:
    eng = long_10()
    held_before = wallet(eng, "A")[1]
    (acc,) = of(eng.submit(reducing("A", Side.SELL, PX + 100, 15)), OrderAccepted)
    assert acc.qty == 10
    assert wallet(eng, "A")[1] == held_before  # no margin held
    events = eng.submit(order("C", Side.BUY, PX + 100, 15))  # takes all 10, not 15
    assert sum(t.qty for t in trades(events)) == 10
    assert size(eng, "A") == 0 and size(eng, "C") == 10


def test_a_spot_order_cannot_be_reduce_only() -> None:
    eng = long_10()
    eng.submit(AddInstrument("BTC-USDT", "BTC", "USDT", "0.1", "0.001"))
    cmd = NewOrder("A", "BTC-USDT", Side.BUY, OrdType.LIMIT, 1, PX, reduce_only=True)
    assert rejected(eng.submit(cmd)).code == RejectCode.INVALID_ORDER


def test_a_resting_one_shrinks_with_the_position_then_expires_when_flat() -> None:
    eng = long_10()
    eng.submit(reducing("A", Side.SELL, PX + 500, 10))  # a take-profit
    (tp,) = eng.open_orders("A")
    eng.submit(order("C", Side.BUY, PX, 4))
    events = eng.submit(order("A", Side.SELL, PX, 4))  # an ordinary sell: position 6
    assert size(eng, "A") == 6
    (shrunk,) = of(events, OrderReplaced)
    assert (shrunk.order_id, shrunk.leaves, shrunk.qty, shrunk.priority_kept) == (
        tp.order_id, 6, 6, True,
    )  # fmt: skip
    assert eng.depth(SYMBOL, 5)[1] == [(PX + 500, 6)]
    eng.submit(order("C", Side.BUY, PX, 6))
    events = eng.submit(order("A", Side.SELL, PX, 6))  # flat: the take-profit expires
    (gone,) = of(events, OrderExpired)
    assert (gone.order_id, gone.reason) == (tp.order_id, CloseReason.REDUCE_ONLY)
    assert eng.open_orders("A") == [] and eng.depth(SYMBOL, 5)[1] == []


def test_makers_never_trade_past_the_position_within_one_match() -> None:
    """Two resting reduce-only sells of 10 each on a long 10: one buy for 20 takes the
    first; the second expires instead of opening a short."""
    eng = long_10()
    eng.submit(reducing("A", Side.SELL, PX, 10))
    eng.submit(reducing("A", Side.SELL, PX, 10))
    eng.submit(order("B", Side.SELL, PX, 5))  # behind them in the queue
    events = eng.submit(order("C", Side.BUY, PX, 20))
    assert [(t.maker_account, t.qty) for t in trades(events)] == [("A", 10), ("B", 5)]
    (expired,) = of(events, OrderExpired)
    assert expired.reason == CloseReason.REDUCE_ONLY and expired.account == "A"
    assert size(eng, "A") == 0 and size(eng, "C") == 15
    assert eng.open_orders("A") == []


def test_a_replace_may_not_raise_it_above_the_position() -> None:
    eng = long_10()
    eng.submit(reducing("A", Side.SELL, PX + 500, 5))
    (tp,) = eng.open_orders("A")
    refused = rejected(eng.submit(Replace("A", SYMBOL, 11, order_id=tp.order_id)))
    assert refused.code == RejectCode.REDUCE_ONLY
    events = eng.submit(Replace("A", SYMBOL, 8, PX + 400, order_id=tp.order_id))
    assert of(events, OrderReplaced) and tp.hold == 0 and tp.leaves == 8


def test_a_stale_index_halts_new_risk_only() -> None:
    eng, clock = perp_engine(index_stale_s=30)
    for name in ("A", "B", "C"):
        open_trader(eng, name, 10_000 * USDT)
    mark_at(eng, PX)
    eng.submit(order("B", Side.SELL, PX, 10))
    eng.submit(order("A", Side.BUY, PX, 10))
    clock.now += 31_000_000
    (halt,) = venue(eng.submit(PerpTick(SYMBOL)), "perp.halt")
    stamp = eng.perps.markets[SYMBOL].index_ts_us
    assert halt.data == {"reduce_only": True, "reason": "index_stale", "index_ts_us": stamp}
    for cmd in (order("A", Side.BUY, PX, 1), order("C", Side.SELL, PX, 1),
                order("A", Side.SELL, PX, 11)):  # fmt: skip
        refused = rejected(eng.submit(cmd))
        assert refused.code == RejectCode.REDUCE_ONLY and "index_stale" in refused.text
    eng.submit(order("B", Side.BUY, PX + 10, 3, TimeInForce.GTC))  # B reduces its short
    assert of(eng.submit(order("A", Side.SELL, PX + 10, 3)), OrderAccepted)  # A reduces
    assert of(eng.submit(reducing("A", Side.SELL, PX + 20, 99)), OrderAccepted)
    assert (size(eng, "A"), size(eng, "B")) == (7, -7)
    (lift,) = venue(eng.submit(SetIndexPrice(SYMBOL, PX)), "perp.halt")
    assert lift.data["reduce_only"] is False and lift.data["reason"] == "index_fresh"
    assert of(eng.submit(order("C", Side.SELL, PX + 30, 1)), OrderAccepted)


def test_snapshot_and_replay_carry_reduce_only(tmp_path: Path) -> None:
    eng = Engine(Sequencer(Clock(1_000_000)))
    writer = JournalWriter(tmp_path)
    eng.on_command = writer.append
    eng.submit(perp_command())
    for name in ("A", "B", "C"):
        open_trader(eng, name, 10_000 * USDT)
    mark_at(eng, PX)
    eng.submit(order("B", Side.SELL, PX, 10))
    eng.submit(order("A", Side.BUY, PX, 10))
    eng.submit(reducing("A", Side.SELL, PX + 500, 10))
    writer.flush()
    write_snapshot(eng, tmp_path)
    eng.submit(order("C", Side.BUY, PX, 4))
    eng.submit(order("A", Side.SELL, PX, 4))  # shrinks the reduce-only one
    writer.close()
    fresh = Engine()
    recover(fresh, tmp_path)  # from the snapshot, then the journal's tail
    assert fresh.state_hash() == eng.state_hash()
    (tp,) = fresh.open_orders("A")
    assert tp.reduce_only and tp.leaves == 6
    assert fresh.perp_risk.reducing.live == {("A", SYMBOL): {tp.order_id: tp}}
