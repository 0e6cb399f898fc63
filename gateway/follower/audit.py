"""The admin audit trail: one row per audited command, each carrying the hash of the one
before it, so that an edited, inserted or deleted row breaks the chain.

Pure: rows come from the journal (the follower replays it), so a rebuilt store holds
the same chain, hash for hash. Audited are the admin API's :class:`AdminRequest`
envelopes (who, in which role, from where, under which Idempotency-Key, what, with
which result) and every other command that is not order flow, time or a session
(the gateway's own: the config's bootstrap, client funds requests), attributed to
``gateway``. Requests the admin API refused after authenticating their operator (role,
schema, tenant, idempotency) are journaled as :class:`AdminRefused` and audited with
result ``refused`` (``failed`` for a gateway error): action is the method and path,
detail the status, problem and text. Requests nobody signed (bad or missing
credentials) are only in the admin API's audit file (gateway/admin/audit.py).

A row's ``hash`` is SHA-256 over the canonical JSON array of its fields in
:data:`HASHED` order (``prev`` last); ``prev`` is the previous row's hash, ``""`` for
the first. :func:`verify` names the first row where that fails. A forger who rewrites
every hash after an edit is caught by the anchors: the head hash at the end of each
UTC day (:func:`daily_anchors`), exported in the daily report and kept elsewhere.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from engine.commands import Command, command_to_record
from engine.events import Event, OrderCanceled, OrderRejected, VenueEvent
from engine.venue.operators import AdminRequest
from engine.venue.refusals import AdminRefused

__all__ = [
    "AUDIT_HEAD",
    "HASHED",
    "UNAUDITED",
    "AuditRow",
    "Break",
    "audit_row",
    "daily_anchors",
    "row_hash",
    "verify",
]

#: commands that are not audited: order flow, time, sessions (their own table)
UNAUDITED: Final = frozenset(
    {"NewOrder", "Cancel", "Replace", "MassCancel", "Tick", "PerpTick", "SessionOpened",
     "SessionClosed"}
)  # fmt: skip

#: the hashed fields, in order (the stored row adds ``hash``)
HASHED: Final = (
    "seq", "ts_us", "operator", "role", "source", "idempotency_key", "digest", "action",
    "record", "result", "detail", "prev",
)  # fmt: skip

#: the newest row's hash: where the chain continues after a restart
AUDIT_HEAD: Final = "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1"

#: audit row: the HASHED fields, then hash
AuditRow = tuple[int, int, str, str, str, str, str, str, str, str, str, str, str]


def row_hash(fields: Sequence[Any]) -> str:
    """The hash of a row's HASHED fields."""
    return hashlib.sha256(orjson.dumps(list(fields))).hexdigest()


def _outcome(events: list[Event]) -> tuple[str, str]:
    """(result, detail JSON) of a command's events: what it changed or why not."""
    kinds: list[str] = []
    canceled = 0
    for ev in events:
        if type(ev) is OrderRejected:
            return "rejected", orjson.dumps({"code": ev.code, "text": ev.text}).decode()
        if type(ev) is VenueEvent:
            kinds.append(ev.kind)
        elif type(ev) is OrderCanceled:
            canceled += 1
    detail: dict[str, Any] = {"events": kinds}
    if canceled:
        detail["orders_canceled"] = canceled
    return "applied", orjson.dumps(detail).decode()


def audit_row(
    seq: int, ts_us: int, command: Command, events: list[Event], prev: str
) -> AuditRow | None:
    """The audit row of one journaled command, chained to prev; None if not audited."""
    if type(command) is AdminRefused:
        who = (command.operator, command.role, command.source, command.idempotency_key)
        record = orjson.dumps(command_to_record(command)).decode()
        fields = (
            seq, ts_us, *who, command.digest, f"{command.method} {command.path}", record,
            "refused" if command.status < 500 else "failed",
            orjson.dumps(
                {"status": command.status, "problem": command.problem, "text": command.text}
            ).decode(),
            prev,
        )  # fmt: skip
        return (*fields, row_hash(fields))
    if type(command) is AdminRequest:
        inner = orjson.loads(command.record)
        action = _action(inner[0]) if inner else ""
        who = (command.operator, command.role, command.source, command.idempotency_key)
        digest, record = command.digest, command.record
    else:
        action = type(command).__name__
        if action in UNAUDITED:
            return None
        who = ("", "gateway", "", "")
        digest, record = "", orjson.dumps(command_to_record(command)).decode()
    result, detail = _outcome(events)
    fields = (seq, ts_us, *who, digest, action, record, result, detail, prev)
    return (*fields, row_hash(fields))


def _action(code: object) -> str:
    from engine.commands import COMMAND_TYPES

    cls = COMMAND_TYPES.get(code) if isinstance(code, int) else None
    return cls.__name__ if cls is not None else f"unknown:{code}"


@dataclass(frozen=True)
class Break:
    """The first link that does not hold: the row's seq and what is wrong with it."""

    seq: int
    reason: str


def verify(rows: Iterable[Sequence[Any]], prev: str = "") -> tuple[int, Break | None]:
    """Check the chain over stored rows (HASHED fields then hash, in seq order) that
    follow a row hashed prev ("" = from the first): the number of rows that hold before
    the first break, and that break (None if whole)."""
    first = not prev
    count = 0
    for row in rows:
        fields, stored = tuple(row[:-1]), row[-1]
        seq = int(fields[0])
        if fields[-1] != prev:
            what = "the first row" if first and not count else "the row before it"
            return count, Break(seq, f"prev does not match the hash of {what}")
        computed = row_hash(fields)
        if computed != stored:
            return count, Break(seq, "hash does not match the row's content")
        prev = stored
        count += 1
    return count, None


def daily_anchors(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[int, str]]:
    """{UTC day (YYYY-MM-DD): (seq, hash) of the day's last row}, from (seq, ts_us,
    hash) rows in seq order: the chain's head at the end of each day."""
    out: dict[str, tuple[int, str]] = {}
    for seq, ts_us, digest in rows:
        day = datetime.datetime.fromtimestamp(int(ts_us) // 1_000_000, tz=datetime.UTC)
        out[day.date().isoformat()] = (int(seq), str(digest))
    return out
