"""The admin pipeline over real HTTP: auth, roles, idempotency, problems, tenant scope."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from structlog.testing import capture_logs

from engine.commands import NewOrder
from engine.journal import read_records
from engine.model import OrdType, Side
from engine.venue.operators import AdminRequest
from gateway.admin.audit import verify_chain
from gateway.admin.problems import TYPE_PREFIX
from gateway.app import App
from tests.gateway.admin.conftest import AdminClient, MakeAdmin, Reply, commands


def problem(reply: Reply, name: str, status: int) -> dict[str, Any]:
    assert reply.content_type == "application/problem+json", reply
    assert reply.status == status, reply
    body: dict[str, Any] = reply.body
    assert body["type"] == TYPE_PREFIX + name, body
    assert body["status"] == status and body["title"] and body["detail"], body
    assert body["instance"].startswith("/"), body
    return body


async def test_halt_on_and_off_end_to_end(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    reply = await admin.call("PUT", "/admin/v1/halt", {"halted": True}, role="ops")
    assert reply.status == 200, reply
    assert reply.body["seq"] == engine.last_seq and reply.body["replayed"] is False
    assert reply.body["events"] == [{"kind": "global_halt", "subject": "on", "data": {}}]
    assert engine.halted
    assert (await admin.call("GET", "/admin/v1/halt", role="read-only")).body == {"halted": True}
    assert (await admin.call("PUT", "/admin/v1/halt", {"halted": False})).status == 200
    assert not engine.halted


async def test_mutations_are_journaled_with_their_attribution(admin: AdminClient) -> None:
    reply = await admin.call("PUT", "/admin/v1/halt", {"halted": True}, role="ops", key="k-1")
    journal = Path(admin.app.config.journal.dir)
    (command,) = [c for seq, _, c in read_records(journal) if seq == reply.body["seq"]]
    assert isinstance(command, AdminRequest)
    assert (command.operator, command.role, command.source, command.idempotency_key) == (
        "demo-ops", "ops", "127.0.0.1", "k-1",
    )  # fmt: skip
    assert len(command.digest) == 64 and orjson.loads(command.record) == [10, True]


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"operator": "nobody"}, "unknown-operator"),
        ({"timestamp_ms": 1}, "timestamp-out-of-window"),
        ({"future": True}, "timestamp-out-of-window"),
        ({"seed": "42" * 32}, "bad-signature"),
        ({"tamper": True}, "bad-signature"),
        ({"nonce": "short"}, "credentials-malformed"),
        ({"non_ascii": True}, "credentials-malformed"),
        ({"drop": "X-Operator-Nonce"}, "credentials-malformed"),
        ({"unsigned": True}, "credentials-missing"),
    ],
)
async def test_authentication_refusals(
    admin: AdminClient, change: dict[str, Any], name: str
) -> None:
    body = orjson.dumps({"halted": True})
    operator = change.get("operator", "demo-ops")
    sign: dict[str, Any] = {}
    if "timestamp_ms" in change:
        sign["timestamp_ms"] = change["timestamp_ms"]
    if change.get("future"):
        sign["timestamp_ms"] = time.time_ns() // 1_000_000 + 3_600_000
    if "seed" in change:
        sign["seed"] = change["seed"]
    if "nonce" in change:
        sign["nonce"] = change["nonce"]
    seed = sign.pop("seed", None) or admin.seeds.get(operator) or "01" * 32
    headers = admin.headers(operator, "PUT", "/admin/v1/halt", body, seed=seed, **sign)
    if change.get("tamper"):
        body = orjson.dumps({"halted": False})
    if change.get("non_ascii"):
        headers["X-Operator-Id"] = "démo-ops"
    if "drop" in change:
        del headers[change["drop"]]
    if change.get("unsigned"):
        headers = {}
    headers |= {"Content-Type": "application/json", "Idempotency-Key": "k"}
    before = admin.app.host.engine.last_seq
    reply = await admin.raw("PUT", "/admin/v1/halt", body, headers)
    problem(reply, name, 401)
    assert reply.headers["WWW-Authenticate"]
    assert admin.app.host.engine.last_seq == before and not admin.app.host.engine.halted


async def test_a_replayed_request_is_refused(admin: AdminClient) -> None:
    body = orjson.dumps({"halted": True})
    headers = admin.headers("demo-ops", "PUT", "/admin/v1/halt", body)
    headers |= {"Content-Type": "application/json", "Idempotency-Key": "k"}
    assert (await admin.raw("PUT", "/admin/v1/halt", body, headers)).status == 200
    before = admin.app.host.engine.last_seq
    problem(await admin.raw("PUT", "/admin/v1/halt", body, headers), "nonce-reused", 401)
    assert admin.app.host.engine.last_seq == before


async def test_a_disabled_operator_is_refused(admin: AdminClient) -> None:
    reply = await admin.call("PUT", "/admin/v1/operators/demo-ops/enabled", {"enabled": False})
    assert reply.status == 200, reply
    problem(await admin.call("GET", "/admin/v1/halt", role="ops"), "operator-disabled", 401)


async def test_role_rule_denies_what_it_does_not_name(admin: AdminClient) -> None:
    body = problem(
        await admin.call("PUT", "/admin/v1/halt", {"halted": True}, role="support"),
        "role-forbidden",
        403,
    )
    assert "support" in body["detail"]
    assert not admin.app.host.engine.halted


async def test_http_level_refusals_are_problems(admin: AdminClient) -> None:
    problem(await admin.call("GET", "/admin/v1/nothing-here"), "not-found", 404)
    reply = await admin.call("DELETE", "/admin/v1/halt")
    problem(reply, "method-not-allowed", 405)
    assert "PUT" in reply.headers["Allow"]
    problem(await admin.raw("GET", "/nothing"), "not-found", 404)


async def test_body_refusals_change_nothing(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    before = commands(admin.app)
    path = "/admin/v1/halt"
    problem(
        await admin.call("PUT", path, {"halted": True}, key=None), "idempotency-key-missing", 400
    )
    problem(await admin.call("PUT", path, {"halted": True}, key="a b"), "malformed-request", 400)
    problem(await admin.call("PUT", path, {"halted": True}, key="clé"), "malformed-request", 400)
    # not JSON, and a JSON body sent as text/plain
    raw = b'{"halted": tru'
    headers = admin.headers("demo-ops", "PUT", path, raw)
    headers |= {"Content-Type": "application/json", "Idempotency-Key": "k1"}
    problem(await admin.raw("PUT", path, raw, headers), "malformed-json", 400)
    raw = b'{"halted": true}'
    headers = admin.headers("demo-ops", "PUT", path, raw)
    headers |= {"Content-Type": "text/plain", "Idempotency-Key": "k2"}
    problem(await admin.raw("PUT", path, raw, headers), "unsupported-media-type", 415)
    body = problem(await admin.call("PUT", path, {"halted": "yes"}), "invalid-request", 422)
    assert body["errors"] == ["body.halted: expected boolean"]
    body = problem(await admin.call("PUT", path, {"halted": True, "x": 1}), "invalid-request", 422)
    assert body["errors"] == ["body.x: unknown field"]
    big = {"halted": True, "pad": "x" * 70_000}
    problem(await admin.call("PUT", path, big), "body-too-large", 413)
    assert commands(admin.app) == before and not engine.halted


async def test_same_key_same_body_answers_again_without_a_new_command(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    first = await admin.call("PUT", "/admin/v1/halt", {"halted": True}, key="once")
    seq = commands(admin.app)
    again = await admin.call("PUT", "/admin/v1/halt", {"halted": True}, key="once")
    assert again.status == 200 and commands(admin.app) == seq
    assert again.body == {**first.body, "replayed": True}
    # the same key with another body: 409, nothing changes
    body = problem(
        await admin.call("PUT", "/admin/v1/halt", {"halted": False}, key="once"),
        "idempotency-key-reused",
        409,
    )
    assert body["seq"] == first.body["seq"]
    assert commands(admin.app) == seq and engine.halted
    # keys are per operator: another operator's "once" is a new request
    other = await admin.call("PUT", "/admin/v1/halt", {"halted": False}, role="ops", key="once")
    assert other.status == 200 and other.body["replayed"] is False and not engine.halted


async def test_twin_requests_in_flight_get_one_command_and_one_answer(
    admin: AdminClient,
) -> None:
    engine = admin.app.host.engine
    before = engine.last_seq
    replies = await asyncio.gather(
        *(admin.call("PUT", "/admin/v1/halt", {"halted": True}, key="twin") for _ in range(4))
    )
    assert engine.last_seq == before + 1
    assert {r.body["seq"] for r in replies} == {before + 1}
    assert sorted(r.body["replayed"] for r in replies) == [False, True, True, True]


async def test_idempotency_survives_a_restart(make_admin: MakeAdmin, tmp_path: Path) -> None:
    admin = await make_admin()
    first = await admin.call("PUT", "/admin/v1/halt", {"halted": True}, key="k-restart")
    await admin.app.stop()
    app = App(admin.app.config)
    await app.start()
    try:
        again = AdminClient(app, admin.http)
        reply = await again.call("PUT", "/admin/v1/halt", {"halted": True}, key="k-restart")
        assert reply.body == {**first.body, "replayed": True}
        assert app.host.engine.last_seq == first.body["seq"]
        reply = await again.call("PUT", "/admin/v1/halt", {"halted": False}, key="k-restart")
        problem(reply, "idempotency-key-reused", 409)
    finally:
        await app.stop()
    admin.app.components = []  # stopped above: the fixture's stop must not stop them again


async def test_engine_rejects_become_problems_and_are_remembered(admin: AdminClient) -> None:
    path = "/admin/v1/accounts/NOPE/enabled"
    first = problem(
        await admin.call("PUT", path, {"enabled": False}, key="r"), "unknown-object", 404
    )
    assert first["code"] == "unknown_account" and first["seq"] == admin.app.host.engine.last_seq
    again = problem(
        await admin.call("PUT", path, {"enabled": False}, key="r"), "unknown-object", 404
    )
    assert again == {**first, "replayed": True}
    instrument = {
        "symbol": "BTC-USD", "base": "BTC", "quote": "USD", "tick_size": "0.01", "lot_size": "1",
    }  # fmt: skip
    problem(await admin.call("POST", "/admin/v1/instruments", instrument), "already-exists", 409)


async def test_add_instrument_and_set_its_status(admin: AdminClient) -> None:
    instrument = {
        "symbol": "SOL-USD", "base": "SOL", "quote": "USD", "tick_size": "0.01", "lot_size": "0.1",
    }  # fmt: skip
    assert (await admin.call("POST", "/admin/v1/instruments", instrument)).status == 200
    path = "/admin/v1/instruments/SOL-USD/status"
    assert (await admin.call("PUT", path, {"status": "cancel_only"}, role="ops")).status == 200
    listed = await admin.call("GET", "/admin/v1/instruments", role="support")
    (sol,) = [i for i in listed.body["instruments"] if i["symbol"] == "SOL-USD"]
    assert sol["status"] == "cancel_only"


async def test_mass_cancel_by_account_and_by_instrument(admin: AdminClient) -> None:
    host = admin.app.host
    for account in ("ACC1", "ACC2"):
        for symbol in ("BTC-USD", "ETH-USD"):
            host.submit(NewOrder(account, symbol, Side.BUY, OrdType.LIMIT, 1000, 100_00))
    assert len(host.engine.orders) == 4
    reply = await admin.call("POST", "/admin/v1/mass-cancel", {"account": "ACC1"}, role="ops")
    assert reply.body["orders_canceled"] == 2
    reply = await admin.call("POST", "/admin/v1/mass-cancel", {"symbol": "ETH-USD"}, role="ops")
    assert reply.body["orders_canceled"] == 1
    assert [o.account + o.symbol for o in host.engine.orders.values()] == ["ACC2BTC-USD"]
    problem(await admin.call("POST", "/admin/v1/mass-cancel", {}), "invalid-request", 422)


async def test_tenant_admin_is_held_to_its_tenant(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    engine.accounts["ACC1"].tenant = "DEMO"
    engine.accounts["ACC2"].tenant = "OTHER"
    ok = await admin.call(
        "PUT", "/admin/v1/accounts/ACC1/enabled", {"enabled": False}, role="tenant-admin"
    )
    assert ok.status == 200 and not engine.accounts["ACC1"].enabled
    assert (await admin.call("GET", "/admin/v1/accounts/ACC1", role="tenant-admin")).status == 200
    before = commands(admin.app)
    for method, path, body in (
        ("PUT", "/admin/v1/accounts/ACC2/enabled", {"enabled": False}),
        ("GET", "/admin/v1/accounts/ACC2", None),
        ("GET", "/admin/v1/accounts/NOPE", None),
        ("POST", "/admin/v1/mass-cancel", {"account": "ACC2"}),
        ("POST", "/admin/v1/mass-cancel", {"symbol": "BTC-USD"}),
    ):
        reply = await admin.call(method, path, body, role="tenant-admin")
        problem(reply, "tenant-forbidden", 403)
    assert commands(admin.app) == before and engine.accounts["ACC2"].enabled
    me = await admin.call("GET", "/admin/v1/operators/me", role="tenant-admin")
    assert me.body == {"operator": "demo-tenant-admin", "role": "tenant-admin", "tenant": "DEMO"}


async def test_operators_created_over_the_api_can_sign(admin: AdminClient) -> None:
    from gateway.admin.signing import public_key_of

    seed = "07" * 32
    new = {"operator": "alice", "role": "support", "public_key": public_key_of(seed)}
    assert (await admin.call("POST", "/admin/v1/operators", new)).status == 200
    problem(await admin.call("POST", "/admin/v1/operators", new), "already-exists", 409)
    admin.seeds["alice"] = seed
    me = await admin.call("GET", "/admin/v1/operators/me", role="alice")
    assert me.body == {"operator": "alice", "role": "support", "tenant": ""}
    listed = await admin.call("GET", "/admin/v1/operators")
    assert "alice" in [op["operator"] for op in listed.body["operators"]]


async def test_undecodable_header_bytes_are_refused_and_audited(admin: AdminClient) -> None:
    """Bytes that are not UTF-8 in a header: a 401 problem, and an audit line that
    still holds them (escaped) rather than a write that fails."""
    port = admin.base.rsplit(":", 1)[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    writer.write(
        b"GET /admin/v1/halt HTTP/1.1\r\nHost: x\r\nX-Operator-Id: \xff\xfeops\r\n"
        b"X-Operator-Timestamp: 1\r\nX-Operator-Nonce: n\r\nX-Operator-Signature: s\r\n"
        b"Connection: close\r\n\r\n"
    )
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401") and b"application/problem+json" in head
    assert orjson.loads(body)["type"] == TYPE_PREFIX + "credentials-malformed"
    await admin.app.stop()
    admin.app.components = []
    path = Path(admin.app.config.journal.dir) / "admin-audit.jsonl"
    (line,) = [orjson.loads(raw) for raw in path.read_bytes().splitlines()]
    assert line["actor"] == "\\xff\\xfeops" and line["status"] == 401


async def test_every_request_is_audited_in_a_chain(admin: AdminClient) -> None:
    body = orjson.dumps({"halted": True})
    headers = admin.headers("demo-ops", "PUT", "/admin/v1/halt", body)
    headers |= {"Content-Type": "application/json", "Idempotency-Key": "a1"}
    with capture_logs() as logs:
        ok = await admin.raw("PUT", "/admin/v1/halt", body, headers)
    await admin.call("PUT", "/admin/v1/halt", {"halted": True}, role="support", key="a2")
    await admin.call("PUT", "/admin/v1/halt", {"halted": "x"}, role="ops", key="a3")
    await admin.raw("GET", "/admin/v1/halt")
    await admin.raw("GET", "/admin/v1/nowhere")
    await admin.app.stop()
    path = Path(admin.app.config.journal.dir) / "admin-audit.jsonl"
    admin.app.components = []
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [(r["actor"], r["status"], r["seq"]) for r in lines] == [
        ("demo-ops", 200, ok.body["seq"]),
        ("demo-support", 403, ok.body["seq"] + 1),  # journaled as AdminRefused
        ("demo-ops", 422, ok.body["seq"] + 2),
        (None, 401, None),
        (None, 404, None),
    ]
    first = lines[0]
    assert first["role"] == "ops" and first["idempotency_key"] == "a1"
    assert first["method"] == "PUT" and first["path"] == "/admin/v1/halt"
    assert first["source"] == "127.0.0.1" and len(first["body_sha256"]) == 64
    assert lines[1]["problem"] == TYPE_PREFIX + "role-forbidden"
    secrets = (headers["X-Operator-Signature"], admin.seeds["demo-ops"], body.decode())
    for secret in secrets:  # nor the body: it may hold one (a FIX password)
        assert secret not in path.read_text() and secret not in repr(logs)
    assert verify_chain(path) == 5
    text = path.read_bytes().replace(b'"status":403', b'"status":200')
    path.write_bytes(text)
    with pytest.raises(ValueError, match=":3: chain broken"):
        verify_chain(path)
