"""The funds lane's routes: deposits credited by custody, withdrawals processed.

Every mutation names the calling operator as the step's actor (maker-checker compares
it with the requester). Amounts are decimal strings of the asset (at most 8 decimals);
the ``events`` of a mutation's answer carry the engine's record, amounts in units of
10**-8.
"""

from __future__ import annotations

from typing import Any, Final

from engine.model import units_to_decimal
from engine.venue.funds import (
    ApproveWithdrawal,
    CompleteWithdrawal,
    ConfirmDeposit,
    CreditDeposit,
    Deposit,
    MarkWithdrawalSent,
    RejectDeposit,
    RejectWithdrawal,
    RequestWithdrawal,
    Withdrawal,
)
from gateway.admin.problems import Problem
from gateway.admin.routes import (
    COMPLIANCE,
    OPS,
    STAFF,
    TENANT_ADMIN,
    VENUE_ADMIN,
    Call,
    Outcome,
    Route,
    ascii_int,
    tenant_of_account,
    tenant_of_account_in_body,
    tenant_of_query_account,
)
from gateway.admin.schema import ID, TEXT, obj, units

__all__ = ["ROUTES", "deposit_view", "withdrawal_view"]

_ID: Final = ID
_TEXT: Final = TEXT
_REF: Final = {"type": "string", "minLength": 1, "maxLength": 256}
_AMOUNT: Final = {
    "type": "string",
    "pattern": "^[0-9]+(\\.[0-9]{1,8})?$",
    "maxLength": 40,
    "description": "a decimal amount of the asset, at most 8 decimals",
}
_CUSTODY: Final = frozenset({VENUE_ADMIN, OPS, TENANT_ADMIN})
_CHECKERS: Final = _CUSTODY | {COMPLIANCE}
_READERS: Final = STAFF | {TENANT_ADMIN}
_MAX_LIST: Final = 1000
_DEPOSIT_STATES: Final = ("pending", "credited", "rejected")
_WITHDRAWAL_STATES: Final = ("held", "approved", "sent", "completed", "rejected", "canceled")


def _history(steps: list[list[Any]]) -> list[dict[str, Any]]:
    return [
        {"status": status, "actor": actor, "reason": reason, "seq": seq, "ts_us": ts_us}
        for status, actor, reason, seq, ts_us in steps
    ]


def deposit_view(d: Deposit) -> dict[str, Any]:
    """A deposit as the admin API and the operator CLI show it."""
    return {
        "deposit_id": d.deposit_id,
        "account": d.account,
        "asset": d.asset,
        "amount": units_to_decimal(d.amount),
        "reference": d.reference,
        "status": d.status,
        "created_us": d.created_us,
        "updated_us": d.updated_us,
        "history": _history(d.history),
    }


def withdrawal_view(w: Withdrawal) -> dict[str, Any]:
    """A withdrawal as the admin API and the client APIs show it."""
    return {
        "withdrawal_id": w.withdrawal_id,
        "account": w.account,
        "asset": w.asset,
        "amount": units_to_decimal(w.amount),
        "destination": w.destination,
        "client_id": w.client_id,
        "requested_by": w.requested_by,
        "status": w.status,
        "custody_reference": w.custody_reference,
        "created_us": w.created_us,
        "updated_us": w.updated_us,
        "history": _history(w.history),
    }


# ---------------------------------------------------------------- tenant scopes


def _deposit_tenant(call: Call) -> str | None:
    deposit = call.host.engine.funds.deposits.get(call.request.match_info.get("deposit_id", ""))
    return None if deposit is None else tenant_of_account(call, deposit.account)


def _withdrawal_tenant(call: Call) -> str | None:
    funds = call.host.engine.funds
    withdrawal = funds.withdrawals.get(call.request.match_info.get("withdrawal_id", ""))
    return None if withdrawal is None else tenant_of_account(call, withdrawal.account)


# ---------------------------------------------------------------- deposits


async def credit_deposit(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        CreditDeposit(
            b["account"],
            b["asset"],
            units("amount", b["amount"]),
            b["reference"],
            call.operator.operator_id,
            b.get("reason", ""),
            b.get("pending", False),
        )
    )


async def confirm_deposit(call: Call) -> Outcome:
    deposit_id = call.params["deposit_id"]
    actor = call.operator.operator_id
    return await call.submit(ConfirmDeposit(deposit_id, actor, call.body.get("reason", "")))


async def reject_deposit(call: Call) -> Outcome:
    deposit_id = call.params["deposit_id"]
    return await call.submit(
        RejectDeposit(deposit_id, call.operator.operator_id, call.body["reason"])
    )


def _filters(call: Call, states: tuple[str, ...]) -> tuple[str, str, int]:
    query = call.request.query
    status = query.get("status", "")
    if status and status not in states:
        raise Problem("invalid-request", f"status must be one of {', '.join(states)}")
    limit = ascii_int(query.get("limit", "100"))
    if limit is None or not 0 < limit <= _MAX_LIST:
        raise Problem("invalid-request", f"limit must be 1..{_MAX_LIST}")
    return query.get("account", ""), status, limit


def _visible(call: Call, account: str) -> bool:
    """A tenant-admin sees its own tenant's records only."""
    tenant = call.operator.tenant
    return not tenant or tenant_of_account(call, account) == tenant


async def list_deposits(call: Call) -> dict[str, Any]:
    account, status, limit = _filters(call, _DEPOSIT_STATES)
    funds = call.host.engine.funds
    found: list[dict[str, Any]] = []
    for d in reversed(funds.deposits.values()):
        if (account and d.account != account) or (status and d.status != status):
            continue
        if _visible(call, d.account):
            found.append(deposit_view(d))
            if len(found) == limit:
                break
    return {"deposits": found}


async def get_deposit(call: Call) -> dict[str, Any]:
    deposit_id = call.params["deposit_id"]
    deposit = call.host.engine.funds.deposits.get(deposit_id)
    if deposit is None:
        raise Problem("unknown-object", f"no deposit {deposit_id!r}")
    return deposit_view(deposit)


# ---------------------------------------------------------------- withdrawals


async def request_withdrawal(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        RequestWithdrawal(
            b["account"],
            b["asset"],
            units("amount", b["amount"]),
            b["destination"],
            call.operator.operator_id,
            b.get("reason", ""),
            b.get("client_id", ""),
        )
    )


async def approve_withdrawal(call: Call) -> Outcome:
    wid, actor = call.params["withdrawal_id"], call.operator.operator_id
    return await call.submit(ApproveWithdrawal(wid, actor, call.body.get("reason", "")))


async def reject_withdrawal(call: Call) -> Outcome:
    wid, actor = call.params["withdrawal_id"], call.operator.operator_id
    return await call.submit(RejectWithdrawal(wid, actor, call.body["reason"]))


async def mark_sent(call: Call) -> Outcome:
    b = call.body
    return await call.submit(
        MarkWithdrawalSent(
            call.params["withdrawal_id"],
            b["custody_reference"],
            call.operator.operator_id,
            b.get("reason", ""),
        )
    )


async def complete_withdrawal(call: Call) -> Outcome:
    wid, actor = call.params["withdrawal_id"], call.operator.operator_id
    return await call.submit(CompleteWithdrawal(wid, actor, call.body.get("reason", "")))


async def list_withdrawals(call: Call) -> dict[str, Any]:
    account, status, limit = _filters(call, _WITHDRAWAL_STATES)
    funds = call.host.engine.funds
    source = funds.of_account(account) if account else list(funds.withdrawals.values())
    found: list[dict[str, Any]] = []
    for w in reversed(source):
        if (status and w.status != status) or not _visible(call, w.account):
            continue
        found.append(withdrawal_view(w))
        if len(found) == limit:
            break
    return {"withdrawals": found}


async def get_withdrawal(call: Call) -> dict[str, Any]:
    wid = call.params["withdrawal_id"]
    withdrawal = call.host.engine.funds.withdrawals.get(wid)
    if withdrawal is None:
        raise Problem("unknown-object", f"no withdrawal {wid!r}")
    return withdrawal_view(withdrawal)


# ---------------------------------------------------------------- table

_STEP: Final = {"type": "object", "description": "status, actor, reason, seq, ts_us"}
_DEPOSIT: Final = obj(
    [
        "deposit_id", "account", "asset", "amount", "reference", "status", "created_us",
        "updated_us", "history",
    ],
    deposit_id={"type": "string"}, account={"type": "string"}, asset={"type": "string"},
    amount={"type": "string"}, reference={"type": "string"},
    status={"type": "string", "enum": list(_DEPOSIT_STATES)},
    created_us={"type": "integer"}, updated_us={"type": "integer"},
    history={"type": "array", "items": _STEP},
)  # fmt: skip
_WITHDRAWAL: Final = obj(
    [
        "withdrawal_id", "account", "asset", "amount", "destination", "client_id",
        "requested_by", "status", "custody_reference", "created_us", "updated_us", "history",
    ],
    withdrawal_id={"type": "string"}, account={"type": "string"}, asset={"type": "string"},
    amount={"type": "string"}, destination={"type": "string"}, client_id={"type": "string"},
    requested_by={"type": "string"},
    status={"type": "string", "enum": list(_WITHDRAWAL_STATES)},
    custody_reference={"type": "string"}, created_us={"type": "integer"},
    updated_us={"type": "integer"}, history={"type": "array", "items": _STEP},
)  # fmt: skip
_LIST_HELP: Final = (
    "Newest first. Query: account=<id>, status=<state>, limit=1..1000 (default 100)."
    " A tenant-admin sees its own tenant's only."
)

ROUTES: Final = [
    Route(
        "POST", "/deposits", credit_deposit,
        cli="deposit", roles=_CUSTODY,
        tenant=tenant_of_account_in_body("account"),
        summary="Credit a deposit seen by custody (or record it pending confirmations)",
        description=(
            "Idempotent by reference within the account's tenant (or the account outside"
            " any tenant): the same reference again answers the existing deposit"
            " (event deposit.existing) and changes nothing; with another account, asset or"
            " amount it is refused (409)."
        ),
        request=obj(
            ["account", "asset", "amount", "reference"], account=_ID, asset=_ID,
            amount=_AMOUNT, reference=_REF, pending={"type": "boolean"}, reason=_TEXT,
        ),
    ),
    Route(
        "POST", "/deposits/{deposit_id}/confirm", confirm_deposit,
        cli="confirm-deposit", roles=_CUSTODY,
        tenant=_deposit_tenant, summary="Credit a pending deposit",
        request=obj([], reason=_TEXT),
    ),
    Route(
        "POST", "/deposits/{deposit_id}/reject", reject_deposit,
        cli="reject-deposit", roles=_CHECKERS,
        tenant=_deposit_tenant, summary="Refuse a pending deposit (nothing is credited)",
        request=obj(["reason"], reason=_TEXT),
    ),
    Route(
        "GET", "/deposits", list_deposits,
        cli="deposits", roles=_READERS, tenant=tenant_of_query_account,
        summary="Deposits", description=_LIST_HELP,
        response=obj(["deposits"], deposits={"type": "array", "items": _DEPOSIT}),
    ),
    Route(
        "GET", "/deposits/{deposit_id}", get_deposit,
        cli="show-deposit", roles=_READERS, tenant=_deposit_tenant,
        summary="One deposit and its history", response=_DEPOSIT,
    ),
    Route(
        "POST", "/withdrawals", request_withdrawal,
        cli="request-withdrawal", roles=_CUSTODY,
        tenant=tenant_of_account_in_body("account"),
        summary="Request a withdrawal on a client's behalf (the amount is held at once)",
        request=obj(
            ["account", "asset", "amount", "destination"], account=_ID, asset=_ID,
            amount=_AMOUNT, destination=_TEXT, client_id=_ID, reason=_TEXT,
        ),
    ),
    Route(
        "POST", "/withdrawals/{withdrawal_id}/approve", approve_withdrawal,
        cli="approve-withdrawal", roles=_CHECKERS,
        tenant=_withdrawal_tenant, summary="Approve a held withdrawal",
        description=(
            "Above the tenant's approval threshold for the asset the approver must not be"
            " the requester (422, code SAME_ACTOR)."
        ),
        request=obj([], reason=_TEXT),
    ),
    Route(
        "POST", "/withdrawals/{withdrawal_id}/reject", reject_withdrawal,
        cli="reject-withdrawal", roles=_CHECKERS,
        tenant=_withdrawal_tenant,
        summary="Refuse a held or approved withdrawal (the hold is released)",
        request=obj(["reason"], reason=_TEXT),
    ),
    Route(
        "POST", "/withdrawals/{withdrawal_id}/sent", mark_sent,
        cli="withdrawal-sent", roles=_CUSTODY,
        tenant=_withdrawal_tenant, summary="Custody sent an approved withdrawal",
        request=obj(["custody_reference"], custody_reference=_REF, reason=_TEXT),
    ),
    Route(
        "POST", "/withdrawals/{withdrawal_id}/complete", complete_withdrawal,
        cli="complete-withdrawal", roles=_CUSTODY,
        tenant=_withdrawal_tenant,
        summary="A sent withdrawal is final (the amount leaves the balance)",
        request=obj([], reason=_TEXT),
    ),
    Route(
        "GET", "/withdrawals", list_withdrawals,
        cli="withdrawals", roles=_READERS, tenant=tenant_of_query_account,
        summary="Withdrawals", description=_LIST_HELP,
        response=obj(["withdrawals"], withdrawals={"type": "array", "items": _WITHDRAWAL}),
    ),
    Route(
        "GET", "/withdrawals/{withdrawal_id}", get_withdrawal,
        cli="show-withdrawal", roles=_READERS,
        tenant=_withdrawal_tenant, summary="One withdrawal and its history",
        response=_WITHDRAWAL,
    ),
]  # fmt: skip
