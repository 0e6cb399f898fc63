"""Fees over the admin API (gateway/admin/routes/fees.py), over real HTTP."""

from __future__ import annotations

from typing import Any

from engine.commands import NewOrder
from engine.events import Trade
from engine.model import OrdType, Side
from engine.venue.tenancy_commands import AssignAccount, CreateTenant
from gateway.admin.problems import TYPE_PREFIX
from tests.gateway.admin.conftest import AdminClient, Reply

V1 = "/admin/v1"


def refused(reply: Reply, name: str, status: int, code: str = "") -> None:
    assert reply.content_type == "application/problem+json", reply
    assert (reply.status, reply.body["type"]) == (status, TYPE_PREFIX + name), reply
    if code:
        assert reply.body["code"] == code, reply


async def test_the_demo_schedule_is_listed_and_an_account_resolves_to_it(
    admin: AdminClient,
) -> None:
    fees = (await admin.call("GET", f"{V1}/fees", role="read-only")).body
    assert fees["revenue_account"] == "VENUE-FEES" and fees["default_schedule"] == "standard"
    (standard,) = fees["schedules"]
    assert standard["tiers"][0] == {"min_volume": "0", "maker_bps": "1", "taker_bps": "2"}
    acc1 = (await admin.call("GET", f"{V1}/accounts/ACC1/fees", role="support")).body
    assert (acc1["source"], acc1["maker_bps"], acc1["taker_bps"]) == ("default", "1", "2")


async def test_a_new_schedule_with_a_rebate_becomes_the_default_and_pays_makers(
    admin: AdminClient,
) -> None:
    tiers = [
        {"min_volume": "0", "maker_bps": "-0.5", "taker_bps": "3"},
        {"min_volume": "1000000", "maker_bps": "-1", "taker_bps": "2.5"},
    ]
    reply = await admin.call("PUT", f"{V1}/fees/schedules/mm", {"tiers": tiers})
    assert reply.status == 200, reply
    assert (await admin.call("PUT", f"{V1}/fees/default", {"schedule": "mm"})).status == 200
    acc1 = (await admin.call("GET", f"{V1}/accounts/ACC1/fees")).body
    assert (acc1["maker_bps"], acc1["taker_bps"]) == ("-0.5", "3")
    host = admin.app.host
    host.submit(NewOrder("ACC2", "BTC-USD", Side.SELL, OrdType.LIMIT, 1000, 100_00))
    events = host.engine.submit(NewOrder("ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 1000, 100_00))
    (trade,) = [e for e in events if isinstance(e, Trade)]
    assert trade.maker_fee < 0 < trade.taker_fee
    listed = (await admin.call("GET", f"{V1}/fees")).body
    assert [s["id"] for s in listed["schedules"]] == ["standard", "mm"]
    assert listed["schedules"][1]["tiers"] == tiers


async def test_out_of_bound_fees_are_refused_and_change_nothing(admin: AdminClient) -> None:
    engine = admin.app.host.engine
    before = engine.fee_book.to_state()
    cases: list[tuple[str, str, Any, str, int, str]] = [
        ("PUT", "/fees/schedules/x", {"tiers": [{"min_volume": "0", "maker_bps": "-2",
         "taker_bps": "3"}]}, "command-rejected", 422, "limit_exceeded"),  # above max rebate
        ("PUT", "/fees/schedules/x", {"tiers": [{"min_volume": "0", "maker_bps": "3",
         "taker_bps": "2"}]}, "command-rejected", 422, "limit_exceeded"),
        ("PUT", "/fees/schedules/x", {"tiers": [{"min_volume": "5", "maker_bps": "1",
         "taker_bps": "2"}]}, "command-rejected", 422, "invalid_command"),
        ("PUT", "/fees/schedules/x", {"tiers": [{"min_volume": "0", "maker_bps": "1",
         "taker_bps": "-2"}]}, "invalid-request", 422, ""),  # the schema: taker >= 0
        ("PUT", "/fees/schedules/x", {"tiers": []}, "invalid-request", 422, ""),
        ("PUT", "/fees/default", {"schedule": "nope"}, "command-rejected", 422,
         "invalid_command"),
        ("PUT", "/accounts/ACC1/fees/override", {"maker_bps": "-1.5", "taker_bps": "2"},
         "command-rejected", 422, "limit_exceeded"),
        ("PUT", "/accounts/NOPE/fees/override", {"maker_bps": "1", "taker_bps": "2"},
         "unknown-object", 404, "unknown_account"),
        ("DELETE", "/accounts/ACC1/fees/override", None, "command-rejected", 422,
         "invalid_command"),
        ("PUT", "/tenants/NOPE/fees", {"schedule": "", "markup_bps": "1"}, "unknown-object",
         404, "unknown_tenant"),
        ("PUT", "/fees/config", {"revenue_account": "VENUE-FEES", "reference_asset": "EUR",
         "max_rebate_bps": "1", "max_markup_bps": "50"}, "command-rejected", 422,
         "invalid_command"),
    ]  # fmt: skip
    for method, path, body, name, status, code in cases:
        refused(await admin.call(method, V1 + path, body), name, status, code)
    assert engine.fee_book.to_state() == before


async def test_override_resolution_and_clearing(admin: AdminClient) -> None:
    path = f"{V1}/accounts/ACC3/fees"
    body = {"maker_bps": "0", "taker_bps": "0.5"}
    assert (await admin.call("PUT", f"{path}/override", body)).status == 200
    got = (await admin.call("GET", path)).body
    assert (got["source"], got["maker_bps"], got["taker_bps"]) == ("override", "0", "0.5")
    assert (await admin.call("DELETE", f"{path}/override")).status == 200
    assert (await admin.call("GET", path)).body["source"] == "default"


async def test_tenant_fees_and_a_tenant_admins_markup_within_the_bound(
    admin: AdminClient,
) -> None:
    host = admin.app.host
    host.submit(CreateTenant("DEMO", "Demo brand", "DEMO-REVENUE"))
    host.submit(AssignAccount("ACC1", "DEMO"))
    host.submit(CreateTenant("OTHER", "Other brand", "OTHER-REVENUE"))
    vip = {"tiers": [{"min_volume": "0", "maker_bps": "0.2", "taker_bps": "0.4"}]}
    assert (await admin.call("PUT", f"{V1}/fees/schedules/vip", vip)).status == 200
    reply = await admin.call(
        "PUT", f"{V1}/tenants/DEMO/fees", {"schedule": "vip", "markup_bps": "3"}
    )
    assert reply.status == 200, reply
    # A tenant-admin sets its own markup: the schedule stays, the bound holds.
    mine = await admin.call(
        "PUT", f"{V1}/tenants/DEMO/fees/markup", {"markup_bps": "10"}, role="tenant-admin"
    )
    assert mine.status == 200, mine
    got = (await admin.call("GET", f"{V1}/accounts/ACC1/fees", role="tenant-admin")).body
    assert got == {
        "account": "ACC1", "source": "tenant", "schedule": "vip", "maker_bps": "10.2",
        "taker_bps": "10.4", "markup_bps": "10", "volume_30d": "0", "volume_today": "0",
    }  # fmt: skip
    too_much = await admin.call(
        "PUT", f"{V1}/tenants/DEMO/fees/markup", {"markup_bps": "50.01"}, role="tenant-admin"
    )
    refused(too_much, "command-rejected", 422, "limit_exceeded")
    other = await admin.call(
        "PUT", f"{V1}/tenants/OTHER/fees/markup", {"markup_bps": "1"}, role="tenant-admin"
    )
    refused(other, "tenant-forbidden", 403)
    schedule = await admin.call(
        "PUT", f"{V1}/tenants/DEMO/fees", {"schedule": "", "markup_bps": "0"}, role="tenant-admin"
    )
    assert schedule.status == 403
    assert host.engine.tenancy.tenants["DEMO"].markup_ppm == 1000
