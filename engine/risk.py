"""Pre-trade risk and settlement: balances with holds, limits, fees, kill switches.

Money rules (all integers in asset units):
- A buy holds quote: notional at its limit price plus the fee at the account's higher
  fee rate; a sell holds base. Market orders hold what the pre-trade walk of the book
  says they can cost. Fills settle both sides at once; cancels release holds.
- Fees are charged in the quote asset, rounded DOWN to the unit. Rounding down is
  what makes holds exact: the hold for the remaining quantity after a fill never
  needs more than was held before it (proof sketch in README), so available
  balances can never go negative. The rates are the effective ones (venue fee plus
  tenant markup, engine.venue.fees); a maker rebate (negative maker rate) only ever
  lowers a buyer's cost below what the hold covers.
- Every fee unit is credited to a revenue account (engine.venue.fees.split), or kept
  per asset in engine.fees while no fee schedule is set, so the total supply of every
  asset is conserved.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from engine.events import RejectCode
from engine.model import Stp, parse_decimal

__all__ = ["PPM", "Account", "Balance", "RiskError", "bps_to_ppm"]

PPM: Final = 1_000_000
"""Fee rates are held in parts per million (1 bps = 100 ppm)."""


class RiskError(Exception):
    """A pre-trade check failed: code + text go straight into OrderRejected."""

    def __init__(self, code: RejectCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def bps_to_ppm(text: str) -> int:
    """ "2.5" bps -> 250 ppm; exact to 0.01 bps, non-negative."""
    value = parse_decimal(text) * 100
    if value < 0 or value != value.to_integral_value():
        raise ValueError(f"fee must be >= 0 with at most 2 decimals of a bps: {text!r}")
    return int(value)


class Balance:
    """One asset of one account. available = total - held, never negative."""

    __slots__ = ("held", "total")

    def __init__(self, total: int = 0, held: int = 0) -> None:
        self.total = total
        self.held = held

    @property
    def available(self) -> int:
        return self.total - self.held


class Account:
    """Settings, limits, balances and live-order bookkeeping of one account."""

    __slots__ = (
        "account_id",
        "balances",
        "enabled",
        "fee_version",
        "fee_volume",
        "has_limits",
        "hold_fee_ppm",
        "live_client_ids",
        "maker_fee_ppm",
        "markets",
        "markup_ppm",
        "max_open_orders",
        "max_order_notional",
        "max_order_qty",
        "open_orders",
        "recent_client_ids",
        "recent_client_set",
        "recent_window",
        "stp",
        "taker_fee_ppm",
        "tenant",
        "tier_max_notional",
        "trade_block",
        "trade_block_text",
    )

    RECENT_CLIENT_IDS = 10_000
    """Closed orders' client ids stay reserved this long (per account) against reuse."""

    def __init__(
        self,
        account_id: str,
        stp: int = Stp.NONE,
        maker_fee_ppm: int = 0,
        taker_fee_ppm: int = 0,
        max_order_qty: int = 0,
        max_order_notional: int = 0,
        max_open_orders: int = 0,
    ) -> None:
        self.account_id = account_id
        self.enabled = True
        self.stp = stp
        self.maker_fee_ppm = maker_fee_ppm
        self.taker_fee_ppm = taker_fee_ppm
        self.hold_fee_ppm = max(maker_fee_ppm, taker_fee_ppm)
        # Set by engine.venue.fees: the tenant markup included in both rates above, and
        # today's traded notional in the fee reference asset (rolled by the day tick).
        self.markup_ppm = 0
        self.fee_volume = 0
        # The FeeBook.version its rates were resolved at (engine/venue/fees.py): when
        # they differ, the rates are re-resolved before the account next trades.
        self.fee_version = 0
        self.max_order_qty = max_order_qty
        self.max_order_notional = max_order_notional
        self.max_open_orders = max_open_orders
        self.has_limits = bool(max_order_qty or max_order_notional or max_open_orders)
        self.balances: dict[str, Balance] = {}
        self.open_orders = 0
        self.live_client_ids: dict[str, int] = {}  # client_order_id -> order_id
        # Closed orders' client ids, oldest first; the set answers membership. (A dict
        # used as an ordered set degrades when popped from the front: deleted slots
        # stay until the next resize and every pop scans them.)
        self.recent_client_ids: deque[str] = deque()
        self.recent_client_set: set[str] = set()
        self.recent_window = self.RECENT_CLIENT_IDS
        # Set by engine.venue.tenancy from the account's tenant, status and KYC (derived
        # state: not in snapshots, recomputed on restore). trade_block is the RejectCode
        # new orders get (0 = none); markets maps symbol -> MarketState for a tenant's
        # account (None = every instrument, as for an account outside any tenant).
        self.tenant = ""
        self.trade_block = 0
        self.trade_block_text = ""
        self.markets: dict[str, int] | None = None
        self.tier_max_notional = 0  # the KYC tier's cap on one order's notional, 0 = none

    def set_tier_max_notional(self, notional: int) -> None:
        """The KYC tier's per-order notional cap (derived, set by engine.venue.tenancy)."""
        self.tier_max_notional = notional
        self.has_limits = bool(
            self.max_order_qty or self.max_order_notional or self.max_open_orders or notional
        )

    def balance(self, asset: str) -> Balance:
        bal = self.balances.get(asset)
        if bal is None:
            bal = self.balances[asset] = Balance()
        return bal

    def client_id_in_use(self, client_order_id: str) -> bool:
        return client_order_id in self.live_client_ids or (
            client_order_id in self.recent_client_set
        )

    def retire_client_id(self, client_order_id: str) -> None:
        """A closed order's client id stays reserved for a while (FIX duplicate rules)."""
        if not client_order_id:
            return
        self.live_client_ids.pop(client_order_id, None)
        recent = self.recent_client_ids
        recent.append(client_order_id)
        self.recent_client_set.add(client_order_id)
        if len(recent) > self.recent_window:
            self.recent_client_set.discard(recent.popleft())

    def buy_hold(self, notional: int) -> int:
        """Quote to hold for a buy of this notional: the notional plus the worst-case fee."""
        return notional + notional * self.hold_fee_ppm // PPM

    def check_limits(self, base_units: int, notional: int, *, new_order: bool = True) -> None:
        """Per-order size limits and, for a new order, the open-order count; raises RiskError."""
        if self.max_order_qty and base_units > self.max_order_qty:
            raise RiskError(RejectCode.MAX_ORDER_QTY, "order quantity above account limit")
        if self.max_order_notional and notional > self.max_order_notional:
            raise RiskError(RejectCode.MAX_ORDER_NOTIONAL, "order notional above account limit")
        if self.tier_max_notional and notional > self.tier_max_notional:
            raise RiskError(RejectCode.MAX_ORDER_NOTIONAL, "order notional above KYC tier limit")
        if new_order and self.max_open_orders and self.open_orders >= self.max_open_orders:
            raise RiskError(RejectCode.MAX_OPEN_ORDERS, "too many open orders")
