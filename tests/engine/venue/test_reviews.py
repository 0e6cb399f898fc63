"""Alert reviews: each step journaled, attributed to the enclosing admin request's
operator, refused (changing nothing) when the workflow forbids it, and kept in
snapshots and the state hash."""

from __future__ import annotations

import orjson

from engine.commands import Command, command_to_record
from engine.core import Engine
from engine.events import OrderRejected, RejectCode, VenueEvent
from engine.snapshot import restore_state
from engine.venue.operators import AdminRequest, CreateOperator
from engine.venue.reviews import AlertState, ReviewAlert
from tests.engine.helpers import make_engine

ALERT = "SA-0123456789abcdef0123"
_KEYS = iter(range(1, 1_000_000))


def venue() -> Engine:
    eng, _ = make_engine()
    for operator in ("ana", "bob"):
        eng.submit(CreateOperator(operator, "compliance", "11" * 32))
    return eng


def as_operator(eng: Engine, operator: str, inner: Command) -> list[object]:
    record = orjson.dumps(command_to_record(inner)).decode()
    key = f"k{next(_KEYS)}"
    return list(eng.submit(AdminRequest(operator, "compliance", "", key, key, record)))


def reviewed(events: list[object]) -> VenueEvent:
    [event] = [e for e in events if isinstance(e, VenueEvent)]
    assert event.kind == "alert.reviewed" and event.subject == ALERT
    return event


def refused(eng: Engine, operator: str, inner: Command) -> int:
    before = eng.reviews.to_state()
    events = as_operator(eng, operator, inner)
    [reject] = [e for e in events if isinstance(e, OrderRejected)]
    assert eng.reviews.to_state() == before
    return reject.code


def test_the_full_path_records_each_actor_and_note() -> None:
    eng = venue()
    assert eng.reviews.state_of(ALERT) == AlertState.NEW
    step = reviewed(as_operator(eng, "ana", ReviewAlert(ALERT, "in_review", "looking")))
    assert step.data == {
        "actor": "ana", "from_state": "new", "to_state": "in_review", "note": "looking",
        "reason": "",
    }  # fmt: skip
    reviewed(as_operator(eng, "bob", ReviewAlert(ALERT, "escalated", "same owner both sides")))
    step = reviewed(as_operator(eng, "ana", ReviewAlert(ALERT, "reported", "STR filed")))
    assert (step.data["actor"], step.data["from_state"]) == ("ana", "escalated")
    assert eng.reviews.state_of(ALERT) == AlertState.REPORTED


def test_forbidden_steps_are_refused_and_change_nothing() -> None:
    eng = venue()
    skip = ReviewAlert(ALERT, "reported", "too early")
    assert refused(eng, "ana", skip) == RejectCode.INVALID_TRANSITION
    assert refused(eng, "ana", ReviewAlert(ALERT, "in_review", "  ")) == RejectCode.INVALID_COMMAND
    no_reason = ReviewAlert(ALERT, "closed", "benign")
    assert refused(eng, "ana", no_reason) == RejectCode.INVALID_COMMAND
    reasoned = ReviewAlert(ALERT, "in_review", "x", reason="not closing")
    assert refused(eng, "ana", reasoned) == RejectCode.INVALID_COMMAND
    bad_id = ReviewAlert("SA-nothex", "in_review", "x")
    assert refused(eng, "ana", bad_id) == RejectCode.INVALID_COMMAND
    assert refused(eng, "ana", ReviewAlert(ALERT, "new", "back")) == RejectCode.INVALID_TRANSITION
    reviewed(as_operator(eng, "ana", ReviewAlert(ALERT, "closed", "benign", reason="a test")))
    final = ReviewAlert(ALERT, "in_review", "reopen")
    assert refused(eng, "ana", final) == RejectCode.INVALID_TRANSITION


def test_a_step_outside_an_admin_request_has_no_actor_and_is_refused() -> None:
    eng = venue()
    [event] = eng.submit(ReviewAlert(ALERT, "in_review", "who am I"))
    assert isinstance(event, OrderRejected) and "actor" in event.text
    assert eng.reviews.states == {}


def test_review_state_is_in_snapshots_and_the_state_hash() -> None:
    eng = venue()
    as_operator(eng, "ana", ReviewAlert(ALERT, "in_review", "looking"))
    assert eng.state()["venue"]["reviews"] == {"states": {ALERT: "in_review"}}
    copy, _ = make_engine()
    restore_state(copy, eng.state())
    assert copy.reviews.state_of(ALERT) == AlertState.IN_REVIEW
    assert copy.state_hash() == eng.state_hash()


def test_a_venue_with_no_review_keeps_the_state_it_had_before_reviews_existed() -> None:
    assert "reviews" not in venue().state()["venue"]
