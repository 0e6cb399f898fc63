"""FIX market data: MarketDataRequest (V) -> W snapshot then X incrementals; SecurityList.

FIX market data is a sink of the shared :class:`~gateway.marketdata.MarketDataPublisher`
(the one book mirror, also behind WS and REST); it keeps no book of its own.

Views. A subscription for (symbol, MarketDepth N) watches the publisher's (symbol, N)
view -- N = :data:`FULL_DEPTH` for 264=0 -- once per (symbol, depth) group, reference
counted: the last unsubscribe or session drop unwatches it. The W snapshot is the
view's snapshot, taken in an :meth:`EngineHost.defer` callback so it never overtakes
held acknowledgements and is consistent with the view's next update: its BookSeqNum
(custom tag 7929) is the snapshot's seq, and every following X continues from it.

Incrementals. Each :class:`~gateway.marketdata.DepthUpdate` of a watched view becomes
one X: MDUpdateAction (279) 0 new / 1 change / 2 delete, decided from the prices the
view is known to hold (tracked per group, initialised from the snapshot); a level
pushed out of a depth-N view is a delete, a level entering it is a new. Trades are
279=0, 269=2. RptSeq (83) is the update's engine md_seq: increasing per instrument but
not gapless (one update covers all the levels a command changed, and trades consume
md_seq numbers too); loss is excluded by the FIX session layer (MsgSeqNum, resend).

Write once, send many: an update's entries are encoded once (per side, so once per
entry-type filter) and shared by every subscriber of the (symbol, depth) group; only
MDReqID (262) is per subscriber. Trade entries are encoded once per trade for all
depths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.model import Instrument
from gateway.fix.codec import FixMessage, encode_fields, format_utc_timestamp
from gateway.fix.session import FixSession
from gateway.host import EngineHost
from gateway.marketdata import Bbo, DepthSnapshot, DepthUpdate, MarketDataPublisher, TradeUpdate

__all__ = ["BOOK_SEQ_TAG", "FULL_DEPTH", "FixMarketData"]

BOOK_SEQ_TAG = 7929
FULL_DEPTH = 1 << 30
"""View depth used for MarketDepth 264=0 (full book): larger than any real book."""
BID, OFFER, TRADE = b"0", b"1", b"2"
_SUPPORTED_TYPES = frozenset({BID, OFFER, TRADE})
_BOOK_TYPES = frozenset({BID, OFFER})
_NEW, _CHANGE = b"0", b"1"


@dataclass(eq=False, slots=True)
class _Sub:
    session: FixSession
    req_id: bytes
    symbol: str
    depth: int  # the view's depth (FULL_DEPTH for 264=0)
    types: frozenset[bytes]
    prefix: bytes  # b"262=<MDReqID>\x01": the only per-subscriber part of an X


@dataclass(eq=False, slots=True)
class _Group:
    """FIX subscribers of one watched (symbol, depth) view, and the view's known prices."""

    symbol: str
    depth: int
    bids: set[int]
    asks: set[int]
    subs: list[_Sub] = field(default_factory=list)


class FixMarketData:
    """V / x handling and the publisher sink that turns view updates into X messages."""

    def __init__(self, host: EngineHost, publisher: MarketDataPublisher) -> None:
        self.host = host
        self.publisher = publisher
        self.groups: dict[tuple[str, int], _Group] = {}
        self.trade_subs: dict[str, list[_Sub]] = {}
        #: id(session) -> MDReqID -> its subscriptions (one per symbol); includes
        #: requests whose deferred answer has not run yet (empty list)
        self.requests: dict[int, dict[bytes, list[_Sub]]] = {}
        self._snapshot_codecs: dict[frozenset[bytes], Callable[[DepthSnapshot], bytes]] = {}

    # ------------------------------------------------------------ sink

    def on_depth(self, update: DepthUpdate) -> None:
        group = self.groups.get((update.instrument.symbol, update.depth))
        if group is None or not group.subs:
            return
        inst = update.instrument
        bid_n, bid_body = _level_entries(inst, BID, update.bids, group.bids, update.seq)
        ask_n, ask_body = _level_entries(inst, OFFER, update.asks, group.asks, update.seq)
        bodies: dict[frozenset[bytes], bytes] = {}
        for sub in group.subs:
            body = bodies.get(sub.types)
            if body is None:
                n, parts = 0, b""
                if BID in sub.types and bid_n:
                    n, parts = bid_n, bid_body
                if OFFER in sub.types and ask_n:
                    n, parts = n + ask_n, parts + ask_body
                body = bodies[sub.types] = b"268=%d\x01%s" % (n, parts) if n else b""
            if body:
                sub.session.send("X", sub.prefix + body)

    def on_trade(self, update: TradeUpdate) -> None:
        subs = self.trade_subs.get(update.instrument.symbol)
        if not subs:
            return
        body = update.encoded(_trade_entries)
        for sub in subs:
            sub.session.send("X", sub.prefix + body)

    def on_bbo(self, update: Bbo) -> None:
        pass

    # ------------------------------------------------------------ requests

    def on_request(self, session: FixSession, msg: FixMessage) -> None:
        req_id = msg.get(262) or b""
        sub_type = msg.get(263)
        symbols = [v.decode("utf-8", "replace") for v in msg.get_all(55)]
        types = frozenset(msg.get_all(269))

        def reject(reason: int, text: str) -> None:
            self.host.defer(
                lambda: session.send("Y", encode_fields([(262, req_id), (281, reason), (58, text)]))
            )

        mine = self.requests.setdefault(id(session), {})
        if sub_type == b"2":
            ended = mine.pop(req_id, None)  # at once: the MDReqID may be reused
            if ended is not None:  # leave in order with the held updates
                self.host.defer(lambda: self._leave_all(ended))
            return
        if sub_type not in (b"0", b"1"):
            reject(4, "SubscriptionRequestType (263) must be 0, 1 or 2")
            return
        depth = msg.get_int(264)
        if depth is None or depth < 0:
            reject(5, "MarketDepth (264) must be 0 (full book) or N > 0")
            return
        if not types or not types <= _SUPPORTED_TYPES:
            reject(8, "MDEntryType (269) must be 0 (bid), 1 (offer) or 2 (trade)")
            return
        if sub_type == b"1" and req_id in mine:
            reject(1, f"duplicate MDReqID {req_id.decode('utf-8', 'replace')}")
            return
        unknown = [s for s in symbols if s not in self.host.engine.listings]
        if not symbols or unknown:
            reject(0, f"unknown symbol {unknown[0] if unknown else ''!r}")
            return
        view_depth = depth or FULL_DEPTH
        subs: list[_Sub] | None = None
        if sub_type == b"1":
            subs = mine[req_id] = []  # reserved now: a second V with this id is a duplicate

        def answer() -> None:
            if subs is not None and self.requests.get(id(session), {}).get(req_id) is not subs:
                return  # unsubscribed or session dropped before the answer
            for symbol in symbols:
                session.send("W", self._join(session, req_id, symbol, view_depth, types, subs))

        self.host.defer(answer)

    def _join(
        self,
        session: FixSession,
        req_id: bytes,
        symbol: str,
        depth: int,
        types: frozenset[bytes],
        subs: list[_Sub] | None,
    ) -> bytes:
        """The W body for one symbol, from the view; with ``subs`` also join it.

        Runs in a deferred callback: the publisher's books are exactly what has been
        delivered, so the snapshot is consistent with the updates that follow."""
        book = self.publisher.books[symbol]
        wants_book = BID in types or OFFER in types
        key = (symbol, depth)
        group = self.groups.get(key)
        if wants_book:
            if group is None:
                self.publisher.watch(symbol, depth)
            snap = self.publisher.snapshot(symbol, depth)
            if group is None:
                if subs is not None:
                    group = self.groups[key] = _Group(
                        symbol, depth, {p for p, _ in snap.bids}, {p for p, _ in snap.asks}
                    )
                else:
                    self.publisher.unwatch(symbol, depth)  # snapshot only: nobody stays
            entries = snap.encoded(self._snapshot_codec(types))
            seq, ts_us = snap.seq, snap.ts_us
        else:
            entries = b"268=0\x01"
            seq, ts_us = book.seq, book.ts_us
        if subs is not None:
            sub = _Sub(session, req_id, symbol, depth, types, encode_fields([(262, req_id)]))
            subs.append(sub)
            if wants_book:
                assert group is not None
                group.subs.append(sub)
            if TRADE in types:
                self.trade_subs.setdefault(symbol, []).append(sub)
        head: list[tuple[int, bytes | str | int]] = [(262, req_id), (55, symbol)]
        if session.fixt:  # LastUpdateTime is required in FIX 5.0 SP2
            head.append((779, format_utc_timestamp(ts_us, 6)))
        head.append((BOOK_SEQ_TAG, seq))
        return encode_fields(head) + entries

    def _snapshot_codec(self, types: frozenset[bytes]) -> Callable[[DepthSnapshot], bytes]:
        """One codec per entry-type filter, so a snapshot's entries are encoded once each."""
        types = types & _BOOK_TYPES  # trades are not in the snapshot
        codec = self._snapshot_codecs.get(types)
        if codec is None:
            sides = tuple(s for s in (BID, OFFER) if s in types)

            def encode(snap: DepthSnapshot) -> bytes:
                return _snapshot_entries(snap, sides)

            codec = self._snapshot_codecs[types] = encode
        return codec

    def _leave(self, sub: _Sub) -> None:
        group = self.groups.get((sub.symbol, sub.depth))
        if group is not None and sub in group.subs:
            group.subs.remove(sub)
            if not group.subs:
                del self.groups[(sub.symbol, sub.depth)]
                self.publisher.unwatch(sub.symbol, sub.depth)
        trades = self.trade_subs.get(sub.symbol)
        if trades is not None and sub in trades:
            trades.remove(sub)
            if not trades:
                del self.trade_subs[sub.symbol]

    def _leave_all(self, subs: list[_Sub]) -> None:
        for sub in subs:
            self._leave(sub)

    def drop_session(self, session: FixSession) -> None:
        """Session gone (logout or disconnect): all its subscriptions end."""
        for subs in self.requests.pop(id(session), {}).values():
            self._leave_all(subs)

    def on_security_list(self, session: FixSession, msg: FixMessage) -> None:
        req_id = msg.get(320) or b"NONE"
        listings = self.host.engine.listings
        fields: list[tuple[int, bytes | str | int]] = [
            (320, req_id),
            (322, req_id),
            (560, 0),
            (393, len(listings)),
            (146, len(listings)),
        ]
        for symbol, listing in listings.items():
            inst = listing.instrument
            lot: tuple[int, bytes | str | int] = (561, str(inst.lot_size.normalize()))
            min_vol: tuple[int, bytes | str | int] = (562, inst.lots_to_qty(max(inst.min_qty, 1)))
            currency: tuple[int, bytes | str | int] = (15, inst.quote)
            # group order: FIX 5.0 SP2 has SecurityTradingRules (562, 561) before Currency
            if session.fixt:
                fields += [(55, symbol), min_vol, lot, currency]
            else:
                fields += [(55, symbol), currency, lot, min_vol]
        body = encode_fields(fields)
        self.host.defer(lambda: session.send("y", body))


def _snapshot_entries(snap: DepthSnapshot, sides: tuple[bytes, ...]) -> bytes:
    """268 + (269, 270, 271) per level of the wanted sides, bids first, best first."""
    inst = snap.instrument
    price, qty = inst.ticks_to_price, inst.lots_to_qty
    parts: list[bytes] = []
    for side in sides:
        for p, q in snap.bids if side == BID else snap.asks:
            parts.append(
                b"269=%s\x01270=%s\x01271=%s\x01" % (side, price(p).encode(), qty(q).encode())
            )
    return b"268=%d\x01" % len(parts) + b"".join(parts)


def _level_entries(
    inst: Instrument, side: bytes, levels: list[tuple[int, int]], known: set[int], seq: int
) -> tuple[int, bytes]:
    """X entries for one side's changed levels; updates ``known`` (the view's prices)."""
    if not levels:
        return 0, b""
    symbol = inst.symbol.encode()
    price, qty = inst.ticks_to_price, inst.lots_to_qty
    parts: list[bytes] = []
    for p, q in levels:
        if q == 0:
            known.discard(p)
            parts.append(
                b"279=2\x01269=%s\x0155=%s\x01270=%s\x0183=%d\x01"
                % (side, symbol, price(p).encode(), seq)
            )
        else:
            if p in known:
                action = _CHANGE
            else:
                action = _NEW
                known.add(p)
            parts.append(
                b"279=%s\x01269=%s\x0155=%s\x01270=%s\x01271=%s\x0183=%d\x01"
                % (action, side, symbol, price(p).encode(), qty(q).encode(), seq)
            )
    return len(parts), b"".join(parts)


def _trade_entries(update: TradeUpdate) -> bytes:
    inst = update.instrument
    return b"268=1\x01279=0\x01269=2\x0155=%s\x01270=%s\x01271=%s\x0183=%d\x01" % (
        inst.symbol.encode(),
        inst.ticks_to_price(update.price).encode(),
        inst.lots_to_qty(update.qty).encode(),
        update.seq,
    )
