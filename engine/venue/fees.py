"""Fee schedules with volume tiers, tenant markups and revenue accounts.

Journal codes 40-49.

An account's venue fee comes from the most specific rule: its override, else its
tenant's schedule, else the venue default schedule; in a schedule, the tier its traded
notional over the last 30 completed UTC days reaches (counted in the reference quote
asset, rolled by the journaled ``FeeDayTick``). Its tenant's markup adds on top, maker
and taker. The resolved rates are written onto ``engine.risk.Account`` (maker/taker/
hold rate and the markup part), so settlement reads attributes, never this book.

A change of what many accounts pay (the default schedule, a schedule in use, a
tenant's fees) does not walk every account in its one command: it moves the book's
``version``, resolves at once only the accounts with resting orders (their holds
depend on the rate), and leaves the others to be resolved when they next place or
replace an order (``FeeBook.refresh``, called by the engine's order entry). Exports
(snapshots, ``state_hash()``, the admin API) read ``FeeBook.rates``, the resolved
rates whether or not they were written yet, so laziness is invisible in the state.

Settlement (engine/matching.py, :func:`split`) posts every fee unit: the venue part to
the venue revenue account, the markup to the tenant's revenue account. A maker rebate
(a negative maker fee, bounded by ``max_rebate``) is paid from the venue part of the
same fill's taker fee and never exceeds it, so a fill never costs the venue anything.

A tenant's schedule and markup are the ``fee_schedule`` and ``markup_ppm`` of its
``engine.venue.tenancy.Tenant``, written only by ``SetTenantFees`` (which checks them).
Whoever gives an account a tenant, or creates an ``Account`` other than through
OpenAccount, calls :func:`assign_rates` for it.

Until a default schedule is set the book is inactive: accounts keep the rates
OpenAccount gave them and fees are counted in ``engine.fees`` (config-only engines).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from engine.events import CloseReason, OrderExpired, RejectCode
from engine.model import GridError, OrdType, Side, parse_decimal
from engine.risk import PPM
from engine.venue import VenueCommand, emit, reject
from engine.venue.tenancy import AccountStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.core import Engine
    from engine.risk import Account
    from engine.venue import Handler

__all__ = [
    "COMMANDS",
    "HANDLERS",
    "MAX_FEE_PPM",
    "WINDOW_DAYS",
    "ClearFeeOverride",
    "ConfigureFees",
    "DefineFeeSchedule",
    "FeeBook",
    "FeeDayTick",
    "FeeError",
    "FeeSchedule",
    "FeeTier",
    "SetDefaultFeeSchedule",
    "SetFeeOverride",
    "SetTenantFees",
    "check_rates",
    "format_tiers",
    "join_tiers",
    "parse_tiers",
    "ppm_to_bps",
    "signed_bps_to_ppm",
    "split",
]

WINDOW_DAYS: Final = 30
"""Completed UTC days whose traded notional decides an account's tier."""

MAX_FEE_PPM: Final = 100_000
"""Hard cap of any venue fee and of any markup (10 %): a fee can never eat a fill."""

DAY_US: Final = 86_400_000_000


class FeeError(ValueError):
    """A fee command is refused: code + text go into the admin reject."""

    def __init__(self, code: RejectCode, text: str) -> None:
        super().__init__(text)
        self.code = code


def signed_bps_to_ppm(text: str) -> int:
    """ "-0.5" bps -> -50 ppm; exact to 0.01 bps (a rebate is a negative fee)."""
    try:
        value = parse_decimal(text) * 100
    except GridError as err:
        raise FeeError(RejectCode.INVALID_COMMAND, str(err)) from None
    if value != value.to_integral_value():
        raise FeeError(RejectCode.INVALID_COMMAND, f"at most 2 decimals of a bps: {text!r}")
    return int(value)


def ppm_to_bps(ppm: int) -> str:
    """-50 ppm -> "-0.5" (bps, normalized)."""
    text = format((Decimal(ppm) / 100).normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True, slots=True)
class FeeTier:
    min_volume: int  # 30-day traded notional (reference asset units) where it starts
    maker_ppm: int  # negative = rebate
    taker_ppm: int


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    schedule_id: str
    tiers: tuple[FeeTier, ...]  # ascending min_volume, the first at 0

    def tier_for(self, volume: int) -> FeeTier:
        found = self.tiers[0]
        for tier in self.tiers:
            if tier.min_volume > volume:
                break
            found = tier
        return found


def parse_tiers(text: str) -> tuple[FeeTier, ...]:
    """ "0:1:2,1000000000000:0.5:1.5" (min volume units:maker bps:taker bps, ...) -> tiers;
    the first tier starts at 0 and thresholds strictly ascend."""
    tiers: list[FeeTier] = []
    for part in text.split(","):
        fields = part.split(":")
        if len(fields) != 3 or not fields[0].isdigit() or not fields[0].isascii():
            raise FeeError(RejectCode.INVALID_COMMAND, f"tier {part!r}: want volume:maker:taker")
        tiers.append(
            FeeTier(int(fields[0]), signed_bps_to_ppm(fields[1]), signed_bps_to_ppm(fields[2]))
        )
    if tiers[0].min_volume != 0:
        raise FeeError(RejectCode.INVALID_COMMAND, "the first tier must start at volume 0")
    for lower, upper in itertools.pairwise(tiers):
        if upper.min_volume <= lower.min_volume:
            raise FeeError(RejectCode.INVALID_COMMAND, "tier volumes must strictly ascend")
    return tuple(tiers)


def join_tiers(rows: Iterable[tuple[int, str, str]]) -> str:
    """(min volume units, maker bps, taker bps) rows as DefineFeeSchedule takes them."""
    return ",".join(f"{volume}:{maker}:{taker}" for volume, maker, taker in rows)


def format_tiers(tiers: Iterable[FeeTier]) -> str:
    return join_tiers(
        (t.min_volume, ppm_to_bps(t.maker_ppm), ppm_to_bps(t.taker_ppm)) for t in tiers
    )


def check_rates(maker_ppm: int, taker_ppm: int, max_rebate_ppm: int) -> None:
    """The bounds every venue rate pair obeys; raises FeeError(LIMIT_EXCEEDED)."""
    if not 0 <= taker_ppm <= MAX_FEE_PPM or maker_ppm > MAX_FEE_PPM:
        raise FeeError(RejectCode.LIMIT_EXCEEDED, f"fees must be within 0..{MAX_FEE_PPM} ppm")
    if maker_ppm > taker_ppm:
        raise FeeError(RejectCode.LIMIT_EXCEEDED, "maker fee above taker fee")
    if maker_ppm < 0 and (-maker_ppm > max_rebate_ppm or -maker_ppm > taker_ppm):
        raise FeeError(
            RejectCode.LIMIT_EXCEEDED,
            "maker rebate above the venue's max rebate or the taker fee",
        )


class FeeBook:
    """The venue's fee schedules and who pays which; see the module docstring."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.revenue_account = ""  # the venue's revenue account ("" = not configured)
        self.reference_asset = ""  # volumes count fills quoted in this asset
        self.max_rebate_ppm = 0
        self.max_markup_ppm = 0
        self.schedules: dict[str, FeeSchedule] = {}
        self.default = ""  # the venue default schedule ("" = the book is inactive)
        self.overrides: dict[str, tuple[int, int]] = {}  # account -> (maker, taker) ppm
        self.day = 0  # the UTC day (days since the epoch) of the last tick
        # account -> traded notional of the last WINDOW_DAYS completed days, newest last;
        # today's volume accumulates on Account.fee_volume until the tick.
        self.history: dict[str, list[int]] = {}
        # Moved by every change of many accounts' rates; an account whose fee_version
        # differs has rates still to resolve. Not state: a restore resolves every account.
        self.version = 0

    def refresh(self, account_id: str, account: Account) -> None:
        """Resolve the account's rates if the book changed since they were."""
        if account.fee_version != self.version and self.engine is not None:
            assign_rates(self.engine, [account_id])

    def rates(self, account_id: str, account: Account) -> tuple[int, int, int]:
        """(maker, taker, markup) ppm the account pays now, written onto it or not."""
        if account.fee_version == self.version or self.engine is None or not self.default:
            return account.maker_fee_ppm, account.taker_fee_ppm, account.markup_ppm
        return _resolve(self.engine, account_id)

    def volume(self, account_id: str) -> int:
        """An account's traded notional over the window, as of the last day tick."""
        return sum(self.history.get(account_id, ()))

    def to_state(self) -> dict[str, Any]:
        return {
            "revenue_account": self.revenue_account,
            "reference_asset": self.reference_asset,
            "max_rebate_ppm": self.max_rebate_ppm,
            "max_markup_ppm": self.max_markup_ppm,
            "schedules": {s: format_tiers(v.tiers) for s, v in self.schedules.items()},
            "default": self.default,
            "overrides": {a: list(v) for a, v in self.overrides.items()},
            "day": self.day,
            "history": {a: list(v) for a, v in self.history.items()},
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.revenue_account = state.get("revenue_account", "")
        self.reference_asset = state.get("reference_asset", "")
        self.max_rebate_ppm = state.get("max_rebate_ppm", 0)
        self.max_markup_ppm = state.get("max_markup_ppm", 0)
        self.schedules = {
            s: FeeSchedule(s, parse_tiers(text)) for s, text in state.get("schedules", {}).items()
        }
        self.default = state.get("default", "")
        self.overrides = {a: (m, t) for a, (m, t) in state.get("overrides", {}).items()}
        self.day = state.get("day", 0)
        self.history = {a: list(v) for a, v in state.get("history", {}).items()}
        if self.engine is not None:
            _bind(self.engine)
            # Holds in the snapshot were made at these same rates: nothing to re-hold.
            assign_rates(self.engine, list(self.engine.accounts), rehold=False)


def _bind(engine: Engine) -> None:
    """Point settlement at the venue revenue account and the volume asset."""
    book = engine.fee_book
    engine.fee_revenue = engine.accounts.get(book.revenue_account) if book.default else None
    engine.fee_volume_asset = book.reference_asset


# ---------------------------------------------------------------- rates on accounts


def _resolve(engine: Engine, account_id: str) -> tuple[int, int, int]:
    """(maker, taker, markup) ppm by the resolution order; the book is active."""
    book = engine.fee_book
    schedule = book.schedules[book.default]
    markup = 0
    info = engine.tenancy.accounts.get(account_id)
    if info is not None:
        tenant = engine.tenancy.tenants.get(info.tenant_id)
        if tenant is not None:
            markup = tenant.markup_ppm
            if tenant.fee_schedule:
                schedule = book.schedules[tenant.fee_schedule]
    override = book.overrides.get(account_id)
    if override is not None:
        maker, taker = override
    else:
        days = book.history.get(account_id)
        tier = schedule.tiers[0] if days is None else schedule.tier_for(sum(days))
        maker, taker = tier.maker_ppm, tier.taker_ppm
    return maker + markup, taker + markup, markup


def assign_rates(engine: Engine, account_ids: Iterable[str], *, rehold: bool = True) -> int:
    """Write the resolved rates onto these accounts; returns how many changed.

    Override, else the tenant's schedule, else the default; in the schedule, the tier
    of the account's window volume; plus the tenant's markup. With rehold, resting
    limit buys of an account whose hold rate changed are re-held at the new rate (the
    hold proof needs hold = notional + fee at the hold rate); one the available balance
    cannot cover any more is expired INSUFFICIENT_BALANCE. Other modules call this when
    an account's tenant changes."""
    book = engine.fee_book
    if not book.default:
        return 0
    accounts = engine.accounts
    version = book.version
    changed = 0
    moved: set[str] = set()
    for account_id in account_ids:
        account = accounts.get(account_id)
        if account is None:
            continue
        account.fee_version = version
        maker, taker, markup = _resolve(engine, account_id)
        if (
            maker == account.maker_fee_ppm
            and taker == account.taker_fee_ppm
            and markup == account.markup_ppm
        ):
            continue
        changed += 1
        hold = maker if maker > taker else taker
        if hold != account.hold_fee_ppm and account.open_orders:
            moved.add(account_id)
        account.maker_fee_ppm = maker
        account.taker_fee_ppm = taker
        account.markup_ppm = markup
        account.hold_fee_ppm = hold
    if rehold and moved:
        _rehold(engine, moved)
    return changed


def _rehold(engine: Engine, account_ids: set[str]) -> None:
    """Re-hold the resting limit buys of these accounts: releases first, then top-ups."""
    grow = []
    for order in list(engine.orders.values()):
        if (
            order.account not in account_ids
            or order.side != Side.BUY
            or order.ord_type != OrdType.LIMIT
        ):
            continue
        account = engine.accounts[order.account]
        inst = engine.listings[order.symbol].instrument
        need = account.buy_hold(order.price * order.leaves * inst.quote_per_tick_lot)
        if need > order.hold:
            grow.append((order, need))
            continue
        bal = account.balances[inst.quote]
        bal.held -= order.hold - need
        order.hold = need
        engine.dirty[(order.account, inst.quote)] = bal
    for order, need in grow:
        account = engine.accounts[order.account]
        quote = engine.listings[order.symbol].instrument.quote
        bal = account.balances[quote]
        if need - order.hold > bal.total - bal.held:
            engine.close(order, OrderExpired, CloseReason.INSUFFICIENT_BALANCE, delta=True)
            continue
        bal.held += need - order.hold
        order.hold = need
        engine.dirty[(order.account, quote)] = bal


# ---------------------------------------------------------------- settlement


def split(
    engine: Engine, quote: str, notional: int, maker: Account, taker: Account
) -> tuple[int, int, int]:
    """One fill's fees when a markup or a rebate is involved: (maker fee, taker fee,
    venue part). Markups are credited here to the tenants' revenue accounts.

    Each side pays floor(notional x its rate), the markup part floor(notional x markup)
    of it, as the hold proof needs (floor(a) + floor(b) <= floor(a + b)); a rebate is
    rounded down and capped by the venue part of the taker fee."""
    taker_fee = notional * taker.taker_fee_ppm // PPM
    taker_markup = notional * taker.markup_ppm // PPM
    venue = taker_fee - taker_markup
    maker_markup = notional * maker.markup_ppm // PPM
    maker_venue_ppm = maker.maker_fee_ppm - maker.markup_ppm
    if maker_venue_ppm >= 0:
        maker_fee = notional * maker.maker_fee_ppm // PPM
        venue += maker_fee - maker_markup
    else:
        rebate = min(notional * -maker_venue_ppm // PPM, venue)
        maker_fee = maker_markup - rebate
        venue -= rebate
    venue += _credit_markup(engine, maker.account_id, quote, maker_markup)
    venue += _credit_markup(engine, taker.account_id, quote, taker_markup)
    return maker_fee, taker_fee, venue


def _credit_markup(engine: Engine, account_id: str, quote: str, amount: int) -> int:
    """Credit a markup to the account's tenant's revenue account; returns what could
    not be posted there (no such account), which the venue takes."""
    if not amount:
        return 0
    tenant = engine.tenancy.tenant_of(account_id)
    revenue = None if tenant is None else engine.accounts.get(tenant.revenue_account)
    if revenue is None:
        return amount
    bal = revenue.balance(quote)
    bal.total += amount
    engine.dirty[(revenue.account_id, quote)] = bal
    return 0


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class ConfigureFees(VenueCommand):
    """The venue's fee settings: its revenue account (an existing account), the asset
    volumes are counted in, and the bounds of maker rebates and tenant markups."""

    revenue_account: str
    reference_asset: str
    max_rebate_bps: str = "0"
    max_markup_bps: str = "0"


@dataclass(frozen=True, slots=True)
class DefineFeeSchedule(VenueCommand):
    """Create or replace a schedule; tiers as :func:`parse_tiers` reads them."""

    schedule_id: str
    tiers: str


@dataclass(frozen=True, slots=True)
class SetDefaultFeeSchedule(VenueCommand):
    schedule_id: str


@dataclass(frozen=True, slots=True)
class SetTenantFees(VenueCommand):
    """A tenant's schedule ("" = the venue default) and markup on top of the venue fee."""

    tenant_id: str
    schedule_id: str = ""
    markup_bps: str = "0"


@dataclass(frozen=True, slots=True)
class SetFeeOverride(VenueCommand):
    """An account's own venue fee, ahead of any schedule (the markup still applies)."""

    account: str
    maker_bps: str
    taker_bps: str


@dataclass(frozen=True, slots=True)
class ClearFeeOverride(VenueCommand):
    account: str


@dataclass(frozen=True, slots=True)
class FeeDayTick(VenueCommand):
    """A UTC day began (day = days since the epoch): roll the volume windows, re-tier."""

    day: int


def _configure(engine: Engine, cmd: ConfigureFees) -> None:
    book = engine.fee_book
    try:
        if cmd.revenue_account not in engine.accounts:
            raise FeeError(RejectCode.UNKNOWN_ACCOUNT, "unknown revenue account")
        info = engine.tenancy.accounts.get(cmd.revenue_account)
        if info is not None and info.status == AccountStatus.CLOSED:
            raise FeeError(RejectCode.ACCOUNT_CLOSED, "the revenue account is closed")
        if not cmd.reference_asset:
            raise FeeError(RejectCode.INVALID_COMMAND, "reference asset missing")
        if book.reference_asset and cmd.reference_asset != book.reference_asset:
            raise FeeError(RejectCode.INVALID_COMMAND, "the reference asset cannot change")
        rebate = signed_bps_to_ppm(cmd.max_rebate_bps)
        markup = signed_bps_to_ppm(cmd.max_markup_bps)
        if not (0 <= rebate <= MAX_FEE_PPM and 0 <= markup <= MAX_FEE_PPM):
            raise FeeError(RejectCode.LIMIT_EXCEEDED, f"bounds must be within 0..{MAX_FEE_PPM}")
        for schedule in book.schedules.values():
            for tier in schedule.tiers:
                check_rates(tier.maker_ppm, tier.taker_ppm, rebate)
        for maker, taker in book.overrides.values():
            check_rates(maker, taker, rebate)
        if any(t.markup_ppm > markup for t in engine.tenancy.tenants.values()):
            raise FeeError(RejectCode.LIMIT_EXCEEDED, "a tenant's markup is above the new bound")
    except FeeError as err:
        reject(engine, cmd.revenue_account, err.code, str(err))
        return
    book.revenue_account = cmd.revenue_account
    book.reference_asset = cmd.reference_asset
    book.max_rebate_ppm = rebate
    book.max_markup_ppm = markup
    _bind(engine)
    emit(
        engine,
        "fees.configured",
        cmd.revenue_account,
        reference_asset=cmd.reference_asset,
        max_rebate_ppm=rebate,
        max_markup_ppm=markup,
    )


def _define(engine: Engine, cmd: DefineFeeSchedule) -> None:
    book = engine.fee_book
    try:
        if not cmd.schedule_id:
            raise FeeError(RejectCode.INVALID_COMMAND, "schedule id missing")
        if not book.revenue_account:
            raise FeeError(RejectCode.INVALID_COMMAND, "configure the venue's fees first")
        tiers = parse_tiers(cmd.tiers)
        for tier in tiers:
            check_rates(tier.maker_ppm, tier.taker_ppm, book.max_rebate_ppm)
    except FeeError as err:
        reject(engine, cmd.schedule_id, err.code, str(err))
        return
    book.schedules[cmd.schedule_id] = FeeSchedule(cmd.schedule_id, tiers)
    emit(engine, "fees.schedule", cmd.schedule_id, tiers=format_tiers(tiers))
    in_use = cmd.schedule_id == book.default or any(
        t.fee_schedule == cmd.schedule_id for t in engine.tenancy.tenants.values()
    )
    if in_use:  # (a new schedule nobody uses yet moves no account)
        _reprice(engine)


def _set_default(engine: Engine, cmd: SetDefaultFeeSchedule) -> None:
    book = engine.fee_book
    if cmd.schedule_id not in book.schedules:
        reject(engine, cmd.schedule_id, RejectCode.INVALID_COMMAND, "unknown fee schedule")
        return
    book.default = cmd.schedule_id
    _bind(engine)
    emit(engine, "fees.default", cmd.schedule_id)
    _reprice(engine)


def _set_tenant(engine: Engine, cmd: SetTenantFees) -> None:
    book = engine.fee_book
    try:
        if cmd.tenant_id not in engine.tenancy.tenants:
            raise FeeError(RejectCode.UNKNOWN_TENANT, "unknown tenant")
        if not book.default:
            raise FeeError(RejectCode.INVALID_COMMAND, "set the venue default schedule first")
        if cmd.schedule_id and cmd.schedule_id not in book.schedules:
            raise FeeError(RejectCode.INVALID_COMMAND, "unknown fee schedule")
        markup = signed_bps_to_ppm(cmd.markup_bps)
        if not 0 <= markup <= book.max_markup_ppm:
            raise FeeError(RejectCode.LIMIT_EXCEEDED, "markup outside 0..the venue's maximum")
    except FeeError as err:
        reject(engine, cmd.tenant_id, err.code, str(err))
        return
    tenant = engine.tenancy.tenants[cmd.tenant_id]
    tenant.fee_schedule = cmd.schedule_id
    tenant.markup_ppm = markup
    emit(engine, "fees.tenant", cmd.tenant_id, schedule=cmd.schedule_id, markup_ppm=markup)
    _reprice(engine)


def _set_override(engine: Engine, cmd: SetFeeOverride) -> None:
    book = engine.fee_book
    try:
        if cmd.account not in engine.accounts:
            raise FeeError(RejectCode.UNKNOWN_ACCOUNT, "unknown account")
        if not book.default:
            raise FeeError(RejectCode.INVALID_COMMAND, "set the venue default schedule first")
        maker, taker = signed_bps_to_ppm(cmd.maker_bps), signed_bps_to_ppm(cmd.taker_bps)
        check_rates(maker, taker, book.max_rebate_ppm)
    except FeeError as err:
        reject(engine, cmd.account, err.code, str(err))
        return
    book.overrides[cmd.account] = (maker, taker)
    emit(engine, "fees.override", cmd.account, maker_ppm=maker, taker_ppm=taker)
    _reassign(engine, [cmd.account])


def _clear_override(engine: Engine, cmd: ClearFeeOverride) -> None:
    if engine.fee_book.overrides.pop(cmd.account, None) is None:
        reject(engine, cmd.account, RejectCode.INVALID_COMMAND, "no fee override to clear")
        return
    emit(engine, "fees.override_cleared", cmd.account)
    _reassign(engine, [cmd.account])


def _day_tick(engine: Engine, cmd: FeeDayTick) -> None:
    book = engine.fee_book
    if cmd.day <= book.day:
        reject(engine, str(cmd.day), RejectCode.INVALID_COMMAND, "that day has begun already")
        return
    # The volume since the last tick is that day's; days without a tick had none.
    shift = min(cmd.day - book.day, WINDOW_DAYS) if book.day else 1
    history = book.history
    rolled = []
    for account_id, account in engine.accounts.items():
        today = account.fee_volume
        days = history.get(account_id)
        if days is None:
            if not today:
                continue
            days = [0] * WINDOW_DAYS
        days = [*days[shift:], today, *([0] * (shift - 1))][-WINDOW_DAYS:]
        account.fee_volume = 0
        if any(days):
            history[account_id] = days
        else:
            del history[account_id]
        rolled.append(account_id)
    book.day = cmd.day
    changed = assign_rates(engine, rolled)
    emit(engine, "fees.day", str(cmd.day), accounts=len(rolled), rates_changed=changed)


def _reassign(engine: Engine, account_ids: list[str]) -> None:
    changed = assign_rates(engine, account_ids)
    if changed:
        emit(engine, "fees.rates", "", accounts=changed)


def _reprice(engine: Engine) -> None:
    """Many accounts' rates may have changed: a new book version; the accounts with
    resting orders are resolved (and re-held) now, every other one at its next order."""
    engine.fee_book.version += 1
    resting = dict.fromkeys(order.account for order in engine.orders.values())
    _reassign(engine, list(resting))


COMMANDS: dict[int, type[Any]] = {
    40: ConfigureFees,
    41: DefineFeeSchedule,
    42: SetDefaultFeeSchedule,
    43: SetTenantFees,
    44: SetFeeOverride,
    45: ClearFeeOverride,
    46: FeeDayTick,
}
HANDLERS: dict[type[Any], Handler] = {
    ConfigureFees: _configure,
    DefineFeeSchedule: _define,
    SetDefaultFeeSchedule: _set_default,
    SetTenantFees: _set_tenant,
    SetFeeOverride: _set_override,
    ClearFeeOverride: _clear_override,
    FeeDayTick: _day_tick,
}
