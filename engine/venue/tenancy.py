"""Tenants (white-label brands), their accounts and sub-accounts, KYC status and tiers,
and each tenant's listings: who may do what on the venue.

Journal codes 20-39. The other venue modules read this state through ``tenant_of`` and
``tier_of``; nothing outside this module writes it.

The order gate (``engine.pretrade.PreTrade.gate``) does not read this state: it reads three
slots of every engine :class:`~engine.risk.Account` this module keeps in step with it
(``trade_block``, ``trade_block_text``, ``markets``) plus the tier's order-notional
cap (``tier_max_notional``), so a tenant's account costs the hot path no lookups.
Those slots are derived: recomputed after every change here and on ``from_state``,
never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from engine.events import RejectCode

if TYPE_CHECKING:
    from engine.risk import Account

__all__ = [
    "KYC_TRANSITIONS",
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


#: The KYC steps allowed from each status (a rejected case may be submitted again).
KYC_TRANSITIONS: dict[KycStatus, frozenset[KycStatus]] = {
    KycStatus.NONE: frozenset({KycStatus.PENDING}),
    KycStatus.PENDING: frozenset({KycStatus.VERIFIED, KycStatus.REJECTED}),
    KycStatus.VERIFIED: frozenset({KycStatus.SUSPENDED}),
    KycStatus.SUSPENDED: frozenset({KycStatus.VERIFIED}),
    KycStatus.REJECTED: frozenset({KycStatus.PENDING}),
}

#: The account status steps allowed; closed is final.
ACCOUNT_TRANSITIONS: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.ACTIVE: frozenset({AccountStatus.DISABLED, AccountStatus.CLOSED}),
    AccountStatus.DISABLED: frozenset({AccountStatus.ACTIVE, AccountStatus.CLOSED}),
    AccountStatus.CLOSED: frozenset(),
}


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
    # What the venue lets the tenant's own administrators set (ADMIN_LIMITS): name -> cap
    admin_limits: dict[str, int] = field(default_factory=dict)


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
    # The last KYC change: who made it, why, and the operator's case reference.
    kyc_actor: str = ""
    kyc_reason: str = ""
    kyc_reference: str = ""


class Tenancy:
    """Every tenant and the tenancy of every account opened under one.

    ``accounts_ref`` is the engine's account table: the derived gate slots are written
    there. The member and children indexes are derived too (rebuilt on restore).
    """

    def __init__(self, engine_accounts: dict[str, Account] | None = None) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.accounts: dict[str, AccountInfo] = {}
        self.engine_accounts: dict[str, Account] = (
            {} if engine_accounts is None else engine_accounts
        )
        self.members: dict[str, list[str]] = {}  # tenant -> its accounts, in opening order
        self.children: dict[str, list[str]] = {}  # account -> its sub-accounts
        # One symbol -> MarketState dict per tenant, shared by all its engine accounts:
        # a listing change is one write, not one per account.
        self.market_views: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------ queries

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

    def owner_of(self, account_id: str) -> AccountInfo | None:
        """The top-level account: itself, or a sub-account's parent."""
        info = self.accounts.get(account_id)
        if info is not None and info.parent:
            return self.accounts.get(info.parent)
        return info

    def sub_accounts(self, account_id: str) -> list[AccountInfo]:
        return [self.accounts[a] for a in self.children.get(account_id, ())]

    # ------------------------------------------------------------ changes

    def add_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.tenant_id] = tenant
        self.members.setdefault(tenant.tenant_id, [])
        self.market_views[tenant.tenant_id] = {s: int(m) for s, m in tenant.markets.items()}

    def add_account(self, info: AccountInfo) -> None:
        self.accounts[info.account_id] = info
        self.members.setdefault(info.tenant_id, []).append(info.account_id)
        if info.parent:
            self.children.setdefault(info.parent, []).append(info.account_id)
        self.derive(info.account_id)

    def set_market(self, tenant: Tenant, symbol: str, state: int) -> None:
        view = self.market_views[tenant.tenant_id]
        if state:
            tenant.markets[symbol] = MarketState(state)
            view[symbol] = state
        else:
            tenant.markets.pop(symbol, None)
            view.pop(symbol, None)

    # ------------------------------------------------------------ derived gate slots

    def block_of(self, account_id: str) -> tuple[int, str]:
        """(RejectCode new orders get, its text); (0, "") when the account may trade."""
        info = self.accounts[account_id]
        owner = self.owner_of(account_id) or info
        for acct in (info, owner):
            if acct.status == AccountStatus.CLOSED:
                return RejectCode.ACCOUNT_CLOSED, f"account {acct.account_id} is closed"
            if acct.status == AccountStatus.DISABLED:
                return RejectCode.ACCOUNT_DISABLED, f"account {acct.account_id} is disabled"
        tenant = self.tenants[info.tenant_id]
        if tenant.status == TenantStatus.SUSPENDED:
            return RejectCode.TENANT_SUSPENDED, f"tenant {tenant.tenant_id} is suspended"
        if owner.kyc_status != KycStatus.VERIFIED:
            return RejectCode.KYC_FORBIDS, f"KYC is {owner.kyc_status.name.lower()}"
        tier = tenant.tiers.get(owner.kyc_tier)
        if tier is None or not tier.trade:
            return RejectCode.KYC_FORBIDS, f"KYC tier {owner.kyc_tier} does not allow trading"
        return 0, ""

    def derive(self, account_id: str) -> None:
        """Recompute one engine account's gate slots from this state."""
        account = self.engine_accounts.get(account_id)
        if account is None:
            return
        info = self.accounts[account_id]
        code, text = self.block_of(account_id)
        account.tenant = info.tenant_id
        account.trade_block = int(code)
        account.trade_block_text = text
        account.markets = self.market_views[info.tenant_id]
        tier = self.tier_of(account_id)
        account.set_tier_max_notional(0 if tier is None else tier.max_order_notional)

    def derive_family(self, account_id: str) -> None:
        """An account and its sub-accounts (their block follows the parent's)."""
        self.derive(account_id)
        for child in self.children.get(account_id, ()):
            self.derive(child)

    def derive_tenant(self, tenant_id: str) -> None:
        for account_id in self.members.get(tenant_id, ()):
            self.derive(account_id)

    # ------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        return {
            "tenants": {
                tid: {
                    "name": t.name,
                    "status": int(t.status),
                    "revenue_account": t.revenue_account,
                    "markup_ppm": t.markup_ppm,
                    "fee_schedule": t.fee_schedule,
                    "tiers": {
                        str(n): [
                            tier.trade,
                            tier.deposit,
                            tier.withdraw,
                            tier.max_order_notional,
                            dict(tier.daily_withdraw_limit),
                        ]
                        for n, tier in t.tiers.items()
                    },
                    "markets": {s: int(m) for s, m in t.markets.items()},
                    "withdraw_approval_threshold": dict(t.withdraw_approval_threshold),
                    # absent until set: older snapshots keep their hash
                    **({"admin_limits": dict(t.admin_limits)} if t.admin_limits else {}),
                }
                for tid, t in self.tenants.items()
            },
            "accounts": {
                aid: [
                    a.tenant_id,
                    a.parent,
                    int(a.status),
                    int(a.kyc_status),
                    a.kyc_tier,
                    a.label,
                    a.kyc_actor,
                    a.kyc_reason,
                    a.kyc_reference,
                ]
                for aid, a in self.accounts.items()
            },
        }

    def from_state(self, state: dict[str, Any]) -> None:
        """Load saved state into a fresh Tenancy, deriving every gate slot (a parent is
        saved before its sub-accounts, so each is derived with its parent in place)."""
        for tid, t in state.get("tenants", {}).items():
            tiers = {
                int(n): Tier(int(n), trade, deposit, withdraw, notional, dict(limits))
                for n, (trade, deposit, withdraw, notional, limits) in t["tiers"].items()
            }
            self.add_tenant(
                Tenant(
                    tid,
                    t["name"],
                    TenantStatus(t["status"]),
                    t["revenue_account"],
                    t["markup_ppm"],
                    t["fee_schedule"],
                    tiers,
                    {s: MarketState(m) for s, m in t["markets"].items()},
                    dict(t["withdraw_approval_threshold"]),
                    dict(t.get("admin_limits", {})),
                )
            )
        for aid, row in state.get("accounts", {}).items():
            tenant_id, parent, status, kyc, tier, label, actor, reason, reference = row
            self.add_account(
                AccountInfo(
                    aid,
                    tenant_id,
                    parent,
                    AccountStatus(status),
                    KycStatus(kyc),
                    tier,
                    label,
                    actor,
                    reason,
                    reference,
                )
            )
