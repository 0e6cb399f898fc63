"""The surveillance routes over real HTTP: the queue read from the follower's store,
review steps journaled and attributed (forbidden ones refused, changing nothing), the
STR export of an escalated alert, and who may see any of it."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.admin.problems import TYPE_PREFIX
from tests.gateway.admin.alerts import ALERTS, SURVEILLANCE, follow, wash_trades
from tests.gateway.admin.conftest import AdminClient, MakeAdmin, Reply


def ok(reply: Reply) -> Any:
    assert reply.status == 200, reply
    return reply.body


def problem(reply: Reply, status: int, name: str) -> str:
    assert (reply.status, reply.body["type"]) == (status, TYPE_PREFIX + name), reply
    return str(reply.body["detail"])


@pytest.fixture
async def watched(make_admin: MakeAdmin) -> tuple[AdminClient, str]:
    admin = await make_admin(surveillance=SURVEILLANCE)
    await wash_trades(admin)
    await follow(admin)
    [entry] = ok(await admin.call("GET", ALERTS, role="compliance"))["alerts"]
    assert (entry["rule"], entry["kind"], entry["state"]) == ("wash_trades", "market_abuse", "new")
    return admin, str(entry["alert_id"])


async def step(admin: AdminClient, alert_id: str, **body: str) -> Reply:
    return await admin.call("POST", f"{ALERTS}/{alert_id}/review", body, role="compliance")


async def test_an_alert_is_worked_to_a_report(watched: tuple[AdminClient, str]) -> None:
    admin, alert_id = watched
    ok(await step(admin, alert_id, to_state="in_review", note="ACC2 belongs to ACC1"))
    ok(await step(admin, alert_id, to_state="escalated", note="no change of owner"))
    await follow(admin)  # the review steps reach the store
    got = ok(await admin.call("GET", f"{ALERTS}/{alert_id}", role="compliance"))
    assert got["state"] == "escalated"
    assert [(n["actor"], n["to_state"], n["note"]) for n in got["notes"]] == [
        ("demo-compliance", "in_review", "ACC2 belongs to ACC1"),
        ("demo-compliance", "escalated", "no change of owner"),
    ]
    assert len(got["alert"]["trades"]) == 3
    report = ok(await admin.call("GET", f"{ALERTS}/{alert_id}/str", role="compliance"))
    assert report["report_type"] == "STOR" and report["alert_id"] == alert_id
    assert report["reporting_entity"]["lei"] == {"not_applicable": "LEI application pending"}
    assert [t["quantity"] for t in report["transactions"]["value"]] == [{"value": "1"}] * 3
    assert [n["step"] for n in report["suspicion"]["analyst_notes"]["value"]] == [
        "in_review", "escalated",
    ]  # fmt: skip
    ok(await step(admin, alert_id, to_state="reported", note="filed with the FIU"))
    await follow(admin)
    queue = ok(await admin.call("GET", ALERTS + "?state=reported", role="compliance"))
    assert [e["alert_id"] for e in queue["alerts"]] == [alert_id]
    assert ok(await admin.call("GET", ALERTS + "?state=new", role="compliance"))["alerts"] == []


async def test_forbidden_steps_are_refused_and_change_nothing(
    watched: tuple[AdminClient, str],
) -> None:
    admin, alert_id = watched
    reviews = admin.app.host.engine.reviews
    assert "cannot become reported" in problem(
        await step(admin, alert_id, to_state="reported", note="too early"), 422,
        "command-rejected",
    )  # fmt: skip
    assert "reason" in problem(
        await step(admin, alert_id, to_state="closed", note="fine"), 422, "command-rejected"
    )
    assert reviews.states == {}
    report = await admin.call("GET", f"{ALERTS}/{alert_id}/str", role="compliance")
    assert "only an escalated or reported alert" in problem(report, 422, "invalid-request")
    unknown = "SA-" + "0" * 20
    problem(await step(admin, unknown, to_state="in_review", note="x"), 404, "unknown-object")
    problem(await admin.call("GET", f"{ALERTS}/{unknown}", role="compliance"), 404,
            "unknown-object")  # fmt: skip
    problem(await admin.call("GET", ALERTS + "?state=open", role="compliance"), 422,
            "invalid-request")  # fmt: skip
    assert reviews.states == {}


async def test_the_same_key_replays_the_step_and_another_body_is_refused(
    watched: tuple[AdminClient, str],
) -> None:
    admin, alert_id = watched
    path = f"{ALERTS}/{alert_id}/review"
    body = {"to_state": "in_review", "note": "looking"}
    first = ok(await admin.call("POST", path, body, role="compliance", key="k-1"))
    again = ok(await admin.call("POST", path, body, role="compliance", key="k-1"))
    assert again == {**first, "replayed": True}
    other = {"to_state": "closed", "note": "benign", "reason": "hedging"}
    problem(await admin.call("POST", path, other, role="compliance", key="k-1"), 409,
            "idempotency-key-reused")  # fmt: skip
    assert str(admin.app.host.engine.reviews.state_of(alert_id)) == "in_review"


@pytest.mark.parametrize("role", ["ops", "support", "read-only", "tenant-admin"])
async def test_surveillance_is_for_compliance_and_the_venue_admin(
    watched: tuple[AdminClient, str], role: str
) -> None:
    admin, alert_id = watched
    for method, path, body in (
        ("GET", ALERTS, None),
        ("GET", f"{ALERTS}/{alert_id}", None),
        ("GET", f"{ALERTS}/{alert_id}/str", None),
        ("POST", f"{ALERTS}/{alert_id}/review", {"to_state": "in_review", "note": "x"}),
    ):
        problem(await admin.call(method, path, body, role=role), 403, "role-forbidden")
    ok(await admin.call("GET", ALERTS, role="venue-admin"))


async def test_a_store_not_there_yet_is_a_503(make_admin: MakeAdmin) -> None:
    admin = await make_admin()
    problem(await admin.call("GET", ALERTS, role="compliance"), 503, "store-unavailable")
