"""Perpetual-swap commands: journal type codes 80-99 (see ``CODE_RANGE``).

Linear (quote-margined) perpetuals. Every field is a plain ``str``, ``int`` or
``bool`` so that a journal record round-trips it exactly. Prices are the perp's price
ticks, quantities its lots, amounts quote-asset units (10**-8); decimal strings are
only for the instrument's definition (converted exactly once, when it is added).

What the engine answers (all :class:`~engine.events.VenueEvent`, ``kind`` below,
``subject`` the symbol or account; data values are ints and strings, never floats):

- ``perp.instrument`` (symbol): the instrument was added.
- ``perp.index`` (symbol): ``{"index": ticks}``.
- ``perp.mark`` (symbol): ``{"mark", "index", "last", "funding_rate", "next_funding_us",
  "reduce_only"}``, on each PerpTick or SetIndexPrice (once the ticks have started)
  that changes the mark; ``funding_rate`` is in ``RATE_SCALE`` units, ``reduce_only``
  the stale-index halt (``perp.halt``).
- ``perp.funding`` (symbol): ``{"rate", "mark", "longs_paid", "shorts_received",
  "to_insurance", "funding_us"}`` at each funding settlement.
- ``perp.position`` (account): ``{"symbol", "size", "entry_notional", "isolated",
  "leverage", "margin", "realized_pnl", "funding"}`` whenever a position changes
  (size > 0 long, < 0 short, 0 flat).
- ``perp.liquidation`` (account): ``{"symbol", "step", ...}`` with step one of
  ``canceled``, ``recovered``, ``slice``, ``insurance``, ``adl``, ``deleveraged``.
- ``perp.insurance`` (symbol): ``{"balance"}`` when the insurance fund changes.
- ``perp.leverage`` / ``perp.margin_mode`` / ``perp.isolated_margin`` (account).
- ``perp.halt`` (symbol): ``{"reduce_only": bool, "reason", "index_ts_us"}`` when a
  stale index halts new risk on the instrument (reason ``index_stale``: a PerpTick
  finds the index older than ``index_stale_s``; orders that would open or increase a
  position are refused with REDUCE_ONLY), or when a fresh index lifts that halt
  (reason ``index_fresh``). ``index_ts_us``: when the index was last set.
Refusals are ``OrderRejected`` with request ``admin`` (as for engine/venue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CODE_RANGE",
    "PERP_COMMANDS",
    "RATE_SCALE",
    "AddPerpInstrument",
    "AdjustIsolatedMargin",
    "ClosePosition",
    "DepositInsurance",
    "PerpCommand",
    "PerpTick",
    "SetIndexPrice",
    "SetLeverage",
    "SetMarginMode",
]

CODE_RANGE: Final = range(80, 100)
"""The journal type codes perpetuals may use: append only, never renumber."""

RATE_SCALE: Final = 100_000_000
"""Funding rates and premiums are integers in units of 10**-8 (Binance shows 8 decimals)."""


class PerpCommand:
    """Base of every perpetual-swap command (a marker: the Command union names it)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AddPerpInstrument(PerpCommand):
    """List a linear perpetual. Decimal strings, converted exactly (off-grid refuses).

    tick_size is in quote per base unit; lot_size in contracts; contract_size in base
    units per contract. tiers: brackets as ``"floor:maintenance_rate:max_leverage"``
    joined by ``,``, floors in quote (the first 0), ascending, rates and leverages
    non-increasing in leverage; the cumulative amounts that keep maintenance margin
    continuous at the edges are derived. interest_rate, funding_cap and the inner
    clamp are rates per funding interval; impact_notional in quote;
    liquidation_fee_rate of the liquidated notional (to the insurance fund).
    premium_sample_s: premium sampling period; mark_window: samples in the mark's
    moving average of (mid - index); index_stale_s: an index older than this makes the
    instrument reduce-only; liquidation_slice_lots: lots per liquidation order (0 = all).
    insurance_max_notional: the largest position (quote, at mark) the insurance fund may
    hold by taking liquidated positions over; a takeover past it deleverages instead
    ("0" = no limit). Fields are only ever added last: a stored command replays.
    """

    symbol: str
    base: str
    quote: str
    tick_size: str
    lot_size: str
    contract_size: str = "1"
    min_qty: str = "0"
    max_leverage: int = 20
    tiers: str = "0:0.005:20"
    funding_interval_s: int = 28_800
    interest_rate: str = "0.0001"
    funding_cap: str = "0.0075"
    funding_clamp: str = "0.0005"
    impact_notional: str = "1000"
    liquidation_fee_rate: str = "0.005"
    premium_sample_s: int = 60
    mark_window: int = 30
    index_stale_s: int = 30
    liquidation_slice_lots: int = 0
    insurance_max_notional: str = "0"


@dataclass(frozen=True, slots=True)
class SetIndexPrice(PerpCommand):
    """The price feeder's index for symbol, in the perp's price ticks (> 0). Once the
    ticks have started it recomputes the mark and checks liquidations at once."""

    symbol: str
    price: int


@dataclass(frozen=True, slots=True)
class PerpTick(PerpCommand):
    """One scheduled tick of symbol, at the sequencer's ts_us: recompute the mark,
    sample the premium when a sample is due, settle funding when due, check
    liquidations (and stale-index halts)."""

    symbol: str


@dataclass(frozen=True, slots=True)
class SetLeverage(PerpCommand):
    """The account's leverage on symbol (1..the bracket's max for its position)."""

    account: str
    symbol: str
    leverage: int


@dataclass(frozen=True, slots=True)
class SetMarginMode(PerpCommand):
    """Cross (isolated False) or isolated margin for the account on symbol; only while
    it has neither position nor open orders there."""

    account: str
    symbol: str
    isolated: bool


@dataclass(frozen=True, slots=True)
class AdjustIsolatedMargin(PerpCommand):
    """Move quote units into (amount > 0) or out of (< 0) an isolated position's margin."""

    account: str
    symbol: str
    amount: int


@dataclass(frozen=True, slots=True)
class DepositInsurance(PerpCommand):
    """The operator tops up (or, amount < 0, draws down) symbol's insurance fund."""

    symbol: str
    amount: int


@dataclass(frozen=True, slots=True)
class ClosePosition(PerpCommand):
    """Close the account's whole position on symbol with a reduce-only market order."""

    account: str
    symbol: str
    client_order_id: str = ""


PERP_COMMANDS: Final[dict[int, type[Any]]] = {
    80: AddPerpInstrument,
    81: SetIndexPrice,
    82: PerpTick,
    83: SetLeverage,
    84: SetMarginMode,
    85: AdjustIsolatedMargin,
    86: DepositInsurance,
    87: ClosePosition,
}
for _code in PERP_COMMANDS:
    if _code not in CODE_RANGE:
        raise RuntimeError(f"perp journal code {_code} outside {CODE_RANGE}")
