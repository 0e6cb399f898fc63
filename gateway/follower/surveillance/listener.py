"""Surveillance in the journal follower: a listener on its Replayer.

The follower's Replayer calls each listener with every replayed record and its
events (gateway.follower.replay.EventListener), also for the records a restart
replays again; the rules then rebuild their state exactly, so a restarted follower
raises the alerts it raised before with the same ids (an AlertQueue keeps one of each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from engine.core import Engine
from engine.events import Event
from gateway.follower.surveillance.alerts import Alert
from gateway.follower.surveillance.monitor import Surveillance
from gateway.follower.surveillance.settings import SurveillanceSettings
from gateway.follower.tail import Record

__all__ = ["SurveillanceListener", "watching"]


class _Grid(Mapping[str, int]):
    """The replaying engine's instruments as quote units per tick x lot, live."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getitem__(self, symbol: str) -> int:
        return self._engine.listings[symbol].instrument.quote_per_tick_lot

    def __iter__(self) -> Iterator[str]:
        return iter(self._engine.listings)

    def __len__(self) -> int:
        return len(self._engine.listings)


class SurveillanceListener:
    """Append to ``Replayer.listeners``; on_alert gets each alert as it is raised.

    Owners the settings do not name come from the replaying engine's tenancy (a
    sub-account's parent), so a follower started from a snapshot knows them too."""

    def __init__(
        self,
        engine: Engine,
        settings: SurveillanceSettings,
        on_alert: Callable[[Alert], None],
    ) -> None:
        self.surveillance = watching(engine, settings)
        self._on_alert = on_alert

    def __call__(self, record: Record, events: list[Event]) -> None:
        surv = self.surveillance
        for alert in surv.advance(record.ts_us) + surv.feed(events):
            self._on_alert(alert)


def watching(engine: Engine, settings: SurveillanceSettings) -> Surveillance:
    """Surveillance over a replaying engine: its instrument grid and its sub-accounts'
    parents are read from the engine as the replay goes."""

    def parent_of(account: str) -> str:
        info = engine.tenancy.accounts.get(account)
        return info.parent if info is not None else ""

    surv = settings.build(_Grid(engine))
    surv.parties.parent_of = parent_of
    return surv
