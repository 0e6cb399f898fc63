"""The markets view's 24 h figures, read from the journal follower's store.

The market-data publisher keeps only its last trades, so on a busy instrument its
history is not 24 hours, and a restart empties it. The follower's ``fills`` table
holds every trade (a maker and a taker row each) and survives restarts, so the
figures are read there: open, high, low, last, base and quote volume and the trade
count over the trades whose journal time is within 24 h of ``now``.

The table has no index on time or symbol, only its primary key (seq, idx,
liquidity), and no index is added for this: journal time never goes back as seq
grows (engine/sequencer.py), so the window's first seq is found by a binary search
over the key (a few dozen key lookups), and the window is one range scan of the key,
grouped by (symbol, price). That gives a row per price traded: the quote volume is
summed in Python from exact integers (no SQL overflow, no float), and the open and
last prices are two key lookups per instrument.

The figures cover what the follower has stored (``stored_seq``); a trade it has not
stored yet is not counted. When the store cannot be read the view falls back to the
publisher's recent trades and says so (``source: recent-trades``, ``complete: false``).
The console's pushes (``DayStats``, cached) and ``GET /console/markets/24h`` (read now)
draw each instrument's row with ``stats_row``, so both show the same row for the same
state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from engine.model import Instrument, units_to_decimal
from gateway.follower.store import StoreUnavailable

if TYPE_CHECKING:
    from gateway.marketdata import MarketDataPublisher
    from gateway.readstore import ReadStore

__all__ = ["DAY_US", "DayStats", "day_stats", "recent_stats", "stats_row", "window_start"]

DAY_US: Final = 86_400_000_000
#: the cached figures are read again after this long even if nothing was stored (the
#: window slides: old trades leave it)
MAX_AGE_S: Final = 10.0
#: reads start at least this long apart, and at least READ_SHARE_INVERSE times the last
#: read's duration: a day of a busy market costs a long scan, which then takes at most
#: a tenth of one reader
MIN_GAP_S: Final = 1.0
READ_SHARE_INVERSE: Final = 10

_NEXT_FILL: Final = "SELECT seq, ts_us FROM fills WHERE seq >= ? ORDER BY seq LIMIT 1"
_LAST_SEQ: Final = "SELECT MAX(seq) FROM fills"
_BY_PRICE: Final = (
    "SELECT symbol, price, COUNT(*), SUM(qty), MIN(seq), MAX(seq) FROM fills"
    " WHERE seq >= ? AND ts_us >= ? AND liquidity = 'taker' GROUP BY symbol, price"
)
_FIRST_AT: Final = (
    "SELECT price FROM fills WHERE seq = ? AND symbol = ? AND liquidity = 'taker'"
    " ORDER BY idx LIMIT 1"
)
_LAST_AT: Final = (
    "SELECT price FROM fills WHERE seq = ? AND symbol = ? AND liquidity = 'taker'"
    " ORDER BY idx DESC LIMIT 1"
)


async def window_start(store: ReadStore, cutoff_us: int, low: int = 0) -> int:
    """The smallest seq from which every stored fill is at or after ``cutoff_us``
    (one past the last fill when none is); ``low``: a seq known to be before it."""
    rows = await store.fetch(_LAST_SEQ)
    high = int(rows[0][0]) + 1 if rows and rows[0][0] is not None else 0
    low = min(low, high)
    while low < high:
        mid = (low + high) // 2
        found = await store.fetch(_NEXT_FILL, mid)
        if not found or int(found[0][1]) >= cutoff_us:
            high = mid
        else:  # every fill up to the one found is too old
            low = int(found[0][0]) + 1
    return low


def _figures(instrument: Instrument, prices: list[tuple[int, int, int]]) -> dict[str, Any]:
    """high, low, volumes and count from (price, trades, lots) per price traded."""
    lots = sum(q for _, _, q in prices)
    quote = sum(p * q for p, _, q in prices) * instrument.quote_per_tick_lot
    return {
        "trades": sum(n for _, n, _ in prices),
        "high": instrument.ticks_to_price(max(p for p, _, _ in prices)),
        "low": instrument.ticks_to_price(min(p for p, _, _ in prices)),
        "volume": instrument.lots_to_qty(lots),
        "quote_volume": units_to_decimal(quote),
    }


async def day_stats(
    store: ReadStore, instruments: dict[str, Instrument], now_us: int, low: int = 0
) -> tuple[dict[str, dict[str, Any]], int]:
    """The 24 h figures of every instrument in ``instruments`` over the 24 h up to
    ``now_us`` (a trade exactly 24 h old counts; one that did not trade has a row of
    no trades), and the window's first seq (the next read's ``low``). Raises
    StoreUnavailable."""
    cutoff = now_us - DAY_US
    stored_seq, _ = await store.position()
    start = await window_start(store, cutoff, low)
    by_symbol: dict[str, list[tuple[int, int, int]]] = {}
    ends: dict[str, tuple[int, int]] = {}
    for symbol, price, count, lots, first, last in await store.fetch(_BY_PRICE, start, cutoff):
        by_symbol.setdefault(symbol, []).append((int(price), int(count), int(lots)))
        was = ends.get(symbol, (int(first), int(last)))
        ends[symbol] = (min(was[0], int(first)), max(was[1], int(last)))
    read = {"source": "store", "complete": True, "since_us": cutoff, "stored_seq": stored_seq}
    found: dict[str, dict[str, Any]] = {}
    for symbol, instrument in instruments.items():
        prices = by_symbol.get(symbol)
        if not prices:
            found[symbol] = {"trades": 0, **read}
            continue
        first, last = ends[symbol]
        opened = await store.fetch(_FIRST_AT, first, symbol)
        closed = await store.fetch(_LAST_AT, last, symbol)
        found[symbol] = {
            **_figures(instrument, prices),
            "open": instrument.ticks_to_price(int(opened[0][0])),
            "last": instrument.ticks_to_price(int(closed[0][0])),
            **read,
        }
    return found, start


def recent_stats(trades: Iterable[Any], instrument: Instrument, now_us: int) -> dict[str, Any]:
    """The fallback: the same figures over the trades of the last 24 h that the
    publisher still holds (oldest first), marked incomplete."""
    day = [t for t in trades if t.ts_us >= now_us - DAY_US]
    figures: dict[str, Any] = {"trades": 0}
    if day:
        prices = [(t.price, 1, t.qty) for t in day]
        figures = {
            **_figures(instrument, prices),
            "open": instrument.ticks_to_price(day[0].price),
            "last": instrument.ticks_to_price(day[-1].price),
        }
    return {**figures, "source": "recent-trades", "complete": False, "since_us": now_us - DAY_US}


def stats_row(
    stored: dict[str, dict[str, Any]] | None,
    symbol: str,
    instrument: Instrument,
    publisher: MarketDataPublisher | None,
    now_us: int,
    why: str,
) -> dict[str, Any]:
    """One instrument's 24 h row, for the console's pushes and its read alike: the
    store's figures (``stored``, from ``day_stats``), or when there are none for it, the
    publisher's recent trades marked partial with ``why`` as the note."""
    found = stored.get(symbol) if stored is not None else None
    if found is not None:
        return found
    book = publisher.book(symbol) if publisher is not None else None
    figures = recent_stats(book.trades if book is not None else (), instrument, now_us)
    return {**figures, "note": why or "not in the last read of the store"}


class DayStats:
    """The console's cached 24 h figures: read off the event loop when the follower
    stored more or the cache is older than MAX_AGE_S (but never sooner than MIN_GAP_S,
    nor than ten times the last read's duration after it), never on a push's path."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: the last read's figures by symbol, or why none (the store's error)
        self.figures: dict[str, dict[str, Any]] | None = None
        self.error = ""
        self._read_at = float("-inf")  # never read: due at once
        self._read_stored = -1
        self._low = 0
        self.reading = False
        #: how long the last read took (the next one waits ten times that)
        self.last_read_s = 0.0

    def due(self, stored: int) -> bool:
        """Whether a read is needed (the follower stored up to ``stored``)."""
        if self.reading:
            return False
        age = self._clock() - self._read_at
        if age < max(MIN_GAP_S, READ_SHARE_INVERSE * self.last_read_s):
            return False
        return stored != self._read_stored or age >= MAX_AGE_S

    async def read(self, store: ReadStore, instruments: dict[str, Instrument], stored: int) -> None:
        """Read the figures again (one read at a time); on failure keep why."""
        if self.reading:
            return
        self.reading = True
        began = self._clock()
        try:
            now_us = time.time_ns() // 1000
            self.figures, self._low = await day_stats(store, instruments, now_us, self._low)
            self.error = ""
        except StoreUnavailable as exc:
            self.figures, self.error = None, str(exc)
        finally:
            self._read_at, self._read_stored = self._clock(), stored
            self.last_read_s = self._read_at - began
            self.reading = False

    def row(
        self, symbol: str, instrument: Instrument, publisher: MarketDataPublisher | None
    ) -> dict[str, Any]:
        """One instrument's row from the last read, or the publisher's fallback saying
        why the store's figures are missing."""
        why = self.error or ("" if self.figures is not None else "store not read yet")
        return stats_row(self.figures, symbol, instrument, publisher, time.time_ns() // 1000, why)
