"""The rule interface and per-instrument thresholds.

A rule sees each event after the market state took it in (orders it names are still
there: closed and filled orders leave only after every rule saw the event; a replace
is seen before it is applied, so the order still has its old values), keeps its own
bounded state, and appends the alerts it raises to a shared sink. Rules read no
clock: time is the events' ts_us, and ``at(ts_us)`` tells them time moved.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from engine.events import (
    OrderAccepted,
    OrderClosed,
    OrderReplaced,
    SelfTradePrevented,
    Trade,
    VenueEvent,
)
from gateway.follower.surveillance.alerts import (
    Alert,
    Kind,
    OrderRef,
    Severity,
    TradeRef,
    alert_id,
)
from gateway.follower.surveillance.market import BUY, Market, OpenOrder
from gateway.follower.surveillance.params import PerInstrument
from gateway.follower.surveillance.parties import Parties

__all__ = ["PRUNE_EVERY_US", "PerInstrument", "Rule", "order_ref", "trade_ref"]

#: how often a rule sweeps state that time made stale (event time, not a clock)
PRUNE_EVERY_US = 60_000_000

P = TypeVar("P")


class Rule(Generic[P]):
    """Base: every hook does nothing. Subclasses set name, kind and severity."""

    name: ClassVar[str]
    kind: ClassVar[Kind]
    severity: ClassVar[Severity]

    def __init__(
        self, params: PerInstrument[P], market: Market, parties: Parties, sink: list[Alert]
    ) -> None:
        self.params = params
        self.market = market
        self.parties = parties
        self._sink = sink
        self.setup()

    def setup(self) -> None:
        """Create the rule's own state (called once by __init__)."""

    def at(self, ts_us: int) -> None:
        """Time reached ts_us (before the events of a command stamped ts_us)."""

    def on_accepted(self, ev: OrderAccepted, order: OpenOrder) -> None: ...

    def on_trade(self, ev: Trade) -> None: ...

    def on_closed(self, ev: OrderClosed, order: OpenOrder | None) -> None: ...

    def on_replaced(self, ev: OrderReplaced, order: OpenOrder | None) -> None: ...

    def on_stp(self, ev: SelfTradePrevented) -> None: ...

    def on_venue(self, ev: VenueEvent) -> None:
        """An operator-side or perpetual event (perp.mark, perp.funding, ...)."""

    def end_command(self, seq: int) -> None:
        """Every event of command seq has been seen."""

    def raise_alert(
        self,
        *,
        owner: str,
        accounts: set[str] | tuple[str, ...],
        instrument: str,
        ts_us: int,
        orders: list[OrderRef] | tuple[OrderRef, ...] = (),
        trades: list[TradeRef] | tuple[TradeRef, ...] = (),
        seqs: tuple[int, int] | None = None,
        summary: str,
        facts: dict[str, int | str],
        severity: Severity | None = None,
        kind: Kind | None = None,
    ) -> None:
        orders = tuple(sorted(orders, key=lambda o: (o.seq, o.order_id, o.action)))
        trades = tuple(sorted(trades, key=lambda t: (t.seq, t.trade_id)))
        all_seqs = [o.seq for o in orders] + [t.seq for t in trades]
        first, last = seqs if seqs is not None else (min(all_seqs), max(all_seqs))
        order_ids = tuple(o.order_id for o in orders)
        trade_ids = tuple(t.trade_id for t in trades)
        self._sink.append(
            Alert(
                alert_id=alert_id(self.name, instrument, owner, first, last, order_ids, trade_ids),
                rule=self.name,
                kind=kind or self.kind,
                severity=severity or self.severity,
                owner=owner,
                accounts=tuple(sorted(accounts)),
                instrument=instrument,
                ts_us=ts_us,
                first_seq=first,
                last_seq=last,
                orders=orders,
                trades=trades,
                summary=summary,
                facts=tuple(sorted(facts.items())),
            )
        )


def order_ref(order: OpenOrder, action: str, seq: int, ts_us: int, filled: int) -> OrderRef:
    return OrderRef(
        order.order_id, seq, ts_us, order.account, order.side, order.price, order.qty, filled,
        action,
    )  # fmt: skip


def trade_ref(ev: Trade) -> TradeRef:
    if ev.taker_side == BUY:
        buyer, seller = ev.taker_account, ev.maker_account
    else:
        buyer, seller = ev.maker_account, ev.taker_account
    return TradeRef(
        ev.trade_id, ev.seq, ev.ts_us, ev.price, ev.qty, buyer, seller, ev.taker_account
    )
