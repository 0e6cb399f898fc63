"""Market-data publisher: one book mirror per instrument, fed by engine events, fanned
out to every protocol (WebSocket now, FIX market-data sessions later).

Why a mirror and not ``Engine.depth()``: listeners run after the journal group
commit, batch by batch, while the engine may already be several commands ahead. The
publisher's books are exactly "the market as published so far", so a snapshot taken
here (WS subscribe, REST /book) is consistent with the deltas sent before and after.

Sequence numbers. ``seq`` is the engine's per-instrument market-data sequence
(``BookDelta.md_seq`` / ``Trade.md_seq``): monotonic, journaled, and the same after a
restart. All the BookDeltas of one command for one instrument are published as ONE
update whose ``seq`` is the last delta's md_seq. Trades consume md_seq numbers too, so
book updates are chained by ``prev_seq`` (the ``seq`` of the previous update on the
same stream), not by seq + 1.

Depth views. A subscriber asks for the top N levels (N in :data:`DEPTHS`). Each
watched (symbol, N) view keeps its visible levels and, after each update, the
levels that changed *inside the view* (a level pushed out of the top N is sent with
quantity 0, a level that enters it with its quantity). A view whose levels did not
change emits nothing, so its ``prev_seq`` chain is per view.

Checksum. Every snapshot and delta carries ``checksum``: CRC-32 (IEEE, as
``zlib.crc32``), unsigned, of the ASCII string that interleaves the top 10 bids and
top 10 asks best first -- ``bid1_price:bid1_qty:ask1_price:ask1_qty:bid2_price:...``
-- where a side with fewer than 10 levels contributes only the levels it has, and
prices/quantities are the canonical decimal strings as sent (no trailing zeros, no
exponent). An empty book gives ``crc32(b"") == 0``.

Write once, send many. Updates are plain objects with a per-codec memo
(:meth:`Wire.encoded`): a protocol sink calls ``update.encoded(codec)`` and gets the
same bytes object for every subscriber; encoding happens at most once per update and
protocol, and not at all when nobody subscribed. A protocol plugs in as a
:class:`MarketDataSink`.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from engine.core import Engine
from engine.events import AdminApplied, BookDelta, Trade, VenueEvent
from engine.model import Instrument, Side
from gateway.host import EventBatch
from gateway.metrics import Registry

__all__ = [
    "CHECKSUM_LEVELS",
    "DEPTHS",
    "Bbo",
    "BookState",
    "DepthSnapshot",
    "DepthUpdate",
    "MarketDataPublisher",
    "MarketDataSink",
    "TradeUpdate",
    "Wire",
    "checksum",
    "levels_as_strings",
]

DEPTHS: Final = (10, 50, 100, 500)
"""Depths a subscriber may ask for; all >= CHECKSUM_LEVELS so every view can verify."""
CHECKSUM_LEVELS: Final = 10

Levels = list[tuple[int, int]]
"""(price ticks, quantity lots), best first."""


class Wire:
    """Memo of serialized forms, one per codec (a codec is a function update -> bytes)."""

    __slots__ = ("_wire",)

    def __init__(self) -> None:
        self._wire: dict[Callable[[Any], bytes], bytes] | None = None

    def encoded(self, codec: Callable[[Any], bytes]) -> bytes:
        wire = self._wire
        if wire is None:
            wire = self._wire = {}
        data = wire.get(codec)
        if data is None:
            data = wire[codec] = codec(self)
        return data


class _Depth(Wire):
    """Levels of one (symbol, depth) view at seq, with the top-10 checksum."""

    __slots__ = ("asks", "bids", "checksum", "depth", "instrument", "seq", "ts_us")

    def __init__(
        self,
        instrument: Instrument,
        depth: int,
        seq: int,
        ts_us: int,
        bids: Levels,
        asks: Levels,
        checksum: int,
    ) -> None:
        super().__init__()
        self.instrument = instrument
        self.depth = depth
        self.seq = seq
        self.ts_us = ts_us
        self.bids = bids
        self.asks = asks
        self.checksum = checksum


class DepthUpdate(_Depth):
    """Changed levels of one (symbol, depth) view; quantities absolute, 0 = removed."""

    __slots__ = ("prev_seq",)

    def __init__(
        self,
        instrument: Instrument,
        depth: int,
        seq: int,
        prev_seq: int,
        ts_us: int,
        bids: Levels,
        asks: Levels,
        checksum: int,
    ) -> None:
        super().__init__(instrument, depth, seq, ts_us, bids, asks, checksum)
        self.prev_seq = prev_seq


class DepthSnapshot(_Depth):
    """The full content of one (symbol, depth) view at seq."""

    __slots__ = ()


class TradeUpdate(Wire):
    __slots__ = ("instrument", "price", "qty", "seq", "taker_side", "trade_id", "ts_us")

    def __init__(
        self,
        instrument: Instrument,
        seq: int,
        ts_us: int,
        trade_id: int,
        price: int,
        qty: int,
        taker_side: int,
    ) -> None:
        super().__init__()
        self.instrument = instrument
        self.seq = seq
        self.ts_us = ts_us
        self.trade_id = trade_id
        self.price = price
        self.qty = qty
        self.taker_side = taker_side


class Bbo(Wire):
    """Best bid and offer; a missing side is (0, 0)."""

    __slots__ = ("ask", "bid", "instrument", "seq", "ts_us")

    def __init__(
        self,
        instrument: Instrument,
        seq: int,
        ts_us: int,
        bid: tuple[int, int],
        ask: tuple[int, int],
    ) -> None:
        super().__init__()
        self.instrument = instrument
        self.seq = seq
        self.ts_us = ts_us
        self.bid = bid
        self.ask = ask


class MarketDataSink(Protocol):
    """A protocol's fan-out. Called synchronously from the event listener: no awaits."""

    def on_depth(self, update: DepthUpdate) -> None: ...

    def on_trade(self, update: TradeUpdate) -> None: ...

    def on_bbo(self, update: Bbo) -> None: ...


class _Side:
    """price -> qty with sorted keys, best last (bids key = price, asks key = -price)."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, side: int) -> None:
        self.sign = 1 if side == Side.BUY else -1
        self.levels: dict[int, int] = {}
        self.keys: list[int] = []

    def set(self, price: int, qty: int) -> None:
        levels = self.levels
        key = price * self.sign
        if qty:
            if price not in levels:
                keys = self.keys
                if not keys or key > keys[-1]:
                    keys.append(key)
                else:
                    keys.insert(bisect_left(keys, key), key)
            levels[price] = qty
        elif price in levels:
            del levels[price]
            keys = self.keys
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]

    def top(self, n: int) -> Levels:
        sign, levels = self.sign, self.levels
        return [(k * sign, levels[k * sign]) for k in reversed(self.keys[-n:])]

    def best(self) -> tuple[int, int]:
        if not self.keys:
            return (0, 0)
        price = self.keys[-1] * self.sign
        return (price, self.levels[price])

    def worse(self, a: int, b: int) -> bool:
        """Is price a strictly worse than price b on this side?"""
        return a * self.sign < b * self.sign


def checksum(instrument: Instrument, bids: Levels, asks: Levels) -> int:
    """CRC-32 of the interleaved top-10 levels (see the module docstring for the format)."""
    parts: list[str] = []
    price, qty = instrument.ticks_to_price, instrument.lots_to_qty
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.append(price(bids[i][0]))
            parts.append(qty(bids[i][1]))
        if i < len(asks):
            parts.append(price(asks[i][0]))
            parts.append(qty(asks[i][1]))
    return zlib.crc32(":".join(parts).encode())


@dataclass(slots=True)
class _View:
    depth: int
    bids: Levels
    asks: Levels
    seq: int
    ts_us: int
    watchers: int = 0
    snapshot: DepthSnapshot | None = None


@dataclass(slots=True)
class BookState:
    """One instrument as published: levels, seq, recent trades, watched depth views."""

    instrument: Instrument
    seq: int
    ts_us: int
    trades: deque[TradeUpdate]
    bids: _Side = field(default_factory=lambda: _Side(Side.BUY))
    asks: _Side = field(default_factory=lambda: _Side(Side.SELL))
    views: dict[int, _View] = field(default_factory=dict)
    bbo: Bbo | None = None

    def side(self, side: int) -> _Side:
        return self.bids if side == Side.BUY else self.asks

    def depth(self, n: int) -> tuple[Levels, Levels]:
        return self.bids.top(n), self.asks.top(n)

    def checksum(self) -> int:
        return checksum(
            self.instrument, self.bids.top(CHECKSUM_LEVELS), self.asks.top(CHECKSUM_LEVELS)
        )

    def current_bbo(self) -> Bbo:
        if self.bbo is None:
            self.bbo = Bbo(
                self.instrument, self.seq, self.ts_us, self.bids.best(), self.asks.best()
            )
        return self.bbo


def _diff(old: Levels, new: Levels) -> Levels:
    """Levels whose quantity differs between two views; vanished levels as qty 0."""
    if old == new:
        return []
    before = dict(old)
    out = [(p, q) for p, q in new if before.pop(p, None) != q]
    out += [(p, 0) for p in before]
    return out


class MarketDataPublisher:
    """Event listener that keeps the published books and feeds the protocol sinks."""

    def __init__(self, engine: Engine, registry: Registry, trade_history: int = 1000) -> None:
        self.engine = engine
        self.books: dict[str, BookState] = {}
        self.sinks: list[MarketDataSink] = []
        self.trade_history = trade_history
        updates = registry.counter("gw_md_updates_total", "Market-data updates published, by kind")
        self._m_trades = updates.labels(kind="trade")
        self._m_depths = updates.labels(kind="depth")
        self._m_bbos = updates.labels(kind="bbo")
        for symbol in engine.listings:
            self._add_instrument(symbol)

    # ---------------------------------------------------------------- queries

    def book(self, symbol: str) -> BookState | None:
        return self.books.get(symbol)

    def watch(self, symbol: str, depth: int) -> None:
        """Start maintaining the (symbol, depth) view; reference counted."""
        book = self.books[symbol]
        view = book.views.get(depth)
        if view is None:
            bids, asks = book.depth(depth)
            view = book.views[depth] = _View(depth, bids, asks, book.seq, book.ts_us)
        view.watchers += 1

    def unwatch(self, symbol: str, depth: int) -> None:
        book = self.books[symbol]
        view = book.views[depth]
        view.watchers -= 1
        if view.watchers <= 0:
            del book.views[depth]

    def snapshot(self, symbol: str, depth: int) -> DepthSnapshot:
        """The watched view's content; cached (and so encoded once) until it changes."""
        book = self.books[symbol]
        view = book.views[depth]
        snap = view.snapshot
        if snap is None:
            snap = view.snapshot = DepthSnapshot(
                book.instrument,
                depth,
                view.seq,
                view.ts_us,
                view.bids,
                view.asks,
                book.checksum(),
            )
        return snap

    # ---------------------------------------------------------------- listener

    def __call__(self, batch: EventBatch) -> None:
        touched: dict[str, BookState] | None = None
        books = self.books
        for event in batch.events:
            kind = type(event)
            if kind is BookDelta:
                assert isinstance(event, BookDelta)
                book = books[event.symbol]
                book.side(event.side).set(event.price, event.level_qty)
                book.seq = event.md_seq
                book.ts_us = event.ts_us
                if touched is None:
                    touched = {}
                touched[event.symbol] = book
            elif kind is Trade:
                assert isinstance(event, Trade)
                self._trade(event)
            elif kind is AdminApplied:
                assert isinstance(event, AdminApplied)
                if event.command == "add_instrument" and event.detail not in books:
                    self._add_instrument(event.detail)
            elif kind is VenueEvent:  # a perpetual listed at run time has a book too
                assert isinstance(event, VenueEvent)
                if event.kind == "perp.instrument" and event.subject not in books:
                    self._add_instrument(event.subject)
        if touched:
            for book in touched.values():
                self._publish(book)

    def _add_instrument(self, symbol: str) -> None:
        listing = self.engine.listings[symbol]
        book = BookState(
            listing.instrument,
            listing.book.md_seq,
            self.engine.last_ts_us,
            deque(maxlen=self.trade_history),
        )
        for src, dst in ((listing.book.bids, book.bids), (listing.book.asks, book.asks)):
            for level in src.iter_levels():
                dst.set(level.price, level.qty)
        self.books[symbol] = book

    def _trade(self, event: Trade) -> None:
        book = self.books[event.symbol]
        update = TradeUpdate(
            book.instrument,
            event.md_seq,
            event.ts_us,
            event.trade_id,
            event.price,
            event.qty,
            event.taker_side,
        )
        book.trades.append(update)
        self._m_trades.inc()
        for sink in self.sinks:
            sink.on_trade(update)

    def _publish(self, book: BookState) -> None:
        """After a command: per-view deltas, then the BBO if it moved."""
        crc: int | None = None
        for view in book.views.values():
            bids = book.bids.top(view.depth)
            asks = book.asks.top(view.depth)
            bid_changes = _diff(view.bids, bids)
            ask_changes = _diff(view.asks, asks)
            if not bid_changes and not ask_changes:
                continue
            if crc is None:
                crc = book.checksum()
            update = DepthUpdate(
                book.instrument,
                view.depth,
                book.seq,
                view.seq,
                book.ts_us,
                bid_changes,
                ask_changes,
                crc,
            )
            view.bids, view.asks = bids, asks
            view.seq, view.ts_us = book.seq, book.ts_us
            view.snapshot = None
            self._m_depths.inc()
            for sink in self.sinks:
                sink.on_depth(update)
        bid, ask = book.bids.best(), book.asks.best()
        old = book.bbo
        if old is None or old.bid != bid or old.ask != ask:
            bbo = book.bbo = Bbo(book.instrument, book.seq, book.ts_us, bid, ask)
            self._m_bbos.inc()
            for sink in self.sinks:
                sink.on_bbo(bbo)


def levels_as_strings(instrument: Instrument, levels: Iterable[tuple[int, int]]) -> list[list[str]]:
    """[[price, qty], ...] as decimal strings: the JSON form of a side."""
    price, qty = instrument.ticks_to_price, instrument.lots_to_qty
    return [[price(p), qty(q)] for p, q in levels]
