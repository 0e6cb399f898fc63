"""Stage 2: price-time matching with self-trade prevention. Produces fills only.

The matcher consumes the opposite side best level first, oldest order first. It
stops at the taker's price bound (limit price, or the collar bound for market
orders), when the taker is done, when a market order's hold cannot pay for another
lot, or when self-trade prevention expires the taker. It returns the reason it
stopped so the caller can decide between resting and expiring the rest.

It moves orders and book levels and emits market-data events; it knows no accounts,
balances or fees. Everything beyond the book goes through :class:`MatchHost`, the
narrow interface the later stages implement: each fill goes to settlement
(engine/settlement.py), a maker that is done or that self-trade prevention removes
goes back to the order lifecycle (engine/core.py).
"""

from __future__ import annotations

from typing import Final

from engine.book import Book, BookSide, Level, Listing, Order
from engine.events import BookDelta, CloseReason, Event, SelfTradePrevented
from engine.model import OrdType, Side, Stp

__all__ = ["DONE", "LIMIT_REACHED", "MatchHost", "match", "walk"]

_BUY: Final = int(Side.BUY)
_MARKET: Final = int(OrdType.MARKET)

DONE: Final = 0
LIMIT_REACHED: Final = -1
"""match() results besides a CloseReason: the taker is done, or the book no longer crosses."""


class MatchHost:
    """What matching needs from the rest of the engine: the command being applied
    (seq, ts_us, the events it answers with) and four calls.

    A base class rather than a Protocol so that the compiled build calls these
    through a vtable; settlement implements fill() and budget_lots(), the engine
    the order lifecycle (done, expire, decrement).
    """

    def __init__(self) -> None:
        self.seq = 0
        self.ts_us = 0
        self.out: list[Event] = []

    def fill(
        self, listing: Listing, taker: Order, maker: Order, price: int, qty: int, notional: int
    ) -> None:
        """Settle one fill; both orders already carry it (leaves, filled, notional)."""
        raise NotImplementedError

    def budget_lots(self, taker: Order, unit: int) -> int:
        """Lots a market buy's hold still pays for at `unit` quote per lot, fees included."""
        raise NotImplementedError

    def done(self, order: Order) -> None:
        """A maker filled completely and is off the book: drop it from the indexes."""
        raise NotImplementedError

    def expire(self, order: Order, reason: int) -> None:
        """Self-trade prevention expires a live maker (no book delta: matching sends it)."""
        raise NotImplementedError

    def decrement(self, order: Order, qty: int) -> None:
        """Self-trade prevention shrinks a live order by qty (decrement mode)."""
        raise NotImplementedError

    def fit_reduce_only(self, order: Order) -> int:
        """A reduce-only maker about to trade: shrink or expire it to fit its owner's
        position now (engine/perp/orders.py); the lots it may trade (0: it expired)."""
        raise NotImplementedError


def walk(
    opp: BookSide,
    side: int,
    bound: int,
    qty: int,
    budget: int,
    qpt: int,
    account: str = "",
    stp: int = Stp.NONE,
) -> tuple[int, int, int]:
    """What a taker could fill right now, without touching anything.

    Returns (lots, notional, stop reason). qty caps lots (0 = no cap), budget caps
    notional (0 = no cap). With an STP mode, the account's own orders are skipped
    (EXPIRE_MAKER) or end the walk (other modes), as matching would treat them.
    """
    buy = side == Side.BUY
    lots = notional = 0
    per_order = bool(account) and stp != Stp.NONE
    for level in opp.iter_levels():
        price = level.price
        if bound and (price > bound if buy else price < bound):
            return lots, notional, CloseReason.COLLAR_REACHED
        unit = price * qpt
        if per_order:
            for order in level:
                if order.account == account:
                    if stp == Stp.EXPIRE_MAKER:
                        continue
                    return lots, notional, _STP_REASON[stp]
                lots, notional, full = _take(lots, notional, order.leaves, unit, qty, budget)
                if full:
                    return lots, notional, DONE
        else:
            lots, notional, full = _take(lots, notional, level.qty, unit, qty, budget)
            if full:
                return lots, notional, DONE
    return lots, notional, CloseReason.NO_LIQUIDITY


def _take(
    lots: int, notional: int, available: int, unit: int, qty: int, budget: int
) -> tuple[int, int, bool]:
    take = available
    if qty:
        take = min(take, qty - lots)
    if budget:
        take = min(take, (budget - notional) // unit)
    lots += take
    notional += take * unit
    full = take < available or (qty != 0 and lots == qty)
    return lots, notional, full


_STP_REASON: Final[dict[int, CloseReason]] = {
    Stp.EXPIRE_TAKER: CloseReason.STP_EXPIRE_TAKER,
    Stp.EXPIRE_MAKER: CloseReason.STP_EXPIRE_MAKER,
    Stp.EXPIRE_BOTH: CloseReason.STP_EXPIRE_BOTH,
    Stp.DECREMENT: CloseReason.STP_DECREMENT,
}


def match(host: MatchHost, listing: Listing, taker: Order, bound: int) -> int:
    """Trade taker against the book until it stops; returns DONE, LIMIT_REACHED or a CloseReason.

    bound: worst price the taker accepts (0 = none). Market orders are budgeted by
    their hold (buys, through host.budget_lots) and quote_qty (quote-quantity orders).
    """
    book = listing.book
    buy = taker.side == _BUY
    opp = book.asks if buy else book.bids
    market = taker.ord_type == _MARKET
    qpt = listing.instrument.quote_per_tick_lot
    stp = taker.stp
    while taker.leaves > 0:
        level = opp.best()
        if level is None:
            return CloseReason.NO_LIQUIDITY
        price = level.price
        if bound and (price > bound if buy else price < bound):
            return CloseReason.COLLAR_REACHED if market else LIMIT_REACHED
        stop = DONE
        before = level.qty
        maker = level.head
        while maker is not None and taker.leaves > 0:
            nxt = maker.next
            if stp and maker.account == taker.account:
                stop = _prevent_self_trade(host, book, taker, maker, stp)
                if stop:
                    break
                maker = nxt
                continue
            if maker.reduce_only and not host.fit_reduce_only(maker):
                maker = nxt
                continue
            qty = taker.leaves if taker.leaves < maker.leaves else maker.leaves
            if market:
                unit = price * qpt
                if taker.quote_qty:
                    qty = min(qty, (taker.quote_qty - taker.notional) // unit)
                if buy:
                    qty = min(qty, host.budget_lots(taker, unit))
                if qty <= 0:
                    stop = CloseReason.INSUFFICIENT_BALANCE if buy else CloseReason.IOC_REMAINDER
                    break
            _fill(host, listing, level, taker, maker, price, qty)
            if maker.leaves:
                # The maker is only partly filled: the taker is done or its budget capped
                # the fill. Never move past it (nor apply STP to orders queued behind it);
                # the outer loop re-checks the head and stops with the right reason.
                break
            maker = nxt
        if level.qty != before:
            book.md_seq += 1
            out = host.out
            out.append(
                BookDelta(
                    host.seq,
                    host.ts_us,
                    len(out),
                    book.symbol,
                    book.md_seq,
                    opp.side,
                    price,
                    level.qty,
                )
            )
        if stop:
            return stop
    return DONE


def _fill(
    host: MatchHost,
    listing: Listing,
    level: Level,
    taker: Order,
    maker: Order,
    price: int,
    qty: int,
) -> None:
    """One trade: move both orders and the level, hand the fill to settlement."""
    book = listing.book
    notional = price * qty * listing.instrument.quote_per_tick_lot
    maker.leaves -= qty
    maker.filled += qty
    maker.notional += notional
    level.qty -= qty
    taker.leaves -= qty
    taker.filled += qty
    taker.notional += notional
    book.md_seq += 1
    book.last_price = price
    host.fill(listing, taker, maker, price, qty, notional)
    if maker.leaves == 0:
        (book.bids if maker.side == _BUY else book.asks).remove(maker)
        host.done(maker)


def _prevent_self_trade(host: MatchHost, book: Book, taker: Order, maker: Order, stp: int) -> int:
    """Apply the taker's STP mode to one own maker; returns a CloseReason if the taker stops."""
    qty = min(taker.leaves, maker.leaves)
    out = host.out
    out.append(
        SelfTradePrevented(
            host.seq,
            host.ts_us,
            len(out),
            book.symbol,
            taker.account,
            taker.order_id,
            maker.order_id,
            qty,
            stp,
        )
    )
    if stp == Stp.EXPIRE_TAKER:
        return CloseReason.STP_EXPIRE_TAKER
    if stp == Stp.EXPIRE_MAKER:
        host.expire(maker, CloseReason.STP_EXPIRE_MAKER)
        return DONE
    if stp == Stp.EXPIRE_BOTH:
        host.expire(maker, CloseReason.STP_EXPIRE_BOTH)
        return CloseReason.STP_EXPIRE_BOTH
    # DECREMENT: both lose the overlap; the smaller (or both, if equal) is closed.
    taker_rest = taker.leaves - qty
    if maker.leaves == qty:
        host.expire(maker, CloseReason.STP_DECREMENT)
    else:
        host.decrement(maker, qty)
    if taker_rest == 0:
        return CloseReason.STP_DECREMENT
    host.decrement(taker, qty)
    return DONE
