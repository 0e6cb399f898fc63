"""WebSocket market-data channels: names, subscriptions, and the JSON fan-out sink.

Channels: ``book.<SYMBOL>.<DEPTH>`` (DEPTH in marketdata.DEPTHS), ``trades.<SYMBOL>``,
``bbo.<SYMBOL>`` and ``user`` (handled by the server, per account).

:class:`WsMarketData` is the WebSocket :class:`~gateway.marketdata.MarketDataSink`:
it encodes each update once (``update.encoded(json_...)``) and keeps it, with the
subscriber set of the moment, until the server's flush at the end of the loop
iteration. There the updates of one subscriber set are framed and joined once, and
each subscriber whose outbox is empty and whose socket takes it gets those bytes in
one write (``Outbox.direct``); the others get the updates through their outboxes, where
the slow-consumer policy applies. Per subscriber and update that is a write, not an
outbox round trip: the fan-out is the gateway's largest per-message cost. No
per-subscriber JSON work, no tasks.

Subscriber sets are copied on change (subscribe, unsubscribe), never changed in
place, so an update holds the set it was published to: a later subscriber, whose
snapshot already includes it, does not get it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway.marketdata import (
    DEPTHS,
    Bbo,
    DepthSnapshot,
    DepthUpdate,
    MarketDataPublisher,
    TradeUpdate,
    levels_as_strings,
)
from gateway.ws.errors import ApiError, ErrorCode
from gateway.ws.outbox import Outbox

__all__ = [
    "Subscription",
    "WsMarketData",
    "json_bbo",
    "json_depth_snapshot",
    "json_depth_update",
    "json_trade",
    "parse_channel",
]

_SIDE = {1: "buy", 2: "sell"}


def _depth_data(kind: str, u: DepthUpdate | DepthSnapshot, prev_seq: int | None) -> dict[str, Any]:
    inst = u.instrument
    data: dict[str, Any] = {"type": kind, "symbol": inst.symbol, "seq": u.seq}
    if prev_seq is not None:
        data["prev_seq"] = prev_seq
    data["ts_us"] = u.ts_us
    data["bids"] = levels_as_strings(inst, u.bids)
    data["asks"] = levels_as_strings(inst, u.asks)
    data["checksum"] = u.checksum
    return data


def json_depth_update(u: DepthUpdate) -> bytes:
    channel = f"book.{u.instrument.symbol}.{u.depth}"
    data = _depth_data("delta", u, u.prev_seq)
    return orjson.dumps({"channel": channel, "seq": u.seq, "data": data})


def json_depth_snapshot(u: DepthSnapshot) -> bytes:
    channel = f"book.{u.instrument.symbol}.{u.depth}"
    data = _depth_data("snapshot", u, None)
    return orjson.dumps({"channel": channel, "seq": u.seq, "data": data})


def json_trade(u: TradeUpdate) -> bytes:
    inst = u.instrument
    return orjson.dumps(
        {
            "channel": f"trades.{inst.symbol}",
            "seq": u.seq,
            "data": {
                "symbol": inst.symbol,
                "trade_id": u.trade_id,
                "price": inst.ticks_to_price(u.price),
                "quantity": inst.lots_to_qty(u.qty),
                "taker_side": _SIDE[u.taker_side],
                "ts_us": u.ts_us,
            },
        }
    )


def bbo_data(u: Bbo) -> dict[str, Any]:
    inst = u.instrument
    (bp, bq), (ap, aq) = u.bid, u.ask
    return {
        "symbol": inst.symbol,
        "seq": u.seq,
        "ts_us": u.ts_us,
        "bid_price": inst.ticks_to_price(bp) if bq else None,
        "bid_qty": inst.lots_to_qty(bq) if bq else None,
        "ask_price": inst.ticks_to_price(ap) if aq else None,
        "ask_qty": inst.lots_to_qty(aq) if aq else None,
    }


def json_bbo(u: Bbo) -> bytes:
    return orjson.dumps(
        {"channel": f"bbo.{u.instrument.symbol}", "seq": u.seq, "data": bbo_data(u)}
    )


class Subscription:
    """One connection's subscription to one market-data channel."""

    __slots__ = ("channel", "depth", "kind", "outbox", "publisher", "symbol")

    def __init__(
        self,
        channel: str,
        kind: str,
        symbol: str,
        depth: int,
        outbox: Outbox,
        publisher: MarketDataPublisher,
    ) -> None:
        self.channel = channel
        self.kind = kind
        self.symbol = symbol
        self.depth = depth
        self.outbox = outbox
        self.publisher = publisher

    def resync(self) -> bytes | None:
        """A fresh frame for a conflated (stale) subscription."""
        if self.kind == "book":
            return self.publisher.snapshot(self.symbol, self.depth).encoded(json_depth_snapshot)
        if self.kind == "bbo":
            book = self.publisher.books[self.symbol]
            return book.current_bbo().encoded(json_bbo)
        return None


_DEPTH_NAMES = {str(d): d for d in DEPTHS}


def parse_channel(name: object, symbols: dict[str, Any]) -> tuple[str, str, int]:
    """'book.BTC-USD.10' -> ('book', 'BTC-USD', 10); raises ApiError(INVALID_CHANNEL)."""
    if not isinstance(name, str):
        raise ApiError(ErrorCode.INVALID_CHANNEL, f"channel must be a string, got {name!r}")
    if name == "user":
        return "user", "", 0
    parts = name.split(".")
    kind = parts[0]
    if kind == "book" and len(parts) == 3:
        symbol, depth_text = parts[1], parts[2]
        # exactly "10", "50", ...: str.isdigit() also takes "²" (int() raises), "010" or
        # Arabic-Indic digits (int() reads 10, but the pushes are named book.<SYMBOL>.10)
        depth = _DEPTH_NAMES.get(depth_text, 0)
        if not depth:
            allowed = ", ".join(str(d) for d in DEPTHS)
            raise ApiError(
                ErrorCode.INVALID_CHANNEL,
                f"channel {name!r}: depth must be one of {allowed}",
            )
    elif kind in ("trades", "bbo") and len(parts) == 2:
        symbol, depth = parts[1], 0
    else:
        raise ApiError(
            ErrorCode.INVALID_CHANNEL,
            f"unknown channel {name!r}; expected book.<SYMBOL>.<DEPTH>, trades.<SYMBOL>,"
            " bbo.<SYMBOL>, mark.<SYMBOL>, funding.<SYMBOL>, user or positions",
        )
    if symbol not in symbols:
        raise ApiError(ErrorCode.INVALID_CHANNEL, f"channel {name!r}: unknown symbol {symbol!r}")
    return kind, symbol, depth


def _frame(data: bytes) -> bytes:
    return data


#: (subscriber set, frame payload, must deliver) of one published update
_Pending = tuple[dict[Subscription, None], bytes, bool]


class WsMarketData:
    """The WebSocket MarketDataSink: subscriber sets per stream, write once send many.

    Without a server (``wake`` unset) each update is delivered to the outboxes at once.
    """

    def __init__(self, publisher: MarketDataPublisher) -> None:
        self.publisher = publisher
        self.book: dict[tuple[str, int], dict[Subscription, None]] = {}
        self.trades: dict[str, dict[Subscription, None]] = {}
        self.bbo: dict[str, dict[Subscription, None]] = {}
        #: updates published since the last flush, in publication order
        self.pending: list[_Pending] = []
        #: asks for a flush at the end of this loop iteration (set by the server)
        self.wake: Callable[[], None] | None = None
        publisher.sinks.append(self)

    def add(self, sub: Subscription) -> None:
        """Register and queue the initial frame (book snapshot / current BBO)."""
        outbox = sub.outbox
        outbox.settle(outbox)  # what was published before it, then the initial frame
        outbox.settle = self.settle
        outbox.feeds[sub] = None
        if sub.kind == "book":
            self.publisher.watch(sub.symbol, sub.depth)
            _join(self.book, (sub.symbol, sub.depth), sub)
            outbox.add(sub, self.publisher.snapshot(sub.symbol, sub.depth).encoded(
                json_depth_snapshot
            ))  # fmt: skip
        elif sub.kind == "trades":
            _join(self.trades, sub.symbol, sub)
        elif sub.kind == "bbo":
            _join(self.bbo, sub.symbol, sub)
            outbox.add(sub, self.publisher.books[sub.symbol].current_bbo().encoded(json_bbo))

    def remove(self, sub: Subscription) -> None:
        outbox = sub.outbox
        outbox.settle(outbox)  # its updates published so far are due before what follows
        outbox.forget(sub)
        outbox.feeds.pop(sub, None)
        if sub.kind == "book":
            if _leave(self.book, (sub.symbol, sub.depth), sub):
                self.publisher.unwatch(sub.symbol, sub.depth)
        else:
            _leave(self.trades if sub.kind == "trades" else self.bbo, sub.symbol, sub)

    # ---------------------------------------------------------------- MarketDataSink

    def on_depth(self, update: DepthUpdate) -> None:
        subs = self.book.get((update.instrument.symbol, update.depth))
        if subs:
            self._publish(subs, update.encoded(json_depth_update), False)

    def on_trade(self, update: TradeUpdate) -> None:
        subs = self.trades.get(update.instrument.symbol)
        if subs:
            self._publish(subs, update.encoded(json_trade), True)

    def on_bbo(self, update: Bbo) -> None:
        subs = self.bbo.get(update.instrument.symbol)
        if subs:
            self._publish(subs, update.encoded(json_bbo), False)

    # ---------------------------------------------------------------- delivery

    def _publish(self, subs: dict[Subscription, None], data: bytes, must: bool) -> None:
        pending = self.pending
        pending.append((subs, data, must))
        if self.wake is None:
            self.flush()
        elif len(pending) == 1:
            self.wake()

    def settle(self, outbox: Outbox) -> None:
        """Queue in ``outbox`` the pending updates for its subscriptions that it does not
        have yet: it is about to queue something else, which must come after them."""
        pending = self.pending
        if outbox.md_list is not pending:
            outbox.md_list, outbox.md_done = pending, 0
        done = outbox.md_done
        if done == len(pending):
            return
        outbox.md_done = len(pending)
        feeds = outbox.feeds
        for subs, data, must in pending[done:]:
            for sub in feeds:
                if sub in subs:
                    if must:
                        outbox.put(data)
                    else:
                        outbox.add(sub, data)

    def flush(self, frame: Callable[[bytes], bytes] = _frame) -> int:
        """Deliver the pending updates; the number of frames written directly.

        A run of updates to the same subscriber set is framed (``frame``) and joined
        once. Each subscriber gets the run in one ``outbox.direct`` write if its outbox
        is empty and not stale (nothing may go before it); otherwise, or if the socket
        does not take it now, each update goes to its outbox (conflated or
        must-deliver as it is)."""
        pending = self.pending
        if not pending:
            return 0
        self.pending = []
        written = 0
        start, end = 0, len(pending)
        while start < end:
            subs = pending[start][0]
            stop = start + 1
            while stop < end and pending[stop][0] is subs:
                stop += 1
            run = pending[start:stop]
            count = stop - start
            frames = b"".join([frame(data) for _, data, _ in run])
            for sub in subs:  # a set is never changed in place (see _join)
                outbox = sub.outbox
                if outbox.md_list is pending and outbox.md_done > start:
                    skip = outbox.md_done - start  # settled already (see settle)
                    if skip < count:
                        _queue(sub, run[skip:])
                elif outbox.queue or outbox.stale or outbox.closed:
                    _queue(sub, run)
                elif outbox.direct(frames, count):
                    written += count
                else:
                    _queue(sub, run)
            start = stop
        return written


def _queue(sub: Subscription, run: list[_Pending]) -> None:
    outbox = sub.outbox
    for _, data, must in run:
        if must:
            outbox.put(data)
        else:
            outbox.add(sub, data)


def _join(table: dict[Any, dict[Subscription, None]], key: Any, sub: Subscription) -> None:
    """Add ``sub`` to a subscriber set, as a new set (pending updates keep the old)."""
    subs = dict(table.get(key, ()))
    subs[sub] = None
    table[key] = subs


def _leave(table: dict[Any, dict[Subscription, None]], key: Any, sub: Subscription) -> bool:
    """Remove ``sub`` from a subscriber set, as a new set; True if it was in it."""
    subs = table.get(key)
    if subs is None or sub not in subs:
        return False
    subs = dict(subs)
    del subs[sub]
    if subs:
        table[key] = subs
    else:
        del table[key]
    return True
