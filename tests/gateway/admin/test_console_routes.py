"""The console lane's reads over real HTTP: account search, and the audit log filtered,
with the reason an operator gave for a kill switch."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.admin.problems import TYPE_PREFIX
from tests.gateway.admin.conftest import DEMO, AdminClient


async def test_account_search_finds_by_id_and_tenant_with_balances(admin: AdminClient) -> None:
    reply = await admin.call("GET", "/admin/v1/console/accounts?q=acc", role="read-only")
    assert reply.status == 200, reply
    found = {a["account"]: a for a in reply.body["accounts"]}
    assert {"ACC1", "ACC2", "ACC3"} <= set(found)
    acc1 = found["ACC1"]
    assert (acc1["tenant"], acc1["kyc"], acc1["enabled"]) == ("DEMO", "verified", True)
    assert acc1["balances"]["BTC"] == {"total": "100000", "held": "0"}
    assert acc1["limits"] == {
        "max_open_orders": "0",
        "max_order_qty": "0",
        "max_order_notional": "0",
    }
    by_tenant = await admin.call("GET", "/admin/v1/console/accounts?q=demo&limit=2")
    assert [a["tenant"] for a in by_tenant.body["accounts"]] == ["DEMO", "DEMO"]
    none = await admin.call("GET", "/admin/v1/console/accounts?q=no-such-account")
    assert none.body == {"accounts": []}
    bad = await admin.call("GET", "/admin/v1/console/accounts?limit=0")
    assert (bad.status, bad.body["type"]) == (422, TYPE_PREFIX + "invalid-request")


async def audit(admin: AdminClient, query: str) -> list[dict[str, Any]]:
    reply = await admin.call("GET", "/admin/v1/console/audit?" + query, role="support")
    assert reply.status == 200, reply
    records: list[dict[str, Any]] = reply.body["records"]
    return records


async def test_the_audit_log_keeps_the_reason_and_filters(admin: AdminClient) -> None:
    path = "/admin/v1/instruments/ETH-USD/status"
    body = {"status": "cancel_only", "reason": "exchange-wide incident"}
    assert (await admin.call("PUT", path, body, role="ops")).status == 200
    assert (await admin.call("PUT", path, body, role="read-only")).status == 403
    # the log is written on its own thread: wait for both lines
    for _ in range(1000):
        mine = await audit(admin, "path=ETH-USD")
        if len(mine) == 2:
            break
        await asyncio.sleep(0.01)
    newest, oldest = mine
    assert (oldest["actor"], oldest["status"], oldest["reason"]) == (
        DEMO["ops"],
        200,
        "exchange-wide incident",
    )
    assert (newest["actor"], newest["status"]) == (DEMO["read-only"], 403)
    assert newest["problem"] == TYPE_PREFIX + "role-forbidden"
    assert await audit(admin, "path=ETH-USD&status=4xx") == [newest]
    assert await audit(admin, f"path=ETH-USD&actor={DEMO['ops']}") == [oldest]
    assert await audit(admin, "path=ETH-USD&status=200&limit=1") == [oldest]
