"""Logging one live session out without disabling it, over real sockets: the FIX client
gets a Logout with the reason and is disconnected, the WS client gets the close; both
may log on again at once; a REST session ends and the key's next order opens another.
A read-only operator's forged request is refused, the step is
audited, and a retry with the same Idempotency-Key does not log out the next session."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fix.conftest import FixClient
from tests.gateway.admin.conftest import AdminClient, Reply, refused
from tests.gateway.conftest import password
from tests.rest.helpers import RestClient
from tests.ws.helpers import connect_client, limit

PATIENCE_S = 10.0
SESSIONS = "/admin/v1/sessions"


def ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    body: dict[str, Any] = reply.body
    return body


async def fix_logon(admin: AdminClient, sender: str) -> FixClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", admin.app.fix.port)
    client = FixClient(reader, writer, sender=sender)
    await client.send("A", [(98, 0), (108, 30), (141, "Y"), (553, sender), (554, password(sender))])
    assert (await client.expect("A", PATIENCE_S)).get(141) == b"Y"
    return client


async def open_session(admin: AdminClient, protocol: str, account: str) -> int:
    """The id of the one open session of ``protocol`` on ``account``."""
    listed = ok(await admin.call("GET", SESSIONS, role="read-only"))["sessions"]
    (found,) = [s for s in listed if (s["protocol"], s["account"]) == (protocol, account)]
    session_id: int = found["session_id"]
    return session_id


async def test_a_fix_session_is_logged_out_and_logs_on_again(admin: AdminClient) -> None:
    client = await fix_logon(admin, "CLIENT1")
    session_id = await open_session(admin, "fix", "ACC1")
    path = f"{SESSIONS}/{session_id}/logout"

    forged = await admin.call("POST", path, {"reason": "forged"}, role="read-only")
    refused(forged, "role-forbidden", 403)
    await client.expect_nothing()

    done = ok(await admin.call("POST", path, {"reason": "stale orders"}, role="ops", key="k1"))
    (event,) = done["events"]
    assert (event["kind"], event["subject"]) == ("session.logout_requested", str(session_id))
    logout = await client.expect("5", PATIENCE_S)
    assert logout.get_str(58) == "Logged out by the venue: stale orders", logout
    await client.send("5", [])
    await client.expect_closed(PATIENCE_S)
    assert admin.app.host.engine.credentials.fix_sessions["GATEWAY->CLIENT1"].enabled

    again = await fix_logon(admin, "CLIENT1")  # not disabled: it logs on at once
    # the same request again (a network retry) is answered from memory, acting on nothing
    retried = ok(await admin.call("POST", path, {"reason": "stale orders"}, role="ops", key="k1"))
    assert retried["replayed"]
    await again.expect_nothing()
    # a new request for the ended session finds no such session
    gone = await admin.call("POST", path, {"reason": "stale orders"}, role="ops")
    refused(gone, "unknown-object", 404)

    audit = ok(await admin.call("GET", "/admin/v1/console/audit?path=/logout", role="support"))
    lines = [(r["actor"], r["status"], r.get("reason")) for r in audit["records"]]
    assert ("demo-ops", 200, "stale orders") in lines, lines
    assert ("demo-read-only", 403, None) in lines, lines  # refused before its body is read


async def test_a_ws_session_is_closed_and_logs_on_again(admin: AdminClient) -> None:
    ws = await connect_client(admin.app)
    await ws.logon("demo-acc2")
    session_id = await open_session(admin, "ws", "ACC2")
    body = {"reason": "client asked for a reset"}
    ok(await admin.call("POST", f"{SESSIONS}/{session_id}/logout", body, role="venue-admin"))
    await asyncio.wait_for(ws.ws.wait_closed(), PATIENCE_S)
    assert (ws.ws.close_code, ws.ws.close_reason) == (
        4004,
        "logged out by the venue: client asked for a reset",
    )
    assert admin.app.host.engine.credentials.api_keys["demo-acc2"].status == "active"
    back = await connect_client(admin.app)
    assert (await back.logon("demo-acc2"))["account"] == "ACC2"
    await back.close()


async def test_a_long_reason_fits_the_ws_close_frame(admin: AdminClient) -> None:
    ws = await connect_client(admin.app)
    await ws.logon("demo-acc3")
    session_id = await open_session(admin, "ws", "ACC3")
    reason = "é" * 200  # two bytes each: past the close frame's 123-byte reason
    ok(await admin.call("POST", f"{SESSIONS}/{session_id}/logout", {"reason": reason}))
    await asyncio.wait_for(ws.ws.wait_closed(), PATIENCE_S)
    assert ws.ws.close_code == 4004
    assert ws.ws.close_reason.startswith("logged out by the venue: éé")
    assert len(ws.ws.close_reason.encode()) <= 123


async def test_a_rest_session_ends_and_the_keys_next_order_opens_another(
    admin: AdminClient,
) -> None:
    rest = RestClient(admin.app, "demo-acc1")
    order = limit("BTC-USD", "buy", "0.1", "100")
    await rest.ok("POST", "/api/v1/orders", order)
    session_id = await open_session(admin, "rest", "ACC1")
    body = {"reason": "key shared by two desks"}
    ok(await admin.call("POST", f"{SESSIONS}/{session_id}/logout", body, role="ops"))
    assert session_id not in admin.app.host.engine.sessions.open
    await rest.ok("POST", "/api/v1/orders", order)  # the key still works
    assert await open_session(admin, "rest", "ACC1") > session_id
