"""What every rule needs to know about the market, rebuilt from the events alone.

Open orders (with their owner), each book's levels (from BookDelta), the last trade
price and daily traded volume per instrument. Bounded by the engine's own state: an
order leaves when it is filled or closed, a level when its quantity reaches zero, and
only the last ADV_DAYS days of volume are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.events import BookDelta, OrderAccepted, OrderReplaced, Trade
from engine.model import Side

__all__ = ["ADV_DAYS", "DAY_US", "Market", "OpenOrder"]

DAY_US = 86_400_000_000
ADV_DAYS = 7
BUY = int(Side.BUY)
SELL = int(Side.SELL)


@dataclass(slots=True)
class OpenOrder:
    order_id: int
    seq: int
    ts_us: int
    account: str
    owner: str
    symbol: str
    side: int
    price: int
    qty: int
    filled: int


class Market:
    """Market state as of the event being processed (see Surveillance for the order)."""

    def __init__(self, quote_per_tick_lot: Mapping[str, int] | None = None) -> None:
        self.quote_per_tick_lot = quote_per_tick_lot if quote_per_tick_lot is not None else {}
        self.orders: dict[int, OpenOrder] = {}
        self.last_price: dict[str, int] = {}
        self._levels: dict[tuple[str, int], dict[int, int]] = {}
        self._volume: dict[str, dict[int, int]] = {}  # symbol -> UTC day -> lots

    def notional(self, symbol: str, price: int, qty: int) -> int:
        """Quote units (ticks x lots when the instrument's grid was not given)."""
        return price * qty * self.quote_per_tick_lot.get(symbol, 1)

    def best(self, symbol: str, side: int) -> tuple[int, int]:
        """(price, quantity) at the touch of one side; (0, 0) when the side is empty."""
        levels = self._levels.get((symbol, side))
        if not levels:
            return 0, 0
        price = max(levels) if side == BUY else min(levels)
        return price, levels[price]

    def depth(self, symbol: str, side: int, edge: int) -> int:
        """Quantity on one side at edge or better (a buy at >= edge, a sell at <= edge)."""
        levels = self._levels.get((symbol, side), {})
        if side == BUY:
            return sum(q for price, q in levels.items() if price >= edge)
        return sum(q for price, q in levels.items() if price <= edge)

    def adv(self, symbol: str, ts_us: int) -> int:
        """Average daily volume in lots over the ADV_DAYS UTC days before ts_us's day."""
        today = ts_us // DAY_US
        days = self._volume.get(symbol, {})
        return sum(v for d, v in days.items() if today - ADV_DAYS <= d < today) // ADV_DAYS

    def accepted(self, ev: OrderAccepted, owner: str) -> OpenOrder:
        order = OpenOrder(
            ev.order_id,
            ev.seq,
            ev.ts_us,
            ev.account,
            owner,
            ev.symbol,
            ev.side,
            ev.price,
            ev.qty,
            0,
        )
        self.orders[ev.order_id] = order
        return order

    def replaced(self, ev: OrderReplaced) -> None:
        order = self.orders.get(ev.order_id)
        if order is not None:
            order.price = ev.price
            order.qty = ev.qty
            order.filled = ev.filled

    def traded(self, ev: Trade) -> None:
        self.last_price[ev.symbol] = ev.price
        for order_id, filled in (
            (ev.maker_order_id, ev.maker_filled),
            (ev.taker_order_id, ev.taker_filled),
        ):
            order = self.orders.get(order_id)
            if order is not None:
                order.filled = filled
        days = self._volume.setdefault(ev.symbol, {})
        day = ev.ts_us // DAY_US
        days[day] = days.get(day, 0) + ev.qty
        if len(days) > ADV_DAYS + 1:
            for old in sorted(days)[: len(days) - ADV_DAYS - 1]:
                del days[old]

    def done(self, ev: Trade) -> None:
        """After the rules saw a trade: filled orders leave."""
        if not ev.maker_leaves:
            self.orders.pop(ev.maker_order_id, None)
        if not ev.taker_leaves:
            self.orders.pop(ev.taker_order_id, None)

    def closed(self, order_id: int) -> None:
        self.orders.pop(order_id, None)

    def level(self, ev: BookDelta) -> None:
        levels = self._levels.setdefault((ev.symbol, ev.side), {})
        if ev.level_qty:
            levels[ev.price] = ev.level_qty
        else:
            levels.pop(ev.price, None)
