"""Excessive order-to-trade and cancel ratios, per account and instrument.

Counted over fixed windows aligned on the epoch (window k covers [k*W, (k+1)*W) of
event time), and judged when event time passes the window's end: a window is only
judged whole. An order is a new order or a replace; a trade is an execution of the
account's order (either side); a cancel is one the account requested (mass cancels by
the venue, STP and expiries are not the account's doing).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import CloseReason, OrderAccepted, OrderClosed, OrderReplaced, Trade
from gateway.follower.surveillance.alerts import Kind, Severity
from gateway.follower.surveillance.market import OpenOrder
from gateway.follower.surveillance.rule import Rule

__all__ = ["OrderRatios", "RatioParams"]

_USER_CANCEL = int(CloseReason.USER_CANCEL)


@dataclass(frozen=True)
class RatioParams:
    """window_us: the window length. min_orders: windows with fewer orders are not
    judged. max_orders_per_trade: alert when orders > this x max(trades, 1).
    max_cancel_pct: alert when cancels x 100 > this x orders."""

    window_us: int = 3_600_000_000
    min_orders: int = 200
    max_orders_per_trade: int = 50
    max_cancel_pct: int = 95


@dataclass
class _Window:
    index: int
    first_seq: int
    last_seq: int = 0
    orders: int = 0
    trades: int = 0
    cancels: int = 0


class OrderRatios(Rule[RatioParams]):
    name = "order_ratios"
    kind = Kind.CONTROL
    severity = Severity.LOW

    def setup(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}
        self._next_close = 0

    def _window(self, account: str, symbol: str, seq: int, ts_us: int) -> _Window:
        w_us = self.params.of(symbol).window_us
        index = ts_us // w_us
        key = (account, symbol)
        window = self._windows.get(key)
        if window is None or window.index != index:
            if window is not None:
                self._judge(key, window)
            window = self._windows[key] = _Window(index, seq)
            end = (index + 1) * w_us
            self._next_close = min(self._next_close, end) if self._next_close else end
        window.last_seq = seq
        return window

    def on_accepted(self, ev: OrderAccepted, order: OpenOrder) -> None:
        self._window(ev.account, ev.symbol, ev.seq, ev.ts_us).orders += 1

    def on_replaced(self, ev: OrderReplaced, order: OpenOrder | None) -> None:
        self._window(ev.account, ev.symbol, ev.seq, ev.ts_us).orders += 1

    def on_trade(self, ev: Trade) -> None:
        self._window(ev.maker_account, ev.symbol, ev.seq, ev.ts_us).trades += 1
        self._window(ev.taker_account, ev.symbol, ev.seq, ev.ts_us).trades += 1

    def on_closed(self, ev: OrderClosed, order: OpenOrder | None) -> None:
        if ev.reason == _USER_CANCEL:
            self._window(ev.account, ev.symbol, ev.seq, ev.ts_us).cancels += 1

    def at(self, ts_us: int) -> None:
        if not self._next_close or ts_us < self._next_close:
            return
        self._next_close = 0
        for key, window in sorted(self._windows.items()):
            w_us = self.params.of(key[1]).window_us
            end = (window.index + 1) * w_us
            if end <= ts_us:
                del self._windows[key]
                self._judge(key, window)
            else:
                self._next_close = min(self._next_close, end) if self._next_close else end

    def _judge(self, key: tuple[str, str], w: _Window) -> None:
        account, symbol = key
        p = self.params.of(symbol)
        if w.orders < p.min_orders:
            return
        exceeded = []
        if w.orders > p.max_orders_per_trade * max(w.trades, 1):
            exceeded.append("order_to_trade")
        if w.cancels * 100 > p.max_cancel_pct * w.orders:
            exceeded.append("cancel")
        if not exceeded:
            return
        self.raise_alert(
            owner=self.parties.owner(account),
            accounts=(account,),
            instrument=symbol,
            ts_us=(w.index + 1) * p.window_us,
            seqs=(w.first_seq, w.last_seq),
            summary=(
                f"{account}: {w.orders} orders, {w.trades} trades, {w.cancels} cancels "
                f"in {p.window_us // 1_000_000} s ({' and '.join(exceeded)} ratio)"
            ),
            facts={
                "exceeded": ",".join(exceeded),
                "orders": w.orders,
                "trades": w.trades,
                "cancels": w.cancels,
                "window_start_us": w.index * p.window_us,
                "window_us": p.window_us,
                "min_orders": p.min_orders,
                "max_orders_per_trade": p.max_orders_per_trade,
                "max_cancel_pct": p.max_cancel_pct,
            },
        )
