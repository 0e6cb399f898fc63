"""The analysts' review of surveillance alerts, journaled like every operator action.

Journal codes 110-119.

Alerts are raised by the journal follower (gateway/follower/surveillance), not here:
the engine only keeps where each alert's review stands, so every step is attributed
(the acting operator of the AdminRequest), journaled before it is acknowledged, part of
snapshots and of ``state_hash()``, and survives a rebuilt store. An alert never moved is
``new``. Each accepted step answers with an ``alert.reviewed`` event carrying the note,
which the follower stores beside the alert.

new -> in_review -> escalated -> reported; closed (with the reason it is not reported)
from new, in_review or escalated. reported and closed are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from engine.events import RejectCode
from engine.venue import VenueCommand, emit, reject

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = [
    "COMMANDS",
    "HANDLERS",
    "MAX_NOTE",
    "TRANSITIONS",
    "AlertReviews",
    "AlertState",
    "ReviewAlert",
    "step_error",
]

MAX_NOTE: Final = 4000
"""Longest analyst note or close reason, in characters."""


class AlertState(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    ESCALATED = "escalated"
    REPORTED = "reported"
    CLOSED = "closed"


TRANSITIONS: Final[dict[AlertState, frozenset[AlertState]]] = {
    AlertState.NEW: frozenset({AlertState.IN_REVIEW, AlertState.CLOSED}),
    AlertState.IN_REVIEW: frozenset({AlertState.ESCALATED, AlertState.CLOSED}),
    AlertState.ESCALATED: frozenset({AlertState.REPORTED, AlertState.CLOSED}),
    AlertState.REPORTED: frozenset(),
    AlertState.CLOSED: frozenset(),
}


def step_error(
    alert_id: str, current: AlertState, to: str, actor: str, text: str, reason: str
) -> str:
    """Why this step is forbidden ("" when it is allowed): one rule for the engine and
    the pure workflow (gateway/follower/surveillance/workflow.py)."""
    allowed = TRANSITIONS[current]
    if to not in allowed:
        names = ", ".join(sorted(allowed)) or "none: the alert is final"
        return f"alert {alert_id} is {current}, cannot become {to} (allowed: {names})"
    if not actor.strip():
        return "every step names its actor"
    if not text.strip():
        return "every step carries the analyst's note"
    if to == AlertState.CLOSED and not reason.strip():
        return "closing without a report needs the reason"
    if to != AlertState.CLOSED and reason:
        return "a reason is only recorded when the alert is closed"
    if len(text) > MAX_NOTE or len(reason) > MAX_NOTE:
        return f"a note or reason holds at most {MAX_NOTE} characters"
    return ""


def _valid_id(alert_id: str) -> bool:
    """The follower's alert ids: "SA-" and 20 lowercase hex digits."""
    digits = alert_id[3:]
    return (
        alert_id.startswith("SA-")
        and len(digits) == 20
        and all(c in "0123456789abcdef" for c in digits)
    )


class AlertReviews:
    """Each reviewed alert's state (an alert not here is new)."""

    def __init__(self) -> None:
        self.states: dict[str, AlertState] = {}

    def state_of(self, alert_id: str) -> AlertState:
        return self.states.get(alert_id, AlertState.NEW)

    def to_state(self) -> dict[str, Any]:
        return {"states": {a: str(s) for a, s in self.states.items()}}

    def from_state(self, state: dict[str, Any]) -> None:
        self.states = {a: AlertState(s) for a, s in state.get("states", {}).items()}


@dataclass(frozen=True, slots=True)
class ReviewAlert(VenueCommand):
    """One step of an alert's review, by the operator of the enclosing AdminRequest.
    reason: why it is closed without a report (closing only)."""

    alert_id: str
    to_state: str
    note: str
    reason: str = ""


def _review(engine: Engine, cmd: ReviewAlert) -> None:
    reviews = engine.reviews
    actor = engine.operators.acting
    if not _valid_id(cmd.alert_id):
        reject(engine, cmd.alert_id, RejectCode.INVALID_COMMAND, "alert id: SA- and 20 hex")
        return
    current = reviews.state_of(cmd.alert_id)
    error = step_error(cmd.alert_id, current, cmd.to_state, actor, cmd.note, cmd.reason)
    if error:
        code = (
            RejectCode.INVALID_TRANSITION
            if cmd.to_state not in TRANSITIONS[current]
            else RejectCode.INVALID_COMMAND
        )
        reject(engine, cmd.alert_id, code, error)
        return
    reviews.states[cmd.alert_id] = AlertState(cmd.to_state)
    emit(
        engine,
        "alert.reviewed",
        cmd.alert_id,
        actor=actor,
        from_state=str(current),
        to_state=cmd.to_state,
        note=cmd.note,
        reason=cmd.reason,
    )


COMMANDS: dict[int, type[Any]] = {110: ReviewAlert}
HANDLERS: dict[type[Any], Handler] = {ReviewAlert: _review}
