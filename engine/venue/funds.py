"""Deposits and withdrawals with their holds.

Journal codes 50-59.

A deposit is credited by the operator's custody system, at once or after it waits for
confirmations (pending -> credited | rejected). It is idempotent by external reference
within its scope (the account's tenant, or the account itself outside any tenant): the
same reference again answers the existing deposit and changes nothing.

A withdrawal moves its amount to held when requested, and only a step of its own
releases it::

    held -> approved -> sent -> completed      (completed: total and held both drop)
    held | approved -> rejected                (the hold is released)
    held -> canceled                           (the client's own cancel; released)

Each step is one journaled command that carries its actor and reason; a step the
current state does not allow is refused (INVALID_TRANSITION) and changes nothing. So
an account's held amount is always the sum of its open withdrawals' amounts and its
open orders' holds. Ids derive from the seq of the creating command ("D<seq>",
"W<seq>"), so a replay gives them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final

from engine.events import RejectCode
from engine.venue import VenueCommand, emit, reject
from engine.venue.tenancy import AccountStatus, KycStatus, TenantStatus

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = [
    "COMMANDS",
    "DAY_US",
    "HANDLERS",
    "OPEN_WITHDRAWAL",
    "ApproveWithdrawal",
    "CancelWithdrawal",
    "CompleteWithdrawal",
    "ConfirmDeposit",
    "CreditDeposit",
    "Deposit",
    "Funds",
    "MarkWithdrawalSent",
    "RejectDeposit",
    "RejectWithdrawal",
    "RequestWithdrawal",
    "Withdrawal",
]

DAY_US: Final = 86_400_000_000
"""A UTC day in microseconds: daily withdrawal limits count by ts_us // DAY_US."""

#: Withdrawal states whose amount is still held.
OPEN_WITHDRAWAL: Final = frozenset(("held", "approved", "sent"))
#: Withdrawal states that count against the daily limit.
_COUNTED: Final = frozenset(("held", "approved", "sent", "completed"))
_MAX_TEXT: Final = 256


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class CreditDeposit(VenueCommand):
    """Custody saw a deposit: credit it now, or record it pending confirmations."""

    account: str
    asset: str
    amount: int
    reference: str  # the custody system's id of the deposit (a tx hash, a transfer id)
    actor: str
    reason: str = ""
    pending: bool = False


@dataclass(frozen=True, slots=True)
class ConfirmDeposit(VenueCommand):
    """A pending deposit has its confirmations: credit it."""

    deposit_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RejectDeposit(VenueCommand):
    """A pending deposit will not be credited (reorged out, AML refusal, ...)."""

    deposit_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RequestWithdrawal(VenueCommand):
    """A client (or an operator on its behalf) asks to withdraw: the amount is held.

    client_id, when given, makes the request idempotent per account: the same id again
    answers the existing withdrawal."""

    account: str
    asset: str
    amount: int
    destination: str  # an address or a bank reference, opaque to the engine
    actor: str
    reason: str = ""
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class ApproveWithdrawal(VenueCommand):
    withdrawal_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RejectWithdrawal(VenueCommand):
    withdrawal_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MarkWithdrawalSent(VenueCommand):
    """Custody broadcast the withdrawal; custody_reference names it there."""

    withdrawal_id: str
    custody_reference: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CompleteWithdrawal(VenueCommand):
    withdrawal_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancelWithdrawal(VenueCommand):
    """The client's own cancel, before approval; account must be the withdrawal's."""

    withdrawal_id: str
    account: str
    actor: str
    reason: str = ""


# ---------------------------------------------------------------- records


@dataclass(slots=True)
class Deposit:
    deposit_id: str
    account: str
    asset: str
    amount: int
    reference: str
    scope: str  # idempotency scope: "tenant:<id>" or "account:<id>"
    status: str  # pending, credited, rejected
    created_us: int
    updated_us: int
    history: list[list[Any]] = field(default_factory=list)  # [status, actor, reason, seq, ts]

    def to_data(self) -> dict[str, object]:
        return {
            "deposit_id": self.deposit_id,
            "account": self.account,
            "asset": self.asset,
            "amount": self.amount,
            "reference": self.reference,
            "status": self.status,
            "created_us": self.created_us,
            "updated_us": self.updated_us,
            "history": [list(step) for step in self.history],
        }


@dataclass(slots=True)
class Withdrawal:
    withdrawal_id: str
    account: str
    asset: str
    amount: int
    destination: str
    client_id: str
    requested_by: str
    kyc_subject: str  # the KYC subject: the account, or a sub-account's parent
    status: str  # held, approved, sent, completed, rejected, canceled
    created_us: int
    updated_us: int
    custody_reference: str = ""
    history: list[list[Any]] = field(default_factory=list)  # [status, actor, reason, seq, ts]

    def to_data(self) -> dict[str, object]:
        return {
            "withdrawal_id": self.withdrawal_id,
            "account": self.account,
            "asset": self.asset,
            "amount": self.amount,
            "destination": self.destination,
            "client_id": self.client_id,
            "requested_by": self.requested_by,
            "kyc_subject": self.kyc_subject,
            "status": self.status,
            "created_us": self.created_us,
            "updated_us": self.updated_us,
            "custody_reference": self.custody_reference,
            "history": [list(step) for step in self.history],
        }


_DEPOSIT_FIELDS: Final = tuple(f.name for f in fields(Deposit))
_WITHDRAWAL_FIELDS: Final = tuple(f.name for f in fields(Withdrawal))


class Funds:
    """Every deposit and withdrawal, in creation order, with the indexes that find them."""

    def __init__(self) -> None:
        self.deposits: dict[str, Deposit] = {}
        self.withdrawals: dict[str, Withdrawal] = {}
        # Derived indexes (rebuilt on restore, not in the state).
        self.deposit_refs: dict[tuple[str, str], str] = {}  # (scope, reference) -> id
        self.by_account: dict[str, list[str]] = {}  # account -> withdrawal ids, oldest first
        self.by_subject: dict[str, list[str]] = {}  # KYC subject -> withdrawal ids, oldest first
        self.client_ids: dict[tuple[str, str], str] = {}  # (account, client id) -> id

    def add_deposit(self, deposit: Deposit) -> None:
        self.deposits[deposit.deposit_id] = deposit
        self.deposit_refs[(deposit.scope, deposit.reference)] = deposit.deposit_id

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        self.withdrawals[withdrawal.withdrawal_id] = withdrawal
        self.by_account.setdefault(withdrawal.account, []).append(withdrawal.withdrawal_id)
        self.by_subject.setdefault(withdrawal.kyc_subject, []).append(withdrawal.withdrawal_id)
        if withdrawal.client_id:
            self.client_ids[(withdrawal.account, withdrawal.client_id)] = withdrawal.withdrawal_id

    def of_account(self, account: str) -> list[Withdrawal]:
        """An account's withdrawals, oldest first."""
        return [self.withdrawals[w] for w in self.by_account.get(account, ())]

    def held_for(self, account: str, asset: str) -> int:
        """What the account's open withdrawals hold of asset."""
        return sum(
            w.amount
            for w in self.of_account(account)
            if w.asset == asset and w.status in OPEN_WITHDRAWAL
        )

    def used_on(self, subject: str, asset: str, day: int) -> int:
        """What a KYC subject's withdrawals requested on UTC day `day` count against its
        daily limit (newest first: stops at the first older day)."""
        used = 0
        for withdrawal_id in reversed(self.by_subject.get(subject, ())):
            w = self.withdrawals[withdrawal_id]
            if w.created_us // DAY_US < day:
                break
            if w.asset == asset and w.status in _COUNTED:
                used += w.amount
        return used

    def to_state(self) -> dict[str, Any]:
        return {
            "deposits": [_row(d, _DEPOSIT_FIELDS) for d in self.deposits.values()],
            "withdrawals": [_row(w, _WITHDRAWAL_FIELDS) for w in self.withdrawals.values()],
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.deposits, self.withdrawals = {}, {}
        self.deposit_refs, self.by_account, self.by_subject, self.client_ids = {}, {}, {}, {}
        for row in state.get("deposits", []):
            self.add_deposit(Deposit(*_unrow(row)))
        for row in state.get("withdrawals", []):
            self.add_withdrawal(Withdrawal(*_unrow(row)))


def _unrow(row: list[Any]) -> list[Any]:
    """A saved row back to constructor arguments, its history copied."""
    return [*row[:-1], [list(step) for step in row[-1]]]


def _row(record: Deposit | Withdrawal, names: tuple[str, ...]) -> list[Any]:
    """A record's fields in order, history last and copied (the state shares nothing)."""
    return [*(getattr(record, n) for n in names[:-1]), [list(s) for s in record.history]]


# ---------------------------------------------------------------- checks shared by handlers


def _step(
    record: Deposit | Withdrawal, engine: Engine, status: str, actor: str, reason: str
) -> None:
    record.status = status
    record.updated_us = engine.ts_us
    record.history.append([status, actor, reason, engine.seq, engine.ts_us])


def _bad_text(actor: str, reason: str) -> str:
    """Why actor/reason are refused, or "" when they are fine."""
    if not actor:
        return "an actor is required"
    if len(actor) > _MAX_TEXT or len(reason) > _MAX_TEXT:
        return f"actor and reason are at most {_MAX_TEXT} characters"
    return ""


def _refuse_moves(engine: Engine, account: str, action: str) -> tuple[RejectCode, str] | None:
    """Why funds may not move for account now: its status and its owner's (a
    sub-account's parent), the tenant's status (withdrawals), KYC status and tier."""
    acct = engine.accounts.get(account)
    if acct is None:
        return RejectCode.UNKNOWN_ACCOUNT, f"unknown account {account!r}"
    if action == "withdraw" and not acct.enabled:
        return RejectCode.ACCOUNT_DISABLED, f"account {account!r} is disabled"
    tenancy = engine.tenancy
    info = tenancy.accounts.get(account)
    if info is None:
        return None  # outside any tenant: no tenant, KYC or tier gates
    owner = tenancy.accounts.get(info.parent, info) if info.parent else info
    for member in (info, owner):
        if member.status == AccountStatus.CLOSED:
            return RejectCode.ACCOUNT_CLOSED, f"account {member.account_id!r} is closed"
        if action == "withdraw" and member.status == AccountStatus.DISABLED:
            return RejectCode.ACCOUNT_DISABLED, f"account {member.account_id!r} is disabled"
    tenant = tenancy.tenant_of(account)
    if action == "withdraw" and tenant is not None and tenant.status == TenantStatus.SUSPENDED:
        return RejectCode.TENANT_SUSPENDED, f"tenant {tenant.tenant_id!r} is suspended"
    if owner.kyc_status != KycStatus.VERIFIED:
        return RejectCode.KYC_FORBIDS, f"KYC is {owner.kyc_status.name.lower()}"
    tier = tenancy.tier_of(account)
    if tier is not None and not (tier.withdraw if action == "withdraw" else tier.deposit):
        return RejectCode.KYC_FORBIDS, f"KYC tier {tier.tier} does not allow {action}"
    return None


def _deposit_scope(engine: Engine, account: str) -> str:
    info = engine.tenancy.accounts.get(account)
    return f"tenant:{info.tenant_id}" if info is not None else f"account:{account}"


# ---------------------------------------------------------------- deposits


def _credit_deposit(engine: Engine, cmd: CreditDeposit) -> None:
    funds = engine.funds
    bad = _bad_text(cmd.actor, cmd.reason)
    if bad or not cmd.reference or len(cmd.reference) > _MAX_TEXT or not cmd.asset:
        text = bad or "a reference (at most 256 characters) and an asset are required"
        reject(engine, cmd.reference, RejectCode.INVALID_COMMAND, text)
        return
    if cmd.amount <= 0:
        reject(engine, cmd.reference, RejectCode.INVALID_AMOUNT, "amount must be positive")
        return
    if cmd.account not in engine.accounts:
        reject(
            engine, cmd.reference, RejectCode.UNKNOWN_ACCOUNT, f"unknown account {cmd.account!r}"
        )
        return
    scope = _deposit_scope(engine, cmd.account)
    known = funds.deposit_refs.get((scope, cmd.reference))
    if known is not None:
        existing = funds.deposits[known]
        if (existing.account, existing.asset, existing.amount) != (
            cmd.account,
            cmd.asset,
            cmd.amount,
        ):
            reject(
                engine,
                known,
                RejectCode.ALREADY_EXISTS,
                f"reference {cmd.reference!r} is deposit {known} with another account,"
                " asset or amount",
            )
            return
        emit(engine, "deposit.existing", known, **existing.to_data())
        return
    refused = _refuse_moves(engine, cmd.account, "deposit")
    if refused is not None:
        reject(engine, cmd.reference, *refused)
        return
    deposit = Deposit(
        f"D{engine.seq}",
        cmd.account,
        cmd.asset,
        cmd.amount,
        cmd.reference,
        scope,
        "",
        engine.ts_us,
        engine.ts_us,
    )
    _step(deposit, engine, "pending" if cmd.pending else "credited", cmd.actor, cmd.reason)
    funds.add_deposit(deposit)
    if not cmd.pending:
        _credit(engine, deposit)
    emit(engine, f"deposit.{deposit.status}", deposit.deposit_id, **deposit.to_data())


def _credit(engine: Engine, deposit: Deposit) -> None:
    bal = engine.accounts[deposit.account].balance(deposit.asset)
    bal.total += deposit.amount
    engine.dirty[(deposit.account, deposit.asset)] = bal


def _pending_deposit(engine: Engine, deposit_id: str, actor: str, reason: str) -> Deposit | None:
    """The pending deposit a confirm or reject names, or None after rejecting."""
    bad = _bad_text(actor, reason)
    deposit = engine.funds.deposits.get(deposit_id)
    if bad:
        reject(engine, deposit_id, RejectCode.INVALID_COMMAND, bad)
    elif deposit is None:
        reject(engine, deposit_id, RejectCode.UNKNOWN_REQUEST, f"unknown deposit {deposit_id!r}")
    elif deposit.status != "pending":
        reject(
            engine,
            deposit_id,
            RejectCode.INVALID_TRANSITION,
            f"deposit {deposit_id} is {deposit.status}, not pending",
        )
    else:
        return deposit
    return None


def _confirm_deposit(engine: Engine, cmd: ConfirmDeposit) -> None:
    deposit = _pending_deposit(engine, cmd.deposit_id, cmd.actor, cmd.reason)
    if deposit is None:
        return
    refused = _refuse_moves(engine, deposit.account, "deposit")
    if refused is not None:
        reject(engine, deposit.deposit_id, *refused)
        return
    _step(deposit, engine, "credited", cmd.actor, cmd.reason)
    _credit(engine, deposit)
    emit(engine, "deposit.credited", deposit.deposit_id, **deposit.to_data())


def _reject_deposit(engine: Engine, cmd: RejectDeposit) -> None:
    deposit = _pending_deposit(engine, cmd.deposit_id, cmd.actor, cmd.reason)
    if deposit is None:
        return
    _step(deposit, engine, "rejected", cmd.actor, cmd.reason)
    emit(engine, "deposit.rejected", deposit.deposit_id, **deposit.to_data())


# ---------------------------------------------------------------- withdrawals


def _subject(engine: Engine, account: str) -> str:
    """The KYC subject an account withdraws for: a sub-account's parent, else itself
    (a daily limit is the subject's, across its sub-accounts)."""
    info = engine.tenancy.accounts.get(account)
    return info.parent or account if info is not None else account


def _request_withdrawal(engine: Engine, cmd: RequestWithdrawal) -> None:
    funds = engine.funds
    bad = _bad_text(cmd.actor, cmd.reason)
    if bad or not cmd.asset or len(cmd.destination) > _MAX_TEXT or len(cmd.client_id) > 64:
        text = bad or "an asset is required; destination at most 256, client_id 64 characters"
        reject(engine, cmd.account, RejectCode.INVALID_COMMAND, text)
        return
    if cmd.client_id:
        known = funds.client_ids.get((cmd.account, cmd.client_id))
        if known is not None:
            existing = funds.withdrawals[known]
            if (existing.asset, existing.amount, existing.destination) != (
                cmd.asset,
                cmd.amount,
                cmd.destination,
            ):
                reject(
                    engine,
                    known,
                    RejectCode.ALREADY_EXISTS,
                    f"client_id {cmd.client_id!r} is withdrawal {known} with another request",
                )
                return
            emit(engine, "withdrawal.existing", known, **existing.to_data())
            return
    if cmd.amount <= 0:
        reject(engine, cmd.account, RejectCode.INVALID_AMOUNT, "amount must be positive")
        return
    refused = _refuse_moves(engine, cmd.account, "withdraw")
    if refused is not None:
        reject(engine, cmd.account, *refused)
        return
    tier = engine.tenancy.tier_of(cmd.account)
    if tier is not None:
        limit = tier.daily_withdraw_limit.get(cmd.asset)
        if limit is None:
            reject(
                engine,
                cmd.account,
                RejectCode.KYC_FORBIDS,
                f"KYC tier {tier.tier} does not allow withdrawing {cmd.asset}",
            )
            return
        subject = _subject(engine, cmd.account)
        used = funds.used_on(subject, cmd.asset, engine.ts_us // DAY_US)
        if used + cmd.amount > limit:
            reject(
                engine,
                cmd.account,
                RejectCode.LIMIT_EXCEEDED,
                f"daily {cmd.asset} withdrawal limit {limit}: {used} used today",
            )
            return
    bal = engine.accounts[cmd.account].balances.get(cmd.asset)  # a refusal adds none
    available = 0
    if bal is not None:  # less what cross perp positions need (engine/perp/risk.py)
        available = bal.total - bal.held - engine.perp_risk.locked(cmd.account, cmd.asset)
    if bal is None or cmd.amount > available:
        reject(
            engine,
            cmd.account,
            RejectCode.INSUFFICIENT_BALANCE,
            f"insufficient {cmd.asset}: available {available}",
        )
        return
    withdrawal = Withdrawal(
        f"W{engine.seq}",
        cmd.account,
        cmd.asset,
        cmd.amount,
        cmd.destination,
        cmd.client_id,
        cmd.actor,
        _subject(engine, cmd.account),
        "",
        engine.ts_us,
        engine.ts_us,
    )
    _step(withdrawal, engine, "held", cmd.actor, cmd.reason)
    funds.add_withdrawal(withdrawal)
    bal.held += cmd.amount
    engine.dirty[(cmd.account, cmd.asset)] = bal
    emit(engine, "withdrawal.held", withdrawal.withdrawal_id, **withdrawal.to_data())


def _withdrawal(
    engine: Engine, withdrawal_id: str, actor: str, reason: str, allowed: frozenset[str], to: str
) -> Withdrawal | None:
    """The withdrawal a step names, if the step is allowed from its state; else None
    after rejecting."""
    bad = _bad_text(actor, reason)
    withdrawal = engine.funds.withdrawals.get(withdrawal_id)
    if bad:
        reject(engine, withdrawal_id, RejectCode.INVALID_COMMAND, bad)
    elif withdrawal is None:
        reject(
            engine,
            withdrawal_id,
            RejectCode.UNKNOWN_REQUEST,
            f"unknown withdrawal {withdrawal_id!r}",
        )
    elif withdrawal.status not in allowed:
        reject(
            engine,
            withdrawal_id,
            RejectCode.INVALID_TRANSITION,
            f"withdrawal {withdrawal_id} is {withdrawal.status}: cannot become {to}",
        )
    else:
        return withdrawal
    return None


def _release(engine: Engine, withdrawal: Withdrawal, *, debit: bool) -> None:
    """Drop the hold; a completed withdrawal also leaves the total."""
    bal = engine.accounts[withdrawal.account].balances[withdrawal.asset]
    bal.held -= withdrawal.amount
    if debit:
        bal.total -= withdrawal.amount
    engine.dirty[(withdrawal.account, withdrawal.asset)] = bal


def _answer(engine: Engine, withdrawal: Withdrawal) -> None:
    emit(
        engine,
        f"withdrawal.{withdrawal.status}",
        withdrawal.withdrawal_id,
        **withdrawal.to_data(),
    )


_HELD: Final = frozenset(("held",))
_APPROVED: Final = frozenset(("approved",))
_SENT: Final = frozenset(("sent",))
_REJECTABLE: Final = frozenset(("held", "approved"))


def _approve(engine: Engine, cmd: ApproveWithdrawal) -> None:
    w = _withdrawal(engine, cmd.withdrawal_id, cmd.actor, cmd.reason, _HELD, "approved")
    if w is None:
        return
    tenant = engine.tenancy.tenant_of(w.account)
    threshold = None if tenant is None else tenant.withdraw_approval_threshold.get(w.asset)
    if threshold is not None and w.amount > threshold and cmd.actor == w.requested_by:
        reject(
            engine,
            w.withdrawal_id,
            RejectCode.SAME_ACTOR,
            f"above the approval threshold {threshold}: the approver must not be the requester",
        )
        return
    _step(w, engine, "approved", cmd.actor, cmd.reason)
    _answer(engine, w)


def _reject_withdrawal(engine: Engine, cmd: RejectWithdrawal) -> None:
    w = _withdrawal(engine, cmd.withdrawal_id, cmd.actor, cmd.reason, _REJECTABLE, "rejected")
    if w is None:
        return
    _step(w, engine, "rejected", cmd.actor, cmd.reason)
    _release(engine, w, debit=False)
    _answer(engine, w)


def _mark_sent(engine: Engine, cmd: MarkWithdrawalSent) -> None:
    if not cmd.custody_reference or len(cmd.custody_reference) > _MAX_TEXT:
        reject(
            engine,
            cmd.withdrawal_id,
            RejectCode.INVALID_COMMAND,
            "a custody reference (at most 256 characters) is required",
        )
        return
    w = _withdrawal(engine, cmd.withdrawal_id, cmd.actor, cmd.reason, _APPROVED, "sent")
    if w is None:
        return
    w.custody_reference = cmd.custody_reference
    _step(w, engine, "sent", cmd.actor, cmd.reason)
    _answer(engine, w)


def _complete(engine: Engine, cmd: CompleteWithdrawal) -> None:
    w = _withdrawal(engine, cmd.withdrawal_id, cmd.actor, cmd.reason, _SENT, "completed")
    if w is None:
        return
    _step(w, engine, "completed", cmd.actor, cmd.reason)
    _release(engine, w, debit=True)
    _answer(engine, w)


def _cancel(engine: Engine, cmd: CancelWithdrawal) -> None:
    known = engine.funds.withdrawals.get(cmd.withdrawal_id)
    if known is not None and known.account != cmd.account:
        # Another account's withdrawal is not found, rather than told apart.
        reject(
            engine,
            cmd.withdrawal_id,
            RejectCode.UNKNOWN_REQUEST,
            f"unknown withdrawal {cmd.withdrawal_id!r}",
        )
        return
    w = _withdrawal(engine, cmd.withdrawal_id, cmd.actor, cmd.reason, _HELD, "canceled")
    if w is None:
        return
    _step(w, engine, "canceled", cmd.actor, cmd.reason)
    _release(engine, w, debit=False)
    _answer(engine, w)


COMMANDS: dict[int, type[Any]] = {
    50: CreditDeposit,
    51: ConfirmDeposit,
    52: RejectDeposit,
    53: RequestWithdrawal,
    54: ApproveWithdrawal,
    55: RejectWithdrawal,
    56: MarkWithdrawalSent,
    57: CompleteWithdrawal,
    58: CancelWithdrawal,
}
HANDLERS: dict[type[Any], Handler] = {
    CreditDeposit: _credit_deposit,
    ConfirmDeposit: _confirm_deposit,
    RejectDeposit: _reject_deposit,
    RequestWithdrawal: _request_withdrawal,
    ApproveWithdrawal: _approve,
    RejectWithdrawal: _reject_withdrawal,
    MarkWithdrawalSent: _mark_sent,
    CompleteWithdrawal: _complete,
    CancelWithdrawal: _cancel,
}
