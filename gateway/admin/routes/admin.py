"""The admin lane's routes: the engine's kill switches, instruments, and operators."""

from __future__ import annotations

from typing import Any, Final

from engine.commands import (
    AddInstrument,
    MassCancel,
    SetAccountEnabled,
    SetGlobalHalt,
    SetInstrumentStatus,
)
from engine.model import TradingStatus, units_to_decimal
from engine.venue.operators import ROLES as OPERATOR_ROLES
from engine.venue.operators import AddOperatorKey, CreateOperator, SetOperatorEnabled
from gateway.admin.problems import Problem
from gateway.admin.routes import (
    ALL_ROLES,
    COMPLIANCE,
    OPS,
    STAFF,
    TENANT_ADMIN,
    VENUE_ADMIN,
    Call,
    Outcome,
    Route,
    own_tenant,
    tenant_of_account_in_body,
    tenant_of_account_in_path,
)
from gateway.admin.schema import DECIMAL as _DECIMAL
from gateway.admin.schema import ID as _ID
from gateway.admin.schema import TEXT as _TEXT
from gateway.admin.schema import obj as _obj

__all__ = ["ROUTES"]

_KEY: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Ed25519, hex"}
_STATUS: Final = {s.name.lower(): s for s in TradingStatus}
_KILL: Final = frozenset({VENUE_ADMIN, OPS})


# ---------------------------------------------------------------- kill switches


async def get_halt(call: Call) -> dict[str, Any]:
    return {"halted": call.host.engine.halted}


async def set_halt(call: Call) -> Outcome:
    return await call.submit(SetGlobalHalt(call.body["halted"]))


async def list_instruments(call: Call) -> dict[str, Any]:
    return {
        "instruments": [
            {
                "symbol": symbol,
                "base": listing.instrument.base,
                "quote": listing.instrument.quote,
                "tick_size": str(listing.instrument.tick_size),
                "lot_size": str(listing.instrument.lot_size),
                "status": listing.status.name.lower(),
            }
            for symbol, listing in call.host.engine.listings.items()
        ]
    }


async def add_instrument(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        AddInstrument(
            b["symbol"], b["base"], b["quote"], b["tick_size"], b["lot_size"],
            b.get("min_qty", "0"), b.get("min_notional", "0"), b.get("collar_pct", "0"),
        )
    )  # fmt: skip


async def set_instrument_status(call: Call) -> Outcome:
    status = _STATUS[call.body["status"]]
    return await call.submit(SetInstrumentStatus(call.params["symbol"], status))


async def get_account(call: Call) -> dict[str, Any]:
    account_id = call.params["account"]
    account = call.host.engine.accounts.get(account_id)
    if account is None:
        raise Problem("unknown-object", f"no account {account_id!r}")
    return {
        "account": account_id,
        "enabled": account.enabled,
        "tenant": account.tenant,
        "open_orders": account.open_orders,
        "balances": {
            asset: {"total": units_to_decimal(b.total), "held": units_to_decimal(b.held)}
            for asset, b in account.balances.items()
        },
    }


async def set_account_enabled(call: Call) -> Outcome:
    return await call.submit(SetAccountEnabled(call.params["account"], call.body["enabled"]))


async def mass_cancel(call: Call) -> Outcome:
    account, symbol = call.body.get("account", ""), call.body.get("symbol", "")
    if not account and not symbol:
        raise Problem("invalid-request", "name an account, a symbol or both")
    return await call.submit(MassCancel(account, symbol, request_id="admin"))


# ---------------------------------------------------------------- operators


async def whoami(call: Call) -> dict[str, Any]:
    op = call.operator
    return {"operator": op.operator_id, "role": op.role, "tenant": op.tenant}


async def list_operators(call: Call) -> dict[str, Any]:
    return {
        "operators": [
            {
                "operator": op.operator_id,
                "role": op.role,
                "tenant": op.tenant,
                "enabled": op.enabled,
                "public_keys": list(op.keys),
            }
            for op in call.host.engine.operators.by_id.values()
        ]
    }


async def create_operator(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        CreateOperator(b["operator"], b["role"], b["public_key"], b.get("tenant", ""))
    )


async def set_operator_enabled(call: Call) -> Outcome:
    return await call.submit(SetOperatorEnabled(call.params["operator"], call.body["enabled"]))


async def add_operator_key(call: Call) -> Outcome:
    return await call.submit(AddOperatorKey(call.params["operator"], call.body["public_key"]))


_ACCOUNT: Final = {
    "type": "object",
    "required": ["account", "enabled", "tenant", "open_orders", "balances"],
    "properties": {
        "account": {"type": "string"},
        "enabled": {"type": "boolean"},
        "tenant": {"type": "string"},
        "open_orders": {"type": "integer"},
        "balances": {"type": "object"},
    },
}

ROUTES: Final = [
    Route(
        "GET", "/halt", get_halt, roles=STAFF, summary="Whether trading is halted venue-wide",
        response=_obj(["halted"], halted={"type": "boolean"}),
        cli="halt-status",
    ),
    Route(
        "PUT", "/halt", set_halt, roles=_KILL, summary="Halt or resume trading venue-wide",
        request=_obj(["halted"], halted={"type": "boolean"}, reason=_TEXT),
        cli="halt",
    ),
    Route(
        "GET", "/instruments", list_instruments, roles=STAFF, summary="Instruments and status",
        response=_obj(["instruments"], instruments={"type": "array", "items": {"type": "object"}}),
        cli="instruments",
    ),
    Route(
        "POST", "/instruments", add_instrument, roles=frozenset({VENUE_ADMIN}),
        summary="List a new instrument (open at once)",
        request=_obj(
            ["symbol", "base", "quote", "tick_size", "lot_size"],
            symbol=_ID, base=_ID, quote=_ID, tick_size=_DECIMAL, lot_size=_DECIMAL,
            min_qty=_DECIMAL, min_notional=_DECIMAL, collar_pct=_DECIMAL,
        ),
        cli="add-instrument",
    ),
    Route(
        "PUT", "/instruments/{symbol}/status", set_instrument_status, roles=_KILL,
        summary="Open, halt, or set an instrument cancel-only",
        request=_obj(
            ["status"], status={"type": "string", "enum": sorted(_STATUS)}, reason=_TEXT
        ),
        cli="instrument-status",
    ),
    Route(
        "GET", "/accounts/{account}", get_account,
        roles=STAFF | {TENANT_ADMIN}, tenant=tenant_of_account_in_path("account"),
        summary="An account's status and balances", response=_ACCOUNT,
        cli="account",
    ),
    Route(
        "PUT", "/accounts/{account}/enabled", set_account_enabled,
        roles=_KILL | {COMPLIANCE, TENANT_ADMIN}, tenant=tenant_of_account_in_path("account"),
        summary="Enable or disable an account's trading (kill switch)",
        request=_obj(["enabled"], enabled={"type": "boolean"}, reason=_TEXT),
        cli="account-enabled",
    ),
    Route(
        "POST", "/mass-cancel", mass_cancel,
        roles=_KILL | {TENANT_ADMIN}, tenant=tenant_of_account_in_body("account"),
        summary="Cancel every open order of an account, an instrument, or both",
        request=_obj([], account=_ID, symbol=_ID, reason=_TEXT),
        cli="mass-cancel",
    ),
    Route(
        "GET", "/operators/me", whoami, roles=ALL_ROLES, tenant=own_tenant,
        summary="The calling operator",
        response=_obj(
            ["operator", "role", "tenant"],
            operator={"type": "string"}, role={"type": "string"}, tenant={"type": "string"},
        ),
        cli="whoami",
    ),
    Route(
        "GET", "/operators", list_operators, roles=frozenset({VENUE_ADMIN}),
        summary="Every operator (public keys only)",
        response=_obj(["operators"], operators={"type": "array", "items": {"type": "object"}}),
        cli="operators",
    ),
    Route(
        "POST", "/operators", create_operator, roles=frozenset({VENUE_ADMIN}),
        summary="Create an operator",
        request=_obj(
            ["operator", "role", "public_key"], operator=_ID,
            role={"type": "string", "enum": list(OPERATOR_ROLES)}, public_key=_KEY, tenant=_ID,
        ),
        cli="create-operator",
    ),
    Route(
        "PUT", "/operators/{operator}/enabled", set_operator_enabled,
        roles=frozenset({VENUE_ADMIN}), summary="Enable or disable an operator",
        request=_obj(["enabled"], enabled={"type": "boolean"}),
        cli="operator-enabled",
    ),
    Route(
        "POST", "/operators/{operator}/keys", add_operator_key, roles=frozenset({VENUE_ADMIN}),
        summary="Add a public key to an operator (rotation)",
        request=_obj(["public_key"], public_key=_KEY),
        cli="add-operator-key",
    ),
]  # fmt: skip
