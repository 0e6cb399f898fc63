"""The venue caps what a tenant's administrators may set, over real HTTP: above the cap
a tenant-admin is refused with limit_exceeded and nothing changes; only the venue
admin sets the caps, and the tenant shows them."""

from __future__ import annotations

from tests.gateway.admin.conftest import AdminClient

V1 = "/admin/v1/tenants/DEMO"


async def test_a_tenant_admin_acts_within_the_venues_caps(admin: AdminClient) -> None:
    cap = await admin.call("PUT", V1 + "/admin-limits/withdraw_limit:BTC", {"amount": "5"})
    assert cap.status == 200, cap
    assert (await admin.call("GET", V1)).body["admin_limits"] == {"withdraw_limit:BTC": "5"}
    tenant = admin.app.host.engine.tenancy.tenants["DEMO"]
    before = dict(tenant.tiers[1].daily_withdraw_limit)
    over = await admin.call(
        "PUT", V1 + "/tiers/1/withdraw-limits/BTC", {"amount": "6"}, role="tenant-admin"
    )
    assert (over.status, over.body["code"]) == (422, "limit_exceeded"), over
    assert tenant.tiers[1].daily_withdraw_limit == before
    within = await admin.call(
        "PUT", V1 + "/tiers/1/withdraw-limits/BTC", {"amount": "5"}, role="tenant-admin"
    )
    assert within.status == 200, within
    assert tenant.tiers[1].daily_withdraw_limit["BTC"] == 5 * 10**8
    forged = await admin.call(
        "PUT", V1 + "/admin-limits/withdraw_limit:BTC", {"amount": "100"}, role="tenant-admin"
    )
    assert forged.status == 403, forged
    assert tenant.admin_limits == {"withdraw_limit:BTC": 5 * 10**8}
