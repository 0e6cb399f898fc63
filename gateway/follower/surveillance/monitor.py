"""The surveillance engine: committed events in, alerts out, deterministically.

It runs in the journal follower, on the events its own Engine replays, never on the
order path. It reads no clock (time is the events' ts_us) and keeps only bounded state,
so the same events always raise the same alerts: live, after a restart from the start
of the journal, or on an analyst's replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from engine.events import (
    BookDelta,
    Event,
    OrderAccepted,
    OrderClosed,
    OrderReplaced,
    SelfTradePrevented,
    Trade,
    VenueEvent,
)
from gateway.follower.surveillance.alerts import Alert
from gateway.follower.surveillance.market import Market
from gateway.follower.surveillance.marking import MarkingTheClose, MarkParams
from gateway.follower.surveillance.parties import Parties
from gateway.follower.surveillance.ramping import Ramping, RampParams
from gateway.follower.surveillance.ratios import OrderRatios, RatioParams
from gateway.follower.surveillance.rule import PerInstrument, Rule
from gateway.follower.surveillance.spoofing import Spoofing, SpoofParams
from gateway.follower.surveillance.stp import StpCounts, StpParams
from gateway.follower.surveillance.wash import WashParams, WashTrades

__all__ = ["RULES", "Surveillance", "SurveillanceConfig"]

#: Each rule by its SurveillanceConfig field (and [surveillance] config table).
RULES: dict[str, type[Rule[Any]]] = {
    "wash": WashTrades,
    "stp": StpCounts,
    "spoofing": Spoofing,
    "ratios": OrderRatios,
    "ramping": Ramping,
    "marking": MarkingTheClose,
}


@dataclass(frozen=True)
class SurveillanceConfig:
    """Every rule's thresholds (defaults and per-instrument overrides) and which run."""

    wash: PerInstrument[WashParams] = field(default_factory=lambda: PerInstrument(WashParams()))
    stp: PerInstrument[StpParams] = field(default_factory=lambda: PerInstrument(StpParams()))
    spoofing: PerInstrument[SpoofParams] = field(
        default_factory=lambda: PerInstrument(SpoofParams())
    )
    ratios: PerInstrument[RatioParams] = field(default_factory=lambda: PerInstrument(RatioParams()))
    ramping: PerInstrument[RampParams] = field(default_factory=lambda: PerInstrument(RampParams()))
    marking: PerInstrument[MarkParams] = field(default_factory=lambda: PerInstrument(MarkParams()))
    disabled: frozenset[str] = frozenset()  # rule names not to run


class Surveillance:
    """Feed it each command's events, in (seq, idx) order; it returns the new alerts.

    Events at or before the last position seen are skipped, so a follower that resumes
    from an earlier point (at-least-once delivery) raises nothing twice.
    """

    def __init__(
        self,
        config: SurveillanceConfig | None = None,
        *,
        owners: Mapping[str, str] | None = None,
        groups: Mapping[str, Iterable[str]] | None = None,
        quote_per_tick_lot: Mapping[str, int] | None = None,
    ) -> None:
        config = config or SurveillanceConfig()
        self.parties = Parties(owners, groups)
        self.market = Market(quote_per_tick_lot)
        self._sink: list[Alert] = []
        args = (self.market, self.parties, self._sink)
        rules = [cls(getattr(config, table), *args) for table, cls in RULES.items()]
        self.rules = [r for r in rules if r.name not in config.disabled]
        self._pos = (0, -1)
        self._open_seq = 0  # the command whose events are being fed, 0 when none
        self._now = 0

    def feed(self, events: Iterable[Event]) -> list[Alert]:
        """One command's events (or several commands', in order); the alerts they raise."""
        for ev in events:
            pos = (ev.seq, ev.idx)
            if pos <= self._pos:
                continue
            if ev.seq != self._open_seq:
                self._end_command()
                self._open_seq = ev.seq
                self._advance(ev.ts_us)
            self._pos = pos
            self._dispatch(ev)
        self._end_command()
        return self._drain()

    def feed_stream(self, events: Iterable[Event]) -> list[Alert]:
        """Many commands' events (a replay): fed command by command."""
        alerts: list[Alert] = []
        for _, command in groupby(events, key=lambda e: e.seq):
            alerts += self.feed(command)
        return alerts

    def advance(self, ts_us: int) -> list[Alert]:
        """Event time reached ts_us with no event (a command that caused none, a Tick):
        windows that ended by then are judged."""
        self._end_command()
        self._advance(ts_us)
        return self._drain()

    def _advance(self, ts_us: int) -> None:
        if ts_us > self._now:
            self._now = ts_us
            for rule in self.rules:
                rule.at(ts_us)

    def _end_command(self) -> None:
        if self._open_seq:
            for rule in self.rules:
                rule.end_command(self._open_seq)
            self._open_seq = 0

    def _drain(self) -> list[Alert]:
        alerts = list(self._sink)
        self._sink.clear()
        return alerts

    def _dispatch(self, ev: Event) -> None:
        market = self.market
        rules = self.rules
        if isinstance(ev, BookDelta):
            market.level(ev)
        elif isinstance(ev, OrderAccepted):
            order = market.accepted(ev, self.parties.owner(ev.account))
            for rule in rules:
                rule.on_accepted(ev, order)
        elif isinstance(ev, Trade):
            market.traded(ev)
            for rule in rules:
                rule.on_trade(ev)
            market.done(ev)
        elif isinstance(ev, OrderClosed):
            closing = market.orders.get(ev.order_id)
            for rule in rules:
                rule.on_closed(ev, closing)
            market.closed(ev.order_id)
        elif isinstance(ev, OrderReplaced):
            replaced = market.orders.get(ev.order_id)
            for rule in rules:
                rule.on_replaced(ev, replaced)
            market.replaced(ev)
        elif isinstance(ev, SelfTradePrevented):
            for rule in rules:
                rule.on_stp(ev)
        elif isinstance(ev, VenueEvent):
            self.parties.learn(ev)
            for rule in rules:
                rule.on_venue(ev)
