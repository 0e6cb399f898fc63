"""A perpetual's definition as integers: grids, margin brackets, funding parameters.

Rates are integers in units of ``RATE_SCALE`` (10**-8); notionals and amounts are
quote-asset units (10**-8). The maintenance margin of a position of notional N in
bracket k is ``N * mmr_k // RATE_SCALE - cum_k`` (rounded down), where
``cum_k = cum_{k-1} + floor_k * (mmr_k - mmr_{k-1}) / RATE_SCALE`` (exact: floors
are whole quote units at most 8 decimals and rates 8 decimals, so the cumulative
amount is computed exactly and rounded down once) keeps it continuous at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from engine.model import ASSET_UNIT, GridError, Instrument, decimal_to_units, parse_decimal
from engine.perp.commands import RATE_SCALE, AddPerpInstrument

__all__ = ["MAX_TIERS", "PerpSpec", "Tier", "parse_rate"]

MAX_TIERS: Final = 20
_SCALE: Final = Decimal(RATE_SCALE)


def parse_rate(text: str, what: str, *, signed: bool = False) -> int:
    """An exact rate ("0.0001") in RATE_SCALE units; more than 8 decimals refuses."""
    value = parse_decimal(text) * _SCALE
    if value != value.to_integral_value():
        raise GridError(f"{what} {text} has more than 8 decimals")
    if not signed and value < 0:
        raise GridError(f"{what} must be >= 0")
    if abs(value) > RATE_SCALE:
        raise GridError(f"{what} {text} is above 1")
    return int(value)


@dataclass(frozen=True, slots=True)
class Tier:
    """One margin bracket: positions whose notional is >= floor (quote units)."""

    floor: int
    mmr: int  # maintenance margin rate, RATE_SCALE units
    max_leverage: int
    cum: int  # quote units subtracted so that maintenance is continuous at floor

    def maintenance(self, notional: int) -> int:
        return max(0, notional * self.mmr // RATE_SCALE - self.cum)


def _tiers(text: str, max_leverage: int) -> tuple[Tier, ...]:
    rows = [part.strip() for part in text.split(",") if part.strip()]
    if not rows or len(rows) > MAX_TIERS:
        raise GridError(f"tiers: 1..{MAX_TIERS} brackets")
    tiers: list[Tier] = []
    cum_exact = 0  # in quote units x RATE_SCALE: exact
    for row in rows:
        parts = row.split(":")
        if len(parts) != 3:
            raise GridError(f"tier {row!r}: floor:maintenance_rate:max_leverage")
        floor = 0 if parts[0].strip() == "0" else decimal_to_units(parts[0])
        mmr = parse_rate(parts[1], "maintenance rate")
        try:
            lev = int(parts[2])
        except ValueError:
            raise GridError(f"tier {row!r}: max leverage is an integer") from None
        if mmr <= 0 or not 1 <= lev <= max_leverage:
            raise GridError(f"tier {row!r}: rate > 0 and 1 <= leverage <= {max_leverage}")
        if mmr * lev >= RATE_SCALE:
            raise GridError(f"tier {row!r}: maintenance must be below initial margin")
        if tiers:
            prev = tiers[-1]
            if floor <= prev.floor or mmr < prev.mmr or lev > prev.max_leverage:
                raise GridError("tiers: floors ascending, rates and leverages monotone")
            cum_exact += floor * (mmr - prev.mmr)
        elif floor != 0:
            raise GridError("tiers: the first floor is 0")
        tiers.append(Tier(floor, mmr, lev, cum_exact // RATE_SCALE))
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class PerpSpec:
    """Everything fixed about a perpetual, validated once (see AddPerpInstrument)."""

    instrument: Instrument  # lot_size here = lots x contract size, in base units
    max_leverage: int
    tiers: tuple[Tier, ...]
    funding_interval_us: int
    interest_rate: int
    funding_cap: int
    funding_clamp: int
    impact_notional: int
    liquidation_fee_rate: int
    premium_sample_us: int
    mark_window: int
    index_stale_us: int
    liquidation_slice_lots: int
    insurance_max_notional: int  # quote units; 0 = no limit

    @classmethod
    def from_command(cls, cmd: AddPerpInstrument) -> PerpSpec:
        """Raises GridError (a ValueError) on anything invalid."""
        contract = parse_decimal(cmd.contract_size)
        lot = parse_decimal(cmd.lot_size)
        if contract <= 0 or lot <= 0:
            raise GridError("contract_size and lot_size must be positive")
        base_lot = lot * contract
        if base_lot % ASSET_UNIT:
            raise GridError("lot_size x contract_size is finer than an asset unit")
        min_qty = parse_decimal(cmd.min_qty) * contract
        instrument = Instrument.from_decimals(
            cmd.symbol, cmd.base, cmd.quote, cmd.tick_size, format(base_lot, "f"),
            format(min_qty, "f"),
        )  # fmt: skip
        if not 1 <= cmd.max_leverage <= 1000:
            raise GridError("max_leverage: 1..1000")
        for name, value in (
            ("funding_interval_s", cmd.funding_interval_s),
            ("premium_sample_s", cmd.premium_sample_s),
            ("mark_window", cmd.mark_window),
            ("index_stale_s", cmd.index_stale_s),
        ):
            if not 0 < value <= 10**7:
                raise GridError(f"{name} must be positive")
        if cmd.liquidation_slice_lots < 0:
            raise GridError("liquidation_slice_lots must be >= 0")
        if cmd.premium_sample_s > cmd.funding_interval_s:
            raise GridError("premium_sample_s must not exceed funding_interval_s")
        fund_limit = decimal_to_units(cmd.insurance_max_notional)
        if fund_limit < 0:
            raise GridError("insurance_max_notional must be >= 0")
        impact = decimal_to_units(cmd.impact_notional)
        if impact <= 0:
            raise GridError("impact_notional must be positive")
        return cls(
            instrument=instrument,
            max_leverage=cmd.max_leverage,
            tiers=_tiers(cmd.tiers, cmd.max_leverage),
            funding_interval_us=cmd.funding_interval_s * 1_000_000,
            interest_rate=parse_rate(cmd.interest_rate, "interest_rate", signed=True),
            funding_cap=parse_rate(cmd.funding_cap, "funding_cap"),
            funding_clamp=parse_rate(cmd.funding_clamp, "funding_clamp"),
            impact_notional=impact,
            liquidation_fee_rate=parse_rate(cmd.liquidation_fee_rate, "liquidation_fee_rate"),
            premium_sample_us=cmd.premium_sample_s * 1_000_000,
            mark_window=cmd.mark_window,
            index_stale_us=cmd.index_stale_s * 1_000_000,
            liquidation_slice_lots=cmd.liquidation_slice_lots,
            insurance_max_notional=fund_limit,
        )

    def tier(self, notional: int) -> Tier:
        """The bracket of a position of this notional (quote units, >= 0)."""
        found = self.tiers[0]
        for tier in self.tiers:
            if notional < tier.floor:
                break
            found = tier
        return found

    def maintenance(self, notional: int) -> int:
        """Maintenance margin of a position of this notional (quote units)."""
        return self.tier(notional).maintenance(notional)
