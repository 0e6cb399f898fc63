"""The tenancy routes over real HTTP: onboarding a client end to end, KYC attributed to
the operator, transfers, suspension, listings, and the refusals (nothing changes)."""

from __future__ import annotations

from typing import Any

from engine.venue.tenancy import AccountStatus, KycStatus, MarketState, TenantStatus
from gateway.admin.problems import TYPE_PREFIX
from tests.gateway.admin.conftest import AdminClient, Reply

V1 = "/admin/v1"


def refused(reply: Reply, name: str, status: int) -> dict[str, Any]:
    assert reply.content_type == "application/problem+json", reply
    assert (reply.status, reply.body["type"]) == (status, TYPE_PREFIX + name), reply
    body: dict[str, Any] = reply.body
    return body


async def ok(admin: AdminClient, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    reply = await admin.call(method, V1 + path, body, **kw)
    assert reply.status == 200, reply
    return reply.body


async def test_onboard_a_client_from_tenant_to_trading(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    await ok(
        admin, "POST", "/tenants", {"tenant": "BANK", "name": "Bank", "revenue_account": "BANK-REV"}
    )
    await ok(
        admin,
        "PUT",
        "/tenants/BANK/tiers/1",
        {"trade": True, "deposit": True, "withdraw": False, "max_order_notional": "5000"},
    )
    await ok(admin, "PUT", "/tenants/BANK/tiers/1/withdraw-limits/BTC", {"amount": "2.5"})
    await ok(admin, "PUT", "/tenants/BANK/markets/BTC-USD", {"state": "enabled"}, role="ops")
    await ok(
        admin,
        "POST",
        "/tenants/BANK/accounts",
        {"account": "C1", "label": "client one", "maker_fee_bps": "1"},
        role="support",
    )
    await ok(
        admin,
        "PUT",
        "/accounts/C1/kyc",
        {"status": "pending", "reason": "documents received"},
        role="compliance",
    )
    body = await ok(
        admin,
        "PUT",
        "/accounts/C1/kyc",
        {"status": "verified", "tier": 1, "reason": "checked", "reference": "case-9"},
        role="compliance",
    )
    (event,) = body["events"]
    assert event["kind"] == "kyc.changed"
    assert event["data"]["actor"] == "demo-compliance" and event["data"]["reference"] == "case-9"
    await ok(admin, "POST", "/accounts/C1/sub-accounts", {"account": "C1.hedge", "label": "hedge"})
    reply = await admin.call(
        "POST",
        V1 + "/accounts/C1/transfers",
        {"to_account": "C1.hedge", "asset": "USD", "amount": "1"},
    )
    assert refused(reply, "command-rejected", 422)["code"] == "insufficient_balance"
    tenant = await ok(admin, "GET", "/tenants/BANK", role="read-only")
    assert tenant["tiers"]["1"] == {
        "trade": True,
        "deposit": True,
        "withdraw": False,
        "max_order_notional": "5000",
        "daily_withdraw_limit": {"BTC": "2.5"},
    }
    assert (tenant["markets"], tenant["accounts"]) == ({"BTC-USD": "enabled"}, 3)
    profile = await ok(admin, "GET", "/accounts/C1/profile")
    assert profile["kyc"] == {
        "status": "verified",
        "tier": 1,
        "actor": "demo-compliance",
        "reason": "checked",
        "reference": "case-9",
    }
    assert profile["sub_accounts"] == ["C1.hedge"]
    subs = await ok(admin, "GET", "/accounts/C1/sub-accounts")
    assert [s["account"] for s in subs["sub_accounts"]] == ["C1.hedge"]
    listed = await ok(admin, "GET", "/tenants/BANK/accounts")
    assert [a["account"] for a in listed["accounts"]] == ["BANK-REV", "C1", "C1.hedge"]
    assert engine.accounts["C1"].trade_block == 0
    assert engine.accounts["C1"].tier_max_notional == 5000 * 100_000_000


async def test_transfer_between_demo_account_and_its_sub_account(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    await ok(
        admin, "POST", "/accounts/ACC1/sub-accounts", {"account": "ACC1.a"}, role="tenant-admin"
    )
    body = await ok(
        admin,
        "POST",
        "/accounts/ACC1/transfers",
        {"to_account": "ACC1.a", "asset": "USD", "amount": "12.5", "transfer_id": "t-1"},
        role="tenant-admin",
    )
    assert body["events"][0]["kind"] == "transfer.done"
    assert engine.accounts["ACC1.a"].balances["USD"].total == 1_250_000_000
    await ok(
        admin,
        "POST",
        "/accounts/ACC1.a/transfers",
        {"to_account": "ACC1", "asset": "USD", "amount": "12.5"},
    )
    assert engine.accounts["ACC1.a"].balances["USD"].total == 0


async def test_suspend_resume_status_and_listing_kill_switches(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    tenancy = engine.tenancy
    await ok(
        admin,
        "POST",
        "/tenants/DEMO/suspend",
        {"cancel_orders": True, "reason": "audit"},
        role="compliance",
    )
    assert tenancy.tenants["DEMO"].status == TenantStatus.SUSPENDED
    reply = await admin.call("POST", V1 + "/tenants/DEMO/suspend", {}, role="ops")
    assert refused(reply, "command-rejected", 422)["code"] == "invalid_transition"
    await ok(admin, "POST", "/tenants/DEMO/resume", {"reason": "cleared"}, role="ops")
    await ok(
        admin,
        "PUT",
        "/accounts/ACC2/status",
        {"status": "disabled", "reason": "fraud"},
        role="tenant-admin",
    )
    assert tenancy.accounts["ACC2"].status == AccountStatus.DISABLED
    reply = await admin.call("PUT", V1 + "/accounts/ACC2/status", {"status": "closed"})
    assert refused(reply, "command-rejected", 422)["code"] == "not_flat"
    await ok(
        admin, "PUT", "/tenants/DEMO/markets/ETH-USD", {"state": "view_only"}, role="tenant-admin"
    )
    assert tenancy.tenants["DEMO"].markets["ETH-USD"] == MarketState.VIEW_ONLY
    await ok(admin, "PUT", "/tenants/DEMO/markets/ETH-USD", {"state": "unlisted"})
    assert "ETH-USD" not in tenancy.tenants["DEMO"].markets
    body = await ok(admin, "POST", "/tenants/DEMO/cancel-orders", {"symbol": "BTC-USD"}, role="ops")
    assert body["events"][0]["data"]["canceled"] == 0
    await ok(
        admin, "PUT", "/tenants/DEMO/withdraw-thresholds/BTC", {"amount": "5"}, role="tenant-admin"
    )
    assert tenancy.tenants["DEMO"].withdraw_approval_threshold == {"BTC": 500_000_000}


async def test_refusals_change_nothing(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    before = engine.tenancy.to_state()
    cases: list[tuple[str, str, Any, str, str, int]] = [
        (
            "POST",
            "/tenants",
            {"tenant": "DEMO", "revenue_account": "X"},
            "venue-admin",
            "already-exists",
            409,
        ),
        ("GET", "/tenants/NOPE", None, "venue-admin", "unknown-object", 404),
        ("POST", "/tenants/NOPE/accounts", {"account": "Z"}, "ops", "unknown-object", 404),
        (
            "PUT",
            "/accounts/ACC1/kyc",
            {"status": "pending", "reason": "r"},
            "compliance",
            "command-rejected",
            422,
        ),
        (
            "PUT",
            "/accounts/ACC1/kyc",
            {"status": "weird", "reason": "r"},
            "compliance",
            "invalid-request",
            422,
        ),
        (
            "POST",
            "/accounts/ACC1/transfers",
            {"to_account": "ACC2", "asset": "USD", "amount": "1"},
            "ops",
            "command-rejected",
            422,
        ),
        (
            "POST",
            "/accounts/ACC1/transfers",
            {"to_account": "ACC2", "asset": "USD", "amount": "0.000000001"},
            "ops",
            "invalid-request",
            422,
        ),
        (
            "PUT",
            "/tenants/DEMO/tiers/x",
            {"trade": True, "deposit": True, "withdraw": True},
            "compliance",
            "invalid-request",
            422,
        ),
        (
            "POST",
            "/tenants",
            {"tenant": "T9", "revenue_account": "R9"},
            "ops",
            "role-forbidden",
            403,
        ),
        (
            "PUT",
            "/accounts/ACC1/kyc",
            {"status": "suspended", "reason": "r"},
            "support",
            "role-forbidden",
            403,
        ),
    ]
    for method, path, body, role, name, status in cases:
        refused(await admin.call(method, V1 + path, body, role=role), name, status)
    assert engine.tenancy.to_state() == before
    assert engine.tenancy.accounts["ACC1"].kyc_status == KycStatus.VERIFIED


async def test_a_tenant_admin_cannot_reach_another_tenant(admin: AdminClient) -> None:
    await ok(admin, "POST", "/tenants", {"tenant": "OTHER", "revenue_account": "OTHER-REV"})
    await ok(admin, "POST", "/tenants/OTHER/accounts", {"account": "O1"})
    for method, path, body in (
        ("GET", "/tenants/OTHER", None),
        ("POST", "/tenants/OTHER/accounts", {"account": "O2"}),
        ("PUT", "/accounts/O1/kyc", {"status": "pending", "reason": "r"}),
        ("POST", "/accounts/O1/sub-accounts", {"account": "O1.x"}),
    ):
        refused(
            await admin.call(method, V1 + path, body, role="tenant-admin"), "tenant-forbidden", 403
        )
    assert "O2" not in admin.app.host.engine.accounts
