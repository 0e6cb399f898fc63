"""Price-time matching with self-trade prevention, settlement per fill.

The matcher consumes the opposite side best level first, oldest order first. It
stops at the taker's price bound (limit price, or the collar bound for market
orders), when the taker is done, when a market order's hold cannot pay for another
lot, or when self-trade prevention expires the taker. It returns the reason it
stopped so the caller can decide between resting and expiring the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from engine.book import Book, BookSide, Level, Order
from engine.events import BookDelta, CloseReason, OrderExpired, SelfTradePrevented, Trade
from engine.model import OrdType, Side, Stp
from engine.risk import PPM
from engine.venue import fees

if TYPE_CHECKING:
    from engine.core import Engine, Listing

__all__ = ["DONE", "LIMIT_REACHED", "match", "walk"]

_BUY: Final = int(Side.BUY)
_LIMIT: Final = int(OrdType.LIMIT)
_MARKET: Final = int(OrdType.MARKET)

DONE: Final = 0
LIMIT_REACHED: Final = -1
"""match() results besides a CloseReason: the taker is done, or the book no longer crosses."""


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


def match(eng: Engine, listing: Listing, taker: Order, bound: int) -> int:
    """Trade taker against the book until it stops; returns DONE, LIMIT_REACHED or a CloseReason.

    bound: worst price the taker accepts (0 = none). Market orders are budgeted by
    their hold (buys) and quote_qty (quote-quantity orders).
    """
    book = listing.book
    buy = taker.side == _BUY
    opp = book.asks if buy else book.bids
    market = taker.ord_type == _MARKET
    qpt = listing.instrument.quote_per_tick_lot
    taker_fee_ppm = eng.accounts[taker.account].taker_fee_ppm
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
                stop = _prevent_self_trade(eng, book, opp, taker, maker, stp)
                if stop:
                    break
                maker = nxt
                continue
            qty = taker.leaves if taker.leaves < maker.leaves else maker.leaves
            if market:
                unit = price * qpt
                if taker.quote_qty:
                    qty = min(qty, (taker.quote_qty - taker.notional) // unit)
                if buy:
                    # Largest qty whose cost, notional + floor(notional * fee), fits the
                    # hold: cost = floor(qty*unit*(PPM+fee)/PPM) <= hold
                    # <=> qty*unit*(PPM+fee) <= (hold+1)*PPM - 1.
                    qty = min(qty, ((taker.hold + 1) * PPM - 1) // (unit * (PPM + taker_fee_ppm)))
                if qty <= 0:
                    stop = CloseReason.INSUFFICIENT_BALANCE if buy else CloseReason.IOC_REMAINDER
                    break
            _fill(eng, listing, level, taker, maker, price, qty)
            if maker.leaves:
                # The maker is only partly filled: the taker is done or its budget capped
                # the fill. Never move past it (nor apply STP to orders queued behind it);
                # the outer loop re-checks the head and stops with the right reason.
                break
            maker = nxt
        if level.qty != before:
            book.md_seq += 1
            eng.out.append(
                BookDelta(
                    eng.seq,
                    eng.ts_us,
                    len(eng.out),
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
    eng: Engine, listing: Listing, level: Level, taker: Order, maker: Order, price: int, qty: int
) -> None:
    """One trade: move both orders, settle both accounts, emit the Trade."""
    inst = listing.instrument
    book = listing.book
    notional = price * qty * inst.quote_per_tick_lot
    base_units = qty * inst.base_per_lot
    maker_acct = eng.accounts[maker.account]
    taker_acct = eng.accounts[taker.account]
    maker_fee = notional * maker_acct.maker_fee_ppm // PPM
    taker_fee = notional * taker_acct.taker_fee_ppm // PPM
    if maker_fee < 0 or maker_acct.markup_ppm or taker_acct.markup_ppm:
        maker_fee, taker_fee, venue_fee = fees.split(
            eng, inst.quote, notional, maker_acct, taker_acct
        )
    else:
        venue_fee = maker_fee + taker_fee

    maker.leaves -= qty
    maker.filled += qty
    maker.notional += notional
    level.qty -= qty
    taker.leaves -= qty
    taker.filled += qty
    taker.notional += notional

    if taker.side == _BUY:
        buy_order, buyer, buyer_fee, sell_order, seller, seller_fee = (
            taker,
            taker_acct,
            taker_fee,
            maker,
            maker_acct,
            maker_fee,
        )
    else:
        buy_order, buyer, buyer_fee, sell_order, seller, seller_fee = (
            maker,
            maker_acct,
            maker_fee,
            taker,
            taker_acct,
            taker_fee,
        )
    base, quote = inst.base, inst.quote
    dirty = eng.dirty

    cost = notional + buyer_fee
    old_hold = buy_order.hold
    if buy_order.ord_type == _LIMIT:
        new_hold = buyer.buy_hold(buy_order.price * buy_order.leaves * inst.quote_per_tick_lot)
    else:
        new_hold = old_hold - cost
    buy_order.hold = new_hold
    bal = buyer.balances[quote]
    bal.total -= cost
    bal.held -= old_hold - new_hold
    dirty[(buyer.account_id, quote)] = bal
    bal = buyer.balance(base)
    bal.total += base_units
    dirty[(buyer.account_id, base)] = bal

    sell_order.hold -= base_units
    bal = seller.balances[base]
    bal.total -= base_units
    bal.held -= base_units
    dirty[(seller.account_id, base)] = bal
    bal = seller.balance(quote)
    bal.total += notional - seller_fee
    dirty[(seller.account_id, quote)] = bal
    revenue = eng.fee_revenue
    if revenue is None:
        eng.fees[quote] = eng.fees.get(quote, 0) + venue_fee
    elif venue_fee:
        bal = revenue.balance(quote)
        bal.total += venue_fee
        dirty[(revenue.account_id, quote)] = bal
    if quote == eng.fee_volume_asset:
        maker_acct.fee_volume += notional
        taker_acct.fee_volume += notional

    book.md_seq += 1
    book.last_price = price
    eng.trade_id += 1
    out = eng.out
    out.append(
        Trade(
            eng.seq,
            eng.ts_us,
            len(out),
            book.symbol,
            book.md_seq,
            eng.trade_id,
            price,
            qty,
            taker.side,
            maker.order_id,
            maker.account,
            maker.client_order_id,
            maker_fee,
            maker.filled,
            maker.notional,
            maker.leaves,
            taker.order_id,
            taker.account,
            taker.client_order_id,
            taker_fee,
            taker.filled,
            taker.notional,
            taker.leaves,
        )
    )
    if maker.leaves == 0:
        (book.bids if maker.side == _BUY else book.asks).remove(maker)
        eng.forget(maker, maker_acct)


def _prevent_self_trade(
    eng: Engine, book: Book, opp: BookSide, taker: Order, maker: Order, stp: int
) -> int:
    """Apply the taker's STP mode to one own maker; returns a CloseReason if the taker stops."""
    qty = min(taker.leaves, maker.leaves)
    out = eng.out
    out.append(
        SelfTradePrevented(
            eng.seq,
            eng.ts_us,
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
        eng.close(maker, OrderExpired, CloseReason.STP_EXPIRE_MAKER, delta=False)
        return DONE
    if stp == Stp.EXPIRE_BOTH:
        eng.close(maker, OrderExpired, CloseReason.STP_EXPIRE_BOTH, delta=False)
        return CloseReason.STP_EXPIRE_BOTH
    # DECREMENT: both lose the overlap; the smaller (or both, if equal) is closed.
    taker_rest = taker.leaves - qty
    if maker.leaves == qty:
        eng.close(maker, OrderExpired, CloseReason.STP_DECREMENT, delta=False)
    else:
        eng.decrement(maker, qty)
    if taker_rest == 0:
        return CloseReason.STP_DECREMENT
    eng.decrement(taker, qty)
    return DONE
