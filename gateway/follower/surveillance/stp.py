"""Self-trade prevention counts: how often an account's orders met its own per UTC day.

STP stopping a self-trade is the control working, but a desk or algorithm that keeps
crossing itself is the pattern regulators want reviewed and fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import SelfTradePrevented
from gateway.follower.surveillance.alerts import Kind, OrderRef, Severity
from gateway.follower.surveillance.market import DAY_US
from gateway.follower.surveillance.rule import Rule

__all__ = ["StpCounts", "StpParams"]


@dataclass(frozen=True)
class StpParams:
    """max_per_day: prevented self-trades per account, instrument and UTC day that are
    tolerated; the next one raises the alert (one per account, instrument and day)."""

    max_per_day: int = 50


class StpCounts(Rule[StpParams]):
    name = "self_trade_prevention"
    kind = Kind.CONTROL
    severity = Severity.LOW

    def setup(self) -> None:
        self._day = -1
        self._seen: dict[tuple[str, str], list[OrderRef]] = {}
        self._alerted: set[tuple[str, str]] = set()

    def at(self, ts_us: int) -> None:
        day = ts_us // DAY_US
        if day != self._day:
            self._day = day
            self._seen.clear()
            self._alerted.clear()

    def on_stp(self, ev: SelfTradePrevented) -> None:
        key = (ev.account, ev.symbol)
        if key in self._alerted:
            return
        seen = self._seen.setdefault(key, [])
        for order_id, action in (
            (ev.taker_order_id, "stp_taker"),
            (ev.maker_order_id, "stp_maker"),
        ):
            order = self.market.orders.get(order_id)
            side, price = (order.side, order.price) if order is not None else (0, 0)
            seen.append(
                OrderRef(order_id, ev.seq, ev.ts_us, ev.account, side, price, ev.qty, 0, action)
            )
        limit = self.params.of(ev.symbol).max_per_day
        count = len(seen) // 2
        if count <= limit:
            return
        self._alerted.add(key)
        del self._seen[key]
        self.raise_alert(
            owner=self.parties.owner(ev.account),
            accounts=(ev.account,),
            instrument=ev.symbol,
            ts_us=ev.ts_us,
            orders=seen,
            summary=f"{count} self-trades prevented for {ev.account} in one UTC day",
            facts={"count": count, "max_per_day": limit, "day": ev.ts_us // DAY_US},
        )
