"""The fees lane's routes: venue schedules and bounds, tenant fees, account overrides
(engine/venue/fees.py)."""

from __future__ import annotations

from typing import Any, Final

from engine.model import GridError, decimal_to_units, units_to_decimal
from engine.venue.fees import (
    ClearFeeOverride,
    ConfigureFees,
    DefineFeeSchedule,
    FeeSchedule,
    SetDefaultFeeSchedule,
    SetFeeOverride,
    SetTenantFees,
    join_tiers,
    ppm_to_bps,
)
from gateway.admin.problems import Problem
from gateway.admin.routes import (
    STAFF,
    TENANT_ADMIN,
    VENUE_ADMIN,
    Call,
    Outcome,
    Route,
    tenant_in_path,
    tenant_of_account_in_path,
)
from gateway.admin.schema import DECIMAL, ID
from gateway.admin.schema import obj as _obj

__all__ = ["ROUTES"]

_ID: Final = ID
_AMOUNT: Final = DECIMAL
_BPS: Final = {
    "type": "string",
    "pattern": "^[0-9]+(\\.[0-9]{1,2})?$",
    "maxLength": 12,
    "description": "basis points, at most 2 decimals",
}
_SIGNED_BPS: Final = {
    **_BPS,
    "pattern": "^-?[0-9]+(\\.[0-9]{1,2})?$",
    "description": "basis points, at most 2 decimals; a negative maker fee is a rebate",
}
_VENUE: Final = frozenset({VENUE_ADMIN})


def _schedule(schedule: FeeSchedule) -> dict[str, Any]:
    return {
        "id": schedule.schedule_id,
        "tiers": [
            {
                "min_volume": units_to_decimal(t.min_volume),
                "maker_bps": ppm_to_bps(t.maker_ppm),
                "taker_bps": ppm_to_bps(t.taker_ppm),
            }
            for t in schedule.tiers
        ],
    }


# ---------------------------------------------------------------- venue


async def get_fees(call: Call) -> dict[str, Any]:
    book = call.host.engine.fee_book
    return {
        "revenue_account": book.revenue_account,
        "reference_asset": book.reference_asset,
        "max_rebate_bps": ppm_to_bps(book.max_rebate_ppm),
        "max_markup_bps": ppm_to_bps(book.max_markup_ppm),
        "default_schedule": book.default,
        "day": book.day,
        "schedules": [_schedule(s) for s in book.schedules.values()],
    }


async def configure(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        ConfigureFees(
            b["revenue_account"], b["reference_asset"], b["max_rebate_bps"], b["max_markup_bps"]
        )
    )


async def define_schedule(call: Call) -> Outcome:
    if not call.body["tiers"]:
        raise Problem("invalid-request", "tiers: at least one, the first from volume 0")
    try:
        tiers = join_tiers(
            (decimal_to_units(t["min_volume"]), t["maker_bps"], t["taker_bps"])
            for t in call.body["tiers"]
        )
    except GridError as err:
        raise Problem("invalid-request", f"tiers: {err}") from None
    return await call.submit(DefineFeeSchedule(call.params["schedule"], tiers))


async def set_default(call: Call) -> Outcome:
    return await call.submit(SetDefaultFeeSchedule(call.body["schedule"]))


# ---------------------------------------------------------------- tenants


async def set_tenant_fees(call: Call) -> Outcome:
    b = call.body
    return await call.submit(SetTenantFees(call.params["tenant"], b["schedule"], b["markup_bps"]))


async def set_tenant_markup(call: Call) -> Outcome:
    """The markup alone (a tenant-admin's, within the venue's bound): the schedule the
    venue gave the tenant stays."""
    tenant_id = call.params["tenant"]
    tenant = call.host.engine.tenancy.tenants.get(tenant_id)
    if tenant is None:
        raise Problem("unknown-object", f"no tenant {tenant_id!r}")
    return await call.submit(SetTenantFees(tenant_id, tenant.fee_schedule, call.body["markup_bps"]))


# ---------------------------------------------------------------- accounts


async def get_account_fees(call: Call) -> dict[str, Any]:
    engine = call.host.engine
    account_id = call.params["account"]
    account = engine.accounts.get(account_id)
    if account is None:
        raise Problem("unknown-object", f"no account {account_id!r}")
    book = engine.fee_book
    tenant = engine.tenancy.tenant_of(account_id)
    override = book.overrides.get(account_id)
    if not book.default:
        source, schedule = "account", ""
    elif override is not None:
        source, schedule = "override", ""
    elif tenant is not None and tenant.fee_schedule:
        source, schedule = "tenant", tenant.fee_schedule
    else:
        source, schedule = "default", book.default
    maker, taker, markup = book.rates(account_id, account)
    return {
        "account": account_id,
        "source": source,
        "schedule": schedule,
        "maker_bps": ppm_to_bps(maker),
        "taker_bps": ppm_to_bps(taker),
        "markup_bps": ppm_to_bps(markup),
        "volume_30d": units_to_decimal(book.volume(account_id)),
        "volume_today": units_to_decimal(account.fee_volume),
    }


async def set_override(call: Call) -> Outcome:
    b = call.body
    return await call.submit(SetFeeOverride(call.params["account"], b["maker_bps"], b["taker_bps"]))


async def clear_override(call: Call) -> Outcome:
    return await call.submit(ClearFeeOverride(call.params["account"]))


_TIER: Final = _obj(
    ["min_volume", "maker_bps", "taker_bps"],
    min_volume=_AMOUNT,
    maker_bps=_SIGNED_BPS,
    taker_bps=_BPS,
)
_SCHEDULE: Final = _obj(
    ["id", "tiers"], id={"type": "string"}, tiers={"type": "array", "items": _TIER}
)
_STRING: Final = {"type": "string"}

ROUTES: Final = [
    Route(
        "GET", "/fees", get_fees, cli="fees", roles=STAFF,
        summary="The venue's fee settings and schedules",
        response=_obj(
            ["revenue_account", "reference_asset", "max_rebate_bps", "max_markup_bps",
             "default_schedule", "day", "schedules"],
            revenue_account=_STRING, reference_asset=_STRING, max_rebate_bps=_STRING,
            max_markup_bps=_STRING, default_schedule=_STRING, day={"type": "integer"},
            schedules={"type": "array", "items": _SCHEDULE},
        ),
    ),
    Route(
        "PUT", "/fees/config", configure, cli="configure-fees", roles=_VENUE,
        summary="The venue revenue account, the volume asset, the rebate and markup bounds",
        description="The reference asset cannot change once set; tightening a bound below "
        "a schedule, override or tenant markup in force is refused (limit_exceeded).",
        request=_obj(
            ["revenue_account", "reference_asset", "max_rebate_bps", "max_markup_bps"],
            revenue_account=_ID, reference_asset=_ID, max_rebate_bps=_BPS,
            max_markup_bps=_BPS,
        ),
    ),
    Route(
        "PUT", "/fees/schedules/{schedule}", define_schedule, cli="define-fee-schedule",
        roles=_VENUE,
        summary="Create or replace a fee schedule (volume tiers)",
        description="Tiers ascend by 30-day traded notional in the reference asset, the "
        "first from 0. Each tier's maker fee is at most its taker fee; a negative maker "
        "fee (rebate) is at most max_rebate_bps and the taker fee.",
        request=_obj(["tiers"], tiers={"type": "array", "items": _TIER, "maxItems": 32}),
    ),
    Route(
        "PUT", "/fees/default", set_default, cli="default-fee-schedule", roles=_VENUE,
        summary="Set the venue default schedule",
        request=_obj(["schedule"], schedule=_ID),
    ),
    Route(
        "PUT", "/tenants/{tenant}/fees", set_tenant_fees, cli="tenant-fees", roles=_VENUE,
        summary="A tenant's schedule (\"\" = the venue default) and markup",
        request=_obj(["schedule", "markup_bps"], schedule={**_STRING, "maxLength": 64},
                     markup_bps=_BPS),
    ),
    Route(
        "PUT", "/tenants/{tenant}/fees/markup", set_tenant_markup, cli="tenant-markup",
        roles=frozenset({VENUE_ADMIN, TENANT_ADMIN}), tenant=tenant_in_path("tenant"),
        summary="A tenant's markup on top of the venue fee (at most max_markup_bps)",
        request=_obj(["markup_bps"], markup_bps=_BPS),
    ),
    Route(
        "GET", "/accounts/{account}/fees", get_account_fees, cli="account-fees",
        roles=STAFF | {TENANT_ADMIN}, tenant=tenant_of_account_in_path("account"),
        summary="An account's effective fees, where they come from, and its volume",
        response=_obj(
            ["account", "source", "schedule", "maker_bps", "taker_bps", "markup_bps",
             "volume_30d", "volume_today"],
            account=_STRING,
            source={"type": "string", "enum": ["account", "override", "tenant", "default"]},
            schedule=_STRING, maker_bps=_STRING, taker_bps=_STRING, markup_bps=_STRING,
            volume_30d=_STRING, volume_today=_STRING,
        ),
    ),
    Route(
        "PUT", "/accounts/{account}/fees/override", set_override, cli="fee-override", roles=_VENUE,
        summary="An account's own venue fee, ahead of any schedule (the markup still applies)",
        request=_obj(["maker_bps", "taker_bps"], maker_bps=_SIGNED_BPS, taker_bps=_BPS),
    ),
    Route(
        "DELETE", "/accounts/{account}/fees/override", clear_override,
        cli="clear-fee-override", roles=_VENUE,
        summary="Remove an account's fee override",
    ),
]  # fmt: skip
