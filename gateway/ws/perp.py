"""The WebSocket perpetual channels: ``mark.<SYMBOL>``, ``funding.<SYMBOL>`` (public)
and ``positions`` (the logged-on account's), from the engine's ``perp.*`` events.

:class:`PerpFeed` is a host listener (after the market data, with the WS edge): it
renders each event once (gateway/perp_views.py) and pushes the same bytes to every
subscriber. A ``mark`` subscription starts with the current mark, a ``positions``
subscription with the account's positions; then every change follows. Each frame
carries the subscription's own ``seq`` (1, 2, ...).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from engine.core import Engine
from engine.events import VenueEvent
from gateway.host import EventBatch
from gateway.perp_views import funding_view, mark_view, position_view, positions_of
from gateway.ws.errors import ApiError, ErrorCode
from gateway.ws.outbox import Outbox

__all__ = ["PERP_KINDS", "PerpFeed", "PerpSubscription", "parse_perp_channel"]

#: the subscription kinds this module serves
PERP_KINDS: Final = frozenset({"mark", "funding", "positions"})


def parse_perp_channel(name: str, engine: Engine) -> tuple[str, str, int] | None:
    """('mark', symbol, 0), ('funding', symbol, 0) or ('positions', '', 0); None when
    ``name`` is no perpetual channel; ApiError(INVALID_CHANNEL) for an unknown perp."""
    if name == "positions":
        return "positions", "", 0
    kind, dot, symbol = name.partition(".")
    if not dot or kind not in ("mark", "funding"):
        return None
    if symbol not in engine.perps.markets:
        raise ApiError(ErrorCode.INVALID_CHANNEL, f"channel {name!r}: unknown perpetual {symbol!r}")
    return kind, symbol, 0


class PerpSubscription:
    """One connection's subscription to one perpetual channel."""

    __slots__ = ("channel", "key", "kind", "outbox", "seq")

    def __init__(self, channel: str, kind: str, key: str, outbox: Outbox) -> None:
        self.channel = channel
        self.kind = kind
        self.key = key  # the symbol; for positions, the account
        self.outbox = outbox
        self.seq = 0

    def push(self, data: bytes) -> None:
        """One frame; seq counts this subscription's frames (a gap = a lost frame)."""
        self.seq += 1
        self.outbox.push(b'{"channel":"%b","seq":%d,"data":%b}' % (
            self.channel.encode(), self.seq, data))  # fmt: skip


class PerpFeed:
    """The host listener and the subscriber tables of the perpetual channels."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.subs: dict[tuple[str, str], dict[PerpSubscription, None]] = {}

    def add(self, sub: PerpSubscription) -> None:
        self.subs.setdefault((sub.kind, sub.key), {})[sub] = None
        perps = self.engine.perps
        if sub.kind == "mark":
            market = perps.markets[sub.key]
            if market.mark:
                sub.push(orjson.dumps(self._mark_now(sub.key, self.engine.last_ts_us)))
        elif sub.kind == "positions":
            for view in positions_of(perps.markets, perps.of_account(sub.key)):
                sub.push(orjson.dumps(view))

    def remove(self, sub: PerpSubscription) -> None:
        key = (sub.kind, sub.key)
        subs = self.subs.get(key)
        if subs is not None:
            subs.pop(sub, None)
            if not subs:
                del self.subs[key]

    def __call__(self, batch: EventBatch) -> None:
        if not self.subs:
            return
        for event in batch.events:
            if type(event) is not VenueEvent:
                continue
            assert isinstance(event, VenueEvent)
            kind = event.kind
            if kind == "perp.mark":
                self._send("mark", event.subject, lambda e=event: mark_view(
                    self._instrument(e.subject), e.data, e.ts_us))  # fmt: skip
            elif kind == "perp.funding":
                self._send("funding", event.subject, lambda e=event: funding_view(
                    self._instrument(e.subject), e.data, e.ts_us))  # fmt: skip
            elif kind == "perp.position":
                self._send("positions", event.subject, lambda e=event: self._position(e))
            elif kind == "perp.halt":  # the stale-index halt starts or ends: a mark frame
                self._send("mark", event.subject, lambda e=event: self._mark_now(
                    e.subject, e.ts_us, bool(e.data["reduce_only"])))  # fmt: skip

    def _mark_now(self, symbol: str, ts_us: int, reduce_only: bool | None = None) -> Any:
        """The mark channel's frame from the market's current state."""
        market = self.engine.perps.markets[symbol]
        listing = self.engine.listings.get(symbol)
        now = {
            "mark": market.mark, "index": market.index,
            "last": listing.book.last_price if listing is not None else 0,
            "funding_rate": market.last_rate, "next_funding_us": market.next_funding_us,
            "reduce_only": market.reduce_only if reduce_only is None else reduce_only,
        }  # fmt: skip
        return mark_view(market.spec.instrument, now, ts_us)

    def _instrument(self, symbol: str) -> Any:
        return self.engine.perps.markets[symbol].spec.instrument

    def _position(self, event: VenueEvent) -> dict[str, Any]:
        market = self.engine.perps.markets[str(event.data["symbol"])]
        view = position_view(market.spec.instrument, event.data, market.mark)
        view["ts_us"] = event.ts_us
        return view

    def _send(self, kind: str, key: str, render: Any) -> None:
        subs = self.subs.get((kind, key))
        if not subs:
            return
        data = orjson.dumps(render())
        for sub in list(subs):  # a push may close a connection, which unsubscribes
            sub.push(data)
