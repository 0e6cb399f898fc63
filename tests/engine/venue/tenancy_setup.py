"""Builders for the tenancy tests: a venue with one tenant, a verified trading account
and its sub-account, funded."""

from __future__ import annotations

from typing import Any

from engine.commands import AdjustBalance, Command
from engine.core import Engine
from engine.events import Event, OrderRejected, VenueEvent
from engine.venue.tenancy import KycStatus, MarketState
from engine.venue.tenancy_commands import (
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    SetKyc,
    SetMarketState,
    SetTier,
)
from tests.engine.helpers import USD, make_engine

BTC = 100_000_000


def tenant_venue() -> Engine:
    """T1 (revenue T1-REV) with tier 1 allowing everything, BTC-USD enabled; account A
    verified at tier 1 with sub-account A.1; A holds 1000 USD and 10 BTC."""
    eng, _ = make_engine()
    for cmd in (
        CreateTenant("T1", "Tenant one", "T1-REV"),
        SetTier("T1", 1, trade=True, deposit=True, withdraw=True),
        SetMarketState("T1", "BTC-USD", MarketState.ENABLED),
        OpenTenantAccount("A", "T1"),
        SetKyc("A", KycStatus.PENDING, actor="op", reason="documents in"),
        SetKyc("A", KycStatus.VERIFIED, 1, actor="op", reason="checked", reference="case-1"),
        CreateSubAccount("A.1", "A"),
        AdjustBalance("A", "USD", 1000 * USD),
        AdjustBalance("A", "BTC", 10 * BTC),
    ):
        ok(eng.submit(cmd))
    return eng


def ok(events: list[Event]) -> list[Event]:
    assert not [e for e in events if isinstance(e, OrderRejected)], events
    return events


def refused(events: list[Event]) -> int:
    """The reject code of a refused command (which must have said nothing else)."""
    assert len(events) == 1 and isinstance(events[0], OrderRejected), events
    code: int = events[0].code
    return code


def refused_unchanged(eng: Engine, cmd: Command) -> int:
    """Submit a command that must be refused; check it changed nothing but the clock."""
    before = _without_clock(eng.state())
    code = refused(eng.submit(cmd))
    assert _without_clock(eng.state()) == before, cmd
    return code


def _without_clock(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("last_seq", "last_ts_us")}


def venue_event(events: list[Event]) -> VenueEvent:
    (event,) = [e for e in events if isinstance(e, VenueEvent)]
    return event
