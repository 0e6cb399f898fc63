"""Tenant-admins act within limits the venue sets: a tier's order notional, its daily
withdrawal limits and the maker-checker threshold are capped per tenant by the venue;
above the cap a tenant-admin's command is refused and changes nothing, the venue's own
operators are not bound, and only the venue sets the caps."""

from __future__ import annotations

import orjson

from engine.commands import Command, command_to_record
from engine.core import Engine
from engine.events import Event, OrderRejected, RejectCode
from engine.venue.operators import AdminRequest, CreateOperator
from engine.venue.tenancy_commands import (
    SetTenantAdminLimit,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
)
from tests.engine.venue.tenancy_setup import BTC, ok, tenant_venue

_KEYS = iter(range(1, 1_000_000))


def venue() -> Engine:
    eng = tenant_venue()
    ok(eng.submit(CreateOperator("boss", "venue-admin", "11" * 32)))
    ok(eng.submit(CreateOperator("t1-admin", "tenant-admin", "22" * 32, tenant="T1")))
    return eng


def by(operator: str, inner: Command) -> AdminRequest:
    key = f"k{next(_KEYS)}"
    record = orjson.dumps(command_to_record(inner)).decode()
    return AdminRequest(operator, "", "", key, key, record)


def refused_to(eng: Engine, operator: str, inner: Command) -> int:
    """The code the inner command was refused with; the tenancy is unchanged."""
    before = eng.tenancy.to_state()
    [rejected] = [e for e in eng.submit(by(operator, inner)) if isinstance(e, OrderRejected)]
    assert eng.tenancy.to_state() == before
    return int(rejected.code)


def accepted(eng: Engine, operator: str, inner: Command) -> list[Event]:
    return ok(eng.submit(by(operator, inner)))


def test_without_caps_a_tenant_admin_sets_what_it_likes() -> None:
    eng = venue()
    accepted(eng, "t1-admin", SetTier("T1", 2, trade=True, max_order_notional=0))
    accepted(eng, "t1-admin", SetTenantThreshold("T1", "BTC", 0))


def test_a_tenant_admin_stays_within_the_venues_caps() -> None:
    eng = venue()
    for limit, amount in (
        ("max_order_notional", 10_000 * BTC),
        ("withdraw_limit:BTC", 5 * BTC),
        ("approval_threshold:BTC", 2 * BTC),
    ):
        accepted(eng, "boss", SetTenantAdminLimit("T1", limit, amount))
    assert eng.tenancy.tenants["T1"].admin_limits["withdraw_limit:BTC"] == 5 * BTC
    too_much = (
        SetTier("T1", 2, trade=True, max_order_notional=10_001 * BTC),
        SetTier("T1", 2, trade=True, max_order_notional=0),  # 0 is unlimited
        SetTierWithdrawLimit("T1", 1, "BTC", 6 * BTC),
        SetTenantThreshold("T1", "BTC", 3 * BTC),
        SetTenantThreshold("T1", "BTC", 0),  # 0 would drop maker-checker
    )
    for inner in too_much:
        assert refused_to(eng, "t1-admin", inner) == RejectCode.LIMIT_EXCEEDED, inner
    accepted(eng, "t1-admin", SetTier("T1", 2, trade=True, max_order_notional=10_000 * BTC))
    accepted(eng, "t1-admin", SetTierWithdrawLimit("T1", 1, "BTC", 5 * BTC))
    accepted(eng, "t1-admin", SetTierWithdrawLimit("T1", 1, "BTC", 0))  # none: within
    accepted(eng, "t1-admin", SetTenantThreshold("T1", "BTC", 1 * BTC))
    for inner in too_much:  # the venue's operators are not bound by them
        accepted(eng, "boss", inner)


def test_only_the_venue_sets_the_caps() -> None:
    eng = venue()
    cap = SetTenantAdminLimit("T1", "withdraw_limit:BTC", 5 * BTC)
    assert refused_to(eng, "t1-admin", cap) == RejectCode.INVALID_COMMAND
    bad = SetTenantAdminLimit("T1", "max_markup", 1)
    assert refused_to(eng, "boss", bad) == RejectCode.INVALID_COMMAND
    accepted(eng, "boss", cap)
    accepted(eng, "boss", SetTenantAdminLimit("T1", "withdraw_limit:BTC", 0))
    assert eng.tenancy.tenants["T1"].admin_limits == {}
    assert "admin_limits" not in eng.state()["venue"]["tenancy"]["tenants"]["T1"]
