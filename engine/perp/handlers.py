"""The perpetual commands' handlers: deterministic, ``handler(engine, command)``.

Each checks everything first and changes nothing when it refuses (an admin reject);
it answers with ``perp.*`` VenueEvents (see engine/perp/commands.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from engine.book import BookSide, Listing
from engine.events import RejectCode
from engine.model import GridError
from engine.perp import pricing
from engine.perp.commands import (
    AddPerpInstrument,
    AdjustIsolatedMargin,
    ClosePosition,
    DepositInsurance,
    PerpTick,
    SetIndexPrice,
    SetLeverage,
    SetMarginMode,
)
from engine.perp.spec import PerpSpec
from engine.perp.state import Market
from engine.venue import emit, reject

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = ["PERP_HANDLERS"]


def _levels(side: BookSide) -> Iterator[tuple[int, int]]:
    return ((level.price, level.qty) for level in side.iter_levels())


def _market(engine: Engine, symbol: str) -> Market | None:
    market = engine.perps.markets.get(symbol)
    if market is None:
        reject(engine, symbol, RejectCode.UNKNOWN_INSTRUMENT, f"no perpetual {symbol!r}")
    return market


def _add(engine: Engine, cmd: AddPerpInstrument) -> None:
    if cmd.symbol in engine.listings or cmd.symbol in engine.perps.markets:
        reject(engine, cmd.symbol, RejectCode.ALREADY_EXISTS, "instrument exists")
        return
    try:
        spec = PerpSpec.from_command(cmd)
    except (GridError, ValueError) as err:
        reject(engine, cmd.symbol, RejectCode.INVALID_COMMAND, str(err))
        return
    engine.perps.markets[cmd.symbol] = Market(cmd, spec)
    engine.listings[cmd.symbol] = Listing(spec.instrument, perp=True)
    engine.perps.positions[cmd.symbol] = {}
    emit(engine, "perp.instrument", cmd.symbol, quote=cmd.quote, max_leverage=cmd.max_leverage)


def _set_index(engine: Engine, cmd: SetIndexPrice) -> None:
    market = _market(engine, cmd.symbol)
    if market is None:
        return
    if type(cmd.price) is not int or cmd.price <= 0:
        reject(engine, cmd.symbol, RejectCode.INVALID_PRICE, "index price must be positive")
        return
    market.index = cmd.price
    market.index_ts_us = engine.ts_us
    if not market.mark:  # the index stands in for the mark (PerpRisk.cross)
        engine.perp_risk.marks_moved()
    emit(engine, "perp.index", cmd.symbol, index=cmd.price)
    if market.reduce_only:
        market.reduce_only = False
        emit(engine, "perp.halt", cmd.symbol, reduce_only=False, reason="index_fresh",
             index_ts_us=market.index_ts_us)  # fmt: skip
    if market.mark:  # the ticks have started: a new index moves the mark now
        _update_mark(engine, market)
        engine.perp_liquidation.check(market)


def _tick(engine: Engine, cmd: PerpTick) -> None:
    market = _market(engine, cmd.symbol)
    if market is None:
        return
    now = engine.ts_us
    spec = market.spec
    if not market.next_funding_us:  # the first tick starts the schedules
        market.next_funding_us = (now // spec.funding_interval_us + 1) * spec.funding_interval_us
        market.next_sample_us = now
    if not market.index:
        return
    if now - market.index_ts_us > spec.index_stale_us and not market.reduce_only:
        market.reduce_only = True
        emit(engine, "perp.halt", cmd.symbol, reduce_only=True, reason="index_stale",
             index_ts_us=market.index_ts_us)  # fmt: skip
    book = engine.listings[cmd.symbol].book if cmd.symbol in engine.listings else None
    qpt = spec.instrument.quote_per_tick_lot
    if book is not None:
        bid, ask = book.bids.best(), book.asks.best()
        if bid is not None and ask is not None:
            samples = market.mark_samples
            samples.append((bid.price + ask.price) // 2 - market.index)
            while len(samples) > spec.mark_window:
                samples.popleft()
    if now >= market.next_sample_us:
        market.next_sample_us = (now // spec.premium_sample_us + 1) * spec.premium_sample_us
        if book is not None:
            ib = pricing.impact_price(_levels(book.bids), spec.impact_notional, qpt)
            ia = pricing.impact_price(_levels(book.asks), spec.impact_notional, qpt)
            if ib is not None and ia is not None:
                market.premium_count += 1
                market.premium_weighted += market.premium_count * pricing.premium(
                    ib, ia, market.index
                )
    _update_mark(engine, market)
    if now >= market.next_funding_us:
        _settle_funding(engine, market)
        market.next_funding_us = (now // spec.funding_interval_us + 1) * spec.funding_interval_us
    engine.perp_liquidation.check(market)


def _update_mark(engine: Engine, market: Market) -> None:
    spec = market.spec
    samples = market.mark_samples
    basis = sum(samples) // len(samples) if samples else None
    book = engine.listings[market.symbol].book if market.symbol in engine.listings else None
    last = book.last_price if book is not None else 0
    mark = pricing.mark_price(
        market.index,
        market.last_rate,
        max(0, market.next_funding_us - engine.ts_us),
        spec.funding_interval_us,
        basis,
        last,
    )
    if mark != market.mark:
        market.mark = mark
        engine.perp_risk.marks_moved()
        emit(
            engine, "perp.mark", market.symbol, mark=mark, index=market.index, last=last,
            funding_rate=market.last_rate, next_funding_us=market.next_funding_us,
            reduce_only=market.reduce_only,
        )  # fmt: skip


def _settle_funding(engine: Engine, market: Market) -> None:
    spec = market.spec
    avg = pricing.average_premium(market.premium_weighted, market.premium_count)
    rate = pricing.funding_rate(avg, spec.interest_rate, spec.funding_clamp, spec.funding_cap)
    market.premium_weighted = market.premium_count = 0
    market.last_rate = rate
    paid, received = engine.perp_risk.pay_funding(market, rate)
    market.insurance += paid - received
    emit(
        engine, "perp.funding", market.symbol, rate=rate, mark=market.mark, longs_paid=paid
        if rate >= 0 else -received, shorts_received=received if rate >= 0 else -paid,
        to_insurance=paid - received, funding_us=market.next_funding_us,
    )  # fmt: skip


def _set_leverage(engine: Engine, cmd: SetLeverage) -> None:
    engine.perp_risk.set_leverage(cmd)


def _set_margin_mode(engine: Engine, cmd: SetMarginMode) -> None:
    engine.perp_risk.set_margin_mode(cmd)


def _adjust_isolated(engine: Engine, cmd: AdjustIsolatedMargin) -> None:
    engine.perp_risk.adjust_isolated(cmd)


def _deposit_insurance(engine: Engine, cmd: DepositInsurance) -> None:
    market = _market(engine, cmd.symbol)
    if market is None:
        return
    if type(cmd.amount) is not int or cmd.amount == 0 or market.insurance + cmd.amount < 0:
        reject(engine, cmd.symbol, RejectCode.INVALID_AMOUNT, "amount: nonzero, fund >= 0")
        return
    market.insurance += cmd.amount
    emit(engine, "perp.insurance", cmd.symbol, balance=market.insurance)


def _close_position(engine: Engine, cmd: ClosePosition) -> None:
    engine.perp_risk.close_position(cmd)


PERP_HANDLERS: Final[dict[type[Any], Any]] = {
    AddPerpInstrument: _add,
    SetIndexPrice: _set_index,
    PerpTick: _tick,
    SetLeverage: _set_leverage,
    SetMarginMode: _set_margin_mode,
    AdjustIsolatedMargin: _adjust_isolated,
    DepositInsurance: _deposit_insurance,
    ClosePosition: _close_position,
}
