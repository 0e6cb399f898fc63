"""A tenant-admin's console over real HTTP: its stream and the console's reads carry its
own tenant's data and never a byte of another tenant's (accounts, tenant rows, FIX, WS
and REST sessions, funds, audit records, alerts), while a staff stream of the same
gateway carries both; and a forged action on the other tenant's objects is refused by
the API."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.commands import AdjustBalance
from engine.venue.tenancy import KycStatus, MarketState
from engine.venue.tenancy_commands import (
    CreateTenant,
    OpenTenantAccount,
    SetKyc,
    SetMarketState,
    SetTier,
    SetTierWithdrawLimit,
    UpdateTenant,
)
from gateway.admin.problems import TYPE_PREFIX
from tests.conftest import submit_applied
from tests.gateway.admin.alerts import SURVEILLANCE, follow, wash_trades
from tests.gateway.admin.conftest import AdminClient, MakeAdmin, Reply
from tests.gateway.admin.console.test_feed import _PUSHED, PATIENCE_S, Events, stream
from tests.gateway.admin.test_credentials import fix_logon
from tests.rest.helpers import RestClient
from tests.ws.helpers import Client, connect_client, issue_key, limit

V1 = "/admin/v1"
BTC = 100_000_000
#: the other tenant's names: none may appear in anything the tenant-admin is sent
RIVAL = "RIVALBANK"
RIVAL_ACCOUNT = "RIVAL-CLIENT-7"
RIVAL_FIX = "RIVALFIX"
RIVAL_DEST = "rival-dest-addr"
RIVAL_REF = "rival-dep-ref"
#: the other tenant's API keys: one logged on over WS, one behind a REST order
RIVAL_WS_KEY = "RIVAL-WS-KEY"
RIVAL_REST_KEY = "RIVAL-REST-KEY"
RIVAL_KEYS = (RIVAL_WS_KEY, RIVAL_REST_KEY)
#: an account outside any tenant (gateway/demo.toml: the venue's fee account)
VENUE_ACCOUNT = "VENUE-FEES"
FOREIGN = (RIVAL, RIVAL_ACCOUNT, RIVAL_FIX, RIVAL_DEST, RIVAL_REF, "RIVAL-REV", VENUE_ACCOUNT,
           *RIVAL_KEYS)  # fmt: skip
#: the demo tenant-admin's tenant and its accounts (gateway/demo.toml)
OWN = "DEMO"
OWN_ACCOUNTS = {"ACC1", "ACC2", "ACC3", "DEMO-LP", "DEMO-TAKER", "DEMO-REVENUE"}


class Recorded(Events):
    """The events of one open stream, parsed, each kept with its raw data."""

    async def until(self, wanted: str, predicate: Any) -> dict[str, Any]:
        """The next ``wanted`` event whose data satisfies predicate (others skipped)."""
        async with asyncio.timeout(PATIENCE_S):
            while True:
                name, data = await self.next()
                assert name in _PUSHED, (name, data)
                if name == wanted and predicate(data):
                    return dict(data)

    def foreign(self) -> list[str]:
        """The other tenant's names found anywhere in what was sent."""
        return [name for name in FOREIGN for raw in self.raw if name.encode() in raw]


async def ok(admin: AdminClient, method: str, path: str, body: Any, role: str = "ops") -> Any:
    reply = await admin.call(method, V1 + path, body, role=role)
    assert reply.status == 200, reply
    return reply.body


async def rival_tenant(admin: AdminClient) -> None:
    """A second tenant with a verified, funded account, a held withdrawal, a pending
    deposit and a FIX session logged on (and so audit records naming all of them)."""
    app = admin.app
    for command in (
        CreateTenant(RIVAL, "Rival bank", "RIVAL-REV"),
        SetTier(RIVAL, 1, trade=True, deposit=True, withdraw=True),
        SetTierWithdrawLimit(RIVAL, 1, "BTC", 100 * BTC),
        OpenTenantAccount(RIVAL_ACCOUNT, RIVAL),
        SetKyc(RIVAL_ACCOUNT, KycStatus.PENDING, actor="op", reason="documents in"),
        SetKyc(RIVAL_ACCOUNT, KycStatus.VERIFIED, 1, actor="op", reason="checked"),
        AdjustBalance(RIVAL_ACCOUNT, "BTC", 10 * BTC),
    ):
        await submit_applied(app, command)
    funds = {"account": RIVAL_ACCOUNT, "asset": "BTC", "amount": "1"}
    await ok(admin, "POST", "/withdrawals", {**funds, "destination": RIVAL_DEST})
    await ok(admin, "POST", "/deposits", {**funds, "reference": RIVAL_REF, "pending": True})
    session = {"target_comp_id": RIVAL_FIX, "begin_string": "FIX.4.4", "role": "order_entry",
               "accounts": [RIVAL_ACCOUNT], "auth": "password",
               "password": "rival-password"}  # fmt: skip
    await ok(admin, "POST", "/fix-sessions", session, role="venue-admin")


async def rival_sessions(admin: AdminClient) -> Client:
    """The other tenant's live WS connection, logged on, and its REST pseudo-session
    (opened by a resting order far from the market); the WS client, to close."""
    app = admin.app
    ws = await connect_client(app)
    await ws.logon(RIVAL_WS_KEY, await issue_key(app, RIVAL_WS_KEY, account=RIVAL_ACCOUNT))
    await submit_applied(app, SetMarketState(RIVAL, "BTC-USD", MarketState.ENABLED))
    secret = await issue_key(app, RIVAL_REST_KEY, account=RIVAL_ACCOUNT)
    rest = RestClient(app, RIVAL_REST_KEY, secret)
    await rest.ok("POST", "/api/v1/orders", limit("BTC-USD", "sell", "0.01", "900000"))
    return ws


def rival_rows(state: dict[str, Any]) -> set[str]:
    """The protocols of the other tenant's WS and REST sessions in a staff state."""
    return {row["protocol"] for row in state["sessions"] if row["who"] in RIVAL_KEYS}


async def own_activity(admin: AdminClient) -> None:
    """The demo tenant's own withdrawal, deposit, balance change and tenant row change."""
    funds = {"account": "ACC1", "asset": "BTC", "amount": "1"}
    await ok(admin, "POST", "/withdrawals", {**funds, "destination": "own-dest"}, "tenant-admin")
    await ok(admin, "POST", "/deposits", {**funds, "reference": "own-ref", "pending": True})
    await submit_applied(admin.app, AdjustBalance("ACC1", "USD", 7))
    await submit_applied(admin.app, UpdateTenant(OWN, "Demo brand renamed"))


def refused(reply: Reply, name: str) -> None:
    assert reply.content_type == "application/problem+json", reply
    assert (reply.status, reply.body["type"]) == (403, TYPE_PREFIX + name), reply


async def test_a_tenant_admin_sees_its_own_tenant_only(make_admin: MakeAdmin) -> None:
    admin = await make_admin(surveillance=SURVEILLANCE)
    await follow(admin)
    async with stream(admin, "tenant-admin") as mine, stream(admin, "venue-admin") as staff:
        assert (mine.status, staff.status) == (200, 200)
        own, venue = Recorded(mine), Recorded(staff)
        await own.until("state", lambda s: True)
        await venue.until("state", lambda s: True)
        await rival_tenant(admin)
        client = await fix_logon(admin, RIVAL_FIX, "rival-password")
        await client.expect("A", PATIENCE_S)
        ws = await rival_sessions(admin)
        await submit_applied(admin.app, AdjustBalance(RIVAL_ACCOUNT, "USD", 5))
        await submit_applied(admin.app, UpdateTenant(RIVAL, "Rival renamed"))
        await wash_trades(admin)  # an alert on the demo tenant's accounts
        await follow(admin)
        await own_activity(admin)
        last = admin.app.host.engine.last_seq

        # the staff stream carries the other tenant: the check below would see a leak
        await venue.until("alerts", lambda d: d["alerts"])
        await venue.until("state", lambda s: s["seq"] >= last and rival_rows(s) == {"ws", "rest"})
        rivals = {RIVAL, RIVAL_ACCOUNT, RIVAL_FIX, RIVAL_DEST, RIVAL_REF, *RIVAL_KEYS}
        assert set(venue.foreign()) >= rivals

        state = await own.until("state", lambda s: s["seq"] >= last and s["funds"]["deposits"])
        # the changes after the state that shows the last step
        await own.until("state", lambda s: True)
        await ws.close()
    assert own.foreign() == []
    assert {name for name, _ in own.seen} == {"state", "accounts", "tenants"}  # no audit,
    # no alerts: neither is kept by tenant
    rows = [t for name, d in own.seen if name == "tenants" for t in d["tenants"]]
    assert {t["tenant"] for t in rows} == {OWN} and rows[-1]["name"] == "Demo brand renamed"
    pushed = [a for name, d in own.seen if name == "accounts" for a in d["accounts"]]
    assert {a["tenant"] for a in pushed} == {OWN} and "ACC1" in {a["account"] for a in pushed}
    assert state["tenant"] == OWN
    assert [w["account"] for w in state["funds"]["withdrawals"]] == ["ACC1"]
    assert [d["reference"] for d in state["funds"]["deposits"]] == ["own-ref"]
    fix = [s for s in state["sessions"] if s["protocol"] == "fix"]
    assert fix and all(set(s["account"].split(",")) <= OWN_ACCOUNTS for s in fix)
    assert {m["symbol"] for m in state["markets"]} >= {"BTC-USD"}  # venue market data
    overview = state["overview"]
    assert overview["scope"] == "tenant" and overview["ready"] is True
    assert not {"latency_us", "follower_lag_commands", "connections"} & set(overview)

    # the console's reads: own accounts only; the audit log and alerts stay staff's
    found = await admin.call("GET", V1 + "/console/accounts?q=", role="tenant-admin")
    assert found.status == 200
    assert {a["account"] for a in found.body["accounts"]} == OWN_ACCOUNTS
    found = await admin.call("GET", V1 + "/console/accounts?q=RIVAL", role="tenant-admin")
    assert found.body == {"accounts": []}
    day = await admin.call("GET", V1 + "/console/markets/24h", role="tenant-admin")
    assert day.status == 200 and "BTC-USD" in day.body["markets"]
    refused(await admin.call("GET", V1 + "/console/audit", role="tenant-admin"), "role-forbidden")
    refused(
        await admin.call("GET", V1 + "/surveillance/alerts", role="tenant-admin"), "role-forbidden"
    )
    tenant = await admin.call("GET", V1 + f"/tenants/{OWN}", role="tenant-admin")
    assert tenant.status == 200

    # forged actions on the other tenant's objects, as the console's buttons would send
    (withdrawal,) = [
        w for w in admin.app.host.engine.funds.withdrawals.values() if w.account == RIVAL_ACCOUNT
    ]
    before = (withdrawal.status, admin.app.host.engine.accounts[RIVAL_ACCOUNT].enabled)
    for method, path, body in (
        ("POST", f"/withdrawals/{withdrawal.withdrawal_id}/approve", {"reason": "x"}),
        ("POST", f"/withdrawals/{withdrawal.withdrawal_id}/reject", {"reason": "x"}),
        ("PUT", f"/accounts/{RIVAL_ACCOUNT}/enabled", {"enabled": False, "reason": "x"}),
        ("POST", "/mass-cancel", {"account": RIVAL_ACCOUNT, "reason": "x"}),
        ("POST", f"/tenants/{RIVAL}/suspend", {"reason": "x"}),
        ("GET", f"/tenants/{RIVAL}", None),
    ):
        reply = await admin.call(method, V1 + path, body, role="tenant-admin")
        assert reply.status == 403, (path, reply)
    after = (withdrawal.status, admin.app.host.engine.accounts[RIVAL_ACCOUNT].enabled)
    assert after == before
