"""Instruments, enums and the exact decimal <-> integer conversions used at the edges.

Inside the engine every price is an int number of ticks, every quantity an int number
of lots, and every balance an int number of asset units (10**-ASSET_DECIMALS).
Conversion happens once, at the edge, and is exact: a value off the grid is an error,
never a rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum

__all__ = [
    "ASSET_DECIMALS",
    "ASSET_UNIT",
    "MAX_COUNT",
    "GridError",
    "Instrument",
    "OrdType",
    "OrderStatus",
    "Side",
    "Stp",
    "TimeInForce",
    "TradingStatus",
    "decimal_to_units",
    "parse_decimal",
    "units_to_decimal",
]

ASSET_DECIMALS = 8
"""Every asset balance is an integer count of 10**-8 of the asset (a satoshi for BTC)."""
ASSET_UNIT = Decimal(1).scaleb(-ASSET_DECIMALS)


class Side(IntEnum):
    BUY = 1
    SELL = 2


class OrdType(IntEnum):
    LIMIT = 1
    MARKET = 2


class TimeInForce(IntEnum):
    GTC = 1
    IOC = 3
    FOK = 4
    GTD = 6


class Stp(IntEnum):
    """Self-trade prevention mode; the taker's mode decides (Binance/Coinbase semantics)."""

    NONE = 0
    EXPIRE_TAKER = 1
    EXPIRE_MAKER = 2
    EXPIRE_BOTH = 3
    DECREMENT = 4


class TradingStatus(IntEnum):
    OPEN = 1
    HALTED = 2
    CANCEL_ONLY = 3
    DELISTED = 4  # final: its orders were canceled and it accepts nothing


class OrderStatus(IntEnum):
    NEW = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELED = 4
    REPLACED = 5
    REJECTED = 8
    EXPIRED = 12


class GridError(ValueError):
    """A decimal string that is malformed, non-positive or not on the instrument's grid."""


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal string; reject NaN, infinities and exponents-gone-wild."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise GridError(f"not a decimal number: {text!r}") from exc
    if not value.is_finite():
        raise GridError(f"not a finite number: {text!r}")
    return value


#: The largest grid count (ticks, lots, asset units): a signed 64-bit integer. Commands
#: are journaled with orjson, which refuses larger integers, and a command the journal
#: refuses after the sequencer stamped it leaves a sequence gap that stops the engine.
MAX_COUNT = 2**63 - 1


def _exact_multiple(value: Decimal, step: Decimal, what: str) -> int:
    try:
        count, remainder = divmod(value, step)
    except InvalidOperation:  # the quotient has more digits than the decimal context
        raise GridError(f"{what} {value} is too large") from None
    if remainder != 0:
        raise GridError(f"{what} {value} is not a multiple of {step}")
    if not -MAX_COUNT <= count <= MAX_COUNT:
        raise GridError(f"{what} {value} is too large")
    return int(count)


def _ceil_div(value: Decimal, step: Decimal) -> int:
    """ceil(value / step) for value >= 0 (Decimal // truncates, so -(-a // b) is no ceiling)."""
    count, remainder = divmod(value, step)
    return int(count) + (1 if remainder else 0)


def decimal_to_units(text: str | Decimal) -> int:
    """Exact conversion of an asset amount to integer units (10**-8)."""
    value = parse_decimal(text) if isinstance(text, str) else text
    return _exact_multiple(value, ASSET_UNIT, "amount")


def units_to_decimal(units: int) -> str:
    """Integer asset units back to a normalized decimal string ("1.5", not "1.50000000")."""
    return _fmt(Decimal(units).scaleb(-ASSET_DECIMALS))


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True, slots=True)
class Instrument:
    """A spot pair with its price and quantity grids, validated once at construction.

    quote_per_tick_lot: quote units for 1 tick x 1 lot (notional = ticks * lots * this).
    base_per_lot: base units in one lot.
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: int  # lots
    min_notional: int  # quote units
    collar_pct: Decimal  # 0 = no collar
    quote_per_tick_lot: int
    base_per_lot: int

    @classmethod
    def from_decimals(
        cls,
        symbol: str,
        base: str,
        quote: str,
        tick_size: str,
        lot_size: str,
        min_qty: str = "0",
        min_notional: str = "0",
        collar_pct: str = "0",
    ) -> Instrument:
        """Build and validate an instrument from config strings; raises GridError."""
        tick = parse_decimal(tick_size)
        lot = parse_decimal(lot_size)
        if tick <= 0 or lot <= 0:
            raise GridError(f"{symbol}: tick_size and lot_size must be positive")
        collar = parse_decimal(collar_pct)
        if collar < 0:
            raise GridError(f"{symbol}: collar_pct must be >= 0")
        min_qty_value = parse_decimal(min_qty)
        if min_qty_value < 0:
            raise GridError(f"{symbol}: min_qty must be >= 0")
        return cls(
            symbol=symbol,
            base=base,
            quote=quote,
            tick_size=tick,
            lot_size=lot,
            min_qty=_ceil_div(min_qty_value, lot),  # round up: at least min_qty
            min_notional=decimal_to_units(min_notional),
            collar_pct=collar,
            quote_per_tick_lot=_exact_multiple(tick * lot, ASSET_UNIT, f"{symbol} tick*lot"),
            base_per_lot=_exact_multiple(lot, ASSET_UNIT, f"{symbol} lot_size"),
        )

    def price_to_ticks(self, text: str) -> int:
        """Exact price -> ticks. Raises GridError when off the tick grid or not positive."""
        value = parse_decimal(text)
        if value <= 0:
            raise GridError(f"price must be positive, got {text}")
        return _exact_multiple(value, self.tick_size, "price")

    def qty_to_lots(self, text: str) -> int:
        """Exact quantity -> lots. Raises GridError when off the lot grid or not positive."""
        value = parse_decimal(text)
        if value <= 0:
            raise GridError(f"quantity must be positive, got {text}")
        return _exact_multiple(value, self.lot_size, "quantity")

    def ticks_to_price(self, ticks: int) -> str:
        return _fmt(self.tick_size * ticks)

    def lots_to_qty(self, lots: int) -> str:
        return _fmt(self.lot_size * lots)

    def notional(self, ticks: int, lots: int) -> int:
        """Quote units for lots at a price in ticks."""
        return ticks * lots * self.quote_per_tick_lot
