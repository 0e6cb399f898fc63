"""The liquidation ladder for perpetuals: on a mark change, cancel -> size-capped
IOC slices no worse than the bankruptcy price -> insurance fund takeover ->
auto-deleveraging; and the engine's own IOC orders (liquidation slices, close-position).

The margin arithmetic it reads (margin balance, maintenance, cross sums) and the
position updates it makes (trades, credits) belong to the margin stage,
engine/perp/risk.py; this module decides when and how a position is reduced.

- Liquidation when margin balance <= maintenance, for an account with a position.
- bankruptcy price: where the margin balance would be 0, rounded to the tick in the
  account's favour (a long's up, a short's down), so that closing there never leaves
  it negative.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Final

from engine.book import Order
from engine.events import CloseReason, OrderAccepted, OrderCanceled, Trade
from engine.model import OrdType, Side, Stp, TimeInForce
from engine.perp.commands import RATE_SCALE
from engine.perp.risk import PerpRisk
from engine.perp.state import INSURANCE, INTERNAL_ORDER_IDS, Market, Perps, Position
from engine.perp.triggers import TriggerIndex, cash_of, indexable, trigger
from engine.venue import emit

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = ["Liquidator"]

_BUY: Final = int(Side.BUY)
_SELL: Final = int(Side.SELL)
_LIMIT: Final = int(OrdType.LIMIT)


def _mark(market: Market) -> int:
    return market.mark or market.index


class Liquidator:
    """The liquidation stage for perpetuals; one per Engine (``engine.perp_liquidation``)."""

    def __init__(self, engine: Engine, perps: Perps, risk: PerpRisk) -> None:
        self.engine = engine
        self.perps = perps
        self.risk = risk
        #: the liquidation order being matched: it pays no trading fee
        self.internal: Order | None = None
        #: symbol -> its positions by trigger price, built at the market's first check
        self.indexes: dict[str, TriggerIndex] = {}
        #: accounts whose balances or positions changed since their triggers were last
        #: computed: recomputed at the next check (reindex), not after every command
        self.stale: dict[str, None] = {}
        #: the quote assets of the indexed perpetuals (empty before the first check):
        #: a balance change in any other asset cannot move a trigger, so it leaves its
        #: account's triggers as they are. Only grows: a superset is always safe.
        self.quotes: set[str] = set()

    # ---------------------------------------------------------------- internal orders

    def next_order_id(self) -> int:
        """A new id for an order the engine places or books itself (see INTERNAL_ORDER_IDS)."""
        perps = self.perps
        perps.internal_orders += 1
        return INTERNAL_ORDER_IDS + perps.internal_orders

    def internal_order(
        self,
        market: Market,
        pos: Position,
        qty: int,
        bound: int,
        client_order_id: str,
        order_id: int = 0,
        *,
        taker_fee: bool = False,
    ) -> tuple[int, int]:
        """An IOC order reducing pos by up to qty, no worse than bound (0 = any), placed
        for the account through matching; returns (lots, notional) filled. It holds
        nothing. A liquidation slice pays no trading fee (the liquidation fee replaces
        it); a close the account asked for (taker_fee) pays the taker fee like the
        reduce-only market order the edges send for it. Its id is order_id, or the
        command's seq (ClosePosition: one order per command, like NewOrder)."""
        engine = self.engine
        account = engine.accounts[pos.account]
        side = Side.SELL if pos.size > 0 else Side.BUY
        ord_type = OrdType.LIMIT if bound else OrdType.MARKET
        order = Order(
            order_id or engine.seq, pos.account, market.symbol, side, ord_type, bound, qty,
            TimeInForce.IOC, client_order_id, Stp.NONE, False, 0, 0,
        )  # fmt: skip
        out = engine.out
        out.append(
            OrderAccepted(
                engine.seq, engine.ts_us, len(out), order.order_id, pos.account, market.symbol,
                client_order_id, side, ord_type, bound, qty, TimeInForce.IOC, 0, False,
                Stp.NONE, 0,
            )
        )  # fmt: skip
        engine.orders[order.order_id] = order
        account.open_orders += 1
        if client_order_id:
            account.live_client_ids[client_order_id] = order.order_id
        self.internal = None if taker_fee else order
        try:
            engine._execute(order, engine.listings[market.symbol], bound)
        finally:
            self.internal = None
        return order.filled, order.notional

    # ---------------------------------------------------------------- liquidation

    def check(self, market: Market) -> None:
        """Liquidate what the new mark leaves under-margined, one position at a time.

        The trigger index (engine/perp/triggers.py) names the positions the mark may
        have breached; each is checked exactly, in the market's order of positions, and
        checked again just before its ladder runs, as an earlier one may have changed it
        (auto-deleveraging)."""
        for pos in self.breached(market, _mark(market)):
            if pos.size:
                equity, mm = self.risk.margin_state(market, pos)
                if equity <= mm:
                    self.liquidate(market, pos)

    def breached(self, market: Market, mark: int) -> list[Position]:
        """The open positions mark breaches, in the market's order: the trigger index's
        candidates, each checked exactly."""
        self.reindex()  # what changed since the last check, this command included
        index = self._index(market)
        book = self.perps.positions[market.symbol]
        return [p for p in index.candidates(mark, book) if self._breached(market, p, mark)]

    def screen(self, market: Market, mark: int) -> list[Position]:
        """The same by visiting every open position: what the index must agree with."""
        return [
            pos
            for pos in self.perps.positions[market.symbol].values()
            if indexable(pos) and self._breached(market, pos, mark)
        ]

    def _breached(self, market: Market, pos: Position, mark: int) -> bool:
        """Margin balance <= maintenance at mark, the arithmetic inlined for one market."""
        spec = market.spec
        size = pos.size
        if not size or pos.account == INSURANCE:
            return False
        value = size * mark * spec.instrument.quote_per_tick_lot
        upnl = value - pos.entry if size > 0 else value + pos.entry
        mm = spec.maintenance(value if size > 0 else -value)
        if pos.isolated:
            equity = pos.margin + upnl
        elif len(self.perps.markets) == 1:
            account = self.engine.accounts.get(pos.account)
            equity = cash_of(account, spec.instrument.quote) + upnl
        else:
            equity, mm = self.risk.margin_state(market, pos)
        return equity <= mm

    # ---------------------------------------------------------------- trigger index

    def _index(self, market: Market) -> TriggerIndex:
        index = self.indexes.get(market.symbol)
        if index is None or index.market is not market:
            index = self.indexes[market.symbol] = TriggerIndex(market)
            self.quotes.add(market.spec.instrument.quote)
            for pos in self.perps.positions[market.symbol].values():
                if indexable(pos):
                    index.put(pos, self._trigger(market, pos))
        return index

    def _trigger(self, market: Market, pos: Position) -> int | None:
        """pos's trigger price, or None when it is screened on every mark change."""
        if pos.isolated:
            return trigger(market, pos, pos.margin)
        quote = market.spec.instrument.quote
        markets = self.perps.markets
        for symbol, book in self.perps.positions.items():
            other = book.get(pos.account)
            if (
                other is not None
                and other is not pos
                and other.size
                and not other.isolated
                and markets[symbol].spec.instrument.quote == quote
            ):
                return None  # other cross positions move its margin: screen it
        return trigger(market, pos, cash_of(self.engine.accounts.get(pos.account), quote))

    def note(self) -> None:
        """Mark stale the triggers of the accounts whose balances or positions the
        command being applied changed so far (Engine.apply does the same at the end of
        every command, as it emits their events). Only a check reads the triggers, so
        they are recomputed there (reindex), once per account however many commands
        changed it since: the order flow between two mark changes, spot orders in a
        perp's quote asset included, does not pay for it. A balance change outside the
        indexed perps' quote assets (``quotes``) cannot move a trigger: skipped."""
        stale = self.stale
        quotes = self.quotes
        for account, asset in self.engine.dirty:
            if asset in quotes:
                stale[account] = None
        for account, _ in self.risk.touched:
            stale[account] = None

    def reindex(self) -> None:
        """Recompute the stale triggers (before a check reads the index)."""
        self.note()  # what the command being applied changed so far (funding)
        if not self.indexes or not self.stale:
            return
        stale = self.stale
        self.stale = {}
        markets = self.perps.markets
        positions = self.perps.positions
        for symbol, index in self.indexes.items():
            market = markets.get(symbol)
            if market is None or index.market is not market:
                continue  # rebuilt at its next check
            book = positions[symbol]
            for account in stale:
                pos = book.get(account)
                if pos is None:
                    continue
                if indexable(pos):
                    index.put(pos, self._trigger(market, pos))
                else:
                    index.remove(account)

    def _cancel_orders(self, market: Market, pos: Position) -> int:
        """Cancel the account's orders that use the margin pos draws on."""
        engine = self.engine
        quote = market.spec.instrument.quote
        victims = []
        for order in engine.orders.values():
            if order.account != pos.account:
                continue
            if pos.isolated:
                if order.symbol == market.symbol:
                    victims.append(order)
                continue
            other = self.perps.markets.get(order.symbol)
            if other is not None:
                if other.spec.instrument.quote == quote:
                    victims.append(order)
            elif order.side == _BUY and engine.listings[order.symbol].instrument.quote == quote:
                victims.append(order)
        for order in victims:
            engine.close(order, OrderCanceled, CloseReason.LIQUIDATION, delta=True)
        return len(victims)

    def bankruptcy_price(self, market: Market, pos: Position) -> int:
        """The tick at which pos closes with the margin it draws on at 0 (see module)."""
        spec = market.spec
        qpt = spec.instrument.quote_per_tick_lot
        if pos.isolated:
            rest = pos.margin
        elif pos.account == INSURANCE:
            rest = market.insurance
        else:
            quote = spec.instrument.quote
            upnl, _, _ = self.risk.cross(pos.account, quote, skip=pos)
            rest = self.engine.accounts[pos.account].balance(quote).total + upnl
        lots = abs(pos.size) * qpt
        if pos.size > 0:  # rest + size*p*qpt - entry = 0
            return max(1, -(-(pos.entry - rest) // lots))
        return max(1, (rest + pos.entry) // lots)

    def liquidate(self, market: Market, pos: Position) -> None:
        engine = self.engine
        symbol = market.symbol
        spec = market.spec
        canceled = self._cancel_orders(market, pos)
        emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="canceled",
             orders=canceled, mark=market.mark)  # fmt: skip
        equity, mm = self.risk.margin_state(market, pos)
        if equity > mm:
            emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="recovered",
                 margin_balance=equity, maintenance=mm)  # fmt: skip
            return
        slice_no = 0
        while pos.size and equity <= mm:
            bound = self.bankruptcy_price(market, pos)
            size = abs(pos.size)
            qty = min(size, spec.liquidation_slice_lots or size)
            slice_no += 1
            order_id = self.next_order_id()
            filled, notional = self.internal_order(
                market, pos, qty, bound, f"liq-{engine.seq}-{slice_no}", order_id
            )
            if not filled:
                break
            equity, mm = self.risk.margin_state(market, pos)
            fee = min(notional * spec.liquidation_fee_rate // RATE_SCALE, max(0, equity))
            if fee:
                self.risk.credit(market, pos, -fee)
                market.insurance += fee
                equity -= fee
            emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="slice",
                 filled=filled, bound=bound, fee=fee, size=pos.size,
                 order_id=order_id)  # fmt: skip
            if pos.size and equity > mm:
                emit(engine, "perp.liquidation", pos.account, symbol=symbol,
                     step="recovered", margin_balance=equity, maintenance=mm)  # fmt: skip
                return
        if not pos.size:
            self._cover_deficit(market, pos)
            return
        bound = self.bankruptcy_price(market, pos)
        if self._insurance_can_take(market, pos, bound):
            fund = self.perps.position(INSURANCE, symbol)
            fund.leverage = 1
            size = abs(pos.size)
            trade_id = self.transfer(market, pos, fund, size, bound, "ins")
            emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="insurance",
                 qty=size, price=bound, trade_id=trade_id)  # fmt: skip
            emit(engine, "perp.insurance", symbol, balance=market.insurance,
                 position=fund.size)  # fmt: skip
        else:
            self.deleverage(market, pos, bound)
        self._cover_deficit(market, pos)

    def _insurance_can_take(self, market: Market, pos: Position, price: int) -> bool:
        """The fund takes pos at price if its equity at mark stays >= 0 afterwards and
        its position's notional at mark stays within insurance_max_notional (if set)."""
        qpt = market.spec.instrument.quote_per_tick_lot
        fund = self.perps.positions[market.symbol].get(INSURANCE)
        mark = _mark(market)
        equity = market.insurance
        held = 0
        if fund is not None:
            equity += fund.unrealized(mark, qpt)
            held = fund.size
        limit = market.spec.insurance_max_notional
        if limit and abs(held + pos.size) * mark * qpt > limit:
            return False
        # the fund takes pos as it is (same side) at price; it is worth mark
        equity += pos.size * (mark - price) * qpt
        return equity >= 0 and market.insurance > 0

    def adl_rank(self, market: Market, pos: Position) -> Fraction:
        """Binance's ranking: pnl% x effective leverage (profit), pnl% / leverage (loss)."""
        qpt = market.spec.instrument.quote_per_tick_lot
        mark = _mark(market)
        upnl = pos.unrealized(mark, qpt)
        notional = pos.notional(mark, qpt)
        equity, _ = self.risk.margin_state(market, pos)
        if notional == 0:
            return Fraction(0)
        if equity <= 0:
            return Fraction(upnl, notional) * 10**9 if upnl >= 0 else Fraction(upnl, notional)
        if upnl >= 0:
            return Fraction(upnl, equity)
        return Fraction(upnl * equity, notional * notional)

    def deleverage(self, market: Market, pos: Position, price: int) -> None:
        """Close pos against the opposite positions, highest rank first, at price."""
        engine = self.engine
        opposite = [
            p
            for p in self.perps.positions[market.symbol].values()
            if p.size and (p.size > 0) != (pos.size > 0) and p is not pos
        ]
        opposite.sort(key=lambda p: (p.account == INSURANCE, -self.adl_rank(market, p), p.account))
        for other in opposite:
            if not pos.size:
                break
            qty = min(abs(pos.size), abs(other.size))
            if other.account != INSURANCE:
                self._cancel_orders(market, other)
            trade_id = self.transfer(market, pos, other, qty, price, "adl")
            emit(engine, "perp.liquidation", pos.account, symbol=market.symbol, step="adl",
                 qty=qty, price=price, counterparty=other.account,
                 trade_id=trade_id)  # fmt: skip
            if other.account != INSURANCE:
                emit(engine, "perp.liquidation", other.account, symbol=market.symbol,
                     step="deleveraged", qty=qty, price=price, trade_id=trade_id)  # fmt: skip

    def transfer(
        self, market: Market, pos: Position, other: Position, qty: int, price: int, tag: str
    ) -> int:
        """pos closes qty lots against other at price, outside the book (an insurance
        takeover or a deleveraging): booked as a trade like any other, so that both
        accounts' fills, the drop copy and the store show it. Each side gets an order of
        its own, accepted and filled at once (client order id ``<tag>-<seq>-<n>``); pos
        is the taker, other the maker; no fee, the book and its last price untouched.
        Returns the trade id."""
        engine = self.engine
        symbol = market.symbol
        notional = qty * price * market.spec.instrument.quote_per_tick_lot
        side = _SELL if pos.size > 0 else _BUY
        out = engine.out
        ids: list[tuple[int, str]] = []
        for who, who_side in ((pos, side), (other, 3 - side)):
            order_id = self.next_order_id()
            client_id = f"{tag}-{engine.seq}-{order_id - INTERNAL_ORDER_IDS}"
            ids.append((order_id, client_id))
            out.append(
                OrderAccepted(
                    engine.seq, engine.ts_us, len(out), order_id, who.account, symbol,
                    client_id, who_side, _LIMIT, price, qty, TimeInForce.IOC, 0, False,
                    Stp.NONE, 0,
                )
            )  # fmt: skip
        delta = -qty if side == _SELL else qty  # pos's; other takes the other side
        self.risk.trade(market, pos, delta, notional)
        self.risk.trade(market, other, -delta, notional)
        book = engine.listings[symbol].book
        book.md_seq += 1
        engine.trade_id += 1
        (taker_id, taker_client), (maker_id, maker_client) = ids
        out.append(
            Trade(
                engine.seq, engine.ts_us, len(out), symbol, book.md_seq, engine.trade_id,
                price, qty, side, maker_id, other.account, maker_client, 0, qty, notional, 0,
                taker_id, pos.account, taker_client, 0, qty, notional, 0,
            )
        )  # fmt: skip
        return engine.trade_id

    def _cover_deficit(self, market: Market, pos: Position) -> None:
        """A flat isolated position's negative margin, or a cross wallet left negative
        with no cross position, is covered by the insurance fund as far as it goes."""
        if pos.isolated:
            deficit = -pos.margin if pos.margin < 0 and not pos.size else 0
        else:
            quote = market.spec.instrument.quote
            upnl, _, _ = self.risk.cross(pos.account, quote)
            total = self.engine.accounts[pos.account].balance(quote).total
            deficit = -(total + upnl) if total + upnl < 0 else 0
        cover = min(deficit, max(0, market.insurance))
        if cover:
            market.insurance -= cover
            self.risk.credit(market, pos, cover)
            emit(self.engine, "perp.insurance", market.symbol, balance=market.insurance)
