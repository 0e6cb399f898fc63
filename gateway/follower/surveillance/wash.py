"""Wash trades: the same beneficial owner (or declared group) on both sides of trades.

A trade between an account and itself, or between accounts with one owner or one
declared group, changes no beneficial ownership. One such trade can be an accident
(STP off); a run of them in a day with real notional is the pattern to review.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import Trade
from gateway.follower.surveillance.alerts import Kind, Severity, TradeRef
from gateway.follower.surveillance.market import DAY_US
from gateway.follower.surveillance.rule import PRUNE_EVERY_US, Rule, trade_ref

__all__ = ["WashParams", "WashTrades"]


@dataclass(frozen=True)
class WashParams:
    """window_us: trades older than this before the newest one stop counting.
    min_count: trades with no change of owner inside the window.
    min_notional: their summed notional, in quote units (10**-8 of the quote asset)."""

    window_us: int = DAY_US
    min_count: int = 3
    min_notional: int = 10_000 * 10**8


class WashTrades(Rule[WashParams]):
    """Alerts per (link, instrument) once the window holds min_count trades and
    min_notional; those trades then leave the window (one alert per set of trades).

    Trades of one account with itself are a control alert (medium): generally bona
    fide, a pattern to review and prevent with STP. Trades between different accounts
    of one owner or group are a market-abuse alert (high): nothing but intent explains
    routing both sides through separate accounts."""

    name = "wash_trades"
    kind = Kind.MARKET_ABUSE
    severity = Severity.HIGH

    def setup(self) -> None:
        self._runs: dict[tuple[str, str], list[tuple[TradeRef, int]]] = {}
        self._next_prune = 0

    def on_trade(self, ev: Trade) -> None:
        link = self.parties.link(ev.maker_account)
        if link != self.parties.link(ev.taker_account):
            return
        p = self.params.of(ev.symbol)
        key = (link, ev.symbol)
        run = self._runs.setdefault(key, [])
        run.append((trade_ref(ev), self.market.notional(ev.symbol, ev.price, ev.qty)))
        run[:] = [(t, n) for t, n in run if t.ts_us > ev.ts_us - p.window_us]
        notional = sum(n for _, n in run)
        if len(run) < p.min_count or notional < p.min_notional:
            return
        del self._runs[key]
        trades = [t for t, _ in run]
        accounts = {t.buyer for t in trades} | {t.seller for t in trades}
        same_account = all(t.buyer == t.seller for t in trades)
        self.raise_alert(
            owner=link,
            accounts=accounts,
            instrument=ev.symbol,
            ts_us=ev.ts_us,
            trades=trades,
            summary=(
                f"{len(trades)} trades with no change of beneficial owner ({link}) "
                f"within {p.window_us // 1_000_000} s"
            ),
            facts={
                "count": len(trades),
                "notional": notional,
                "same_account": "yes" if same_account else "no",
                "min_count": p.min_count,
                "min_notional": p.min_notional,
                "window_us": p.window_us,
            },
            severity=Severity.MEDIUM if same_account else Severity.HIGH,
            kind=Kind.CONTROL if same_account else Kind.MARKET_ABUSE,
        )

    def at(self, ts_us: int) -> None:
        """Drop runs whose every trade has left its window (bounded state), once a minute."""
        if ts_us < self._next_prune:
            return
        self._next_prune = ts_us + PRUNE_EVERY_US
        for (link, symbol), run in list(self._runs.items()):
            if run[-1][0].ts_us <= ts_us - self.params.of(symbol).window_us:
                del self._runs[(link, symbol)]
