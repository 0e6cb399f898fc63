"""The surveillance lane's routes: the alert queue, one alert with its review, review
steps and the suspicious transaction report (docs/SURVEILLANCE.md).

Alerts are read from the follower's store (gateway/follower/surveillance/store.py);
a review step is an engine command (engine/venue/reviews.py), so it is journaled,
attributed, idempotent and audited like every mutation. Surveillance is confidential
(no tipping-off): only compliance and the venue admin see or work it.
"""

from __future__ import annotations

import time
from typing import Any, Final

from engine.model import Instrument
from engine.venue.reviews import MAX_NOTE, AlertState, ReviewAlert
from gateway.admin.problems import Problem
from gateway.admin.routes import COMPLIANCE, VENUE_ADMIN, Call, Outcome, Route, ascii_int
from gateway.admin.schema import obj
from gateway.follower.store import StoreUnavailable
from gateway.follower.surveillance.alerts import Kind, Severity
from gateway.follower.surveillance.report import str_report
from gateway.follower.surveillance.settings import load_settings
from gateway.follower.surveillance.store import (
    AlertFilter,
    Reader,
    alert_case,
    list_alerts,
)
from gateway.follower.surveillance.workflow import AlertCase, WorkflowError

__all__ = ["ROUTES"]

_ANALYSTS: Final = frozenset({VENUE_ADMIN, COMPLIANCE})
_MAX_PAGE: Final = 500
_FILTERS: Final = {
    "state": frozenset(AlertState),
    "kind": frozenset(Kind),
    "severity": frozenset(Severity),
    "rule": None,
    "instrument": None,
    "owner": None,
}


async def _read(call: Call, fn: Any, *args: Any) -> Any:
    """fn(store, *args), a 503 problem when the store cannot answer."""
    store: Reader = call.readstore
    try:
        return await fn(store, *args)
    except StoreUnavailable as exc:
        raise Problem("store-unavailable", str(exc)) from None


async def _case(call: Call) -> AlertCase:
    alert_id = call.params["alert_id"]
    case: AlertCase | None = await _read(call, alert_case, alert_id)
    if case is None:
        raise Problem("unknown-object", f"no alert {alert_id!r} in the store")
    return case


def _filter(call: Call) -> AlertFilter:
    query = call.request.query
    unknown = sorted(set(query) - {*_FILTERS, "after", "limit"})
    if unknown:
        raise Problem("invalid-request", f"unknown query parameter {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, allowed in _FILTERS.items():
        value = query.get(name, "")
        if value and allowed is not None and value not in allowed:
            raise Problem("invalid-request", f"{name}: one of {', '.join(sorted(allowed))}")
        values[name] = value
    after = query.get("after", "")
    if after:
        seq, sep, alert_id = after.partition(":")
        after_seq = ascii_int(seq)
        if not sep or after_seq is None:
            raise Problem("invalid-request", "after: the previous page's next cursor")
        values["after"] = (after_seq, alert_id)
    limit = ascii_int(query.get("limit", "100"))
    if limit is None or not 1 <= limit <= _MAX_PAGE:
        raise Problem("invalid-request", f"limit: 1..{_MAX_PAGE}")
    return AlertFilter(**values, limit=limit)


async def queue(call: Call) -> dict[str, Any]:
    where = _filter(call)
    entries: list[dict[str, Any]] = await _read(call, list_alerts, where)
    last = entries[-1] if len(entries) == where.limit else None
    return {
        "alerts": entries,
        "next": f"{last['seq']}:{last['alert_id']}" if last is not None else "",
    }


def _notes(case: AlertCase) -> list[dict[str, Any]]:
    return [
        {
            "actor": n.actor,
            "at_us": n.at_us,
            "from_state": str(n.from_state),
            "to_state": str(n.to_state),
            "note": n.text,
            "reason": n.reason,
        }
        for n in case.notes
    ]


async def get_alert(call: Call) -> dict[str, Any]:
    case = await _case(call)
    return {"alert": case.alert.to_dict(), "state": str(case.state), "notes": _notes(case)}


async def review(call: Call) -> Outcome:
    case = await _case(call)
    body = call.body
    return await call.submit(
        ReviewAlert(case.alert.alert_id, body["to_state"], body["note"], body.get("reason", ""))
    )


async def report(call: Call) -> dict[str, Any]:
    case = await _case(call)
    entity = load_settings(call.host.config.surveillance).entity
    if entity is None:
        raise Problem(
            "invalid-request",
            "no [surveillance.reporting_entity] in the venue config: who files the report",
        )
    engine = call.host.engine
    instruments: dict[str, Instrument] = {
        symbol: listing.instrument for symbol, listing in engine.listings.items()
    }
    identities = {}
    for account in case.alert.accounts:
        info = engine.tenancy.accounts.get(account)
        if info is not None and info.kyc_reference:
            identities[account] = (
                f"KYC case {info.kyc_reference} of tenant {info.tenant_id} ({info.kyc_status})"
            )
    try:
        return str_report(
            case,
            entity,
            generated_at_us=time.time_ns() // 1_000,
            instruments=instruments,
            identities=identities,
        )
    except WorkflowError as exc:
        raise Problem("invalid-request", str(exc)) from None


_STR: Final = {"type": "string"}
_INT: Final = {"type": "integer"}
_ALERT_ID: Final = {"type": "string", "pattern": "^SA-[0-9a-f]{20}$"}
_ENTRY: Final = obj(
    ["alert_id", "seq", "rule", "kind", "severity", "owner", "instrument", "ts_us",
     "first_seq", "last_seq", "summary", "state"],
    alert_id=_ALERT_ID, seq=_INT, rule=_STR, kind={"type": "string", "enum": sorted(Kind)},
    severity={"type": "string", "enum": sorted(Severity)}, owner=_STR, instrument=_STR,
    ts_us=_INT, first_seq=_INT, last_seq=_INT, summary=_STR,
    state={"type": "string", "enum": sorted(AlertState)},
)  # fmt: skip
_NOTE: Final = obj(
    ["actor", "at_us", "from_state", "to_state", "note", "reason"],
    actor=_STR, at_us=_INT, from_state=_STR, to_state=_STR, note=_STR, reason=_STR,
)  # fmt: skip
_FREE: Final = {"type": "object"}

ROUTES: Final = [
    Route(
        "GET", "/surveillance/alerts", queue, cli="alerts", roles=_ANALYSTS,
        summary="The alert queue, oldest first",
        description="Query: state, kind, severity, rule, instrument, owner (each an exact "
        "match), limit (1..500, default 100), after (the previous page's next cursor).",
        response=obj(["alerts", "next"], alerts={"type": "array", "items": _ENTRY}, next=_STR),
    ),
    Route(
        "GET", "/surveillance/alerts/{alert_id}", get_alert, cli="alert", roles=_ANALYSTS,
        summary="One alert: its evidence, review state and notes",
        response=obj(
            ["alert", "state", "notes"],
            alert=_FREE, state=_STR, notes={"type": "array", "items": _NOTE},
        ),
    ),
    Route(
        "POST", "/surveillance/alerts/{alert_id}/review", review, cli="review-alert",
        roles=_ANALYSTS,
        summary="One review step: in_review, escalated, reported or closed, with a note",
        description="new -> in_review -> escalated -> reported; closed (with the reason it "
        "is not reported) from new, in_review or escalated. A forbidden step is refused "
        "(invalid_transition) and changes nothing.",
        request=obj(
            ["to_state", "note"],
            to_state={"type": "string", "enum": sorted(set(AlertState) - {AlertState.NEW})},
            note={"type": "string", "minLength": 1, "maxLength": MAX_NOTE},
            reason={"type": "string", "maxLength": MAX_NOTE},
        ),
    ),
    Route(
        "GET", "/surveillance/alerts/{alert_id}/str", report, cli="alert-str",
        roles=_ANALYSTS,
        summary="The suspicious transaction and order report of an escalated or reported alert",
        description="Confidential: never shown to the persons it names. Every field is "
        '{"value": ...} or {"not_applicable": reason}.',
        response=_FREE,
    ),
]  # fmt: skip
