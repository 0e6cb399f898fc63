"""The audit lane's routes: the audit chain's daily anchors (what the daily report
carries) and a check of the chain, both over the follower's store
(docs/READ_SIDE.md, Audit trail)."""

from __future__ import annotations

from typing import Any, Final

from gateway.admin.problems import Problem
from gateway.admin.routes import COMPLIANCE, READ_ONLY, VENUE_ADMIN, Call, Route
from gateway.follower.audit_cli import anchor_doc, anchors, verify_store
from gateway.follower.store import StoreUnavailable

__all__ = ["ROUTES"]


async def get_anchors(call: Call) -> dict[str, Any]:
    """The chain's head at the end of each UTC day."""
    try:
        found = await anchors(call.readstore)
    except StoreUnavailable as exc:
        raise Problem("store-unavailable", str(exc)) from None
    return {"anchors": anchor_doc(found)}


async def get_verification(call: Call) -> dict[str, Any]:
    """Walk the chain; name the first broken link."""
    try:
        held, broken = await verify_store(call.readstore)
    except StoreUnavailable as exc:
        raise Problem("store-unavailable", str(exc)) from None
    found = None if broken is None else {"seq": broken.seq, "reason": broken.reason}
    return {"ok": broken is None, "rows": held, "broken": found}


_ANCHORS: Final = {
    "type": "object",
    "required": ["anchors"],
    "properties": {
        "anchors": {
            "type": "object",
            "description": "UTC day (YYYY-MM-DD): {seq, hash} of its last audit row",
        }
    },
}
_VERIFICATION: Final = {
    "type": "object",
    "required": ["ok", "rows", "broken"],
    "properties": {
        "ok": {"type": "boolean"},
        "rows": {"type": "integer", "description": "rows whose link holds, before a break"},
        "broken": {
            "type": ["object", "null"],
            "description": "the first broken link: {seq, reason}; null when the chain holds",
        },
    },
}
_AUDITORS: Final = frozenset({VENUE_ADMIN, COMPLIANCE, READ_ONLY})

ROUTES: Final = [
    Route(
        "GET", "/audit/anchors", get_anchors, roles=_AUDITORS,
        summary="The audit chain's head hash at the end of each UTC day (for the daily report)",
        response=_ANCHORS, cli="audit-anchors",
    ),
    Route(
        "GET", "/audit/verify", get_verification, roles=_AUDITORS,
        summary="Check the audit chain in the store; the first broken link",
        response=_VERIFICATION, cli="audit-verify",
    ),
]  # fmt: skip
