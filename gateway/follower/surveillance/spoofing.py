"""Spoofing and layering: large orders near the touch that are not meant to trade.

The pattern: an owner rests one or more large orders (the bait) at or near the touch
on one side, trades on the other side while the bait stands, then cancels the bait
within a short window with little of it filled. Layering is the same with the bait
spread over several orders or levels; the orders canceled by one command form one
alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from engine.events import OrderAccepted, OrderCanceled, OrderClosed, OrderReplaced, Trade
from engine.model import OrdType
from gateway.follower.surveillance.alerts import Kind, OrderRef, Severity, TradeRef
from gateway.follower.surveillance.market import BUY, OpenOrder
from gateway.follower.surveillance.rule import Rule, order_ref, trade_ref

__all__ = ["SpoofParams", "Spoofing"]

_LIMIT = int(OrdType.LIMIT)


@dataclass(frozen=True)
class SpoofParams:
    """A bait is a resting limit order that, when placed, is all of:
    - within near_touch_bps of its own side's best price (or better; against the other
      side's best when its own side is empty);
    - at least bait_touch_pct % of the quantity then at its own side's best level,
      not counting the owner's own baits there (layers stacked behind one another);
    - at least bait_adv_bps of the 7-day average daily volume (while there is one);
    - at least min_bait_notional quote units;
    - with the owner's other baits on that side, at least min_side_share_pct % of the
      side's quantity within near_touch_bps of the touch (the book imbalance it makes).
    It is a spoof when it is canceled within cancel_window_us after a trade of the same
    owner on the other side placed after it, having filled at most max_bait_fill_pct %,
    and the unfilled bait canceled is at least bait_to_trade_pct % of that trading."""

    near_touch_bps: int = 10
    bait_touch_pct: int = 300
    bait_adv_bps: int = 100
    min_bait_notional: int = 10_000 * 10**8
    cancel_window_us: int = 5_000_000
    bait_to_trade_pct: int = 500
    max_bait_fill_pct: int = 10
    min_side_share_pct: int = 50


@dataclass
class _Episode:
    baits: list[OrderRef] = field(default_factory=list)
    trades: dict[int, TradeRef] = field(default_factory=dict)
    traded: int = 0  # lots the owner traded on the other side
    unfilled: int = 0  # lots of bait canceled
    cancel_after_us: int = 0


@dataclass
class _Bait:
    order: OpenOrder  # the live order (the market updates it)
    since: OrderRef  # the order as it became a bait (placed, or enlarged by a replace)


class Spoofing(Rule[SpoofParams]):
    name = "spoofing_layering"
    kind = Kind.MARKET_ABUSE
    severity = Severity.HIGH

    def setup(self) -> None:
        self._baits: dict[int, _Bait] = {}
        self._live: dict[tuple[str, str, int], int] = {}  # (owner, symbol, side) -> baits
        self._executions: dict[tuple[str, str, int], list[tuple[TradeRef, int]]] = {}
        self._episodes: dict[tuple[str, str, int], _Episode] = {}

    def on_accepted(self, ev: OrderAccepted, order: OpenOrder) -> None:
        if ev.ord_type == _LIMIT and self._large(order, order.price, order.qty, None):
            self._add(order, order_ref(order, "placed", ev.seq, ev.ts_us, 0))

    def on_replaced(self, ev: OrderReplaced, order: OpenOrder | None) -> None:
        """Called before the market applies the replace: order still has its old values.
        A bait stays one while it stays near the touch and large in notional (its size
        against the touch was judged when it became one); an order enlarged or moved into
        a bait's position becomes one from this replace on."""
        if order is None:
            return
        if order.order_id in self._baits:
            if not self._near(order.symbol, order.side, ev.price, ev.qty):
                self._drop(order.order_id)
            return
        if self._large(order, ev.price, ev.qty, (order.price, order.qty - order.filled)):
            ref = OrderRef(
                order.order_id,
                ev.seq,
                ev.ts_us,
                order.account,
                order.side,
                ev.price,
                ev.qty,
                ev.filled,
                "enlarged",
            )
            self._add(order, ref)

    def _add(self, order: OpenOrder, since: OrderRef) -> None:
        self._baits[order.order_id] = _Bait(order, since)
        key = (order.owner, order.symbol, order.side)
        self._live[key] = self._live.get(key, 0) + 1

    def _near(self, symbol: str, side: int, price: int, qty: int) -> bool:
        """At or within near_touch_bps of the touch, and at least min_bait_notional."""
        p = self.params.of(symbol)
        market = self.market
        if market.notional(symbol, price, qty) < p.min_bait_notional:
            return False
        reference, _ = market.best(symbol, side)
        if not reference:
            reference, _ = market.best(symbol, 3 - side)
            if not reference:
                return False
        gap = reference - price if side == BUY else price - reference
        return gap * 10_000 <= p.near_touch_bps * reference

    def _large(self, order: OpenOrder, price: int, qty: int, old: tuple[int, int] | None) -> bool:
        """A bait: near the touch; large against what others show at the touch, against
        the ADV, and against the side's depth near the touch (with the owner's other
        baits: the imbalance it makes). old is the (price, leaves) a replaced order
        still shows in the book, which is not someone else's."""
        if not self._near(order.symbol, order.side, price, qty):
            return False
        p = self.params.of(order.symbol)
        market = self.market
        side = order.side
        mine = [
            b.order
            for b in self._baits.values()
            if (b.order.owner, b.order.symbol, b.order.side) == (order.owner, order.symbol, side)
        ]
        if old is not None:
            mine.append(replace(order, price=old[0], qty=old[1], filled=0))
        best, best_qty = market.best(order.symbol, side)
        own_at_best = sum(o.qty - o.filled for o in mine if o.price == best)
        if qty * 100 < p.bait_touch_pct * max(best_qty - own_at_best, 0):
            return False
        adv = market.adv(order.symbol, order.ts_us)
        if adv and qty * 10_000 < p.bait_adv_bps * adv:
            return False
        touch = (max(best, price) if side == BUY else min(best, price)) if best else price
        band = touch * p.near_touch_bps // 10_000
        edge = touch - band if side == BUY else touch + band
        depth = market.depth(order.symbol, side, edge)
        ours = sum(
            o.qty - o.filled for o in mine if (o.price >= edge if side == BUY else o.price <= edge)
        )
        others = max(depth - ours, 0)
        own_baits = ours - (
            old[1] if old is not None and (old[0] >= edge if side == BUY else old[0] <= edge) else 0
        )
        return (qty + own_baits) * 100 >= p.min_side_share_pct * (qty + own_baits + others)

    def on_trade(self, ev: Trade) -> None:
        taker_side = ev.taker_side
        for account, side, order_id, leaves in (
            (ev.taker_account, taker_side, ev.taker_order_id, ev.taker_leaves),
            (ev.maker_account, 3 - taker_side, ev.maker_order_id, ev.maker_leaves),
        ):
            owner = self.parties.owner(account)
            if self._live.get((owner, ev.symbol, 3 - side)):
                window = self.params.of(ev.symbol).cancel_window_us
                runs = self._executions.setdefault((owner, ev.symbol, side), [])
                runs[:] = [r for r in runs if r[0].ts_us >= ev.ts_us - window]
                runs.append((trade_ref(ev), ev.qty))
            if not leaves:
                self._drop(order_id)

    def on_closed(self, ev: OrderClosed, order: OpenOrder | None) -> None:
        bait = self._baits.get(ev.order_id)
        if bait is None:
            return
        if isinstance(ev, OrderCanceled):
            self._canceled(ev, bait)
        self._drop(ev.order_id)

    def _canceled(self, ev: OrderCanceled, entry: _Bait) -> None:
        bait, since = entry.order, entry.since
        p = self.params.of(bait.symbol)
        if ev.filled * 100 > p.max_bait_fill_pct * bait.qty:
            return
        key = (bait.owner, bait.symbol, 3 - bait.side)
        trades = [
            (t, qty)
            for t, qty in self._executions.get(key, ())
            if t.seq > since.seq and t.ts_us >= ev.ts_us - p.cancel_window_us
        ]
        if not trades:
            return
        episode = self._episodes.setdefault((bait.owner, bait.symbol, bait.side), _Episode())
        episode.baits.append(since)
        episode.baits.append(order_ref(bait, "canceled", ev.seq, ev.ts_us, ev.filled))
        episode.unfilled += ev.qty
        for t, qty in trades:
            if t.trade_id not in episode.trades:
                episode.trades[t.trade_id] = t
                episode.traded += qty
        latest = max(t.ts_us for t, _ in trades)
        episode.cancel_after_us = max(episode.cancel_after_us, ev.ts_us - latest)

    def _drop(self, order_id: int) -> None:
        entry = self._baits.pop(order_id, None)
        if entry is not None:
            bait = entry.order
            key = (bait.owner, bait.symbol, bait.side)
            left = self._live[key] - 1
            if left:
                self._live[key] = left
            else:
                del self._live[key]
                self._executions.pop((bait.owner, bait.symbol, 3 - bait.side), None)

    def end_command(self, seq: int) -> None:
        episodes, self._episodes = self._episodes, {}
        for (owner, symbol, side), ep in sorted(episodes.items()):
            p = self.params.of(symbol)
            if ep.unfilled * 100 < p.bait_to_trade_pct * ep.traded:
                continue
            layers = len(ep.baits) // 2
            trades = list(ep.trades.values())
            accounts = {o.account for o in ep.baits} | {
                a for t in trades for a in (t.buyer, t.seller) if self.parties.owner(a) == owner
            }
            self.raise_alert(
                owner=owner,
                accounts=accounts,
                instrument=symbol,
                ts_us=max(o.ts_us for o in ep.baits),
                orders=ep.baits,
                trades=trades,
                summary=(
                    f"{layers} large {'buy' if side == BUY else 'sell'} order(s) canceled "
                    f"{ep.cancel_after_us // 1000} ms after {owner} traded the other side"
                ),
                facts={
                    "layers": layers,
                    "bait_unfilled_lots": ep.unfilled,
                    "traded_lots": ep.traded,
                    "bait_to_trade_pct": ep.unfilled * 100 // ep.traded,
                    "cancel_after_us": ep.cancel_after_us,
                    "cancel_window_us": p.cancel_window_us,
                    "min_bait_to_trade_pct": p.bait_to_trade_pct,
                },
            )
