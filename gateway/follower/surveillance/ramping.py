"""Ramping and pump-and-dump: a price run-up that reverts while one owner profits.

Per instrument, on each trade: if the price is revert_bps or more below the highest
trade price of the last revert_window_us (the peak), and that peak was rise_bps or more
above the lowest price of the rise_window_us before it (the trough), the run-up and
its reversion are found. An owner is alerted when it was a net buyer in the
accumulation_us before the trough, sold after the trough, and its sales, matched
against those purchases, made a profit of at least min_notional of sales. Each peak
is judged once, at the first trade that shows the reversion. Only upward ramps are
covered (a spot venue: a downward raid needs inventory sold short first).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.events import Trade
from gateway.follower.surveillance.alerts import Kind, Severity, TradeRef
from gateway.follower.surveillance.rule import Rule, trade_ref

__all__ = ["RampParams", "Ramping"]

_HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class RampParams:
    """Thresholds in basis points of price, windows in microseconds of event time,
    min_notional in quote units; max_trades bounds the trades kept per instrument."""

    rise_bps: int = 2_000
    rise_window_us: int = 4 * _HOUR_US
    revert_bps: int = 1_500
    revert_window_us: int = 12 * _HOUR_US
    accumulation_us: int = 4 * _HOUR_US
    min_notional: int = 10_000 * 10**8
    max_trades: int = 100_000


@dataclass
class _Position:
    bought: int = 0
    bought_notional: int = 0
    sold: int = 0
    sold_notional: int = 0


class Ramping(Rule[RampParams]):
    name = "ramping"
    kind = Kind.MARKET_ABUSE
    severity = Severity.HIGH

    def setup(self) -> None:
        self._trades: dict[str, deque[TradeRef]] = {}
        self._peaks: dict[str, deque[TradeRef]] = {}  # decreasing prices: a window max
        self._judged: dict[str, int] = {}  # symbol -> trade id of the last peak judged

    def on_trade(self, ev: Trade) -> None:
        p = self.params.of(ev.symbol)
        ref = trade_ref(ev)
        trades = self._trades.setdefault(ev.symbol, deque())
        trades.append(ref)
        horizon = ev.ts_us - (p.accumulation_us + p.rise_window_us + p.revert_window_us)
        while trades and (trades[0].ts_us < horizon or len(trades) > p.max_trades):
            trades.popleft()
        peaks = self._peaks.setdefault(ev.symbol, deque())
        while peaks and peaks[-1].price <= ev.price:
            peaks.pop()
        peaks.append(ref)
        while peaks[0].ts_us < ev.ts_us - p.revert_window_us:
            peaks.popleft()
        peak = peaks[0]
        if (peak.price - ev.price) * 10_000 < p.revert_bps * peak.price:
            return
        if self._judged.get(ev.symbol) == peak.trade_id:
            return
        self._judged[ev.symbol] = peak.trade_id
        self._judge(ev.symbol, p, trades, peak, ref)

    def _judge(
        self, symbol: str, p: RampParams, trades: deque[TradeRef], peak: TradeRef, now: TradeRef
    ) -> None:
        rise = [
            t
            for t in trades
            if peak.ts_us - p.rise_window_us <= t.ts_us <= peak.ts_us and t.seq <= peak.seq
        ]
        if not rise:  # max_trades dropped the run-up: nothing left to judge it by
            return
        trough = min(rise, key=lambda t: (t.price, -t.seq))
        if (peak.price - trough.price) * 10_000 < p.rise_bps * trough.price:
            return
        before: dict[str, _Position] = {}
        after: dict[str, _Position] = {}
        evidence: dict[str, list[TradeRef]] = {}
        for t in trades:
            if t.ts_us < trough.ts_us - p.accumulation_us:
                continue
            book = before if (t.seq, t.trade_id) <= (trough.seq, trough.trade_id) else after
            for account, bought in ((t.buyer, True), (t.seller, False)):
                owner = self.parties.owner(account)
                pos = book.setdefault(owner, _Position())
                notional = self.market.notional(symbol, t.price, t.qty)
                if bought:
                    pos.bought += t.qty
                    pos.bought_notional += notional
                else:
                    pos.sold += t.qty
                    pos.sold_notional += notional
                evidence.setdefault(owner, []).append(t)
        for owner in sorted(before):
            acc = before[owner]
            dist = after.get(owner)
            net = acc.bought - acc.sold
            if net <= 0 or dist is None or not dist.sold:
                continue
            matched = min(net, dist.sold)
            sales = matched * dist.sold_notional // dist.sold
            cost = matched * acc.bought_notional // acc.bought
            if sales - cost <= 0 or sales < p.min_notional:
                continue
            refs = list({t.trade_id: t for t in [*evidence[owner], trough, peak, now]}.values())
            self.raise_alert(
                owner=owner,
                accounts={a for t in evidence[owner] for a in (t.buyer, t.seller)
                          if self.parties.owner(a) == owner},
                instrument=symbol,
                ts_us=now.ts_us,
                trades=refs,
                summary=(
                    f"price rose {(peak.price - trough.price) * 10_000 // trough.price} bps "
                    f"and fell back {(peak.price - now.price) * 10_000 // peak.price} bps "
                    f"while {owner} sold {matched} lots bought before the rise"
                ),
                facts={
                    "trough_price": trough.price,
                    "peak_price": peak.price,
                    "reverted_price": now.price,
                    "rise_bps": (peak.price - trough.price) * 10_000 // trough.price,
                    "revert_bps": (peak.price - now.price) * 10_000 // peak.price,
                    "matched_lots": matched,
                    "sales_notional": sales,
                    "profit_notional": sales - cost,
                    "min_rise_bps": p.rise_bps,
                    "min_revert_bps": p.revert_bps,
                    "min_notional": p.min_notional,
                },
            )  # fmt: skip
