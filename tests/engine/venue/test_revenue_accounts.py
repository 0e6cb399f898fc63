"""The venue's revenue account never receives fees while closed: a closed account
cannot become it, and it cannot close while it is the venue's."""

from __future__ import annotations

from engine.events import RejectCode
from engine.venue.fees import ConfigureFees, DefineFeeSchedule, SetDefaultFeeSchedule
from engine.venue.tenancy import AccountStatus
from engine.venue.tenancy_commands import OpenTenantAccount, SetAccountStatus
from tests.engine.venue.tenancy_setup import ok, refused_unchanged, tenant_venue


def test_the_venue_revenue_account_cannot_close() -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenTenantAccount("FEES", "T1")))
    for cmd in (
        ConfigureFees("FEES", "USD"),
        DefineFeeSchedule("std", "0:1:2"),
        SetDefaultFeeSchedule("std"),
    ):
        ok(eng.submit(cmd))
    close = SetAccountStatus("FEES", int(AccountStatus.CLOSED), "no longer needed")
    assert refused_unchanged(eng, close) == RejectCode.INVALID_TRANSITION
    ok(eng.submit(OpenTenantAccount("FEES2", "T1")))
    ok(eng.submit(ConfigureFees("FEES2", "USD")))  # moved: the old one may close now
    ok(eng.submit(close))


def test_a_closed_account_cannot_become_the_venue_revenue_account() -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenTenantAccount("OLD", "T1")))
    ok(eng.submit(SetAccountStatus("OLD", int(AccountStatus.CLOSED), "gone")))
    assert refused_unchanged(eng, ConfigureFees("OLD", "USD")) == RejectCode.ACCOUNT_CLOSED
