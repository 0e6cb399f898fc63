"""Commands: the only input to the engine. Frozen, plain values, serializable with orjson.

Every edge (FIX, WebSocket, REST, admin) builds these and calls ``Engine.submit``.
Quantities are lots, prices ticks, amounts asset units (see engine.model).

The per-order commands (NewOrder, Cancel, Replace, MassCancel) live in
engine/order_commands.py, which the pre-trade stage reads without importing the
command handlers this module's record table gathers; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum
from operator import attrgetter
from typing import Any, Final

from engine.model import OrdType, Side, Stp, TimeInForce, TradingStatus
from engine.order_commands import _DIRECT_WRITES as _DIRECT_WRITES  # the native build's test
from engine.order_commands import Cancel, MassCancel, NewOrder, Replace
from engine.perp import PERP_COMMANDS, PerpCommand
from engine.venue import VenueCommand
from engine.venue.registry import VENUE_COMMANDS

__all__ = [
    "COMMAND_TYPES",
    "AddInstrument",
    "AdjustBalance",
    "Cancel",
    "Command",
    "MassCancel",
    "NewOrder",
    "OpenAccount",
    "Replace",
    "SetAccountEnabled",
    "SetGlobalHalt",
    "SetInstrumentStatus",
    "Tick",
    "command_from_record",
    "command_to_record",
]


@dataclass(frozen=True, slots=True)
class Tick:
    """Advances engine time; GTD orders whose expiry has passed are expired."""


@dataclass(frozen=True, slots=True)
class AddInstrument:
    symbol: str
    base: str
    quote: str
    tick_size: str
    lot_size: str
    min_qty: str = "0"
    min_notional: str = "0"
    collar_pct: str = "0"


@dataclass(frozen=True, slots=True)
class OpenAccount:
    """Create an account. Fees are decimal basis points; limits of 0 mean none.

    max_order_qty is in base asset units, max_order_notional in quote asset units.
    """

    account: str
    stp: Stp = Stp.NONE
    maker_fee_bps: str = "0"
    taker_fee_bps: str = "0"
    max_order_qty: int = 0
    max_order_notional: int = 0
    max_open_orders: int = 0


@dataclass(frozen=True, slots=True)
class AdjustBalance:
    """Deposit (amount > 0) or withdraw (amount < 0) asset units; never below held."""

    account: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class SetInstrumentStatus:
    symbol: str
    status: TradingStatus


@dataclass(frozen=True, slots=True)
class SetGlobalHalt:
    halted: bool


@dataclass(frozen=True, slots=True)
class SetAccountEnabled:
    account: str
    enabled: bool


Command = (
    NewOrder
    | Cancel
    | Replace
    | MassCancel
    | Tick
    | AddInstrument
    | OpenAccount
    | AdjustBalance
    | SetInstrumentStatus
    | SetGlobalHalt
    | SetAccountEnabled
    | VenueCommand
    | PerpCommand
)

# Journal type codes: append only, never renumber (old journals must replay).
COMMAND_TYPES: Final[dict[int, type[Any]]] = {
    1: NewOrder,
    2: Cancel,
    3: Replace,
    4: MassCancel,
    5: Tick,
    6: AddInstrument,
    7: OpenAccount,
    8: AdjustBalance,
    9: SetInstrumentStatus,
    10: SetGlobalHalt,
    11: SetAccountEnabled,
    **VENUE_COMMANDS,  # the operator side's commands, codes 20 and up (engine/venue)
    **PERP_COMMANDS,  # perpetual swaps, codes 80-99 (engine/perp)
}
_CODE_OF: Final[dict[type[Any], int]] = {cls: code for code, cls in COMMAND_TYPES.items()}


def _values_of(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning a command's field values as a tuple (attrgetter: one C call)."""
    names = tuple(f.name for f in fields(cls))
    if len(names) >= 2:
        return attrgetter(*names)
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda command: (one(command),)
    return lambda command: ()


_VALUES: Final = {cls: _values_of(cls) for cls in COMMAND_TYPES.values()}


def command_to_record(command: Command) -> tuple[Any, ...]:
    """(type code, field values...): compact, orjson-ready, stable across versions."""
    cls = type(command)
    return (_CODE_OF[cls], *_VALUES[cls](command))


# Records hold enums as ints; with the native build (engine.model compiled) a
# command's enum fields only take the enum: these are turned back on reading.
_ENUM_FIELDS: Final[dict[type[Any], dict[str, type[IntEnum]]]] = {
    NewOrder: {"side": Side, "ord_type": OrdType, "tif": TimeInForce, "stp": Stp},
    OpenAccount: {"stp": Stp},
    SetInstrumentStatus: {"status": TradingStatus},
}


def _enum_members(cls: type[Any]) -> tuple[tuple[int, dict[Any, Any]], ...]:
    """(field position, {recorded value: member}) of each enum field of cls."""
    enums = _ENUM_FIELDS.get(cls, {})
    return tuple(
        (k, {member.value: member for member in enums[f.name]})
        for k, f in enumerate(fields(cls))
        if f.name in enums
    )


#: type code -> (command class, its enum fields): one dict lookup decodes a record's
#: type, and each enum value is one dict lookup (calling the enum class runs
#: EnumType.__call__ in Python, about a third of the follower's decoding)
_DECODERS: Final[dict[int, tuple[type[Any], tuple[tuple[int, dict[Any, Any]], ...]]]] = {
    code: (cls, _enum_members(cls)) for code, cls in COMMAND_TYPES.items()
}


def command_from_record(record: list[Any]) -> Command:
    cls, enums = _DECODERS[record[0]]
    values = record[1:]
    if enums:
        n = len(values)
        for k, members in enums:
            if k < n:
                value = values[k]
                if value is not None:
                    # no such member (or unhashable): replayed as recorded, for the
                    # engine to reject, as calling the enum class did; try/except, not
                    # suppress(): compiled, it costs nothing unless it raises
                    try:  # noqa: SIM105
                        values[k] = members[value]
                    except (KeyError, TypeError):
                        pass
    command: Command = cls(*values)
    return command
