"""Marking the close: aggressive trading just before a reference time that moves the
reference price.

Spot: reference times are UTC times of day (the daily close by default). For each
instrument and reference time R, the trades of [R - window_us, R) are judged once
event time reaches R: the reference is the last trade price.

Perpetuals: the reference that matters is the mark, and at a funding settlement the
premium it carries over the index (what the funding rate is made of). Their reference
times are the configured times of day and every funding settlement, taken from the
stream (the ``perp.funding`` event, not a clock: a settlement happens at the tick that
settles it). The move judged is that of the mark's premium over the index, so a mark
that only follows the index is no move. Premium samples are not events of their own;
the mark's premium is their visible trace. Each trade is judged at most once, at the
first reference it precedes; the engine's own liquidation orders are not anyone's
aggression.

For both: when the reference moved at least the threshold from before the window,
every owner whose aggressive (taker) trades in the direction of the move are at least
min_share_pct % of all such trades in the window, for at least min_notional, is
alerted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

from engine.events import Trade, VenueEvent
from engine.perp.state import INTERNAL_ORDER_IDS
from gateway.follower.surveillance.alerts import Kind, OrderRef, Severity, TradeRef
from gateway.follower.surveillance.market import DAY_US
from gateway.follower.surveillance.rule import Rule, order_ref, trade_ref

__all__ = ["MarkParams", "MarkingTheClose"]


@dataclass(frozen=True)
class MarkParams:
    """reference_times_us: UTC times of day in microseconds after midnight; the
    premium move is in basis points of the index; max_trades bounds the trades a
    perpetual keeps waiting for its next settlement."""

    reference_times_us: tuple[int, ...] = (0,)
    window_us: int = 600_000_000
    min_move_bps: int = 100
    min_premium_move_bps: int = 25
    min_share_pct: int = 50
    min_notional: int = 1_000 * 10**8
    max_trades: int = 10_000


@dataclass
class _Window:
    base: int
    trades: list[TradeRef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _PerpTrade:
    """A perpetual's trade, the mark and index in force before it, its taker order."""

    ref: TradeRef
    mark: int
    index: int
    order: OrderRef | None


@dataclass
class _Perp:
    mark: int = 0
    index: int = 0
    trades: deque[_PerpTrade] = field(default_factory=deque)
    due: set[int] = field(default_factory=set)  # times of day its trades wait for


class MarkingTheClose(Rule[MarkParams]):
    name = "marking_the_close"
    kind = Kind.MARKET_ABUSE
    severity = Severity.MEDIUM

    def setup(self) -> None:
        self._last: dict[str, int] = {}
        self._windows: dict[tuple[int, str], _Window] = {}  # (reference time, symbol)
        self._perps: dict[str, _Perp] = {}

    def on_venue(self, ev: VenueEvent) -> None:
        if ev.kind not in _SYMBOL_KINDS:
            return
        perp = self._perp(ev.subject)
        data = ev.data
        if ev.kind == "perp.mark":
            perp.mark = _int(data.get("mark"))
            perp.index = _int(data.get("index"))
        elif ev.kind == "perp.index":
            perp.index = _int(data.get("index"))
        elif ev.kind == "perp.funding":
            perp.mark = _int(data.get("mark")) or perp.mark
            facts: dict[str, int | str] = {
                "reference": "funding",
                "funding_rate": _int(data.get("rate")),
                "funding_us": _int(data.get("funding_us")),
            }
            self._judge_perp(ev.subject, perp, ev.ts_us, ev.seq, facts)

    def on_trade(self, ev: Trade) -> None:
        p = self.params.of(ev.symbol)
        perp = self._perps.get(ev.symbol)
        if perp is not None:
            self._perp_trade(ev, p, perp)
            return
        before = self._last.get(ev.symbol, ev.price)
        self._last[ev.symbol] = ev.price
        ref = _next_reference(ev.ts_us, p.reference_times_us)
        if ref is None or ev.ts_us < ref - p.window_us:
            return
        window = self._windows.setdefault((ref, ev.symbol), _Window(before))
        window.trades.append(trade_ref(ev))

    def at(self, ts_us: int) -> None:
        for key in sorted(k for k in self._windows if k[0] <= ts_us):
            self._judge(key[0], key[1], self._windows.pop(key))
        for symbol, perp in sorted(self._perps.items()):
            for ref in sorted(r for r in perp.due if r <= ts_us):
                perp.due.discard(ref)
                self._judge_perp(symbol, perp, ref, 0, {"reference": "time_of_day"})

    def _perp(self, symbol: str) -> _Perp:
        perp = self._perps.get(symbol)
        if perp is None:  # a spot window it had before is dropped: its reference is the mark
            perp = self._perps[symbol] = _Perp()
            for key in [k for k in self._windows if k[1] == symbol]:
                del self._windows[key]
        return perp

    def _perp_trade(self, ev: Trade, p: MarkParams, perp: _Perp) -> None:
        if ev.taker_order_id >= INTERNAL_ORDER_IDS:  # a liquidation: forced, not chosen
            return
        taker = self.market.orders.get(ev.taker_order_id)
        order = None if taker is None else order_ref(taker, "placed", taker.seq, taker.ts_us, 0)
        trades = perp.trades
        trades.append(_PerpTrade(trade_ref(ev), perp.mark, perp.index, order))
        while trades and (
            trades[0].ref.ts_us < ev.ts_us - p.window_us or len(trades) > p.max_trades
        ):
            trades.popleft()
        ref = _next_reference(ev.ts_us, p.reference_times_us)
        if ref is not None and ev.ts_us >= ref - p.window_us:
            perp.due.add(ref)

    def _judge_perp(
        self, symbol: str, perp: _Perp, ref: int, seq: int, facts: dict[str, int | str]
    ) -> None:
        """Judge the trades of [ref - window_us, ref) against the mark at ref; every
        trade before ref is then done with (judged here or too old for any window)."""
        p = self.params.of(symbol)
        trades = perp.trades
        window = [t for t in trades if ref - p.window_us <= t.ref.ts_us < ref]
        while trades and trades[0].ref.ts_us < ref:
            trades.popleft()
        if not window or not (window[0].mark and window[0].index and perp.mark and perp.index):
            return
        first = window[0]
        before = Fraction(first.mark - first.index, first.index)
        after = Fraction(perp.mark - perp.index, perp.index)
        move_bps = int((after - before) * 10_000)
        if abs(move_bps) < p.min_premium_move_bps:
            return
        up = move_bps > 0
        pushing = [t for t in window if (t.ref.aggressor == t.ref.buyer) == up]
        total = sum(t.ref.qty for t in pushing)
        by_owner: dict[str, list[_PerpTrade]] = {}
        for t in pushing:
            by_owner.setdefault(self.parties.owner(t.ref.aggressor), []).append(t)
        for owner, mine in sorted(by_owner.items()):
            qty = sum(t.ref.qty for t in mine)
            notional = sum(self.market.notional(symbol, t.ref.price, t.ref.qty) for t in mine)
            if qty * 100 < p.min_share_pct * total or notional < p.min_notional:
                continue
            refs = [t.ref for t in mine]
            orders = list({t.order.order_id: t.order for t in mine if t.order}.values())
            last_seq = max(seq, *(t.seq for t in refs))
            what = "funding settlement" if facts["reference"] == "funding" else "reference time"
            self.raise_alert(
                owner=owner,
                accounts={t.aggressor for t in refs},
                instrument=symbol,
                ts_us=ref,
                orders=orders,
                trades=refs,
                seqs=(min(t.seq for t in refs), last_seq),
                summary=(
                    f"{owner} made {qty * 100 // total} % of the aggressive "
                    f"{'buying' if up else 'selling'} in the {p.window_us // 60_000_000} min "
                    f"before the {what}; the mark's premium over the index moved "
                    f"{move_bps} bps"
                ),
                facts={
                    **facts,
                    "reference_ts_us": ref,
                    "mark_before": first.mark,
                    "index_before": first.index,
                    "mark_at_reference": perp.mark,
                    "index_at_reference": perp.index,
                    "premium_before_bps": int(before * 10_000),
                    "premium_at_reference_bps": int(after * 10_000),
                    "move_bps": move_bps,
                    "share_pct": qty * 100 // total,
                    "aggressive_notional": notional,
                    "min_premium_move_bps": p.min_premium_move_bps,
                    "min_share_pct": p.min_share_pct,
                    "window_us": p.window_us,
                },
            )

    def _judge(self, ref: int, symbol: str, window: _Window) -> None:
        p = self.params.of(symbol)
        close = window.trades[-1].price
        move_bps = (close - window.base) * 10_000 // window.base
        if abs(move_bps) < p.min_move_bps:
            return
        up = close > window.base
        pushing = [t for t in window.trades if (t.aggressor == t.buyer) == up]
        total = sum(t.qty for t in pushing)
        by_owner: dict[str, list[TradeRef]] = {}
        for t in pushing:
            by_owner.setdefault(self.parties.owner(t.aggressor), []).append(t)
        for owner, trades in sorted(by_owner.items()):
            qty = sum(t.qty for t in trades)
            notional = sum(self.market.notional(symbol, t.price, t.qty) for t in trades)
            if qty * 100 < p.min_share_pct * total or notional < p.min_notional:
                continue
            self.raise_alert(
                owner=owner,
                accounts={t.aggressor for t in trades},
                instrument=symbol,
                ts_us=ref,
                trades=trades,
                summary=(
                    f"{owner} made {qty * 100 // total} % of the aggressive "
                    f"{'buying' if up else 'selling'} in the {p.window_us // 60_000_000} min "
                    f"before the reference time; the last price moved {move_bps} bps"
                ),
                facts={
                    "reference_ts_us": ref,
                    "price_before": window.base,
                    "price_at_reference": close,
                    "move_bps": move_bps,
                    "share_pct": qty * 100 // total,
                    "aggressive_notional": notional,
                    "min_move_bps": p.min_move_bps,
                    "min_share_pct": p.min_share_pct,
                    "window_us": p.window_us,
                },
            )


#: the perp.* events whose subject is a perpetual's symbol (the others name an account)
_SYMBOL_KINDS = frozenset(
    {"perp.instrument", "perp.index", "perp.mark", "perp.funding", "perp.halt", "perp.insurance"}
)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _next_reference(ts_us: int, times: tuple[int, ...]) -> int | None:
    """The first reference time strictly after ts_us."""
    if not times:
        return None
    day, tod = divmod(ts_us, DAY_US)
    later = [t for t in times if t > tod]
    return day * DAY_US + min(later) if later else (day + 1) * DAY_US + min(times)
