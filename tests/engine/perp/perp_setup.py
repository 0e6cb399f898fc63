"""Builders for the perpetual tests: an engine with one perp on a hand-moved clock."""

from __future__ import annotations

from typing import Any

from engine.core import Engine
from engine.events import Event, OrderRejected, VenueEvent
from engine.perp.commands import AddPerpInstrument
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock

SYMBOL = "BTC-PERP"
USDT = 100_000_000  # 1 USDT in units
# tick 0.1 USDT, lot 0.001 BTC: 1 tick x 1 lot = 0.0001 USDT = 10_000 units
QPT = 10_000
TIERS = "0:0.004:125,50000:0.005:100,250000:0.01:50"


def perp_command(**overrides: Any) -> AddPerpInstrument:
    fields: dict[str, Any] = {
        "symbol": SYMBOL,
        "base": "BTC",
        "quote": "USDT",
        "tick_size": "0.1",
        "lot_size": "0.001",
        "max_leverage": 125,
        "tiers": TIERS,
        "funding_interval_s": 28_800,
        "premium_sample_s": 60,
        "index_stale_s": 30,
    }
    fields.update(overrides)
    return AddPerpInstrument(**fields)


def perp_engine(**overrides: Any) -> tuple[Engine, Clock]:
    clock = Clock(1_000_000)
    eng = Engine(Sequencer(clock))
    events = eng.submit(perp_command(**overrides))
    assert kinds(events) == ["perp.instrument"], events
    return eng, clock


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, VenueEvent)]


def venue(events: list[Event], kind: str) -> list[VenueEvent]:
    return [e for e in events if isinstance(e, VenueEvent) and e.kind == kind]


def rejected(events: list[Event]) -> OrderRejected:
    (reject,) = [e for e in events if isinstance(e, OrderRejected)]
    return reject
