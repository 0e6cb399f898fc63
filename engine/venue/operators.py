"""Operators of the admin API, and the attributed admin envelope every mutation rides in.

Journal codes 70-79.

An operator has an id, a role, a tenant (for the tenant-admin role only), Ed25519
public keys and a status. The gateway authenticates requests against this state; the
engine only stores it, so a replay rebuilds exactly who could do what, when.

Every mutation of the admin API is journaled as an :class:`AdminRequest`: who asked
(operator, role, source address), under which ``Idempotency-Key``, with a digest of the
request, and the inner command's journal record. Its handler applies the inner command
through the engine's handler table and remembers (operator, key) -> (digest, seq,
result) for :data:`IDEMPOTENCY_WINDOW_US` of command time, so a retried request is
answered from the state after a restart too, and a reused key with another request is
refused.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson

from engine.events import AdminApplied, OrderCanceled, OrderRejected, RejectCode, VenueEvent
from engine.venue import VenueCommand, emit, reject

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = [
    "COMMANDS",
    "HANDLERS",
    "IDEMPOTENCY_WINDOW_US",
    "ROLES",
    "AddOperatorKey",
    "AdminRequest",
    "CreateOperator",
    "Operator",
    "Operators",
    "Remembered",
    "SetOperatorEnabled",
    "seed_operators",
]

#: The roles an operator can hold (the gateway decides what each may call).
ROLES: Final = ("venue-admin", "ops", "compliance", "support", "read-only", "tenant-admin")

#: How long an Idempotency-Key is remembered, in command time (ts_us), not wall time.
IDEMPOTENCY_WINDOW_US: Final = 24 * 3600 * 1_000_000

_MAX_KEYS: Final = 8  # public keys per operator: enough to rotate, not a key store


@dataclass(frozen=True, slots=True)
class CreateOperator(VenueCommand):
    """A new operator with one Ed25519 public key (64 hex digits)."""

    operator: str
    role: str
    public_key: str
    tenant: str = ""


@dataclass(frozen=True, slots=True)
class SetOperatorEnabled(VenueCommand):
    operator: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class AddOperatorKey(VenueCommand):
    """Another public key for an operator (key rotation: add the new, then remove)."""

    operator: str
    public_key: str


@dataclass(frozen=True, slots=True)
class AdminRequest(VenueCommand):
    """One admin API mutation: the attribution and the inner command's journal record
    (``engine.commands.command_to_record`` as orjson text)."""

    operator: str
    role: str
    source: str
    idempotency_key: str
    digest: str
    record: str


class Operator:
    __slots__ = ("enabled", "keys", "operator_id", "role", "tenant")

    def __init__(self, operator_id: str, role: str, tenant: str, keys: list[str]) -> None:
        self.operator_id = operator_id
        self.role = role
        self.tenant = tenant
        self.keys = keys
        self.enabled = True

    def to_state(self) -> list[Any]:
        return [self.role, self.tenant, list(self.keys), self.enabled]


class Remembered:
    """What an AdminRequest produced, kept for its idempotency window."""

    __slots__ = ("digest", "result", "seq", "ts_us")

    def __init__(self, digest: str, seq: int, ts_us: int, result: dict[str, Any]) -> None:
        self.digest = digest
        self.seq = seq
        self.ts_us = ts_us
        self.result = result


class Operators:
    """Operators by id, and the admin requests remembered for idempotency."""

    def __init__(self) -> None:
        self.by_id: dict[str, Operator] = {}
        #: (operator, idempotency key) -> Remembered, oldest first (ts_us grows with seq)
        self.remembered: OrderedDict[tuple[str, str], Remembered] = OrderedDict()
        #: the operator whose AdminRequest is being applied ("" otherwise): inner
        #: handlers read it for maker-checker rules. Scratch, not state.
        self.acting = ""

    def get(self, operator_id: str) -> Operator | None:
        return self.by_id.get(operator_id)

    def recall(self, operator_id: str, key: str) -> Remembered | None:
        return self.remembered.get((operator_id, key))

    def forget_before(self, ts_us: int) -> None:
        """Drop what is older than the window ending at ts_us (deterministic: command time)."""
        remembered = self.remembered
        horizon = ts_us - IDEMPOTENCY_WINDOW_US
        while remembered:
            key, first = next(iter(remembered.items()))
            if first.ts_us > horizon:
                break
            del remembered[key]

    def to_state(self) -> dict[str, Any]:
        return {
            "operators": {oid: op.to_state() for oid, op in self.by_id.items()},
            "remembered": [
                [oid, key, r.digest, r.seq, r.ts_us, r.result]
                for (oid, key), r in self.remembered.items()
            ],
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.by_id = {}
        for oid, (role, tenant, keys, enabled) in state.get("operators", {}).items():
            op = Operator(oid, role, tenant, list(keys))
            op.enabled = enabled
            self.by_id[oid] = op
        self.remembered = OrderedDict(
            ((oid, key), Remembered(digest, seq, ts_us, result))
            for oid, key, digest, seq, ts_us, result in state.get("remembered", [])
        )


def _valid_key(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _create(engine: Engine, cmd: CreateOperator) -> None:
    ops = engine.operators
    if not cmd.operator or not cmd.operator.isascii() or len(cmd.operator) > 64:
        reject(engine, cmd.operator, RejectCode.INVALID_COMMAND, "operator id: 1..64 ASCII")
    elif cmd.operator in ops.by_id:
        reject(engine, cmd.operator, RejectCode.ALREADY_EXISTS, "operator exists")
    elif cmd.role not in ROLES:
        reject(engine, cmd.operator, RejectCode.INVALID_COMMAND, f"unknown role {cmd.role!r}")
    elif (cmd.role == "tenant-admin") != bool(cmd.tenant):
        reject(
            engine, cmd.operator, RejectCode.INVALID_COMMAND, "a tenant is for tenant-admin only"
        )
    elif not _valid_key(cmd.public_key):
        reject(engine, cmd.operator, RejectCode.INVALID_COMMAND, "public key: 64 hex digits")
    else:
        ops.by_id[cmd.operator] = Operator(cmd.operator, cmd.role, cmd.tenant, [cmd.public_key])
        emit(engine, "operator.created", cmd.operator, role=cmd.role, tenant=cmd.tenant)


def _set_enabled(engine: Engine, cmd: SetOperatorEnabled) -> None:
    op = engine.operators.by_id.get(cmd.operator)
    if op is None:
        reject(engine, cmd.operator, RejectCode.UNKNOWN_OPERATOR, "unknown operator")
        return
    op.enabled = bool(cmd.enabled)
    emit(engine, "operator.status", cmd.operator, enabled=op.enabled)


def _add_key(engine: Engine, cmd: AddOperatorKey) -> None:
    op = engine.operators.by_id.get(cmd.operator)
    if op is None:
        reject(engine, cmd.operator, RejectCode.UNKNOWN_OPERATOR, "unknown operator")
    elif not _valid_key(cmd.public_key):
        reject(engine, cmd.operator, RejectCode.INVALID_COMMAND, "public key: 64 hex digits")
    elif cmd.public_key in op.keys:
        reject(engine, cmd.operator, RejectCode.ALREADY_EXISTS, "key already held")
    elif len(op.keys) >= _MAX_KEYS:
        reject(engine, cmd.operator, RejectCode.LIMIT_EXCEEDED, f"at most {_MAX_KEYS} keys")
    else:
        op.keys.append(cmd.public_key)
        emit(engine, "operator.key_added", cmd.operator, keys=len(op.keys))


def _summary(events: list[Any]) -> dict[str, Any]:
    """The part of an inner command's answer worth remembering: what it changed or why
    it was refused (order-level events are counted, not copied)."""
    changes: list[dict[str, Any]] = []
    canceled = 0
    for event in events:
        kind = type(event)
        if kind is OrderRejected:
            return {"rejected": {"code": event.code, "text": event.text}}
        if kind is VenueEvent:
            changes.append({"kind": event.kind, "subject": event.subject, "data": event.data})
        elif kind is AdminApplied:
            changes.append({"kind": event.command, "subject": event.detail, "data": {}})
        elif kind is OrderCanceled:
            canceled += 1
    result: dict[str, Any] = {"events": changes}
    if canceled:
        result["orders_canceled"] = canceled
    return result


def _admin_request(engine: Engine, cmd: AdminRequest) -> None:
    ops = engine.operators
    ops.forget_before(engine.ts_us)
    op = ops.by_id.get(cmd.operator)
    if op is None or not op.enabled:
        reject(engine, cmd.operator, RejectCode.UNKNOWN_OPERATOR, "no such active operator")
        return
    if (cmd.operator, cmd.idempotency_key) in ops.remembered:
        reject(engine, cmd.operator, RejectCode.ALREADY_EXISTS, "idempotency key already used")
        return
    try:
        inner = engine.decode(orjson.loads(cmd.record))
    except (orjson.JSONDecodeError, LookupError, TypeError, ValueError) as exc:
        reject(engine, cmd.operator, RejectCode.INVALID_COMMAND, f"bad inner command: {exc}")
        return
    if type(inner) is AdminRequest:
        reject(engine, cmd.operator, RejectCode.INVALID_COMMAND, "admin requests do not nest")
        return
    out = engine.out
    start = len(out)
    ops.acting = cmd.operator
    try:
        engine.dispatch(inner)
    finally:
        ops.acting = ""
    result = _summary(out[start:])
    ops.remembered[(cmd.operator, cmd.idempotency_key)] = Remembered(
        cmd.digest, engine.seq, engine.ts_us, result
    )


COMMANDS: dict[int, type[Any]] = {
    70: CreateOperator,
    71: SetOperatorEnabled,
    72: AddOperatorKey,
    79: AdminRequest,
}
HANDLERS: dict[type[Any], Handler] = {
    CreateOperator: _create,
    SetOperatorEnabled: _set_enabled,
    AddOperatorKey: _add_key,
    AdminRequest: _admin_request,
}


def seed_operators(config: Any, submit: Callable[[Any], object]) -> None:
    """The config's ``[[admin.operators]]``: called for an engine with no operators yet
    (an empty journal); after that, operators change through the admin API only."""
    for op in config.admin.operators:
        submit(CreateOperator(op.id, op.role, op.public_key, op.tenant))
