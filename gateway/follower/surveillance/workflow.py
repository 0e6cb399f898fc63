"""The analyst's workflow over alerts: a pure state machine, persisted by its caller.

new -> in_review -> escalated -> reported; closed (no action) from new, in_review or
escalated. Every step records who took it and a note; closing also records why the
alert is not reported. reported and closed are final. to_state()/from_state() round-trip
exactly (JSON-ready values), for whoever stores the queue. The states and the rules of a
step are the engine's (engine/venue/reviews.py), which journals the live review.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.venue.reviews import TRANSITIONS, AlertState, step_error
from gateway.follower.surveillance.alerts import Alert

__all__ = ["TRANSITIONS", "AlertCase", "AlertQueue", "AlertState", "Note", "WorkflowError"]


class WorkflowError(ValueError):
    """A step the workflow forbids (wrong state, missing actor, note or close reason)."""


@dataclass(frozen=True)
class Note:
    """One step: who, when (microseconds, given by the caller), what they wrote."""

    actor: str
    at_us: int
    from_state: AlertState
    to_state: AlertState
    text: str
    reason: str = ""  # why it was closed without a report


@dataclass
class AlertCase:
    alert: Alert
    state: AlertState = AlertState.NEW
    notes: list[Note] = field(default_factory=list)

    def move(self, to: AlertState, *, actor: str, text: str, at_us: int, reason: str = "") -> Note:
        """Take one step; raises WorkflowError and changes nothing when it is forbidden."""
        error = step_error(self.alert.alert_id, self.state, to, actor, text, reason)
        if error:
            raise WorkflowError(error)
        note = Note(actor, at_us, self.state, to, text, reason)
        self.notes.append(note)
        self.state = to
        return note


class AlertQueue:
    """Every alert raised and where its review stands, keyed by alert id."""

    def __init__(self) -> None:
        self.cases: dict[str, AlertCase] = {}

    def add(self, alert: Alert) -> bool:
        """Queue a new alert; False when its id is already queued (a replay raised it)."""
        if alert.alert_id in self.cases:
            return False
        self.cases[alert.alert_id] = AlertCase(alert)
        return True

    def get(self, alert_id: str) -> AlertCase:
        case = self.cases.get(alert_id)
        if case is None:
            raise WorkflowError(f"no alert {alert_id}")
        return case

    def move(
        self,
        alert_id: str,
        to: AlertState | str,
        *,
        actor: str,
        text: str,
        at_us: int,
        reason: str = "",
    ) -> Note:
        try:
            target = AlertState(to)
        except ValueError:
            raise WorkflowError(f"no alert state {to!r}") from None
        return self.get(alert_id).move(target, actor=actor, text=text, at_us=at_us, reason=reason)

    def in_state(self, state: AlertState) -> list[AlertCase]:
        return [c for c in self.cases.values() if c.state == state]

    def to_state(self) -> dict[str, object]:
        return {
            "cases": [
                {
                    "alert": case.alert.to_dict(),
                    "state": str(case.state),
                    "notes": [
                        {
                            "actor": n.actor,
                            "at_us": n.at_us,
                            "from_state": str(n.from_state),
                            "to_state": str(n.to_state),
                            "text": n.text,
                            "reason": n.reason,
                        }
                        for n in case.notes
                    ],
                }
                for case in self.cases.values()
            ]
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> AlertQueue:
        queue = cls()
        cases = state["cases"]
        assert isinstance(cases, list)
        for row in cases:
            alert = Alert.from_dict(row["alert"])
            notes = [
                Note(
                    n["actor"],
                    n["at_us"],
                    AlertState(n["from_state"]),
                    AlertState(n["to_state"]),
                    n["text"],
                    n["reason"],
                )
                for n in row["notes"]
            ]
            queue.cases[alert.alert_id] = AlertCase(alert, AlertState(row["state"]), notes)
        return queue
