"""WebSocket market-data channels: names, subscriptions, and the JSON fan-out sink.

Channels: ``book.<SYMBOL>.<DEPTH>`` (DEPTH in marketdata.DEPTHS), ``trades.<SYMBOL>``,
``bbo.<SYMBOL>`` and ``user`` (handled by the server, per account).

:class:`WsMarketData` is the WebSocket :class:`~gateway.marketdata.MarketDataSink`:
it encodes each update once (``update.encoded(json_...)``) and hands the same bytes
object to every subscriber's outbox. No per-subscriber JSON work, no tasks.
"""

from __future__ import annotations

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


class WsMarketData:
    """The WebSocket MarketDataSink: subscriber sets per stream, write once send many."""

    def __init__(self, publisher: MarketDataPublisher) -> None:
        self.publisher = publisher
        self.book: dict[tuple[str, int], dict[Subscription, None]] = {}
        self.trades: dict[str, dict[Subscription, None]] = {}
        self.bbo: dict[str, dict[Subscription, None]] = {}
        publisher.sinks.append(self)

    def add(self, sub: Subscription) -> None:
        """Register and queue the initial frame (book snapshot / current BBO)."""
        if sub.kind == "book":
            self.publisher.watch(sub.symbol, sub.depth)
            self.book.setdefault((sub.symbol, sub.depth), {})[sub] = None
            sub.outbox.offer(sub, self.publisher.snapshot(sub.symbol, sub.depth).encoded(
                json_depth_snapshot
            ))  # fmt: skip
        elif sub.kind == "trades":
            self.trades.setdefault(sub.symbol, {})[sub] = None
        elif sub.kind == "bbo":
            self.bbo.setdefault(sub.symbol, {})[sub] = None
            sub.outbox.offer(sub, self.publisher.books[sub.symbol].current_bbo().encoded(json_bbo))

    def remove(self, sub: Subscription) -> None:
        sub.outbox.forget(sub)
        if sub.kind == "book":
            key = (sub.symbol, sub.depth)
            subs = self.book.get(key)
            if subs is not None and subs.pop(sub, 0) is None:
                self.publisher.unwatch(sub.symbol, sub.depth)
                if not subs:
                    del self.book[key]
        else:
            table = self.trades if sub.kind == "trades" else self.bbo
            subs = table.get(sub.symbol)
            if subs is not None:
                subs.pop(sub, None)
                if not subs:
                    del table[sub.symbol]

    # ---------------------------------------------------------------- MarketDataSink

    def on_depth(self, update: DepthUpdate) -> None:
        subs = self.book.get((update.instrument.symbol, update.depth))
        if subs:
            data = update.encoded(json_depth_update)
            for sub in subs:
                sub.outbox.offer(sub, data)

    def on_trade(self, update: TradeUpdate) -> None:
        subs = self.trades.get(update.instrument.symbol)
        if subs:
            data = update.encoded(json_trade)
            for sub in list(subs):  # push may close a connection, which unsubscribes
                sub.outbox.push(data)

    def on_bbo(self, update: Bbo) -> None:
        subs = self.bbo.get(update.instrument.symbol)
        if subs:
            data = update.encoded(json_bbo)
            for sub in subs:
                sub.outbox.offer(sub, data)
