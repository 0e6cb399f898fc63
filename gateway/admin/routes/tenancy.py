"""The tenancy lane's routes: tenants, their tiers and listings, accounts and
sub-accounts, transfers, account status and KYC.

Amounts are decimal strings in asset units (as everywhere on the API); the engine
commands they become are in engine/venue/tenancy_commands.py. A KYC change is
attributed to the calling operator (the command's ``actor``).
"""

from __future__ import annotations

from typing import Any, Final

from engine.model import Stp, units_to_decimal
from engine.venue.tenancy import AccountInfo, AccountStatus, KycStatus, MarketState, Tenant
from engine.venue.tenancy_commands import (
    AssignAccount,
    CancelTenantOrders,
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    ResumeTenant,
    SetAccountStatus,
    SetKyc,
    SetMarketState,
    SetTenantAdminLimit,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
    SuspendTenant,
    Transfer,
    UpdateTenant,
)
from gateway.admin.problems import Problem
from gateway.admin.routes import (
    COMPLIANCE,
    OPS,
    STAFF,
    SUPPORT,
    TENANT_ADMIN,
    VENUE_ADMIN,
    Call,
    Outcome,
    Route,
    ascii_int,
    tenant_in_path,
    tenant_of_account_in_path,
)
from gateway.admin.schema import DECIMAL, ID, TEXT
from gateway.admin.schema import obj as _obj
from gateway.admin.schema import units as _units

__all__ = ["ROUTES", "tenant_view"]

_ID: Final = ID
_TEXT: Final = TEXT
_AMOUNT: Final = DECIMAL
_BPS: Final = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$", "maxLength": 12}
_TIER: Final = {"type": "integer", "minimum": 0, "maximum": 1000}
_MARKETS: Final = {m.name.lower(): int(m) for m in MarketState} | {"unlisted": 0}
_ACCOUNT_STATUSES: Final = {s.name.lower(): s for s in AccountStatus}
_KYC: Final = {s.name.lower(): s for s in KycStatus}
_STPS: Final = {s.name.lower(): s for s in Stp}

_ONBOARD: Final = frozenset({VENUE_ADMIN, OPS, SUPPORT, TENANT_ADMIN})
_KILL: Final = frozenset({VENUE_ADMIN, OPS, COMPLIANCE})
_KYC_ROLES: Final = frozenset({VENUE_ADMIN, COMPLIANCE, TENANT_ADMIN})
_READ: Final = STAFF | {TENANT_ADMIN}
_IN_TENANT: Final = tenant_in_path("tenant")
_OF_ACCOUNT: Final = tenant_of_account_in_path("account")


# ---------------------------------------------------------------- views


def tenant_view(tenant: Tenant, accounts: int) -> dict[str, Any]:
    """A tenant as GET /tenants lists it (the console's live pushes send the same row)."""
    return {
        "tenant": tenant.tenant_id,
        "name": tenant.name,
        "status": tenant.status.name.lower(),
        "revenue_account": tenant.revenue_account,
        "accounts": accounts,
        "tiers": {
            str(n): {
                "trade": t.trade,
                "deposit": t.deposit,
                "withdraw": t.withdraw,
                "max_order_notional": units_to_decimal(t.max_order_notional),
                "daily_withdraw_limit": {
                    a: units_to_decimal(v) for a, v in t.daily_withdraw_limit.items()
                },
            }
            for n, t in tenant.tiers.items()
        },
        "markets": {s: m.name.lower() for s, m in tenant.markets.items()},
        "withdraw_approval_threshold": {
            a: units_to_decimal(v) for a, v in tenant.withdraw_approval_threshold.items()
        },
        "admin_limits": {k: units_to_decimal(v) for k, v in tenant.admin_limits.items()},
    }


def _account_view(info: AccountInfo, sub_accounts: list[str]) -> dict[str, Any]:
    return {
        "account": info.account_id,
        "tenant": info.tenant_id,
        "parent": info.parent,
        "label": info.label,
        "status": info.status.name.lower(),
        "kyc": {
            "status": info.kyc_status.name.lower(),
            "tier": info.kyc_tier,
            "actor": info.kyc_actor,
            "reason": info.kyc_reason,
            "reference": info.kyc_reference,
        },
        "sub_accounts": sub_accounts,
    }


def _tenant_of(call: Call) -> Tenant:
    tenant_id = call.params["tenant"]
    tenant = call.host.engine.tenancy.tenants.get(tenant_id)
    if tenant is None:
        raise Problem("unknown-object", f"no tenant {tenant_id!r}")
    return tenant


def _info_of(call: Call) -> AccountInfo:
    account_id = call.params["account"]
    info = call.host.engine.tenancy.accounts.get(account_id)
    if info is None:
        raise Problem("unknown-object", f"no account {account_id!r} under a tenant")
    return info


# ---------------------------------------------------------------- tenants


async def list_tenants(call: Call) -> dict[str, Any]:
    tenancy = call.host.engine.tenancy
    return {
        "tenants": [
            tenant_view(t, len(tenancy.members.get(tid, ()))) for tid, t in tenancy.tenants.items()
        ]
    }


async def get_tenant(call: Call) -> dict[str, Any]:
    tenant = _tenant_of(call)
    members = call.host.engine.tenancy.members.get(tenant.tenant_id, ())
    return tenant_view(tenant, len(members))


async def create_tenant(call: Call) -> Outcome:
    b = call.body
    return await call.submit(CreateTenant(b["tenant"], b.get("name", ""), b["revenue_account"]))


async def update_tenant(call: Call) -> Outcome:
    return await call.submit(UpdateTenant(call.params["tenant"], call.body["name"]))


async def suspend_tenant(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        SuspendTenant(call.params["tenant"], b.get("cancel_orders", False), b.get("reason", ""))
    )


async def resume_tenant(call: Call) -> Outcome:
    return await call.submit(ResumeTenant(call.params["tenant"], call.body.get("reason", "")))


async def set_threshold(call: Call) -> Outcome:
    p = call.params
    amount = _units("amount", call.body["amount"])
    return await call.submit(SetTenantThreshold(p["tenant"], p["asset"], amount))


async def set_admin_limit(call: Call) -> Outcome:
    p = call.params
    amount = _units("amount", call.body["amount"])
    return await call.submit(SetTenantAdminLimit(p["tenant"], p["limit"], amount))


async def set_tier(call: Call) -> Outcome:
    b = call.body
    tier = _tier_number(call)
    cap = _units("max_order_notional", b.get("max_order_notional", "0"))
    return await call.submit(
        SetTier(
            call.params["tenant"], tier, b["trade"], b["deposit"], b["withdraw"], cap
        )
    )  # fmt: skip


async def set_withdraw_limit(call: Call) -> Outcome:
    p = call.params
    amount = _units("amount", call.body["amount"])
    return await call.submit(
        SetTierWithdrawLimit(p["tenant"], _tier_number(call), p["asset"], amount)
    )


def _tier_number(call: Call) -> int:
    tier = ascii_int(call.params["tier"])
    if tier is None or tier > 9999:
        raise Problem("invalid-request", "tier: a number")
    return tier


async def set_market(call: Call) -> Outcome:
    p = call.params
    state = _MARKETS[call.body["state"]]
    return await call.submit(SetMarketState(p["tenant"], p["symbol"], state))


async def cancel_orders(call: Call) -> Outcome:
    symbol = call.body.get("symbol", "")
    return await call.submit(CancelTenantOrders(call.params["tenant"], symbol, "admin"))


# ---------------------------------------------------------------- accounts


async def list_accounts(call: Call) -> dict[str, Any]:
    tenant = _tenant_of(call)
    tenancy = call.host.engine.tenancy
    return {
        "accounts": [
            _account_view(tenancy.accounts[a], tenancy.children.get(a, []))
            for a in tenancy.members.get(tenant.tenant_id, ())
        ]
    }


async def open_account(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        OpenTenantAccount(
            b["account"], call.params["tenant"], b.get("label", ""),
            int(_STPS[b.get("stp", "none")]),
            b.get("maker_fee_bps", "0"), b.get("taker_fee_bps", "0"),
            _units("max_order_qty", b.get("max_order_qty", "0")),
            _units("max_order_notional", b.get("max_order_notional", "0")),
            b.get("max_open_orders", 0),
        )
    )  # fmt: skip


async def assign_account(call: Call) -> Outcome:
    b = call.body
    return await call.submit(AssignAccount(b["account"], call.params["tenant"], b.get("label", "")))


async def get_profile(call: Call) -> dict[str, Any]:
    info = _info_of(call)
    return _account_view(info, call.host.engine.tenancy.children.get(info.account_id, []))


async def set_status(call: Call) -> Outcome:
    b = call.body
    status = int(_ACCOUNT_STATUSES[b["status"]])
    return await call.submit(SetAccountStatus(call.params["account"], status, b.get("reason", "")))


async def list_sub_accounts(call: Call) -> dict[str, Any]:
    info = _info_of(call)
    tenancy = call.host.engine.tenancy
    return {"sub_accounts": [_account_view(s, []) for s in tenancy.sub_accounts(info.account_id)]}


async def create_sub_account(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        CreateSubAccount(b["account"], call.params["account"], b.get("label", ""))
    )


async def transfer(call: Call) -> Outcome:
    b = call.body
    amount = _units("amount", b["amount"])
    return await call.submit(
        Transfer(
            call.params["account"], b["to_account"], b["asset"], amount, b.get("transfer_id", "")
        )
    )


async def set_kyc(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        SetKyc(
            call.params["account"], int(_KYC[b["status"]]), b.get("tier", -1),
            call.operator.operator_id, b["reason"], b.get("reference", ""),
        )
    )  # fmt: skip


_TENANT: Final = {"type": "object", "required": ["tenant", "name", "status", "revenue_account"]}
_ACCOUNT: Final = {"type": "object", "required": ["account", "tenant", "parent", "status", "kyc"]}

ROUTES: Final = [
    Route(
        "GET", "/tenants", list_tenants, cli="tenants", roles=STAFF, summary="Every tenant",
        response=_obj(["tenants"], tenants={"type": "array", "items": _TENANT}),
    ),
    Route(
        "POST", "/tenants", create_tenant, cli="create-tenant", roles=frozenset({VENUE_ADMIN}),
        summary="Create a tenant and its revenue account",
        request=_obj(["tenant", "revenue_account"], tenant=_ID, name=_TEXT, revenue_account=_ID),
    ),
    Route(
        "GET", "/tenants/{tenant}", get_tenant, cli="tenant", roles=_READ, tenant=_IN_TENANT,
        summary="A tenant: status, tiers, listings, thresholds", response=_TENANT,
    ),
    Route(
        "PATCH", "/tenants/{tenant}", update_tenant,
        cli="rename-tenant", roles=frozenset({VENUE_ADMIN}),
        summary="Rename a tenant", request=_obj(["name"], name=_TEXT),
    ),
    Route(
        "POST", "/tenants/{tenant}/suspend", suspend_tenant, cli="suspend-tenant", roles=_KILL,
        summary="Suspend a tenant: its accounts may only cancel (optionally cancel all)",
        request=_obj([], cancel_orders={"type": "boolean"}, reason=_TEXT),
    ),
    Route(
        "POST", "/tenants/{tenant}/resume", resume_tenant, cli="resume-tenant", roles=_KILL,
        summary="Resume a suspended tenant", request=_obj([], reason=_TEXT),
    ),
    Route(
        "PUT", "/tenants/{tenant}/withdraw-thresholds/{asset}", set_threshold,
        cli="withdraw-threshold",
        roles=frozenset({VENUE_ADMIN, TENANT_ADMIN}), tenant=_IN_TENANT,
        summary="Withdrawals above this amount need a second approver (0 removes)",
        request=_obj(["amount"], amount=_AMOUNT),
    ),
    Route(
        "PUT", "/tenants/{tenant}/admin-limits/{limit}", set_admin_limit,
        cli="tenant-admin-limit", roles=frozenset({VENUE_ADMIN}),
        summary="Cap what the tenant's own administrators may set (0 removes the cap)",
        description="limit: max_order_notional (a tier's), withdraw_limit:<ASSET> (a tier's "
        "daily withdrawal limit) or approval_threshold:<ASSET> (the maker-checker "
        "threshold, which a tenant-admin then cannot remove). Above the cap a "
        "tenant-admin's change is refused (limit_exceeded); the venue's roles are not bound.",
        request=_obj(["amount"], amount=_AMOUNT),
    ),
    Route(
        "PUT", "/tenants/{tenant}/tiers/{tier}", set_tier,
        cli="set-tier", roles=_KYC_ROLES, tenant=_IN_TENANT,
        summary="Define a KYC tier: what it allows",
        request=_obj(
            ["trade", "deposit", "withdraw"], trade={"type": "boolean"},
            deposit={"type": "boolean"}, withdraw={"type": "boolean"},
            max_order_notional=_AMOUNT,
        ),
    ),
    Route(
        "PUT", "/tenants/{tenant}/tiers/{tier}/withdraw-limits/{asset}", set_withdraw_limit,
        cli="tier-withdraw-limit",
        roles=_KYC_ROLES, tenant=_IN_TENANT,
        summary="A tier's daily withdrawal limit of one asset (0: none may be withdrawn)",
        request=_obj(["amount"], amount=_AMOUNT),
    ),
    Route(
        "PUT", "/tenants/{tenant}/markets/{symbol}", set_market, cli="market-state",
        roles=frozenset({VENUE_ADMIN, OPS, TENANT_ADMIN}), tenant=_IN_TENANT,
        summary="List, hide or unlist an instrument for a tenant's clients",
        request=_obj(["state"], state={"type": "string", "enum": sorted(_MARKETS)}),
    ),
    Route(
        "POST", "/tenants/{tenant}/cancel-orders", cancel_orders, cli="cancel-tenant-orders",
        roles=frozenset({VENUE_ADMIN, OPS, TENANT_ADMIN}), tenant=_IN_TENANT,
        summary="Cancel every open order of a tenant's accounts (on one instrument)",
        request=_obj([], symbol=_ID),
    ),
    Route(
        "GET", "/tenants/{tenant}/accounts", list_accounts,
        cli="tenant-accounts", roles=_READ, tenant=_IN_TENANT,
        summary="A tenant's accounts and sub-accounts",
        response=_obj(["accounts"], accounts={"type": "array", "items": _ACCOUNT}),
    ),
    Route(
        "POST", "/tenants/{tenant}/accounts", open_account,
        cli="open-account", roles=_ONBOARD, tenant=_IN_TENANT,
        summary="Open an account under a tenant (KYC none: it cannot trade yet)",
        request=_obj(
            ["account"], account=_ID, label=_TEXT,
            stp={"type": "string", "enum": sorted(_STPS)},
            maker_fee_bps=_BPS, taker_fee_bps=_BPS, max_order_qty=_AMOUNT,
            max_order_notional=_AMOUNT,
            max_open_orders={"type": "integer", "minimum": 0, "maximum": 1_000_000},
        ),
    ),
    Route(
        "POST", "/tenants/{tenant}/assigned-accounts", assign_account, cli="assign-account",
        roles=frozenset({VENUE_ADMIN}),
        summary="Put an existing account outside any tenant under this one",
        request=_obj(["account"], account=_ID, label=_TEXT),
    ),
    Route(
        "GET", "/accounts/{account}/profile", get_profile,
        cli="account-profile", roles=_READ, tenant=_OF_ACCOUNT,
        summary="An account's tenancy: tenant, parent, status, KYC, sub-accounts",
        response=_ACCOUNT,
    ),
    Route(
        "PUT", "/accounts/{account}/status", set_status, cli="account-status",
        roles=frozenset({VENUE_ADMIN, OPS, COMPLIANCE, TENANT_ADMIN}), tenant=_OF_ACCOUNT,
        summary="Activate, disable or close (only when flat) an account",
        request=_obj(
            ["status"], status={"type": "string", "enum": sorted(_ACCOUNT_STATUSES)},
            reason=_TEXT,
        ),
    ),
    Route(
        "PUT", "/accounts/{account}/kyc", set_kyc, cli="kyc", roles=_KYC_ROLES, tenant=_OF_ACCOUNT,
        summary="A KYC step (none, pending, verified, rejected, suspended) and tier",
        request=_obj(
            ["status", "reason"], status={"type": "string", "enum": sorted(_KYC)}, tier=_TIER,
            reason={"type": "string", "minLength": 1, "maxLength": 256},
            reference=_TEXT,
        ),
    ),
    Route(
        "GET", "/accounts/{account}/sub-accounts", list_sub_accounts,
        cli="sub-accounts", roles=_READ,
        tenant=_OF_ACCOUNT, summary="An account's sub-accounts",
        response=_obj(["sub_accounts"], sub_accounts={"type": "array", "items": _ACCOUNT}),
    ),
    Route(
        "POST", "/accounts/{account}/sub-accounts", create_sub_account,
        cli="create-sub-account", roles=_ONBOARD,
        tenant=_OF_ACCOUNT, summary="Create a sub-account (one level deep)",
        request=_obj(["account"], account=_ID, label=_TEXT),
    ),
    Route(
        "POST", "/accounts/{account}/transfers", transfer,
        cli="transfer", roles=_ONBOARD, tenant=_OF_ACCOUNT,
        summary="Move available funds to a sub-account, the parent, or a sibling",
        request=_obj(
            ["to_account", "asset", "amount"], to_account=_ID, asset=_ID, amount=_AMOUNT,
            transfer_id=_ID,
        ),
    ),
]  # fmt: skip
