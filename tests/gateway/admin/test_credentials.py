"""The credentials routes over real HTTP, with the WS and FIX edges they act on: a key
issued (its secret once), listed without secrets, revoked while connected; a FIX
session created, disabled, changed and deleted live."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.ws.auth import sign_hmac
from tests.fix.conftest import FixClient, new_order_single
from tests.gateway.admin.conftest import AdminClient, Reply
from tests.ws.helpers import connect_client, fresh_timestamp_ms

PATIENCE_S = 10.0


def ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    body: dict[str, Any] = reply.body
    return body


async def test_an_issued_key_logs_on_is_listed_without_secret_and_revoked_live(
    admin: AdminClient,
) -> None:
    body = {"key_id": "bot-7", "account": "ACC1", "kind": "hmac", "scopes": ["read", "trade"],
            "ip_allowlist": ["127.0.0.0/8"], "label": "market maker"}  # fmt: skip
    first = await admin.call("POST", "/admin/v1/api-keys", body, role="ops", key="issue-bot-7")
    secret = ok(first)["secret"]
    (event,) = first.body["events"]
    assert event["kind"] == "api_key.created" and secret not in str(event)
    again = ok(await admin.call("POST", "/admin/v1/api-keys", body, role="ops", key="issue-bot-7"))
    assert again["replayed"] and "secret" not in again  # shown once

    ws = await connect_client(admin.app)
    ts = fresh_timestamp_ms()
    logon = {"api_key": "bot-7", "timestamp_ms": ts, "signature": sign_hmac(secret, "bot-7", ts)}
    assert (await ws.ok("session.logon", logon))["account"] == "ACC1"

    listed = ok(await admin.call("GET", "/admin/v1/api-keys?account=ACC1", role="support"))
    (shown,) = [k for k in listed["api_keys"] if k["key_id"] == "bot-7"]
    assert shown["scopes"] == ["read", "trade"] and shown["ip_allowlist"] == ["127.0.0.0/8"]
    assert shown["kind"] == "hmac" and shown["status"] == "active"
    assert secret not in str(listed) and "hmac_salt" not in shown

    revoked = await admin.call(
        "POST", "/admin/v1/api-keys/bot-7/revoke", {"reason": "rotated"}, role="compliance"
    )
    assert ok(revoked)["events"][0]["data"]["status"] == "revoked"
    await asyncio.wait_for(ws.ws.wait_closed(), PATIENCE_S)
    assert (ws.ws.close_code, ws.ws.close_reason) == (4003, "api key bot-7 revoked")
    shown = ok(await admin.call("GET", "/admin/v1/api-keys/bot-7", role="read-only"))
    assert shown["status"] == "revoked" and shown["revoke_reason"] == "rotated"

    journal = Path(admin.app.config.journal.dir)
    for path in journal.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


async def test_bad_keys_get_a_clear_problem_and_change_nothing(admin: AdminClient) -> None:
    before = dict(admin.app.host.engine.credentials.api_keys)
    cases = [
        ({"ip_allowlist": ["10.0.0.0/40"]}, 422, "bad CIDR"),
        ({"account": "NOPE"}, 404, "unknown account"),
        ({"key_id": "demo-acc1"}, 409, "exists"),
        ({"scopes": ["admin"]}, 422, "expected one of"),
    ]
    for change, status, text in cases:
        body = {"key_id": "k9", "account": "ACC1", "kind": "hmac", "scopes": ["read"], **change}
        reply = await admin.call("POST", "/admin/v1/api-keys", body)
        assert reply.status == status and text in reply.body["detail"], reply
        assert "secret" not in reply.body
    assert admin.app.host.engine.credentials.api_keys == before


async def fix_logon(admin: AdminClient, sender: str, password: str) -> FixClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", admin.app.fix.port)
    client = FixClient(reader, writer, sender=sender)
    await client.send("A", [(98, 0), (108, 30), (141, "Y"), (553, sender), (554, password)])
    return client


async def test_a_fix_session_created_disabled_and_deleted_live(admin: AdminClient) -> None:
    body = {"target_comp_id": "LIVE1", "begin_string": "FIX.4.4", "role": "order_entry",
            "accounts": ["ACC2"], "auth": "password", "password": "live1-password"}  # fmt: skip
    created = ok(await admin.call("POST", "/admin/v1/fix-sessions", body))
    assert created["events"][0]["subject"] == "GATEWAY->LIVE1"
    assert "live1-password" not in str(created)
    client = await fix_logon(admin, "LIVE1", "live1-password")
    await client.expect("A", PATIENCE_S)
    await client.send("D", new_order_single("L1"))
    assert (await client.expect("8", PATIENCE_S)).get_str(1) == "ACC2"

    shown = ok(await admin.call("GET", "/admin/v1/fix-sessions/GATEWAY/LIVE1", role="support"))
    assert shown["has_password"] is True and "password_hash" not in shown
    path = "/admin/v1/fix-sessions/GATEWAY/LIVE1"
    ok(await admin.call("POST", path + "/disable", {"reason": "review"}, role="compliance"))
    logout = await client.expect("5", PATIENCE_S)
    assert logout.get_str(58) == "Session disabled by the venue: review"
    await client.send("5", [])
    await client.expect_closed(PATIENCE_S)
    ok(await admin.call("POST", path + "/enable", {}))
    back = await fix_logon(admin, "LIVE1", "live1-password")
    await back.expect("A", PATIENCE_S)

    ok(await admin.call("DELETE", path))
    assert (await back.expect("5", PATIENCE_S)).get_str(58) == "Session deleted by the venue"
    await back.send("5", [])
    await back.expect_closed(PATIENCE_S)
    gone = await admin.call("GET", path, role="support")
    assert gone.status == 404
    refused = await fix_logon(admin, "LIVE1", "live1-password")
    await refused.expect_closed(PATIENCE_S)

    journal = Path(admin.app.config.journal.dir)
    for file in journal.rglob("*"):
        if file.is_file():
            assert b"live1-password" not in file.read_bytes(), file


async def test_a_password_session_needs_a_password(admin: AdminClient) -> None:
    body = {"target_comp_id": "NOPW", "begin_string": "FIX.4.4", "role": "order_entry",
            "auth": "password"}  # fmt: skip
    reply = await admin.call("POST", "/admin/v1/fix-sessions", body)
    assert reply.status == 422 and "password" in reply.body["detail"], reply
    assert "GATEWAY->NOPW" not in admin.app.host.engine.credentials.fix_sessions
