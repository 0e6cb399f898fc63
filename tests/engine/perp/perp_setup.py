"""Builders for the perpetual tests: an engine with one perp on a hand-moved clock."""

from __future__ import annotations

from typing import Any

from engine.commands import AdjustBalance, NewOrder, OpenAccount
from engine.core import Engine
from engine.events import Event, OrderRejected, Trade, VenueEvent
from engine.model import OrdType, Side, Stp, TimeInForce
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock

SYMBOL = "BTC-PERP"
USDT = 100_000_000  # 1 USDT in units
# tick 0.1 USDT, lot 0.001 BTC: 1 tick x 1 lot = 0.0001 USDT = 10_000 units
QPT = 10_000
TIERS = "0:0.004:125,50000:0.005:100,250000:0.01:50"


def perp_command(**overrides: Any) -> AddPerpInstrument:
    fields: dict[str, Any] = {
        "symbol": SYMBOL,
        "base": "BTC",
        "quote": "USDT",
        "tick_size": "0.1",
        "lot_size": "0.001",
        "max_leverage": 125,
        "tiers": TIERS,
        "funding_interval_s": 28_800,
        "premium_sample_s": 60,
        "index_stale_s": 30,
    }
    fields.update(overrides)
    return AddPerpInstrument(**fields)


def perp_engine(**overrides: Any) -> tuple[Engine, Clock]:
    clock = Clock(1_000_000)
    eng = Engine(Sequencer(clock))
    events = eng.submit(perp_command(**overrides))
    assert kinds(events) == ["perp.instrument"], events
    return eng, clock


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, VenueEvent)]


def venue(events: list[Event], kind: str) -> list[VenueEvent]:
    return [e for e in events if isinstance(e, VenueEvent) and e.kind == kind]


def rejected(events: list[Event]) -> OrderRejected:
    (reject,) = [e for e in events if isinstance(e, OrderRejected)]
    return reject


def open_trader(eng: Engine, account: str, usdt: int, *, taker_bps: str = "0") -> None:
    eng.submit(OpenAccount(account, Stp.NONE, "0", taker_bps))
    if usdt:
        eng.submit(AdjustBalance(account, "USDT", usdt))


def order(
    account: str,
    side: Side,
    price: int,
    qty: int,
    tif: TimeInForce = TimeInForce.GTC,
    symbol: str = SYMBOL,
) -> NewOrder:
    if price:
        return NewOrder(account, symbol, side, OrdType.LIMIT, qty, price, tif)
    return NewOrder(account, symbol, side, OrdType.MARKET, qty, 0, TimeInForce.IOC)


def mark_at(eng: Engine, price: int, symbol: str = SYMBOL) -> list[Event]:
    """Index = price and one tick (no book, no trade: the mark follows the index)."""
    events = eng.submit(SetIndexPrice(symbol, price))
    return events + eng.submit(PerpTick(symbol))


def wallet(eng: Engine, account: str) -> tuple[int, int]:
    bal = eng.accounts[account].balances.get("USDT")
    return (0, 0) if bal is None else (bal.total, bal.held)


def size(eng: Engine, account: str, symbol: str = SYMBOL) -> int:
    pos = eng.perps.positions[symbol].get(account)
    return 0 if pos is None else pos.size


def trades(events: list[Event]) -> list[Trade]:
    return [e for e in events if isinstance(e, Trade)]


def total_value(eng: Engine, price: int, symbol: str = SYMBOL) -> int:
    """Every quote unit in the system: wallets, isolated margins, the insurance fund,
    fees, and the positions valued at one common price (their sizes sum to zero, so
    the price drops out): what conservation checks compare."""
    total = sum(a.balances["USDT"].total for a in eng.accounts.values() if "USDT" in a.balances)
    total += eng.fees.get("USDT", 0)
    for sym, book in eng.perps.positions.items():
        market = eng.perps.markets[sym]
        qpt = market.spec.instrument.quote_per_tick_lot
        total += market.insurance
        for pos in book.values():
            total += pos.margin + pos.unrealized(price, qpt)
    return total
