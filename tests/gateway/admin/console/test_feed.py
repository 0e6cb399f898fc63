"""The console's page and live stream over real HTTP: assets served with a strict
policy, the stream signed like any admin read, pushed on change, ended when the
operator is disabled; and which committed events change a tenant's row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from engine.commands import AdjustBalance, Command, OpenAccount
from engine.venue.operators import SetOperatorEnabled
from engine.venue.tenancy import AccountStatus, KycStatus
from engine.venue.tenancy_commands import (
    AssignAccount,
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    ResumeTenant,
    SetAccountStatus,
    SetKyc,
    SetTenantAdminLimit,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
    SuspendTenant,
    UpdateTenant,
)
from gateway.admin.console.feed import tenants_touched
from tests.conftest import submit_applied
from tests.engine.helpers import USD
from tests.engine.venue.tenancy_setup import tenant_venue
from tests.gateway.admin.alerts import SURVEILLANCE, follow, wash_trades
from tests.gateway.admin.conftest import DEMO, AdminClient, MakeAdmin

STREAM = "/admin/v1/console/stream"
#: the events of an open stream
_PUSHED = frozenset({"state", "audit", "accounts", "tenants", "alerts"})
PATIENCE_S = 10.0


class Events:
    """The server-sent events of one open stream, parsed; each is also kept, with its
    raw data (``raw``: what a test of leaks searches)."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.raw: list[bytes] = []
        self.seen: list[tuple[str, Any]] = []

    async def next(self) -> tuple[str, Any]:
        name, data = "message", b""
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), PATIENCE_S)
            if line == b"":
                return "eof", None
            line = line.rstrip(b"\n")
            if not line:
                if data:
                    self.raw.append(name.encode() + b" " + data)
                    self.seen.append((name, orjson.loads(data)))
                    return self.seen[-1]
                continue
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                data += line[6:]

    async def state_where(self, predicate: Any) -> dict[str, Any]:
        return await self.event_where("state", predicate)

    async def event_where(self, wanted: str, predicate: Any) -> dict[str, Any]:
        """The next ``wanted`` event whose data satisfies predicate (others are skipped;
        the stream may not end first)."""
        while True:
            name, data = await self.next()
            assert name in _PUSHED, (name, data)
            if name == wanted and predicate(data):
                return dict(data)


@asynccontextmanager
async def stream(admin: AdminClient, role: str) -> AsyncIterator[Any]:
    headers = admin.headers(DEMO[role], "GET", STREAM, b"")
    async with admin.http.get(admin.base + STREAM, headers=headers) as response:
        yield response


def market(state: dict[str, Any], symbol: str) -> dict[str, Any]:
    return next(m for m in state["markets"] if m["symbol"] == symbol)


async def test_the_page_and_its_assets_are_served_with_a_strict_policy(
    admin: AdminClient,
) -> None:
    for path, kind in (
        ("/console", "text/html"),
        ("/console/static/console.js", "text/javascript"),
        ("/console/static/console.css", "text/css"),
    ):
        async with admin.http.get(admin.base + path) as response:
            assert response.status == 200, path
            assert response.content_type == kind
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/console/static/missing.js", "/console/static/..%2Fserver.py",
                 "/console/static/feed.py"):  # fmt: skip
        async with admin.http.get(admin.base + path) as response:
            assert response.status == 404, path


async def test_the_stream_is_signed(admin: AdminClient) -> None:
    """Any operator may open it; a tenant-admin's is scoped (test_tenant_console.py)."""
    async with admin.http.get(admin.base + STREAM) as response:
        assert response.status == 401
    async with stream(admin, "tenant-admin") as response:
        assert response.status == 200
        scoped = await Events(response).state_where(lambda s: True)
        assert scoped["tenant"] == "DEMO"
    async with stream(admin, "read-only") as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        state = await Events(response).state_where(lambda s: True)
    assert market(state, "BTC-USD")["status"] == "open"
    assert state["overview"]["ready"] is True
    assert await audited(admin, 3) == [
        (None, 401, STREAM), (DEMO["tenant-admin"], 200, STREAM), (DEMO["read-only"], 200, STREAM),
    ]  # fmt: skip


async def audited(admin: AdminClient, count: int) -> list[tuple[Any, ...]]:
    """(actor, status, path) of the audit log's first ``count`` lines, once written (the
    log appends on its own thread)."""
    assert admin.app.admin is not None
    path = admin.app.admin.audit.path
    for _ in range(int(PATIENCE_S / 0.01)):
        lines = path.read_bytes().splitlines() if path.exists() else []
        if len(lines) >= count:
            break
        await asyncio.sleep(0.01)
    records = [orjson.loads(line) for line in lines[:count]]
    return [(r["actor"], r["status"], r["path"]) for r in records]


async def test_a_change_is_pushed_and_a_disabled_operator_is_cut_off(admin: AdminClient) -> None:
    async with stream(admin, "support") as response:
        events = Events(response)
        await events.state_where(lambda s: market(s, "BTC-USD")["status"] == "open")
        halted = await admin.call(
            "PUT", "/admin/v1/instruments/BTC-USD/status", {"status": "halted"}, role="ops"
        )
        assert halted.status == 200, halted
        await events.state_where(lambda s: market(s, "BTC-USD")["status"] == "halted")
        await submit_applied(admin.app, SetOperatorEnabled(DEMO["support"], False))
        name, data = await events.next()
        while name in _PUSHED:
            name, data = await events.next()
        assert (name, data) == ("bye", {"reason": "operator-disabled"})
        assert (await events.next())[0] == "eof"


async def test_the_funds_view_follows_withdrawals_whether_or_not_someone_watched(
    admin: AdminClient,
) -> None:
    body = {"account": "ACC1", "asset": "BTC", "amount": "1", "destination": "bc1q"}
    async with stream(admin, "support") as response:
        events = Events(response)
        await events.state_where(lambda s: s["funds"]["withdrawals"] == [])
        assert (await admin.call("POST", "/admin/v1/withdrawals", body, role="ops")).status == 200
        await events.state_where(lambda s: len(s["funds"]["withdrawals"]) == 1)
    # nobody watches while the second one is requested; the next viewer sees both
    assert admin.app.admin is not None
    console = admin.app.admin.console
    for _ in range(int(PATIENCE_S / 0.01)):  # the server notices the close at its next write
        if not console.watching:
            break
        await asyncio.sleep(0.01)
    assert console.watching == 0
    assert (await admin.call("POST", "/admin/v1/withdrawals", body, role="ops")).status == 200
    async with stream(admin, "support") as response:
        (name, state) = await Events(response).next()
        assert name == "state"
        assert [w["status"] for w in state["funds"]["withdrawals"]] == ["held", "held"]


async def test_alerts_are_pushed_to_the_roles_of_the_queue_only(make_admin: MakeAdmin) -> None:
    admin = await make_admin(surveillance=SURVEILLANCE)
    await follow(admin)
    async with stream(admin, "compliance") as analyst, stream(admin, "ops") as ops:
        analyst_events, ops_events = Events(analyst), Events(ops)
        await analyst_events.state_where(lambda s: True)
        await ops_events.state_where(lambda s: True)
        await wash_trades(admin)
        await follow(admin)
        pushed = await analyst_events.event_where("alerts", lambda d: d["alerts"])
        (alert,) = pushed["alerts"]
        assert (alert["rule"], alert["state"], pushed["complete"]) == ("wash_trades", "new", True)
        # ops saw the trades' accounts change, and never an alert
        touched = await ops_events.event_where("accounts", lambda d: d["accounts"])
        assert {"ACC1", "ACC2"} & {a["account"] for a in touched["accounts"]}
        while True:
            name, data = await ops_events.next()
            assert name != "alerts", data
            if name == "state" and data["seq"] >= admin.app.host.engine.last_seq:
                break


async def test_audit_records_are_pushed_as_they_are_written(admin: AdminClient) -> None:
    async with stream(admin, "read-only") as response:
        events = Events(response)
        await events.state_where(lambda s: True)
        body = {"status": "cancel_only", "reason": "thin book"}
        reply = await admin.call("PUT", "/admin/v1/instruments/ETH-USD/status", body, role="ops")
        assert reply.status == 200, reply
        pushed = await events.event_where(
            "audit", lambda d: any(r.get("reason") == "thin book" for r in d["records"])
        )
        (record,) = [r for r in pushed["records"] if r.get("reason") == "thin book"]
        assert (record["actor"], record["status"]) == (DEMO["ops"], 200)


@pytest.mark.parametrize(
    ("command", "touched"),
    [
        (CreateTenant("T2", "Two", "T2-REV"), ["T2"]),
        (UpdateTenant("T1", "Renamed"), ["T1"]),
        (SuspendTenant("T1", reason="review"), ["T1"]),
        (SetTenantAdminLimit("T1", "max_order_notional", 5 * USD), ["T1"]),
        (SetTenantThreshold("T1", "BTC", 100), ["T1"]),
        (SetTier("T1", 2, trade=True), ["T1"]),
        (SetTierWithdrawLimit("T1", 1, "BTC", 100), ["T1"]),
        (OpenTenantAccount("B", "T1"), ["T1"]),  # the account count
        (CreateSubAccount("A.2", "A"), ["T1"]),
        (SetAccountStatus("A.1", AccountStatus.DISABLED, "review"), ["T1"]),
        # not a tenant's row: an account's KYC and balance, a refused step
        (SetKyc("A", KycStatus.VERIFIED, 2, actor="op", reason="tier 2"), []),
        (AdjustBalance("A", "USD", USD), []),
        (SuspendTenant("NOPE"), []),
        (ResumeTenant("T1"), []),  # refused: T1 is active
    ],
)
def test_the_tenants_whose_row_a_step_changed(command: Command, touched: list[str]) -> None:
    engine = tenant_venue()
    events = engine.submit(command)
    assert tenants_touched(events, engine.tenancy.tenants) == touched


def test_an_account_assigned_to_a_tenant_counts_for_it() -> None:
    engine = tenant_venue()
    engine.submit(CreateTenant("T2", "Two", "T2-REV"))
    engine.submit(OpenAccount("LONE"))  # an account outside any tenant
    events = engine.submit(AssignAccount("LONE", "T2"))
    assert tenants_touched(events, engine.tenancy.tenants) == ["T2"]


async def test_a_tenant_changed_by_any_operator_is_pushed_with_its_row(
    admin: AdminClient,
) -> None:
    async with stream(admin, "read-only") as response:
        events = Events(response)
        await events.state_where(lambda s: True)
        body = {"reason": "broker under review", "cancel_orders": False}
        reply = await admin.call("POST", "/admin/v1/tenants/DEMO/suspend", body, role="ops")
        assert reply.status == 200, reply
        pushed = await events.event_where("tenants", lambda d: d["tenants"])
        (row,) = pushed["tenants"]
        listed = await admin.call("GET", "/admin/v1/tenants", role="read-only")
        assert row == next(t for t in listed.body["tenants"] if t["tenant"] == "DEMO")
        assert (row["status"], pushed["complete"]) == ("suspended", True)
