"""Tenants, accounts, sub-accounts, transfers and KYC: every state machine step, allowed
and forbidden; a refused command changes nothing (same state hash)."""

from __future__ import annotations

import pytest

from engine.commands import AdjustBalance, Command, OpenAccount
from engine.events import BalanceChanged, RejectCode
from engine.model import Side
from engine.venue.tenancy import AccountStatus, KycStatus, TenantStatus
from engine.venue.tenancy_commands import (
    AssignAccount,
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    ResumeTenant,
    SetAccountStatus,
    SetKyc,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
    SuspendTenant,
    Transfer,
    UpdateTenant,
)
from tests.engine.helpers import USD, bal, limit
from tests.engine.venue.tenancy_setup import (
    BTC,
    ok,
    refused,
    refused_unchanged,
    tenant_venue,
    venue_event,
)

# ---------------------------------------------------------------- tenants


def test_create_tenant_opens_its_revenue_account_under_it() -> None:
    eng = tenant_venue()
    event = venue_event(eng.submit(CreateTenant("T2", "Two", "T2-REV")))
    assert (event.kind, event.subject, event.data["revenue_account"]) == (
        "tenant.created",
        "T2",
        "T2-REV",
    )
    assert "T2-REV" in eng.accounts
    assert eng.tenancy.tenant_of("T2-REV") is eng.tenancy.tenants["T2"]
    assert eng.accounts["T2-REV"].tenant == "T2"


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (CreateTenant("T1", "again", "X-REV"), RejectCode.ALREADY_EXISTS),
        (CreateTenant("T3", "taken revenue account", "A"), RejectCode.ALREADY_EXISTS),
        (CreateTenant("T 3", "bad id", "T3-REV"), RejectCode.INVALID_COMMAND),
        (CreateTenant("T3", "no revenue account", ""), RejectCode.INVALID_COMMAND),
        (UpdateTenant("NOPE", "x"), RejectCode.UNKNOWN_TENANT),
        (ResumeTenant("T1"), RejectCode.INVALID_TRANSITION),
        (SuspendTenant("NOPE"), RejectCode.UNKNOWN_TENANT),
        (SetTenantThreshold("T1", "BTC", -1), RejectCode.INVALID_AMOUNT),
    ],
)
def test_tenant_commands_refused(cmd: Command, code: RejectCode) -> None:
    assert refused_unchanged(tenant_venue(), cmd) == code


def test_suspend_then_resume_and_forbidden_repeats() -> None:
    eng = tenant_venue()
    ok(eng.submit(SuspendTenant("T1", reason="compliance hold")))
    assert eng.tenancy.tenants["T1"].status == TenantStatus.SUSPENDED
    assert eng.accounts["A"].trade_block == RejectCode.TENANT_SUSPENDED
    assert eng.accounts["A.1"].trade_block == RejectCode.TENANT_SUSPENDED
    assert refused_unchanged(eng, SuspendTenant("T1")) == RejectCode.INVALID_TRANSITION
    ok(eng.submit(ResumeTenant("T1", reason="cleared")))
    assert eng.accounts["A"].trade_block == 0
    assert refused_unchanged(eng, ResumeTenant("T1")) == RejectCode.INVALID_TRANSITION


def test_update_tenant_and_thresholds() -> None:
    eng = tenant_venue()
    ok(eng.submit(UpdateTenant("T1", "Renamed")))
    ok(eng.submit(SetTenantThreshold("T1", "BTC", 5 * BTC)))
    tenant = eng.tenancy.tenants["T1"]
    assert (tenant.name, tenant.withdraw_approval_threshold) == ("Renamed", {"BTC": 5 * BTC})
    ok(eng.submit(SetTenantThreshold("T1", "BTC", 0)))
    assert tenant.withdraw_approval_threshold == {}


# ---------------------------------------------------------------- accounts


def test_open_tenant_account_creates_the_engine_account() -> None:
    eng = tenant_venue()
    event = venue_event(eng.submit(OpenTenantAccount("B", "T1", "bob", maker_fee_bps="1.5")))
    assert (event.kind, event.data["tenant"], event.data["label"]) == (
        "account.opened",
        "T1",
        "bob",
    )
    assert eng.accounts["B"].maker_fee_ppm == 150
    assert eng.tenancy.accounts["B"].kyc_status == KycStatus.NONE
    assert eng.accounts["B"].trade_block == RejectCode.KYC_FORBIDS


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (OpenTenantAccount("B", "NOPE"), RejectCode.UNKNOWN_TENANT),
        (OpenTenantAccount("A", "T1"), RejectCode.ALREADY_EXISTS),
        (OpenTenantAccount("B", "T1", maker_fee_bps="-1"), RejectCode.INVALID_COMMAND),
        (OpenTenantAccount("B", "T1", stp=99), RejectCode.INVALID_COMMAND),
        (OpenTenantAccount("", "T1"), RejectCode.INVALID_COMMAND),
        (CreateSubAccount("A.1.1", "A.1"), RejectCode.INVALID_COMMAND),
        (CreateSubAccount("A.2", "NOPE"), RejectCode.UNKNOWN_ACCOUNT),
        (CreateSubAccount("A.1", "A"), RejectCode.ALREADY_EXISTS),
        (AssignAccount("A", "T1"), RejectCode.ALREADY_EXISTS),
        (AssignAccount("NOPE", "T1"), RejectCode.UNKNOWN_ACCOUNT),
        (SetAccountStatus("A", 9), RejectCode.INVALID_COMMAND),
        (SetAccountStatus("A", AccountStatus.ACTIVE), RejectCode.INVALID_TRANSITION),
        (SetAccountStatus("T1-REV", AccountStatus.CLOSED), RejectCode.INVALID_TRANSITION),
        (SetAccountStatus("NOPE", AccountStatus.DISABLED), RejectCode.UNKNOWN_ACCOUNT),
    ],
)
def test_account_commands_refused(cmd: Command, code: RejectCode) -> None:
    assert refused_unchanged(tenant_venue(), cmd) == code


def test_open_account_under_a_suspended_tenant_is_refused() -> None:
    eng = tenant_venue()
    ok(eng.submit(SuspendTenant("T1")))
    assert refused_unchanged(eng, OpenTenantAccount("B", "T1")) == RejectCode.TENANT_SUSPENDED


def test_assign_a_config_account_to_a_tenant() -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenAccount("OLD")))
    assert eng.accounts["OLD"].markets is None  # outside any tenant: every market
    ok(eng.submit(AssignAccount("OLD", "T1", "migrated")))
    assert eng.accounts["OLD"].tenant == "T1"
    assert eng.accounts["OLD"].markets == {"BTC-USD": 1}


def test_sub_account_copies_the_parents_settings_and_follows_its_kyc() -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenTenantAccount("B", "T1", taker_fee_bps="3", max_open_orders=4)))
    ok(eng.submit(CreateSubAccount("B.1", "B", "hedge")))
    sub = eng.accounts["B.1"]
    assert (sub.taker_fee_ppm, sub.max_open_orders) == (300, 4)
    assert sub.trade_block == RejectCode.KYC_FORBIDS
    ok(eng.submit(SetKyc("B", KycStatus.PENDING, actor="op", reason="r")))
    ok(eng.submit(SetKyc("B", KycStatus.VERIFIED, 1, actor="op", reason="r")))
    assert sub.trade_block == 0
    assert [a.account_id for a in eng.tenancy.sub_accounts("B")] == ["B.1"]


def test_account_status_machine() -> None:
    eng = tenant_venue()
    ok(eng.submit(SetAccountStatus("A", AccountStatus.DISABLED, "fraud check")))
    assert eng.accounts["A"].trade_block == RejectCode.ACCOUNT_DISABLED
    assert eng.accounts["A.1"].trade_block == RejectCode.ACCOUNT_DISABLED  # follows parent
    assert (
        refused_unchanged(eng, SetAccountStatus("A", AccountStatus.DISABLED))
        == RejectCode.INVALID_TRANSITION
    )
    ok(eng.submit(SetAccountStatus("A", AccountStatus.ACTIVE)))
    assert eng.accounts["A"].trade_block == 0
    # closing: the sub-account first (flat), then the parent once flat
    ok(eng.submit(SetAccountStatus("A.1", AccountStatus.CLOSED)))
    assert eng.accounts["A.1"].trade_block == RejectCode.ACCOUNT_CLOSED
    for status in AccountStatus:
        assert (
            refused_unchanged(eng, SetAccountStatus("A.1", status)) == RejectCode.INVALID_TRANSITION
        )


def test_close_only_when_flat() -> None:
    eng = tenant_venue()
    # holds balances
    assert (
        refused_unchanged(eng, SetAccountStatus("A", AccountStatus.CLOSED)) == RejectCode.NOT_FLAT
    )
    ok(eng.submit(AdjustBalance("A", "USD", -1000 * USD)))
    ok(eng.submit(limit("A", Side.SELL, 100, 1)))
    ok(eng.submit(AdjustBalance("A", "BTC", -10 * BTC + 1_000_000)))  # the rest is held
    # an open order (and its hold)
    assert (
        refused_unchanged(eng, SetAccountStatus("A", AccountStatus.CLOSED)) == RejectCode.NOT_FLAT
    )
    from engine.commands import MassCancel

    ok(eng.submit(MassCancel("A")))
    ok(eng.submit(AdjustBalance("A", "BTC", -1_000_000)))
    # a sub-account still open
    code = refused_unchanged(eng, SetAccountStatus("A", AccountStatus.CLOSED))
    assert code == RejectCode.NOT_FLAT
    ok(eng.submit(SetAccountStatus("A.1", AccountStatus.CLOSED)))
    ok(eng.submit(SetAccountStatus("A", AccountStatus.CLOSED)))
    assert eng.tenancy.accounts["A"].status == AccountStatus.CLOSED
    assert refused_unchanged(eng, CreateSubAccount("A.2", "A")) == RejectCode.ACCOUNT_CLOSED


# ---------------------------------------------------------------- transfers


def test_transfer_moves_available_funds_atomically() -> None:
    eng = tenant_venue()
    ok(eng.submit(CreateSubAccount("A.2", "A")))
    events = ok(eng.submit(Transfer("A", "A.1", "USD", 300 * USD, "t-1")))
    event = venue_event(events)
    assert (event.kind, event.subject, event.data["amount"]) == ("transfer.done", "t-1", 300 * USD)
    changed = {(e.account, e.asset): e.total for e in events if isinstance(e, BalanceChanged)}
    assert changed == {("A", "USD"): 700 * USD, ("A.1", "USD"): 300 * USD}
    ok(eng.submit(Transfer("A.1", "A.2", "USD", 100 * USD)))  # sibling sub-accounts
    ok(eng.submit(Transfer("A.2", "A", "USD", 100 * USD)))  # back to the parent
    assert (bal(eng, "A", "USD"), bal(eng, "A.1", "USD"), bal(eng, "A.2", "USD")) == (
        (800 * USD, 0),
        (200 * USD, 0),
        (0, 0),
    )


def test_transfer_never_moves_held_funds() -> None:
    eng = tenant_venue()
    ok(eng.submit(limit("A", Side.SELL, 100, 100)))  # holds 1 BTC of 10
    held = bal(eng, "A", "BTC")[1]
    assert held == BTC
    code = refused_unchanged(eng, Transfer("A", "A.1", "BTC", 9 * BTC + 1))
    assert code == RejectCode.INSUFFICIENT_BALANCE
    ok(eng.submit(Transfer("A", "A.1", "BTC", 9 * BTC)))


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (Transfer("A", "A", "USD", 1), RejectCode.INVALID_COMMAND),
        (Transfer("A", "T1-REV", "USD", 1), RejectCode.INVALID_COMMAND),  # not related
        (Transfer("A", "A.1", "USD", 0), RejectCode.INVALID_AMOUNT),
        (Transfer("A", "A.1", "USD", -5), RejectCode.INVALID_AMOUNT),
        (Transfer("A.1", "A", "USD", 1), RejectCode.INSUFFICIENT_BALANCE),
        (Transfer("A", "A.1", "EUR", 1), RejectCode.INSUFFICIENT_BALANCE),
        (Transfer("A", "NOPE", "USD", 1), RejectCode.UNKNOWN_ACCOUNT),
    ],
)
def test_transfer_refused(cmd: Command, code: RejectCode) -> None:
    assert refused_unchanged(tenant_venue(), cmd) == code


def test_transfer_refused_to_or_from_closed_or_disabled_accounts() -> None:
    eng = tenant_venue()
    ok(eng.submit(CreateSubAccount("A.2", "A")))
    ok(eng.submit(SetAccountStatus("A.2", AccountStatus.CLOSED)))
    assert refused_unchanged(eng, Transfer("A", "A.2", "USD", 1)) == RejectCode.ACCOUNT_CLOSED
    ok(eng.submit(SetAccountStatus("A.1", AccountStatus.DISABLED)))
    assert refused_unchanged(eng, Transfer("A", "A.1", "USD", 1)) == RejectCode.ACCOUNT_DISABLED
    ok(eng.submit(SetAccountStatus("A.1", AccountStatus.ACTIVE)))
    ok(eng.submit(SuspendTenant("T1")))
    assert refused_unchanged(eng, Transfer("A", "A.1", "USD", 1)) == RejectCode.TENANT_SUSPENDED


# ---------------------------------------------------------------- KYC and tiers

ALLOWED_KYC = {
    (KycStatus.NONE, KycStatus.PENDING),
    (KycStatus.PENDING, KycStatus.VERIFIED),
    (KycStatus.PENDING, KycStatus.REJECTED),
    (KycStatus.VERIFIED, KycStatus.SUSPENDED),
    (KycStatus.SUSPENDED, KycStatus.VERIFIED),
    (KycStatus.REJECTED, KycStatus.PENDING),
}
PATH_TO = {
    KycStatus.NONE: [],
    KycStatus.PENDING: [KycStatus.PENDING],
    KycStatus.VERIFIED: [KycStatus.PENDING, KycStatus.VERIFIED],
    KycStatus.REJECTED: [KycStatus.PENDING, KycStatus.REJECTED],
    KycStatus.SUSPENDED: [KycStatus.PENDING, KycStatus.VERIFIED, KycStatus.SUSPENDED],
}


@pytest.mark.parametrize("src", list(KycStatus))
@pytest.mark.parametrize("dst", list(KycStatus))
def test_kyc_machine_every_pair(src: KycStatus, dst: KycStatus) -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenTenantAccount("B", "T1")))
    for step in PATH_TO[src]:
        ok(eng.submit(SetKyc("B", step, actor="op", reason="setup")))
    cmd = SetKyc("B", dst, actor="analyst-7", reason="why", reference="case-42")
    if (src, dst) in ALLOWED_KYC:
        event = venue_event(ok(eng.submit(cmd)))
        assert event.data == {
            "tenant": "T1",
            "previous": src.name.lower(),
            "status": dst.name.lower(),
            "tier": 0,
            "actor": "analyst-7",
            "reason": "why",
            "reference": "case-42",
        }
        info = eng.tenancy.accounts["B"]
        assert (info.kyc_status, info.kyc_actor, info.kyc_reference) == (
            dst,
            "analyst-7",
            "case-42",
        )
    else:
        assert refused_unchanged(eng, cmd) == RejectCode.INVALID_TRANSITION


@pytest.mark.parametrize(
    "cmd",
    [
        SetKyc("A", KycStatus.SUSPENDED, actor="", reason="r"),
        SetKyc("A", KycStatus.SUSPENDED, actor="op", reason=""),
        SetKyc("A", 7, actor="op", reason="r"),
        SetKyc("A", KycStatus.VERIFIED, 5, actor="op", reason="tier not configured"),
        SetKyc("A.1", KycStatus.SUSPENDED, actor="op", reason="a sub-account"),
    ],
)
def test_kyc_bad_input_refused(cmd: SetKyc) -> None:
    assert refused_unchanged(tenant_venue(), cmd) == RejectCode.INVALID_COMMAND


def test_kyc_tier_change_without_a_status_change() -> None:
    eng = tenant_venue()
    ok(eng.submit(SetTier("T1", 2, trade=False)))
    ok(eng.submit(SetKyc("A", KycStatus.VERIFIED, 2, actor="op", reason="downgrade")))
    assert eng.accounts["A"].trade_block == RejectCode.KYC_FORBIDS
    same = SetKyc("A", KycStatus.VERIFIED, 2, actor="op", reason="again")
    assert refused_unchanged(eng, same) == RejectCode.INVALID_TRANSITION


def test_kyc_suspension_blocks_trading_but_not_cancels() -> None:
    from engine.commands import Cancel

    eng = tenant_venue()
    order_id = ok(eng.submit(limit("A", Side.BUY, 100, 1)))[0].order_id  # type: ignore[union-attr]
    ok(eng.submit(SetKyc("A", KycStatus.SUSPENDED, actor="op", reason="aml")))
    assert refused(eng.submit(limit("A", Side.BUY, 100, 1))) == RejectCode.KYC_FORBIDS
    assert refused(eng.submit(limit("A.1", Side.BUY, 100, 1))) == RejectCode.KYC_FORBIDS
    ok(eng.submit(Cancel("A", "BTC-USD", order_id)))


def test_tiers_and_their_withdrawal_limits() -> None:
    eng = tenant_venue()
    ok(eng.submit(SetTierWithdrawLimit("T1", 1, "BTC", 2 * BTC)))
    ok(eng.submit(SetTier("T1", 1, trade=True, deposit=True, withdraw=False)))
    tier = eng.tenancy.tier_of("A.1")
    assert tier is not None
    assert (tier.withdraw, tier.daily_withdraw_limit) == (False, {"BTC": 2 * BTC})  # kept
    ok(eng.submit(SetTierWithdrawLimit("T1", 1, "BTC", 0)))
    assert tier.daily_withdraw_limit == {}
    bad = SetTierWithdrawLimit("T1", 9, "BTC", 1)
    assert refused_unchanged(eng, bad) == RejectCode.INVALID_COMMAND
    assert refused_unchanged(eng, SetTier("T1", 0)) == RejectCode.INVALID_COMMAND
    assert refused_unchanged(eng, SetTier("NOPE", 1)) == RejectCode.UNKNOWN_TENANT


def test_tier_max_order_notional_is_enforced_and_follows_tier_changes() -> None:
    eng = tenant_venue()
    # 1 lot at 100 ticks = 100 * 10_000 units of USD notional
    ok(eng.submit(SetTier("T1", 1, trade=True, max_order_notional=100 * 10_000)))
    ok(eng.submit(limit("A", Side.BUY, 100, 1)))
    assert refused(eng.submit(limit("A", Side.BUY, 101, 1))) == RejectCode.MAX_ORDER_NOTIONAL
    ok(eng.submit(SetTier("T1", 1, trade=True)))
    ok(eng.submit(limit("A", Side.BUY, 101, 1)))
