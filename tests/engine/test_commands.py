"""command_from_record's lookup tables decode every record as calling the enum classes did.

The follower and recovery decode every journal record; the tables (one per type code,
one dict per enum field) replaced a per-field enum call. The reference below is that
call, kept here so that any record, valid or not, is checked to decode identically:
the same command (with the same field types), or the same exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import commands
from engine.commands import COMMAND_TYPES, Command, command_from_record, command_to_record
from tests.engine.streams import random_command, setup_commands


def reference_decode(record: list[Any]) -> Command:
    """The decoding before the lookup tables: the enum class called on each value."""
    cls = COMMAND_TYPES[record[0]]
    enums = commands._ENUM_FIELDS.get(cls, {})
    values = record[1:]
    for k, f in enumerate(dataclasses.fields(cls)):
        enum = enums.get(f.name)
        if enum is not None and k < len(values) and values[k] is not None:
            with contextlib.suppress(ValueError):  # no such member: kept as recorded
                values[k] = enum(values[k])
    command: Command = cls(*values)
    return command


def outcome(decode: Any, record: list[Any]) -> tuple[str, object, tuple[type, ...]]:
    """What decoding gives: the command and its field types, or the exception's type."""
    try:
        command = decode(list(record))
    except Exception as exc:  # its type is the outcome
        return ("raised", type(exc), ())
    kinds = tuple(type(getattr(command, f.name)) for f in dataclasses.fields(command))
    return ("decoded", command, kinds)


#: what a record (JSON) can hold where an enum is expected: members, ints that are no
#: member, None, bools, floats, strings, lists (unhashable), objects
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=12)
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=3,
)


@st.composite
def records(draw: st.DrawFn) -> list[Any]:
    """A record of any type code: a valid command's values, some replaced by anything,
    sometimes cut short or extended."""
    code = draw(st.sampled_from(sorted(COMMAND_TYPES)))
    cls = COMMAND_TYPES[code]
    base = [_sample(f) for f in dataclasses.fields(cls)]
    values = [draw(JSON_VALUES) if draw(st.booleans()) else value for value in base]
    cut = draw(st.integers(min_value=0, max_value=len(values) + 1))
    return [code, *values[:cut], *([None] if cut > len(values) else [])]


def _sample(f: dataclasses.Field[Any]) -> object:
    """A field's default when it has one, else an int (a string for names)."""
    if f.default is not dataclasses.MISSING:
        value = f.default
        return int(value) if isinstance(value, int) else value
    return "x" if f.name in ("account", "symbol", "asset") else 1


@settings(max_examples=1500, deadline=None)
@given(records())
def test_any_record_decodes_as_the_enum_calls_did(record: list[Any]) -> None:
    assert outcome(command_from_record, record) == outcome(reference_decode, record)


def test_every_type_code_has_a_decoder_with_its_enum_fields() -> None:
    assert set(commands._DECODERS) == set(COMMAND_TYPES)
    for code, (cls, enums) in commands._DECODERS.items():
        assert cls is COMMAND_TYPES[code]
        names = [f.name for f in dataclasses.fields(cls)]
        expected = commands._ENUM_FIELDS.get(cls, {})
        assert {names[k]: type(next(iter(members.values()))) for k, members in enums} == expected
        for _, members in enums:
            enum = type(next(iter(members.values())))
            assert members == {member.value: member for member in enum}


def test_a_command_stream_decodes_identically() -> None:
    rng = random.Random(11)
    stream = [*setup_commands(), *(random_command(rng, 1000 * k, k) for k in range(3000))]
    for command in stream:
        record = orjson.loads(orjson.dumps(command_to_record(command)))
        assert outcome(command_from_record, record) == outcome(reference_decode, record)
        assert command_from_record(record) == command
