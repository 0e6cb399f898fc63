"""One instrument's order book (price levels with FIFO queues) and its Listing.

Each side keeps a dict price -> Level and a sorted list of keys with the best price
at the END (bids key = price, asks key = -price), so consuming the best level is a
list pop, and inserting a new level is a bisect (O(log levels) search plus a memmove
that is negligible at realistic depths). Orders in a level form an intrusive doubly
linked list: O(1) append, O(1) cancel from anywhere, O(1) pop of the head.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from decimal import Decimal

from engine.model import Instrument, Side, TradingStatus

__all__ = ["Book", "BookSide", "Level", "Listing", "Order", "collar_bps"]


class Order:
    """A live order. Mutable; owned by the engine. hold = asset units still held for it."""

    __slots__ = (
        "account",
        "client_order_id",
        "expire_ts_us",
        "filled",
        "hold",
        "leaves",
        "level",
        "next",
        "notional",
        "ord_type",
        "order_id",
        "post_only",
        "prev",
        "price",
        "qty",
        "quote_qty",
        "reduce_only",
        "side",
        "stp",
        "symbol",
        "tif",
    )

    def __init__(
        self,
        order_id: int,
        account: str,
        symbol: str,
        side: int,
        ord_type: int,
        price: int,
        qty: int,
        tif: int,
        client_order_id: str,
        stp: int,
        post_only: bool,
        expire_ts_us: int,
        quote_qty: int,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.ord_type = ord_type
        self.price = price
        self.qty = qty
        self.leaves = qty
        self.filled = 0
        self.notional = 0
        self.tif = tif
        self.client_order_id = client_order_id
        self.stp = stp
        self.post_only = post_only
        self.expire_ts_us = expire_ts_us
        self.quote_qty = quote_qty
        self.hold = 0
        self.reduce_only = False  # a perpetual order that may only reduce the position
        self.prev: Order | None = None
        self.next: Order | None = None
        self.level: Level | None = None


class Level:
    """All orders at one price, oldest first; qty is the sum of their leaves."""

    __slots__ = ("count", "head", "price", "qty", "tail")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0
        self.count = 0
        self.head: Order | None = None
        self.tail: Order | None = None

    def append(self, order: Order) -> None:
        order.level = self
        order.next = None
        order.prev = self.tail
        if self.tail is None:
            self.head = order
        else:
            self.tail.next = order
        self.tail = order
        self.qty += order.leaves
        self.count += 1

    def unlink(self, order: Order) -> None:
        """Remove order from the queue; the caller has already taken its leaves off qty."""
        prev, nxt = order.prev, order.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        order.prev = order.next = None
        order.level = None
        self.count -= 1

    def __iter__(self) -> Iterator[Order]:
        order = self.head
        while order is not None:
            yield order
            order = order.next


class BookSide:
    """One side's levels. Bids: higher price is better; asks: lower price is better."""

    __slots__ = ("_sign", "keys", "levels", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self._sign = 1 if side == Side.BUY else -1
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []  # sign * price, ascending: best level last

    def best(self) -> Level | None:
        keys = self.keys
        if not keys:
            return None
        return self.levels[keys[-1] * self._sign]

    def add(self, order: Order) -> int:
        """Queue order at the back of its price level; returns the level's new qty."""
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = Level(price)
            self.levels[price] = level
            key = price * self._sign
            keys = self.keys
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                keys.insert(bisect_left(keys, key), key)
        level.append(order)
        return level.qty

    def remove(self, order: Order) -> int:
        """Take order (with its current leaves) off the book; returns the level's new qty."""
        level = order.level
        assert level is not None, "order is not on the book"
        level.qty -= order.leaves
        level.unlink(order)
        if level.count == 0:
            self.drop_level(level)
            return 0
        return level.qty

    def drop_level(self, level: Level) -> None:
        del self.levels[level.price]
        key = level.price * self._sign
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def depth(self, n: int) -> list[tuple[int, int]]:
        """Best n levels as (price ticks, qty lots), best first."""
        sign, levels = self._sign, self.levels
        return [(k * sign, levels[k * sign].qty) for k in reversed(self.keys[-n:])] if n else []

    def iter_levels(self) -> Iterator[Level]:
        """Levels best first."""
        sign, levels = self._sign, self.levels
        for key in reversed(self.keys):
            yield levels[key * sign]

    def crosses(self, side: int, price: int) -> bool:
        """Would an order of `side` at `price` trade against this (opposite) side?"""
        level = self.best()
        if level is None:
            return False
        return level.price <= price if side == Side.BUY else level.price >= price


class Book:
    """Both sides of one instrument, plus its market-data sequence and reference price."""

    __slots__ = ("asks", "bids", "last_price", "md_seq", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)
        self.md_seq = 0
        self.last_price = 0  # reference price for collars; 0 = none yet

    def side(self, side: int) -> BookSide:
        return self.bids if side == Side.BUY else self.asks

    def opposite(self, side: int) -> BookSide:
        return self.asks if side == Side.BUY else self.bids

    def best_bid(self) -> int | None:
        level = self.bids.best()
        return None if level is None else level.price

    def best_ask(self) -> int | None:
        level = self.asks.best()
        return None if level is None else level.price


class Listing:
    """An instrument as traded here: its grid, its book, its status and collar."""

    __slots__ = ("book", "collar_bps", "instrument", "perp", "status")

    def __init__(self, instrument: Instrument, perp: bool = False) -> None:
        self.instrument = instrument
        self.book = Book(instrument.symbol)
        self.status = TradingStatus.OPEN
        self.collar_bps = collar_bps(instrument.collar_pct)
        # A perpetual (engine/perp): orders hold margin in quote, fills move positions.
        self.perp = perp

    def collar(self) -> tuple[int, int]:
        """(lowest, highest) acceptable price in ticks; (0, 0) when there is no collar."""
        ref = self.book.last_price
        if not ref or not self.collar_bps:
            return 0, 0
        low = -(-ref * (10_000 - self.collar_bps) // 10_000)
        high = ref * (10_000 + self.collar_bps) // 10_000
        return max(low, 1), high


def collar_bps(collar_pct: Decimal) -> int:
    """Collar percent -> integer basis points (exact to 0.01 %)."""
    value = collar_pct * 100
    if value != value.to_integral_value():
        raise ValueError(f"collar_pct has more than 2 decimals: {collar_pct}")
    return int(value)
