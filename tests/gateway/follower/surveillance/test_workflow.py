"""The alert workflow: new -> in_review -> escalated -> reported, or closed with a reason."""

from __future__ import annotations

import json

import pytest

from gateway.follower.surveillance import Alert, AlertQueue, AlertState, WorkflowError
from tests.gateway.follower.surveillance.floor import BUY, SELL, Floor, usd


def an_alert() -> Alert:
    floor = Floor(owners={"S1": "P", "S2": "P"})
    floor.open("S1", "S2")
    for n in range(3):
        floor.cross("S1", "S2", BUY if n % 2 else SELL, usd(50_000), 10)
    [alert] = floor.alerts
    return alert


def test_an_alert_is_reviewed_escalated_and_reported_with_notes() -> None:
    queue = AlertQueue()
    alert = an_alert()
    assert queue.add(alert)
    aid = alert.alert_id
    queue.move(aid, "in_review", actor="ana", text="looking at the three trades", at_us=1)
    queue.move(aid, AlertState.ESCALATED, actor="ana", text="same owner, no STP", at_us=2)
    queue.move(aid, AlertState.REPORTED, actor="mlro", text="filed STOR", at_us=3)
    case = queue.get(aid)
    assert case.state == AlertState.REPORTED
    assert [(n.actor, n.from_state, n.to_state) for n in case.notes] == [
        ("ana", "new", "in_review"),
        ("ana", "in_review", "escalated"),
        ("mlro", "escalated", "reported"),
    ]


@pytest.mark.parametrize("steps", [[], ["in_review"], ["in_review", "escalated"]])
def test_an_alert_can_be_closed_from_every_open_state_with_a_reason(steps: list[str]) -> None:
    queue = AlertQueue()
    alert = an_alert()
    queue.add(alert)
    for step in steps:
        queue.move(alert.alert_id, step, actor="ana", text="next", at_us=1)
    queue.move(
        alert.alert_id, "closed", actor="ana", text="no action", at_us=2,
        reason="market maker's hedging account, linked by mistake",
    )  # fmt: skip
    case = queue.get(alert.alert_id)
    assert case.state == AlertState.CLOSED
    assert case.notes[-1].reason == "market maker's hedging account, linked by mistake"


@pytest.mark.parametrize(
    ("steps", "forbidden"),
    [
        ([], "escalated"),
        ([], "reported"),
        (["in_review"], "reported"),
        (["in_review"], "new"),
        (["in_review", "escalated"], "in_review"),
        (["in_review", "escalated", "reported"], "closed"),
        (["closed"], "in_review"),
    ],
)
def test_forbidden_transitions_raise_and_change_nothing(steps: list[str], forbidden: str) -> None:
    queue = AlertQueue()
    alert = an_alert()
    queue.add(alert)
    for step in steps:
        reason = "dup" if step == "closed" else ""
        queue.move(alert.alert_id, step, actor="ana", text="ok", at_us=1, reason=reason)
    before = queue.to_state()
    with pytest.raises(WorkflowError, match=f"cannot become {forbidden}"):
        queue.move(alert.alert_id, forbidden, actor="ana", text="try", at_us=2, reason="r")
    assert queue.to_state() == before


@pytest.mark.parametrize(
    ("to", "actor", "text", "reason", "message"),
    [
        ("closed", "ana", "no action", "", "needs the reason"),
        ("in_review", "", "note", "", "actor"),
        ("in_review", "ana", " ", "", "note"),
        ("in_review", "ana", "note", "why", "only recorded when the alert is closed"),
        ("done", "ana", "note", "", "no alert state"),
    ],
)
def test_a_step_needs_actor_note_and_a_closing_reason(
    to: str, actor: str, text: str, reason: str, message: str
) -> None:
    queue = AlertQueue()
    alert = an_alert()
    queue.add(alert)
    with pytest.raises(WorkflowError, match=message):
        queue.move(alert.alert_id, to, actor=actor, text=text, at_us=1, reason=reason)
    assert queue.get(alert.alert_id).state == AlertState.NEW


def test_an_alert_raised_again_is_queued_once() -> None:
    queue = AlertQueue()
    alert = an_alert()
    assert queue.add(alert)
    assert not queue.add(an_alert())
    assert len(queue.cases) == 1


def test_unknown_alert_is_an_error() -> None:
    with pytest.raises(WorkflowError, match="no alert SA-x"):
        AlertQueue().move("SA-x", "in_review", actor="a", text="t", at_us=1)


def test_state_round_trips_through_json() -> None:
    queue = AlertQueue()
    alert = an_alert()
    queue.add(alert)
    queue.move(alert.alert_id, "in_review", actor="ana", text="look", at_us=5)
    state = json.loads(json.dumps(queue.to_state()))
    restored = AlertQueue.from_state(state)
    assert restored.to_state() == queue.to_state()
    assert restored.get(alert.alert_id).alert == alert
