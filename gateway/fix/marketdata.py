"""FIX market data: MarketDataRequest (V) -> W snapshot then X incrementals; SecurityList.

The hub keeps a mirror of every book built only from events already delivered (after
the journal flush), so a snapshot and the incrementals that follow it agree: the
first X after a W continues from the W's BookSeqNum (custom tag 7929), and every X
entry carries RptSeq (83) = the instrument's market-data sequence number.

Write once, send many: subscribers are grouped by (symbol, depth, entry types); each
group's entries are encoded once per batch and only MDReqID (262) is per subscriber.
"""

from __future__ import annotations

from bisect import insort
from collections import defaultdict
from dataclasses import dataclass, field

from engine.core import Engine
from engine.events import BookDelta, Trade
from engine.model import Instrument, Side
from gateway.fix.codec import FixMessage, encode_fields
from gateway.fix.session import FixSession
from gateway.host import EngineHost

__all__ = ["BOOK_SEQ_TAG", "MarketDataHub"]

BOOK_SEQ_TAG = 7929
BID, OFFER, TRADE = b"0", b"1", b"2"
_SUPPORTED_TYPES = frozenset({BID, OFFER, TRADE})


@dataclass
class _Mirror:
    """One instrument's book as the subscribers know it."""

    inst: Instrument
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    bid_keys: list[int] = field(default_factory=list)  # -price ascending = best first
    ask_keys: list[int] = field(default_factory=list)  # price ascending = best first
    md_seq: int = 0
    # (action, entry type, price, qty, md_seq) since the last end_batch()
    pending: list[tuple[bytes, bytes, int, int, int]] = field(default_factory=list)

    def top(self, side: bytes, depth: int) -> list[tuple[int, int]]:
        if side == BID:
            keys, levels, sign = self.bid_keys, self.bids, -1
        else:
            keys, levels, sign = self.ask_keys, self.asks, 1
        chosen = keys if depth == 0 else keys[:depth]
        return [(k * sign, levels[k * sign]) for k in chosen]

    def apply(self, delta: BookDelta) -> None:
        is_bid = delta.side == Side.BUY
        levels = self.bids if is_bid else self.asks
        keys = self.bid_keys if is_bid else self.ask_keys
        key = -delta.price if is_bid else delta.price
        entry = BID if is_bid else OFFER
        if delta.level_qty == 0:
            if delta.price in levels:
                del levels[delta.price]
                keys.remove(key)
            action = b"2"
        elif delta.price in levels:
            levels[delta.price] = delta.level_qty
            action = b"1"
        else:
            levels[delta.price] = delta.level_qty
            insort(keys, key)
            action = b"0"
        self.md_seq = delta.md_seq
        self.pending.append((action, entry, delta.price, delta.level_qty, delta.md_seq))


@dataclass(eq=False)
class _Subscription:
    session: FixSession
    req_id: bytes
    symbol: str
    depth: int
    types: frozenset[bytes]
    # last top-of-book sent, for depth-limited subscriptions: side -> {price: qty}
    sent: dict[bytes, dict[int, int]] = field(default_factory=dict)


class MarketDataHub:
    def __init__(self, host: EngineHost) -> None:
        self.host = host
        self.mirrors: dict[str, _Mirror] = {}
        self.subs: dict[str, list[_Subscription]] = defaultdict(list)

    def attach(self, engine: Engine) -> None:
        """Seed mirrors from the engine at start-up (nothing is held for delivery yet)."""
        for symbol, listing in engine.listings.items():
            mirror = _Mirror(listing.instrument)
            book = listing.book
            for price, qty in book.bids.depth(len(book.bids.levels)):
                mirror.bids[price] = qty
                mirror.bid_keys.append(-price)
            for price, qty in book.asks.depth(len(book.asks.levels)):
                mirror.asks[price] = qty
                mirror.ask_keys.append(price)
            mirror.md_seq = book.md_seq
            self.mirrors[symbol] = mirror

    def _mirror(self, symbol: str) -> _Mirror | None:
        mirror = self.mirrors.get(symbol)
        if mirror is None:
            listing = self.host.engine.listings.get(symbol)
            if listing is None:
                return None
            mirror = self.mirrors[symbol] = _Mirror(listing.instrument)
        return mirror

    # ------------------------------------------------------------ events

    def on_event(self, event: BookDelta | Trade | object) -> None:
        if type(event) is BookDelta:
            assert isinstance(event, BookDelta)
            mirror = self._mirror(event.symbol)
            if mirror is not None:
                mirror.apply(event)
        elif type(event) is Trade:
            assert isinstance(event, Trade)
            mirror = self._mirror(event.symbol)
            if mirror is not None:
                mirror.md_seq = event.md_seq
                mirror.pending.append((b"0", TRADE, event.price, event.qty, event.md_seq))

    def end_batch(self) -> None:
        for symbol, mirror in self.mirrors.items():
            if not mirror.pending:
                continue
            subs = self.subs.get(symbol)
            if subs:
                self._publish(mirror, subs)
            mirror.pending.clear()

    def _publish(self, mirror: _Mirror, subs: list[_Subscription]) -> None:
        encoded: dict[tuple[int, frozenset[bytes]], bytes] = {}
        for sub in subs:
            if sub.depth == 0:
                key = (0, sub.types)
                body = encoded.get(key)
                if body is None:
                    body = encoded[key] = self._full_depth_entries(mirror, sub.types)
            else:
                body = self._top_n_entries(mirror, sub)  # per-sub state; small depth
            if body:
                sub.session.send("X", b"262=" + sub.req_id + b"\x01" + body)

    def _full_depth_entries(self, mirror: _Mirror, types: frozenset[bytes]) -> bytes:
        rows = [p for p in mirror.pending if p[1] in types]
        return _inc_entries(mirror, rows)

    def _top_n_entries(self, mirror: _Mirror, sub: _Subscription) -> bytes:
        rows: list[tuple[bytes, bytes, int, int, int]] = []
        for side in (BID, OFFER):
            if side not in sub.types:
                continue
            now = dict(mirror.top(side, sub.depth))
            before = sub.sent.get(side, {})
            for price in before:
                if price not in now:
                    rows.append((b"2", side, price, 0, mirror.md_seq))
            for price, qty in now.items():
                if price not in before:
                    rows.append((b"0", side, price, qty, mirror.md_seq))
                elif before[price] != qty:
                    rows.append((b"1", side, price, qty, mirror.md_seq))
            sub.sent[side] = now
        if TRADE in sub.types:
            rows += [p for p in mirror.pending if p[1] == TRADE]
        return _inc_entries(mirror, rows)

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

        if sub_type == b"2":
            self._unsubscribe(session, req_id)
            return
        if sub_type not in (b"0", b"1"):
            reject(0, "SubscriptionRequestType (263) must be 0, 1 or 2")
            return
        depth = msg.get_int(264)
        if depth is None or depth < 0:
            reject(5, "MarketDepth (264) must be 0 (full book) or N > 0")
            return
        if not types or not types <= _SUPPORTED_TYPES:
            reject(8, "MDEntryType (269) must be 0 (bid), 1 (offer) or 2 (trade)")
            return
        if sub_type == b"1" and any(
            s.req_id == req_id for subs in self.subs.values() for s in subs if s.session is session
        ):
            reject(1, f"duplicate MDReqID {req_id.decode('utf-8', 'replace')}")
            return
        unknown = [s for s in symbols if s not in self.host.engine.listings]
        if not symbols or unknown:
            reject(0, f"unknown symbol {unknown[0] if unknown else ''!r}")
            return

        def answer() -> None:
            for symbol in symbols:
                mirror = self._mirror(symbol)
                assert mirror is not None
                session.send("W", self._snapshot(mirror, req_id, depth, types))
                if sub_type == b"1":
                    sub = _Subscription(session, req_id, symbol, depth, types)
                    if depth:
                        sub.sent = {side: dict(mirror.top(side, depth)) for side in (BID, OFFER)}
                    self.subs[symbol].append(sub)

        self.host.defer(answer)

    def _snapshot(
        self, mirror: _Mirror, req_id: bytes, depth: int, types: frozenset[bytes]
    ) -> bytes:
        inst = mirror.inst
        entries: list[tuple[int, bytes | str | int]] = []
        count = 0
        for side in (BID, OFFER):
            if side in types:
                for price, qty in mirror.top(side, depth):
                    entries += [
                        (269, side),
                        (270, inst.ticks_to_price(price)),
                        (271, inst.lots_to_qty(qty)),
                    ]
                    count += 1
        head: list[tuple[int, bytes | str | int]] = [
            (262, req_id),
            (55, inst.symbol),
            (BOOK_SEQ_TAG, mirror.md_seq),
            (268, count),
        ]
        return encode_fields(head + entries)

    def _unsubscribe(self, session: FixSession, req_id: bytes) -> None:
        for symbol, subs in self.subs.items():
            self.subs[symbol] = [
                s for s in subs if not (s.session is session and s.req_id == req_id)
            ]

    def drop_session(self, session: FixSession) -> None:
        for symbol, subs in self.subs.items():
            self.subs[symbol] = [s for s in subs if s.session is not session]

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
            fields += [
                (55, symbol),
                (15, inst.quote),
                (561, str(inst.lot_size.normalize())),
                (562, inst.lots_to_qty(max(inst.min_qty, 1))),
            ]
        body = encode_fields(fields)
        self.host.defer(lambda: session.send("y", body))


def _inc_entries(mirror: _Mirror, rows: list[tuple[bytes, bytes, int, int, int]]) -> bytes:
    if not rows:
        return b""
    inst = mirror.inst
    fields: list[tuple[int, bytes | str | int]] = [(268, len(rows))]
    for action, entry, price, qty, md_seq in rows:
        fields += [
            (279, action),
            (269, entry),
            (55, inst.symbol),
            (270, inst.ticks_to_price(price)),
        ]
        if action != b"2":
            fields.append((271, inst.lots_to_qty(qty)))
        fields.append((83, md_seq))
    return encode_fields(fields)
