"""Marking the close: aggressive trading just before a reference time that moves the
reference (last) price.

Reference times are UTC times of day (the daily close; mark and funding samples are
more entries). For each instrument and reference time R, the trades of [R - window_us,
R) are judged once event time reaches R: when the last price moved at least
min_move_bps from the last price before the window, every owner whose aggressive
(taker) trades in the direction of the move are at least min_share_pct % of all such
trades in the window, for at least min_notional, is alerted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.events import Trade
from gateway.follower.surveillance.alerts import Kind, Severity, TradeRef
from gateway.follower.surveillance.market import DAY_US
from gateway.follower.surveillance.rule import Rule, trade_ref

__all__ = ["MarkParams", "MarkingTheClose"]


@dataclass(frozen=True)
class MarkParams:
    """reference_times_us: UTC times of day in microseconds after midnight."""

    reference_times_us: tuple[int, ...] = (0,)
    window_us: int = 600_000_000
    min_move_bps: int = 100
    min_share_pct: int = 50
    min_notional: int = 1_000 * 10**8


@dataclass
class _Window:
    base: int
    trades: list[TradeRef] = field(default_factory=list)


class MarkingTheClose(Rule[MarkParams]):
    name = "marking_the_close"
    kind = Kind.MARKET_ABUSE
    severity = Severity.MEDIUM

    def setup(self) -> None:
        self._last: dict[str, int] = {}
        self._windows: dict[tuple[int, str], _Window] = {}  # (reference time, symbol)

    def on_trade(self, ev: Trade) -> None:
        p = self.params.of(ev.symbol)
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


def _next_reference(ts_us: int, times: tuple[int, ...]) -> int | None:
    """The first reference time strictly after ts_us."""
    if not times:
        return None
    day, tod = divmod(ts_us, DAY_US)
    later = [t for t in times if t > tod]
    return day * DAY_US + min(later) if later else (day + 1) * DAY_US + min(times)
