"""Hand-written constructors match their dataclass fields, and the native build
compiles them (the compiled checks are skipped on pure Python).

A change can silently fall back to interpreted code and still pass every other test:
a dataclass's generated ``__init__`` stays interpreted under mypyc, which cost the
gateway ~4 us per order before events wrote theirs by hand (~1 us for NewOrder).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

import pytest

import engine
import gateway
from engine import commands, events
from engine.model import OrdType, Side, Stp, TimeInForce
from gateway.fix.translate import OrderState
from gateway.follower.tail import Record

native_only = pytest.mark.skipif(not engine.NATIVE, reason="pure-Python build")

EVENT_TYPES = [
    cls
    for cls in vars(events).values()
    if isinstance(cls, type) and cls.__module__ == events.__name__ and hasattr(cls, "seq")
]
HOT_COMMANDS = [commands.NewOrder, commands.Cancel, commands.Replace, commands.MassCancel]
HAND_WRITTEN = EVENT_TYPES + HOT_COMMANDS


def test_every_event_type_is_found() -> None:
    assert {cls.__name__ for cls in EVENT_TYPES} >= {"OrderAccepted", "Trade", "BookDelta"}


def sample(field: dataclasses.Field[Any], k: int) -> object:
    """A value of the field's type, distinct per position for ints and strings (the
    compiled constructors check argument types)."""
    annotation = field.type  # a string, or (compiled) the type itself
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    enums = {"Side": Side.SELL, "OrdType": OrdType.MARKET, "TimeInForce": TimeInForce.IOC}
    if kind in enums:
        return enums[kind]
    if "Stp" in kind or "Stp" in str(annotation) or field.name == "stp":
        return Stp.EXPIRE_BOTH  # compiled, "Stp | None" reads as plain `type`
    if kind == "bool":
        return True
    if kind.startswith("dict"):
        return {"k": k}  # VenueEvent.data
    return 1000 + k if kind == "int" else f"value-{k}"


def build_all(cls: type) -> tuple[object, list[object]]:
    values = [sample(f, k) for k, f in enumerate(dataclasses.fields(cls))]
    return cls(*values), values  # positionally, as journal replay builds commands


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda cls: cls.__name__)
def test_constructor_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    fields = dataclasses.fields(cls)
    built, values = build_all(cls)
    assert [getattr(built, f.name) for f in fields] == values
    required = {
        f.name: sample(f, k) for k, f in enumerate(fields) if f.default is dataclasses.MISSING
    }
    defaults = cls(**required)
    for f in fields:
        expected = required.get(f.name, f.default)
        assert getattr(defaults, f.name) == expected, f.name


@pytest.mark.parametrize("cls", HOT_COMMANDS, ids=lambda cls: cls.__name__)
def test_hot_commands_stay_frozen(cls: type) -> None:
    built, _ = build_all(cls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, dataclasses.fields(cls)[0].name, "changed")
    again, _ = build_all(cls)
    assert built == again and hash(built) == hash(again)


@native_only
@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda cls: cls.__name__)
def test_hand_written_constructors_are_compiled(cls: type) -> None:
    assert {"events", "commands"} <= set(engine.NATIVE)
    assert not isinstance(cls.__init__, types.FunctionType), f"{cls.__name__}.__init__"


def test_compiled_commands_assign_their_fields_directly() -> None:
    """Compiled, the hand-written __init__s write slots directly (the fast path);
    interpreted they must not (a frozen dataclass refuses the write)."""
    assert commands._DIRECT_WRITES is bool("commands" in engine.NATIVE)


@native_only
def test_per_report_values_are_compiled() -> None:
    for constructor in (OrderState.__new__, OrderState.__init__):
        assert not isinstance(constructor, types.FunctionType)


@native_only
def test_the_c_modules_and_the_per_order_listeners_are_built() -> None:
    # metrics: every command observes a histogram and bumps counters (interpreted,
    # ~0.5 us per order); mypyc could not compile Counter.inc(amount=1, **labels)
    assert {"fix._cframe", "fix._crender", "metrics", "edges", "ws.router"} <= set(gateway.NATIVE)


def test_a_follower_record_is_built_by_its_hand_written_constructor() -> None:
    """The follower builds one per journal record read: positionally, every field."""
    command = commands.Tick()
    record = Record(7, 1_000, command, 123)
    assert (record.seq, record.ts_us, record.command, record.crc) == (7, 1_000, command, 123)
    assert [f.name for f in dataclasses.fields(Record)] == ["seq", "ts_us", "command", "crc"]


@native_only
def test_the_follower_replay_path_is_compiled() -> None:
    """The follower must keep up with the gateway's peak: its per-record path (tail,
    replay, rows and ledger) runs compiled, Record's constructor included."""
    assert {"follower.tail", "follower.rows", "follower.replay"} <= set(gateway.NATIVE)
    assert not isinstance(Record.__init__, types.FunctionType)


@native_only
def test_the_follower_surveillance_rules_are_compiled() -> None:
    """Every replayed event goes through the rules: interpreted, they were over half of
    the replay's time under FIX load."""
    rules = ("monitor", "market", "parties", "rule", "listener")
    rules += ("wash", "stp", "spoofing", "ratios", "ramping", "marking")
    assert {f"follower.surveillance.{name}" for name in rules} <= set(gateway.NATIVE)
