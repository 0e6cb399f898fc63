"""The funds routes over real HTTP: deposits credited, pending, confirmed or rejected;
withdrawals requested, approved, sent, completed or rejected; refusals change nothing."""

from __future__ import annotations

from typing import Any

from engine.commands import AdjustBalance
from engine.events import OrderRejected
from engine.model import decimal_to_units
from engine.venue.tenancy import KycStatus
from engine.venue.tenancy_commands import (
    CreateTenant,
    OpenTenantAccount,
    SetKyc,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
)
from gateway.admin.problems import TYPE_PREFIX
from tests.gateway.admin.conftest import AdminClient, Reply

BTC = 100_000_000


def balance(admin: AdminClient, account: str, asset: str = "BTC") -> tuple[int, int]:
    bal = admin.app.host.engine.accounts[account].balances[asset]
    return bal.total, bal.held


def ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    body: dict[str, Any] = reply.body
    return body


def event(reply: Reply) -> dict[str, Any]:
    (only,) = ok(reply)["events"]
    found: dict[str, Any] = only
    return found


def refused(reply: Reply, name: str, status: int, code: str | None = None) -> None:
    assert reply.status == status, reply
    assert reply.body["type"] == TYPE_PREFIX + name, reply
    if code is not None:
        assert reply.body["code"] == code, reply


async def deposit(admin: AdminClient, role: str = "ops", **body: Any) -> Reply:
    payload = {"account": "ACC1", "asset": "BTC", "amount": "1.5", "reference": "tx1", **body}
    return await admin.call("POST", "/admin/v1/deposits", payload, role=role)


async def test_deposit_is_credited_once_per_reference(admin: AdminClient) -> None:
    before = balance(admin, "ACC1")
    first = event(await deposit(admin, reason="on chain"))
    assert first["kind"] == "deposit.credited"
    assert first["data"]["amount"] == decimal_to_units("1.5")
    assert balance(admin, "ACC1") == (before[0] + decimal_to_units("1.5"), before[1])
    # Another request (another Idempotency-Key) with the same reference changes nothing.
    again = event(await deposit(admin))
    assert (again["kind"], again["subject"]) == ("deposit.existing", first["subject"])
    assert balance(admin, "ACC1") == (before[0] + decimal_to_units("1.5"), before[1])
    refused(await deposit(admin, amount="2"), "already-exists", 409, "already_exists")
    assert balance(admin, "ACC1") == (before[0] + decimal_to_units("1.5"), before[1])
    shown = ok(await admin.call("GET", f"/admin/v1/deposits/{first['subject']}", role="support"))
    assert shown["amount"] == "1.5" and shown["status"] == "credited"
    assert shown["history"][0]["actor"] == "demo-ops"
    assert shown["history"][0]["reason"] == "on chain"


async def test_pending_deposit_confirmed_or_rejected(admin: AdminClient) -> None:
    before = balance(admin, "ACC1")
    waiting = event(await deposit(admin, pending=True))
    other = event(await deposit(admin, reference="tx2", pending=True))
    assert waiting["kind"] == other["kind"] == "deposit.pending"
    assert balance(admin, "ACC1") == before
    listed = ok(await admin.call("GET", "/admin/v1/deposits?status=pending", role="read-only"))
    assert [d["deposit_id"] for d in listed["deposits"]] == [other["subject"], waiting["subject"]]
    path = f"/admin/v1/deposits/{waiting['subject']}"
    confirmed = event(await admin.call("POST", path + "/confirm", {}, role="ops"))
    assert confirmed["kind"] == "deposit.credited"
    assert balance(admin, "ACC1") == (before[0] + decimal_to_units("1.5"), before[1])
    rejected = await admin.call(
        "POST", f"/admin/v1/deposits/{other['subject']}/reject", {"reason": "reorg"}
    )
    assert event(rejected)["kind"] == "deposit.rejected"
    # A finished deposit takes no further step.
    refused(
        await admin.call("POST", path + "/confirm", {}, role="ops"),
        "command-rejected",
        422,
        "invalid_transition",
    )
    assert balance(admin, "ACC1") == (before[0] + decimal_to_units("1.5"), before[1])
    refused(
        await admin.call("POST", "/admin/v1/deposits/D999/confirm", {}, role="ops"),
        "unknown-object",
        404,
    )


async def test_bad_deposits_are_refused(admin: AdminClient) -> None:
    refused(await deposit(admin, amount="1.123456789"), "invalid-request", 422)
    refused(await deposit(admin, amount="-1"), "invalid-request", 422)
    refused(await deposit(admin, amount="0"), "command-rejected", 422, "invalid_amount")
    refused(await deposit(admin, account="NOPE"), "unknown-object", 404)
    assert admin.app.host.engine.funds.deposits == {}


async def test_withdrawal_from_request_to_completion(admin: AdminClient) -> None:
    total, held = balance(admin, "ACC1")
    body = {"account": "ACC1", "asset": "BTC", "amount": "2", "destination": "bc1q..."}
    wid = event(await admin.call("POST", "/admin/v1/withdrawals", body, role="ops"))["subject"]
    assert balance(admin, "ACC1") == (total, held + 2 * BTC)
    path = f"/admin/v1/withdrawals/{wid}"
    refused(
        await admin.call("POST", path + "/complete", {}, role="ops"),
        "command-rejected",
        422,
        "invalid_transition",
    )
    assert event(await admin.call("POST", path + "/approve", {}, role="compliance"))["kind"] == (
        "withdrawal.approved"
    )
    sent = await admin.call("POST", path + "/sent", {"custody_reference": "txout-9"}, role="ops")
    assert event(sent)["data"]["custody_reference"] == "txout-9"
    assert event(await admin.call("POST", path + "/complete", {}, role="ops"))["kind"] == (
        "withdrawal.completed"
    )
    assert balance(admin, "ACC1") == (total - 2 * BTC, held)
    shown = ok(await admin.call("GET", path, role="read-only"))
    assert [(s["status"], s["actor"]) for s in shown["history"]] == [
        ("held", "demo-ops"),
        ("approved", "demo-compliance"),
        ("sent", "demo-ops"),
        ("completed", "demo-ops"),
    ]
    listed = ok(await admin.call("GET", "/admin/v1/withdrawals?account=ACC1&status=completed"))
    assert [w["withdrawal_id"] for w in listed["withdrawals"]] == [wid]
    assert ok(await admin.call("GET", "/admin/v1/withdrawals?status=held"))["withdrawals"] == []


async def test_rejecting_a_withdrawal_releases_the_hold(admin: AdminClient) -> None:
    total, held = balance(admin, "ACC2")
    body = {"account": "ACC2", "asset": "BTC", "amount": "1", "destination": "d"}
    wid = event(await admin.call("POST", "/admin/v1/withdrawals", body))["subject"]
    path = f"/admin/v1/withdrawals/{wid}"
    event(await admin.call("POST", path + "/approve", {}, role="ops"))
    reply = await admin.call("POST", path + "/reject", {"reason": "sanctions"}, role="compliance")
    assert event(reply)["kind"] == "withdrawal.rejected"
    assert balance(admin, "ACC2") == (total, held)
    refused(await admin.call("POST", path + "/reject", {}, role="ops"), "invalid-request", 422)


async def test_withdrawal_above_available_is_refused(admin: AdminClient) -> None:
    total, held = balance(admin, "ACC3")
    too_much = str((total - held) // BTC + 1)
    body = {"account": "ACC3", "asset": "BTC", "amount": too_much, "destination": "d"}
    refused(
        await admin.call("POST", "/admin/v1/withdrawals", body),
        "command-rejected",
        422,
        "insufficient_balance",
    )
    assert balance(admin, "ACC3") == (total, held)


async def test_list_filters_are_checked(admin: AdminClient) -> None:
    refused(await admin.call("GET", "/admin/v1/withdrawals?status=lost"), "invalid-request", 422)
    refused(await admin.call("GET", "/admin/v1/deposits?limit=0"), "invalid-request", 422)


def other_tenants_account(admin: AdminClient) -> str:
    """O1: a verified, funded client of tenant OTHER (the demo tenant-admin's is DEMO)."""
    for cmd in (
        CreateTenant("OTHER", "Other", "OTHER-REV"),
        SetTier("OTHER", 1, trade=True, deposit=True, withdraw=True),
        SetTierWithdrawLimit("OTHER", 1, "BTC", 100 * BTC),
        OpenTenantAccount("O1", "OTHER"),
        SetKyc("O1", KycStatus.PENDING, actor="op", reason="test"),
        SetKyc("O1", KycStatus.VERIFIED, 1, actor="op", reason="test"),
        AdjustBalance("O1", "BTC", 10 * BTC),
    ):
        assert not [e for e in admin.app.host.submit(cmd) if isinstance(e, OrderRejected)], cmd
    return "O1"


async def test_a_tenant_admin_cannot_touch_an_account_outside_its_tenant(
    admin: AdminClient,
) -> None:
    other = other_tenants_account(admin)
    refused(await deposit(admin, role="tenant-admin", account=other), "tenant-forbidden", 403)
    wid = event(
        await admin.call(
            "POST",
            "/admin/v1/withdrawals",
            {"account": other, "asset": "BTC", "amount": "1", "destination": "d"},
        )
    )["subject"]
    refused(
        await admin.call("POST", f"/admin/v1/withdrawals/{wid}/approve", {}, role="tenant-admin"),
        "tenant-forbidden",
        403,
    )
    listed = ok(await admin.call("GET", "/admin/v1/withdrawals", role="tenant-admin"))
    assert listed["withdrawals"] == []


def tenant_demo(admin: AdminClient) -> None:
    """In tenant DEMO (the demo tenant-admin's), a verified client TC1 on a tier 2 with
    a daily limit of 10 BTC, and a maker-checker threshold of 1 BTC."""
    host = admin.app.host
    for command in (
        SetTier("DEMO", 2, trade=True, deposit=True, withdraw=True),
        SetTierWithdrawLimit("DEMO", 2, "BTC", 10 * BTC),
        SetTenantThreshold("DEMO", "BTC", BTC),
        OpenTenantAccount("TC1", "DEMO"),
        SetKyc("TC1", KycStatus.PENDING, actor="kyc", reason="documents"),
        SetKyc("TC1", KycStatus.VERIFIED, 2, actor="kyc", reason="checked", reference="c1"),
    ):
        assert not [e for e in host.submit(command) if isinstance(e, OrderRejected)], command


async def test_a_tenant_admin_runs_its_clients_funds_under_maker_checker(
    admin: AdminClient,
) -> None:
    tenant_demo(admin)
    body = {"account": "TC1", "asset": "BTC", "amount": "5", "reference": "t-1"}
    credited = await admin.call("POST", "/admin/v1/deposits", body, role="tenant-admin")
    assert event(credited)["kind"] == "deposit.credited"
    request = {"account": "TC1", "asset": "BTC", "amount": "2", "destination": "bc1q"}
    held = await admin.call("POST", "/admin/v1/withdrawals", request, role="tenant-admin")
    path = f"/admin/v1/withdrawals/{event(held)['subject']}"
    refused(
        await admin.call("POST", path + "/approve", {}, role="tenant-admin"),
        "command-rejected",
        422,
        "same_actor",
    )
    approved = await admin.call("POST", path + "/approve", {}, role="compliance")
    assert event(approved)["kind"] == "withdrawal.approved"
    # At the threshold one operator may request and approve.
    small = {**request, "amount": "1"}
    wid = event(await admin.call("POST", "/admin/v1/withdrawals", small, role="tenant-admin"))
    reply = await admin.call(
        "POST", f"/admin/v1/withdrawals/{wid['subject']}/approve", {}, role="tenant-admin"
    )
    assert event(reply)["kind"] == "withdrawal.approved"
    assert balance(admin, "TC1") == (5 * BTC, 3 * BTC)
    # The tenant-admin's lists hold its tenant's records only.
    other = other_tenants_account(admin)
    await deposit(admin, account=other)  # outside the tenant
    mine = ok(await admin.call("GET", "/admin/v1/deposits", role="tenant-admin"))["deposits"]
    assert [d["account"] for d in mine] == ["TC1"]
    everyone = ok(await admin.call("GET", "/admin/v1/deposits", role="support"))["deposits"]
    assert sorted(d["account"] for d in everyone) == sorted(["TC1", other])
    listed = await admin.call("GET", "/admin/v1/withdrawals?account=TC1", role="tenant-admin")
    assert len(ok(listed)["withdrawals"]) == 2
    refused(
        await admin.call("GET", f"/admin/v1/withdrawals?account={other}", role="tenant-admin"),
        "tenant-forbidden",
        403,
    )


async def test_the_daily_limit_over_http(admin: AdminClient) -> None:
    tenant_demo(admin)
    await admin.call(
        "POST",
        "/admin/v1/deposits",
        {"account": "TC1", "asset": "BTC", "amount": "20", "reference": "t-2"},
    )
    request = {"account": "TC1", "asset": "BTC", "amount": "6", "destination": "bc1q"}
    assert event(await admin.call("POST", "/admin/v1/withdrawals", request))["kind"] == (
        "withdrawal.held"
    )
    refused(
        await admin.call("POST", "/admin/v1/withdrawals", request),
        "command-rejected",
        422,
        "limit_exceeded",
    )
    assert balance(admin, "TC1") == (20 * BTC, 6 * BTC)
