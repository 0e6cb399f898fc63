"""The tenancy commands (journal codes 20-39) and their handlers.

Each handler checks everything first and changes nothing when it refuses
(``reject``); when it accepts it changes the state, re-derives the gate slots of the
accounts concerned and answers with one ``VenueEvent`` (``emit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from engine.events import CloseReason, OrderCanceled, RejectCode
from engine.model import TradingStatus, decimal_to_units, units_to_decimal
from engine.risk import RiskError
from engine.venue import VenueCommand, emit, fees, reject
from engine.venue.tenancy import (
    ACCOUNT_TRANSITIONS,
    KYC_TRANSITIONS,
    AccountInfo,
    AccountStatus,
    KycStatus,
    MarketState,
    Tenancy,
    Tenant,
    TenantStatus,
    Tier,
)

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = [
    "ADMIN_LIMITS",
    "COMMANDS",
    "HANDLERS",
    "AssignAccount",
    "CancelTenantOrders",
    "CreateSubAccount",
    "CreateTenant",
    "OpenTenantAccount",
    "ResumeTenant",
    "SetAccountStatus",
    "SetKyc",
    "SetMarketState",
    "SetTenantAdminLimit",
    "SetTenantThreshold",
    "SetTier",
    "SetTierWithdrawLimit",
    "SuspendTenant",
    "Transfer",
    "UpdateTenant",
    "seed_tenancy",
]

MAX_ID: Final = 64


class _Refused(Exception):
    """A check failed: (subject, code, text) go to ``reject``; nothing has changed."""

    def __init__(self, subject: str, code: RejectCode, text: str) -> None:
        super().__init__(text)
        self.subject = subject
        self.code = code
        self.text = text


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class CreateTenant(VenueCommand):
    """A tenant and its revenue account (opened as an account of the tenant)."""

    tenant_id: str
    name: str
    revenue_account: str


@dataclass(frozen=True, slots=True)
class UpdateTenant(VenueCommand):
    """Rename a tenant."""

    tenant_id: str
    name: str


@dataclass(frozen=True, slots=True)
class SuspendTenant(VenueCommand):
    """Its accounts may only cancel; cancel_orders also cancels every order they have."""

    tenant_id: str
    cancel_orders: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ResumeTenant(VenueCommand):
    tenant_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetTenantThreshold(VenueCommand):
    """Withdrawals of asset above amount need a second approver (0 removes the rule)."""

    tenant_id: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class SetTenantAdminLimit(VenueCommand):
    """A cap on what the tenant's own administrators (role tenant-admin) may set; the
    venue's to set. limit: ``max_order_notional`` (a tier's, in quote units; a
    tenant-admin can no longer make it unlimited), ``withdraw_limit:<ASSET>`` (a tier's
    daily withdrawal limit) or ``approval_threshold:<ASSET>`` (above it, maker-checker;
    a tenant-admin can no longer remove it). amount 0 removes the cap."""

    tenant_id: str
    limit: str
    amount: int


@dataclass(frozen=True, slots=True)
class OpenTenantAccount(VenueCommand):
    """A new top-level account under a tenant (the engine account is created too).

    Settings as for OpenAccount: fees in decimal bps, limits 0 = none, stp an Stp value.
    """

    account: str
    tenant_id: str
    label: str = ""
    stp: int = 0
    maker_fee_bps: str = "0"
    taker_fee_bps: str = "0"
    max_order_qty: int = 0
    max_order_notional: int = 0
    max_open_orders: int = 0


@dataclass(frozen=True, slots=True)
class AssignAccount(VenueCommand):
    """Put an existing account that is outside any tenant under one (top-level)."""

    account: str
    tenant_id: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class CreateSubAccount(VenueCommand):
    """A sub-account of a top-level account: same tenant, the parent's settings."""

    account: str
    parent: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class SetAccountStatus(VenueCommand):
    """active <-> disabled; either -> closed (only when flat). Closed is final."""

    account: str
    status: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Transfer(VenueCommand):
    """Move available funds between an account and its sub-accounts, or between two
    sub-accounts of one account. transfer_id is the client's reference, echoed."""

    from_account: str
    to_account: str
    asset: str
    amount: int
    transfer_id: str = ""


@dataclass(frozen=True, slots=True)
class SetKyc(VenueCommand):
    """A KYC step of a top-level account (tier -1 keeps the tier). The same status with
    another tier changes only the tier. actor and reason are required."""

    account: str
    status: int
    tier: int = -1
    actor: str = ""
    reason: str = ""
    reference: str = ""


@dataclass(frozen=True, slots=True)
class SetTier(VenueCommand):
    """Define or change one of a tenant's KYC tiers (its withdrawal limits are kept)."""

    tenant_id: str
    tier: int
    trade: bool = False
    deposit: bool = False
    withdraw: bool = False
    max_order_notional: int = 0


@dataclass(frozen=True, slots=True)
class SetTierWithdrawLimit(VenueCommand):
    """The daily withdrawal limit of asset in a tier (0 removes: no withdrawals)."""

    tenant_id: str
    tier: int
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class SetMarketState(VenueCommand):
    """How a tenant's clients see an instrument: a MarketState, or 0 to unlist it."""

    tenant_id: str
    symbol: str
    state: int


@dataclass(frozen=True, slots=True)
class CancelTenantOrders(VenueCommand):
    """Mass cancel: every open order of the tenant's accounts (on symbol, if given)."""

    tenant_id: str
    symbol: str = ""
    request_id: str = ""


# ---------------------------------------------------------------- checks


def _check_id(kind: str, value: str) -> None:
    if not value or len(value) > MAX_ID or not value.isprintable() or " " in value:
        raise _Refused(
            value, RejectCode.INVALID_COMMAND, f"{kind} must be 1-{MAX_ID} printable characters"
        )


def _tenant(tenancy: Tenancy, tenant_id: str) -> Tenant:
    tenant = tenancy.tenants.get(tenant_id)
    if tenant is None:
        raise _Refused(tenant_id, RejectCode.UNKNOWN_TENANT, f"unknown tenant {tenant_id!r}")
    return tenant


def _info(tenancy: Tenancy, account_id: str) -> AccountInfo:
    info = tenancy.accounts.get(account_id)
    if info is None:
        raise _Refused(
            account_id, RejectCode.UNKNOWN_ACCOUNT, f"no account {account_id!r} under a tenant"
        )
    return info


def _usable(tenancy: Tenancy, info: AccountInfo) -> None:
    """The account, its parent and its tenant are active (for moving funds)."""
    for acct in (info, tenancy.owner_of(info.account_id) or info):
        if acct.status == AccountStatus.CLOSED:
            raise _Refused(
                info.account_id, RejectCode.ACCOUNT_CLOSED, f"account {acct.account_id} is closed"
            )
        if acct.status == AccountStatus.DISABLED:
            raise _Refused(
                info.account_id,
                RejectCode.ACCOUNT_DISABLED,
                f"account {acct.account_id} is disabled",
            )
    if tenancy.tenants[info.tenant_id].status != TenantStatus.ACTIVE:
        raise _Refused(
            info.account_id, RejectCode.TENANT_SUSPENDED, f"tenant {info.tenant_id} is suspended"
        )


def _non_negative(subject: str, amount: int) -> None:
    if amount < 0:
        raise _Refused(subject, RejectCode.INVALID_AMOUNT, "amount must not be negative")


def _refusing(handler: Any) -> Handler:
    """Turn a handler's _Refused into a reject (the handler changed nothing yet)."""

    def run(engine: Engine, cmd: Any) -> None:
        try:
            handler(engine, cmd)
        except _Refused as refused:
            reject(engine, refused.subject, refused.code, refused.text)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


# ---------------------------------------------------------------- tenants


def _create_tenant(engine: Engine, cmd: CreateTenant) -> None:
    tenancy = engine.tenancy
    _check_id("tenant id", cmd.tenant_id)
    _check_id("revenue account", cmd.revenue_account)
    if cmd.tenant_id in tenancy.tenants:
        raise _Refused(cmd.tenant_id, RejectCode.ALREADY_EXISTS, "tenant exists")
    if cmd.revenue_account in engine.accounts:
        raise _Refused(cmd.revenue_account, RejectCode.ALREADY_EXISTS, "account exists")
    engine.new_account(cmd.revenue_account)
    tenancy.add_tenant(Tenant(cmd.tenant_id, cmd.name, revenue_account=cmd.revenue_account))
    tenancy.add_account(AccountInfo(cmd.revenue_account, cmd.tenant_id, label="revenue"))
    if engine.fee_book.default:
        fees.assign_rates(engine, [cmd.revenue_account])
    emit(
        engine,
        "tenant.created",
        cmd.tenant_id,
        name=cmd.name,
        revenue_account=cmd.revenue_account,
        status="active",
    )


def _update_tenant(engine: Engine, cmd: UpdateTenant) -> None:
    tenant = _tenant(engine.tenancy, cmd.tenant_id)
    tenant.name = cmd.name
    emit(engine, "tenant.updated", cmd.tenant_id, name=cmd.name)


def _suspend_tenant(engine: Engine, cmd: SuspendTenant) -> None:
    tenancy = engine.tenancy
    tenant = _tenant(tenancy, cmd.tenant_id)
    if tenant.status != TenantStatus.ACTIVE:
        raise _Refused(cmd.tenant_id, RejectCode.INVALID_TRANSITION, "tenant is not active")
    tenant.status = TenantStatus.SUSPENDED
    tenancy.derive_tenant(cmd.tenant_id)
    canceled = (
        _cancel_tenant_orders(engine, cmd.tenant_id, "", CloseReason.TENANT_SUSPENDED, "")
        if cmd.cancel_orders
        else 0
    )
    emit(
        engine,
        "tenant.suspended",
        cmd.tenant_id,
        status="suspended",
        reason=cmd.reason,
        canceled=canceled,
    )


def _resume_tenant(engine: Engine, cmd: ResumeTenant) -> None:
    tenancy = engine.tenancy
    tenant = _tenant(tenancy, cmd.tenant_id)
    if tenant.status != TenantStatus.SUSPENDED:
        raise _Refused(cmd.tenant_id, RejectCode.INVALID_TRANSITION, "tenant is not suspended")
    tenant.status = TenantStatus.ACTIVE
    tenancy.derive_tenant(cmd.tenant_id)
    emit(engine, "tenant.resumed", cmd.tenant_id, status="active", reason=cmd.reason)


ADMIN_LIMITS: Final = ("max_order_notional", "withdraw_limit:", "approval_threshold:")


def _by_tenant_admin(engine: Engine) -> bool:
    """Whether the command comes from a tenant's own administrator (an AdminRequest)."""
    operator = engine.operators.get(engine.operators.acting)
    return operator is not None and operator.role == "tenant-admin"


def _within_admin_limit(
    engine: Engine, tenant: Tenant, limit: str, amount: int, *, zero_is_unbounded: bool
) -> None:
    """Refuse (LIMIT_EXCEEDED) a tenant-admin's value above the venue's cap; where 0
    means no bound at all, 0 is above any cap."""
    cap = tenant.admin_limits.get(limit, 0)
    if not cap or not _by_tenant_admin(engine):
        return
    if amount > cap or (zero_is_unbounded and not amount):
        raise _Refused(
            tenant.tenant_id,
            RejectCode.LIMIT_EXCEEDED,
            f"{limit}: the venue lets this tenant's administrators set at most "
            f"{units_to_decimal(cap)}",
        )


def _set_tenant_admin_limit(engine: Engine, cmd: SetTenantAdminLimit) -> None:
    tenant = _tenant(engine.tenancy, cmd.tenant_id)
    if _by_tenant_admin(engine):
        raise _Refused(cmd.tenant_id, RejectCode.INVALID_COMMAND, "the venue sets these limits")
    name, _, asset = cmd.limit.partition(":")
    if not (cmd.limit == ADMIN_LIMITS[0] or (asset and f"{name}:" in ADMIN_LIMITS[1:])):
        raise _Refused(
            cmd.tenant_id,
            RejectCode.INVALID_COMMAND,
            f"unknown limit {cmd.limit!r} (max_order_notional, withdraw_limit:<ASSET>, "
            "approval_threshold:<ASSET>)",
        )
    if asset:
        _check_id("asset", asset)
    _non_negative(cmd.tenant_id, cmd.amount)
    if cmd.amount:
        tenant.admin_limits[cmd.limit] = cmd.amount
    else:
        tenant.admin_limits.pop(cmd.limit, None)
    emit(engine, "tenant.admin_limit", cmd.tenant_id, limit=cmd.limit, amount=cmd.amount)


def _set_tenant_threshold(engine: Engine, cmd: SetTenantThreshold) -> None:
    tenant = _tenant(engine.tenancy, cmd.tenant_id)
    _check_id("asset", cmd.asset)
    _non_negative(cmd.tenant_id, cmd.amount)
    _within_admin_limit(
        engine, tenant, f"approval_threshold:{cmd.asset}", cmd.amount, zero_is_unbounded=True
    )
    if cmd.amount:
        tenant.withdraw_approval_threshold[cmd.asset] = cmd.amount
    else:
        tenant.withdraw_approval_threshold.pop(cmd.asset, None)
    emit(engine, "tenant.threshold", cmd.tenant_id, asset=cmd.asset, amount=cmd.amount)


def _cancel_tenant_orders(
    engine: Engine, tenant_id: str, symbol: str, reason: int, request_id: str
) -> int:
    """Cancel the tenant's open orders (not on halted instruments, whose books are
    frozen, as for MassCancel); returns how many."""
    halted = TradingStatus.HALTED
    victims = [
        order
        for order in engine.orders.values()
        if engine.accounts[order.account].tenant == tenant_id
        and (not symbol or order.symbol == symbol)
        and engine.listings[order.symbol].status != halted
    ]
    for order in victims:
        engine.close(order, OrderCanceled, reason, delta=True, request_id=request_id)
    return len(victims)


def _cancel_tenant(engine: Engine, cmd: CancelTenantOrders) -> None:
    _tenant(engine.tenancy, cmd.tenant_id)
    if cmd.symbol and cmd.symbol not in engine.listings:
        raise _Refused(cmd.symbol, RejectCode.UNKNOWN_INSTRUMENT, "unknown instrument")
    canceled = _cancel_tenant_orders(
        engine, cmd.tenant_id, cmd.symbol, CloseReason.MASS_CANCEL, cmd.request_id
    )
    emit(engine, "tenant.orders_canceled", cmd.tenant_id, symbol=cmd.symbol, canceled=canceled)


# ---------------------------------------------------------------- accounts


def _joined(engine: Engine, kind: str, info: AccountInfo) -> None:
    """An account just came under a tenant: its fee rates follow the tenant's (when the
    fee book is active), then the event."""
    if engine.fee_book.default:
        fees.assign_rates(engine, [info.account_id])
    emit(
        engine,
        kind,
        info.account_id,
        tenant=info.tenant_id,
        parent=info.parent,
        label=info.label,
        status=info.status.name.lower(),
    )


def _open_tenant_account(engine: Engine, cmd: OpenTenantAccount) -> None:
    tenancy = engine.tenancy
    _check_id("account id", cmd.account)
    tenant = _tenant(tenancy, cmd.tenant_id)
    if tenant.status != TenantStatus.ACTIVE:
        raise _Refused(cmd.account, RejectCode.TENANT_SUSPENDED, "tenant is suspended")
    if cmd.account in engine.accounts:
        raise _Refused(cmd.account, RejectCode.ALREADY_EXISTS, "account exists")
    try:
        engine.new_account(
            cmd.account,
            cmd.stp,
            cmd.maker_fee_bps,
            cmd.taker_fee_bps,
            cmd.max_order_qty,
            cmd.max_order_notional,
            cmd.max_open_orders,
        )
    except RiskError as err:
        raise _Refused(cmd.account, err.code, err.text) from None
    info = AccountInfo(cmd.account, cmd.tenant_id, label=cmd.label)
    tenancy.add_account(info)
    _joined(engine, "account.opened", info)


def _assign_account(engine: Engine, cmd: AssignAccount) -> None:
    tenancy = engine.tenancy
    tenant = _tenant(tenancy, cmd.tenant_id)
    if cmd.account not in engine.accounts:
        raise _Refused(cmd.account, RejectCode.UNKNOWN_ACCOUNT, "unknown account")
    if cmd.account in tenancy.accounts:
        raise _Refused(cmd.account, RejectCode.ALREADY_EXISTS, "account is under a tenant")
    if tenant.status != TenantStatus.ACTIVE:
        raise _Refused(cmd.account, RejectCode.TENANT_SUSPENDED, "tenant is suspended")
    info = AccountInfo(cmd.account, cmd.tenant_id, label=cmd.label)
    tenancy.add_account(info)
    _joined(engine, "account.assigned", info)


def _create_sub_account(engine: Engine, cmd: CreateSubAccount) -> None:
    tenancy = engine.tenancy
    _check_id("account id", cmd.account)
    parent = _info(tenancy, cmd.parent)
    if parent.parent:
        raise _Refused(cmd.account, RejectCode.INVALID_COMMAND, "a sub-account has no sub-accounts")
    _usable(tenancy, parent)
    if cmd.account in engine.accounts:
        raise _Refused(cmd.account, RejectCode.ALREADY_EXISTS, "account exists")
    engine.new_account(cmd.account, like=engine.accounts[cmd.parent])
    info = AccountInfo(cmd.account, parent.tenant_id, cmd.parent, label=cmd.label)
    tenancy.add_account(info)
    _joined(engine, "subaccount.created", info)


def _not_flat(engine: Engine, account_id: str) -> str:
    """Why the account cannot close ("" when it can)."""
    account = engine.accounts[account_id]
    if account.open_orders:
        return f"{account.open_orders} open orders"
    for asset, bal in account.balances.items():
        if bal.total or bal.held:
            return f"holds {asset}"
    for child in engine.tenancy.children.get(account_id, ()):
        if engine.tenancy.accounts[child].status != AccountStatus.CLOSED:
            return f"sub-account {child} is not closed"
    return ""


def _set_account_status(engine: Engine, cmd: SetAccountStatus) -> None:
    tenancy = engine.tenancy
    info = _info(tenancy, cmd.account)
    if cmd.status not in _ACCOUNT_STATUSES:
        raise _Refused(cmd.account, RejectCode.INVALID_COMMAND, f"unknown status {cmd.status}")
    status = AccountStatus(cmd.status)
    if status not in ACCOUNT_TRANSITIONS[info.status]:
        raise _Refused(
            cmd.account,
            RejectCode.INVALID_TRANSITION,
            f"account is {info.status.name.lower()}, cannot become {status.name.lower()}",
        )
    if status == AccountStatus.CLOSED:
        if tenancy.tenants[info.tenant_id].revenue_account == cmd.account:
            raise _Refused(
                cmd.account, RejectCode.INVALID_TRANSITION, "a tenant's revenue account stays open"
            )
        if engine.fee_book.revenue_account == cmd.account:
            raise _Refused(
                cmd.account,
                RejectCode.INVALID_TRANSITION,
                "the venue's revenue account stays open (configure another one first)",
            )
        why = _not_flat(engine, cmd.account)
        if why:
            raise _Refused(cmd.account, RejectCode.NOT_FLAT, f"account is not flat: {why}")
    info.status = status
    tenancy.derive_family(cmd.account)
    emit(
        engine,
        "account.status",
        cmd.account,
        tenant=info.tenant_id,
        status=status.name.lower(),
        reason=cmd.reason,
    )


def _transfer(engine: Engine, cmd: Transfer) -> None:
    tenancy = engine.tenancy
    src = _info(tenancy, cmd.from_account)
    dst = _info(tenancy, cmd.to_account)
    if cmd.amount <= 0:
        raise _Refused(cmd.from_account, RejectCode.INVALID_AMOUNT, "amount must be positive")
    _check_id("asset", cmd.asset)
    related = (
        src.account_id != dst.account_id
        and (src.parent or src.account_id) == (dst.parent or dst.account_id)
        and bool(src.parent or dst.parent)
    )
    if not related:
        raise _Refused(
            cmd.from_account,
            RejectCode.INVALID_COMMAND,
            "transfers go between an account and its sub-accounts or between its sub-accounts",
        )
    _usable(tenancy, src)
    _usable(tenancy, dst)
    source = engine.accounts[cmd.from_account].balances.get(cmd.asset)
    available = 0
    if source is not None:  # less what cross perp positions need (engine/perp/risk.py)
        locked = engine.perp_risk.locked(cmd.from_account, cmd.asset)
        available = source.total - source.held - locked
    if cmd.amount > available:
        raise _Refused(
            cmd.from_account,
            RejectCode.INSUFFICIENT_BALANCE,
            f"insufficient {cmd.asset}: available {units_to_decimal(available)}",
        )
    assert source is not None
    target = engine.accounts[cmd.to_account].balance(cmd.asset)
    source.total -= cmd.amount
    target.total += cmd.amount
    engine.dirty[(cmd.from_account, cmd.asset)] = source
    engine.dirty[(cmd.to_account, cmd.asset)] = target
    emit(
        engine,
        "transfer.done",
        cmd.transfer_id or cmd.from_account,
        from_account=cmd.from_account,
        to_account=cmd.to_account,
        asset=cmd.asset,
        amount=cmd.amount,
        transfer_id=cmd.transfer_id,
    )


# ---------------------------------------------------------------- KYC and tiers


def _set_kyc(engine: Engine, cmd: SetKyc) -> None:
    tenancy = engine.tenancy
    info = _info(tenancy, cmd.account)
    if info.parent:
        raise _Refused(
            cmd.account, RejectCode.INVALID_COMMAND, "a sub-account has its parent's KYC"
        )
    if not cmd.actor or not cmd.reason:
        raise _Refused(
            cmd.account, RejectCode.INVALID_COMMAND, "a KYC change needs actor and reason"
        )
    if cmd.status not in _KYC_STATUSES:
        raise _Refused(cmd.account, RejectCode.INVALID_COMMAND, f"unknown KYC status {cmd.status}")
    status = KycStatus(cmd.status)
    tier = info.kyc_tier if cmd.tier < 0 else cmd.tier
    tenant = tenancy.tenants[info.tenant_id]
    if tier and tier not in tenant.tiers:
        raise _Refused(cmd.account, RejectCode.INVALID_COMMAND, f"tier {tier} is not configured")
    if status == info.kyc_status:
        if tier == info.kyc_tier:
            raise _Refused(cmd.account, RejectCode.INVALID_TRANSITION, "nothing changes")
    elif status not in KYC_TRANSITIONS[info.kyc_status]:
        raise _Refused(
            cmd.account,
            RejectCode.INVALID_TRANSITION,
            f"KYC is {info.kyc_status.name.lower()}, cannot become {status.name.lower()}",
        )
    previous = info.kyc_status
    info.kyc_status = status
    info.kyc_tier = tier
    info.kyc_actor = cmd.actor
    info.kyc_reason = cmd.reason
    info.kyc_reference = cmd.reference
    tenancy.derive_family(cmd.account)
    emit(
        engine,
        "kyc.changed",
        cmd.account,
        tenant=info.tenant_id,
        previous=previous.name.lower(),
        status=status.name.lower(),
        tier=tier,
        actor=cmd.actor,
        reason=cmd.reason,
        reference=cmd.reference,
    )


def _set_tier(engine: Engine, cmd: SetTier) -> None:
    tenancy = engine.tenancy
    tenant = _tenant(tenancy, cmd.tenant_id)
    if cmd.tier < 1:
        raise _Refused(cmd.tenant_id, RejectCode.INVALID_COMMAND, "tiers are numbered from 1")
    _non_negative(cmd.tenant_id, cmd.max_order_notional)
    _within_admin_limit(
        engine, tenant, "max_order_notional", cmd.max_order_notional, zero_is_unbounded=True
    )
    old = tenant.tiers.get(cmd.tier)
    tenant.tiers[cmd.tier] = Tier(
        cmd.tier,
        cmd.trade,
        cmd.deposit,
        cmd.withdraw,
        cmd.max_order_notional,
        {} if old is None else old.daily_withdraw_limit,
    )
    tenancy.derive_tenant(cmd.tenant_id)
    emit(
        engine,
        "tier.set",
        cmd.tenant_id,
        tier=cmd.tier,
        trade=cmd.trade,
        deposit=cmd.deposit,
        withdraw=cmd.withdraw,
        max_order_notional=cmd.max_order_notional,
    )


def _set_tier_withdraw_limit(engine: Engine, cmd: SetTierWithdrawLimit) -> None:
    tenant = _tenant(engine.tenancy, cmd.tenant_id)
    tier = tenant.tiers.get(cmd.tier)
    if tier is None:
        raise _Refused(cmd.tenant_id, RejectCode.INVALID_COMMAND, f"tier {cmd.tier} is not set")
    _check_id("asset", cmd.asset)
    _non_negative(cmd.tenant_id, cmd.amount)
    _within_admin_limit(
        engine, tenant, f"withdraw_limit:{cmd.asset}", cmd.amount, zero_is_unbounded=False
    )
    if cmd.amount:
        tier.daily_withdraw_limit[cmd.asset] = cmd.amount
    else:
        tier.daily_withdraw_limit.pop(cmd.asset, None)
    emit(
        engine,
        "tier.withdraw_limit",
        cmd.tenant_id,
        tier=cmd.tier,
        asset=cmd.asset,
        amount=cmd.amount,
    )


def _set_market_state(engine: Engine, cmd: SetMarketState) -> None:
    tenancy = engine.tenancy
    tenant = _tenant(tenancy, cmd.tenant_id)
    if cmd.symbol not in engine.listings:
        raise _Refused(cmd.symbol, RejectCode.UNKNOWN_INSTRUMENT, "unknown instrument")
    if cmd.state and cmd.state not in _MARKET_STATES:
        raise _Refused(cmd.symbol, RejectCode.INVALID_COMMAND, f"unknown market state {cmd.state}")
    tenancy.set_market(tenant, cmd.symbol, cmd.state)
    emit(
        engine,
        "market.state",
        cmd.tenant_id,
        symbol=cmd.symbol,
        state=MarketState(cmd.state).name.lower() if cmd.state else "unlisted",
    )


_ACCOUNT_STATUSES: Final = frozenset(int(s) for s in AccountStatus)
_KYC_STATUSES: Final = frozenset(int(s) for s in KycStatus)
_MARKET_STATES: Final = frozenset(int(s) for s in MarketState)

# Journal codes: append only, never renumber.
COMMANDS: dict[int, type[Any]] = {
    20: CreateTenant,
    21: UpdateTenant,
    22: SuspendTenant,
    23: ResumeTenant,
    24: SetTenantThreshold,
    25: OpenTenantAccount,
    26: AssignAccount,
    27: CreateSubAccount,
    28: SetAccountStatus,
    29: Transfer,
    30: SetKyc,
    31: SetTier,
    32: SetTierWithdrawLimit,
    33: SetMarketState,
    34: CancelTenantOrders,
    35: SetTenantAdminLimit,
}
HANDLERS: dict[type[Any], Handler] = {
    CreateTenant: _refusing(_create_tenant),
    UpdateTenant: _refusing(_update_tenant),
    SuspendTenant: _refusing(_suspend_tenant),
    ResumeTenant: _refusing(_resume_tenant),
    SetTenantThreshold: _refusing(_set_tenant_threshold),
    SetTenantAdminLimit: _refusing(_set_tenant_admin_limit),
    OpenTenantAccount: _refusing(_open_tenant_account),
    AssignAccount: _refusing(_assign_account),
    CreateSubAccount: _refusing(_create_sub_account),
    SetAccountStatus: _refusing(_set_account_status),
    Transfer: _refusing(_transfer),
    SetKyc: _refusing(_set_kyc),
    SetTier: _refusing(_set_tier),
    SetTierWithdrawLimit: _refusing(_set_tier_withdraw_limit),
    SetMarketState: _refusing(_set_market_state),
    CancelTenantOrders: _refusing(_cancel_tenant),
}


# ---------------------------------------------------------------- bootstrap

DEMO_TIER: Final = 1
SEED_ACTOR: Final = "config"


def seed_tenancy(config: Any, submit: Callable[[Any], object]) -> None:
    """The config's ``[[tenants]]`` into an empty journal: each tenant, a tier 1 that
    allows everything (with the configured daily withdrawal limits), every configured
    instrument enabled, and its accounts (already opened from ``[[accounts]]``) put
    under it, KYC-verified at tier 1. Accounts not in ``[[accounts]]`` are skipped."""
    opened = {acct.id for acct in config.accounts}
    for tenant in config.tenants:
        tid = tenant.id
        submit(CreateTenant(tid, tenant.name or tid, tenant.revenue_account or f"{tid}-REVENUE"))
        submit(SetTier(tid, DEMO_TIER, trade=True, deposit=True, withdraw=True))
        for asset, amount in tenant.daily_withdraw_limit.items():
            submit(SetTierWithdrawLimit(tid, DEMO_TIER, asset, decimal_to_units(amount)))
        for inst in config.instruments:
            submit(SetMarketState(tid, inst.symbol, MarketState.ENABLED))
        for account in tenant.accounts:
            if account not in opened:
                continue
            submit(AssignAccount(account, tid))
            for status in (KycStatus.PENDING, KycStatus.VERIFIED):
                submit(SetKyc(account, status, DEMO_TIER, SEED_ACTOR, "bootstrapped from config"))
