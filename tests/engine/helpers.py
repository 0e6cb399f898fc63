"""Shared builders for engine tests: a controllable clock and a small funded venue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

import engine
from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Command,
    NewOrder,
    OpenAccount,
)
from engine.core import Engine
from engine.events import Event, OrderAccepted, OrderRejected, Trade
from engine.model import OrdType, Side, Stp, TimeInForce
from engine.sequencer import Sequencer

# BTC-USD: tick 0.01 USD, lot 0.01 BTC -> 1 tick x 1 lot = 0.0001 USD = 10_000 units.
QPT = 10_000
BPL = 1_000_000  # 0.01 BTC in 1e-8 units
USD = 100_000_000  # 1 USD in units


class Clock:
    """An injectable microsecond clock the test moves by hand."""

    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make_engine(
    *,
    collar_pct: str = "0",
    min_qty: str = "0",
    min_notional: str = "0",
    clock: Clock | None = None,
) -> tuple[Engine, Clock]:
    clock = clock or Clock()
    eng = Engine(Sequencer(clock))
    eng.submit(
        AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.01", min_qty, min_notional, collar_pct)
    )
    return eng, clock


def open_account(
    eng: Engine,
    account: str,
    *,
    usd: int = 1_000_000 * USD,
    btc: int = 1_000 * 100_000_000,
    stp: Stp = Stp.NONE,
    maker_bps: str = "0",
    taker_bps: str = "0",
    **limits: int,
) -> None:
    eng.submit(OpenAccount(account, stp, maker_bps, taker_bps, **limits))
    if usd:
        eng.submit(AdjustBalance(account, "USD", usd))
    if btc:
        eng.submit(AdjustBalance(account, "BTC", btc))


def limit(
    account: str,
    side: Side,
    price: int,
    qty: int,
    *,
    tif: TimeInForce = TimeInForce.GTC,
    **kw: Any,
) -> NewOrder:
    return NewOrder(account, "BTC-USD", side, OrdType.LIMIT, qty, price, tif, **kw)


def market(
    account: str, side: Side, qty: int = 0, *, tif: TimeInForce = TimeInForce.IOC, **kw: Any
) -> NewOrder:
    return NewOrder(account, "BTC-USD", side, OrdType.MARKET, qty, 0, tif, **kw)


def of(events: Iterable[Event], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def accepted_id(events: list[Event]) -> int:
    acc = of(events, OrderAccepted)
    assert len(acc) == 1, events
    order_id: int = acc[0].order_id
    return order_id


def reject_code(events: list[Event]) -> int:
    rej = of(events, OrderRejected)
    assert len(rej) == 1, events
    code: int = rej[0].code
    return code


def fills(events: list[Event]) -> list[tuple[int, int, int, int]]:
    """(price, qty, maker_order_id, taker_order_id) of each trade."""
    return [(t.price, t.qty, t.maker_order_id, t.taker_order_id) for t in of(events, Trade)]


def book(
    eng: Engine, symbol: str = "BTC-USD"
) -> dict[str, list[tuple[int, list[tuple[int, int]]]]]:
    """Each side's levels best first, with (order_id, leaves) in queue order."""
    b = eng.listings[symbol].book
    return {
        "bids": [
            (lvl.price, [(o.order_id, o.leaves) for o in lvl]) for lvl in b.bids.iter_levels()
        ],
        "asks": [
            (lvl.price, [(o.order_id, o.leaves) for o in lvl]) for lvl in b.asks.iter_levels()
        ],
    }


def bal(eng: Engine, account: str, asset: str) -> tuple[int, int]:
    b = eng.accounts[account].balances.get(asset)
    return (0, 0) if b is None else (b.total, b.held)


def submit_all(eng: Engine, commands: Iterable[Command]) -> list[list[Event]]:
    return [eng.submit(c) for c in commands]


def out_of_enum(build: Callable[[], Command]) -> list[Command]:
    """A command carrying an int outside its enum, for the engine to reject. The pure
    build constructs it; the native build (engine.model compiled) already refuses to
    construct it (TypeError), checked here, and then there is nothing to submit."""
    if engine.NATIVE:
        with pytest.raises(TypeError):
            build()
        return []
    return [build()]
