"""Operators and the attributed admin envelope: deterministic, idempotent, replayable."""

from __future__ import annotations

from typing import Any

import orjson

from engine.commands import Command, MassCancel, SetGlobalHalt, command_to_record
from engine.core import Engine
from engine.events import OrderRejected, RejectCode, VenueEvent
from engine.sequencer import Sequencer
from engine.snapshot import restore_state
from engine.venue.operators import (
    IDEMPOTENCY_WINDOW_US,
    AddOperatorKey,
    AdminRequest,
    CreateOperator,
    SetOperatorEnabled,
)
from tests.engine.helpers import Clock, make_engine

KEY = "11" * 32


def envelope(
    inner: Command, key: str = "k1", digest: str = "d1", operator: str = "ops1"
) -> AdminRequest:
    record = orjson.dumps(command_to_record(inner)).decode()
    return AdminRequest(operator, "ops", "127.0.0.1", key, digest, record)


def engine_with_operator() -> tuple[Engine, Clock, list[tuple[int, int, Command]]]:
    eng, clock = make_engine()
    log: list[tuple[int, int, Command]] = []
    eng.on_command = lambda seq, ts, cmd: log.append((seq, ts, cmd))
    eng.submit(CreateOperator("ops1", "ops", KEY))
    return eng, clock, log


def _without_seq(eng: Engine) -> dict[str, Any]:
    """The state but the sequence stamp, which every command (rejected too) moves."""
    state = eng.state()
    del state["last_seq"], state["last_ts_us"]
    return state


def rejected(events: list[Any]) -> int:
    assert len(events) == 1 and type(events[0]) is OrderRejected, events
    return events[0].code


def test_create_and_refusals_change_nothing() -> None:
    eng, _, _ = engine_with_operator()
    assert eng.operators.get("ops1") is not None
    for bad, code in (
        (CreateOperator("ops1", "ops", KEY), RejectCode.ALREADY_EXISTS),
        (CreateOperator("x", "root", KEY), RejectCode.INVALID_COMMAND),
        (CreateOperator("x", "tenant-admin", KEY), RejectCode.INVALID_COMMAND),
        (CreateOperator("x", "ops", KEY, tenant="T1"), RejectCode.INVALID_COMMAND),
        (CreateOperator("x", "ops", "zz" * 32), RejectCode.INVALID_COMMAND),
        (CreateOperator("", "ops", KEY), RejectCode.INVALID_COMMAND),
        (SetOperatorEnabled("nobody", False), RejectCode.UNKNOWN_OPERATOR),
        (AddOperatorKey("ops1", KEY), RejectCode.ALREADY_EXISTS),
    ):
        before = _without_seq(eng)
        assert rejected(eng.submit(bad)) == code
        assert _without_seq(eng) == before
    eng.submit(CreateOperator("t1", "tenant-admin", KEY, tenant="T1"))
    assert eng.operators.by_id["t1"].tenant == "T1"


def test_envelope_applies_inner_and_remembers_result() -> None:
    eng, _, _ = engine_with_operator()
    events = eng.submit(envelope(SetGlobalHalt(True)))
    assert eng.halted
    remembered = eng.operators.recall("ops1", "k1")
    assert remembered is not None
    assert (remembered.digest, remembered.seq) == ("d1", eng.last_seq)
    assert remembered.result == {"events": [{"kind": "global_halt", "subject": "on", "data": {}}]}
    assert not any(type(e) is OrderRejected for e in events)


def test_envelope_remembers_an_inner_rejection() -> None:
    eng, _, _ = engine_with_operator()
    eng.submit(envelope(MassCancel(symbol="NOPE-USD")))
    remembered = eng.operators.recall("ops1", "k1")
    assert remembered is not None
    assert remembered.result["rejected"]["code"] == RejectCode.UNKNOWN_INSTRUMENT


def test_reused_key_or_inactive_operator_is_refused_and_changes_nothing() -> None:
    eng, _, _ = engine_with_operator()
    eng.submit(envelope(SetGlobalHalt(True)))
    state = _without_seq(eng)
    assert rejected(eng.submit(envelope(SetGlobalHalt(False), digest="d2"))) == (
        RejectCode.ALREADY_EXISTS
    )
    assert eng.halted and _without_seq(eng) == state
    assert rejected(eng.submit(envelope(SetGlobalHalt(False), operator="ghost"))) == (
        RejectCode.UNKNOWN_OPERATOR
    )
    eng.submit(SetOperatorEnabled("ops1", False))
    state = _without_seq(eng)
    assert rejected(eng.submit(envelope(SetGlobalHalt(False), key="k2"))) == (
        RejectCode.UNKNOWN_OPERATOR
    )
    assert eng.halted and _without_seq(eng) == state


def test_nested_envelope_is_refused() -> None:
    eng, _, _ = engine_with_operator()
    assert rejected(eng.submit(envelope(envelope(SetGlobalHalt(True))))) == (
        RejectCode.INVALID_COMMAND
    )
    assert not eng.halted


def test_keys_are_forgotten_after_the_window_of_command_time() -> None:
    eng, clock, _ = engine_with_operator()
    eng.submit(envelope(SetGlobalHalt(True)))
    clock.now += IDEMPOTENCY_WINDOW_US - 1
    eng.submit(envelope(SetGlobalHalt(True), key="k2"))
    assert eng.operators.recall("ops1", "k1") is not None
    clock.now += 1
    eng.submit(envelope(SetGlobalHalt(False), key="k3"))
    assert eng.operators.recall("ops1", "k1") is None
    assert eng.operators.recall("ops1", "k2") is not None
    # the key can be used again once forgotten
    eng.submit(envelope(SetGlobalHalt(True), key="k1"))
    assert eng.halted


def test_acting_operator_is_visible_to_the_inner_handler_only() -> None:
    eng, _, _ = engine_with_operator()
    seen: list[str] = []
    original = eng._handlers[SetGlobalHalt]
    eng._handlers[SetGlobalHalt] = lambda cmd: (seen.append(eng.operators.acting), original(cmd))
    eng.submit(envelope(SetGlobalHalt(True)))
    eng.submit(SetGlobalHalt(False))
    assert seen == ["ops1", ""]


def test_snapshot_and_replay_give_the_same_state_hash() -> None:
    eng, _, log = engine_with_operator()
    eng.submit(AddOperatorKey("ops1", "22" * 32))
    eng.submit(CreateOperator("t1", "tenant-admin", KEY, tenant="T1"))
    eng.submit(envelope(SetGlobalHalt(True)))
    eng.submit(envelope(MassCancel(symbol="NOPE-USD"), key="k2"))
    eng.submit(SetOperatorEnabled("t1", False))
    events = eng.submit(SetOperatorEnabled("t1", True))
    assert type(events[0]) is VenueEvent
    restored = Engine(Sequencer(Clock(0)))
    restore_state(restored, orjson.loads(eng.state_json()))
    assert restored.state_hash() == eng.state_hash()
    assert restored.operators.recall("ops1", "k2") is not None
    replayed, _ = make_engine(clock=Clock(0))
    for seq, ts, cmd in log:
        replayed.apply(seq, ts, orjson_roundtrip(cmd))
    assert replayed.state_hash() == eng.state_hash()


def orjson_roundtrip(cmd: Command) -> Command:
    from engine.commands import command_from_record

    return command_from_record(orjson.loads(orjson.dumps(command_to_record(cmd))))
