"""Tenants (white-label brands), their accounts and sub-accounts, KYC status and tiers,
and each tenant's listings: who may do what on the venue.

Journal codes 20-39. The other venue modules read this state through ``tenant_of`` and
``tier_of``; nothing outside this module writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.venue import Handler

__all__ = [
    "COMMANDS",
    "HANDLERS",
    "AccountInfo",
    "AccountStatus",
    "KycStatus",
    "MarketState",
    "Tenancy",
    "Tenant",
    "TenantStatus",
    "Tier",
]


class TenantStatus(IntEnum):
    ACTIVE = 1
    SUSPENDED = 2  # its accounts may only cancel


class AccountStatus(IntEnum):
    ACTIVE = 1
    DISABLED = 2
    CLOSED = 3


class KycStatus(IntEnum):
    NONE = 0
    PENDING = 1
    VERIFIED = 2
    REJECTED = 3
    SUSPENDED = 4


class MarketState(IntEnum):
    """A listed instrument as one tenant's clients see it; not listed = absent."""

    ENABLED = 1
    VIEW_ONLY = 2
    CANCEL_ONLY = 3
    HIDDEN = 4


@dataclass(slots=True)
class Tier:
    """What a KYC tier allows. Amounts are asset units; an asset absent from
    daily_withdraw_limit may not be withdrawn; max_order_notional 0 means no limit."""

    tier: int
    trade: bool = False
    deposit: bool = False
    withdraw: bool = False
    max_order_notional: int = 0  # quote units, checked per order
    daily_withdraw_limit: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Tenant:
    tenant_id: str
    name: str = ""
    status: TenantStatus = TenantStatus.ACTIVE
    revenue_account: str = ""  # receives the tenant's fee markup
    markup_ppm: int = 0
    fee_schedule: str = ""  # "" = the venue default schedule
    tiers: dict[int, Tier] = field(default_factory=dict)
    markets: dict[str, MarketState] = field(default_factory=dict)
    withdraw_approval_threshold: dict[str, int] = field(default_factory=dict)  # asset -> units


@dataclass(slots=True)
class AccountInfo:
    """The operator-side facts of one account (its balances live in engine.risk.Account)."""

    account_id: str
    tenant_id: str
    parent: str = ""  # the owning account of a sub-account, "" for a top-level account
    status: AccountStatus = AccountStatus.ACTIVE
    kyc_status: KycStatus = KycStatus.NONE
    kyc_tier: int = 0
    label: str = ""


class Tenancy:
    """Every tenant and the tenancy of every account opened under one."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.accounts: dict[str, AccountInfo] = {}

    def tenant_of(self, account_id: str) -> Tenant | None:
        info = self.accounts.get(account_id)
        return None if info is None else self.tenants.get(info.tenant_id)

    def tier_of(self, account_id: str) -> Tier | None:
        """The KYC tier an account trades and moves funds under (a sub-account: its
        parent's); None for an account outside any tenant (config-only venues)."""
        info = self.accounts.get(account_id)
        if info is None:
            return None
        if info.parent:
            info = self.accounts.get(info.parent, info)
        tenant = self.tenants.get(info.tenant_id)
        if tenant is None:
            return None
        return tenant.tiers.get(info.kyc_tier, Tier(info.kyc_tier))

    def to_state(self) -> dict[str, Any]:
        return {}

    def from_state(self, state: dict[str, Any]) -> None:
        pass


COMMANDS: dict[int, type[Any]] = {}
HANDLERS: dict[type[Any], Handler] = {}
