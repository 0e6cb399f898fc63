"""The console in real headless browsers against a real gateway, each test once in
Chromium and once in Firefox: the issue's four scenarios (a FIX trade shows up live; a
halt from the console refuses the next FIX order; maker-checker on a withdrawal; a
read-only operator sees no action and a forged action is refused) and the other
actions, and a tenant-admin's console showing its own tenant only, each leaving
screenshots."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time

import aiohttp
import pytest

from engine.commands import NewOrder
from engine.model import OrdType, Side
from engine.venue.tenancy_commands import CreateTenant, OpenTenantAccount, SetTenantThreshold
from gateway.admin.problems import TYPE_PREFIX
from gateway.app import App
from gateway.config import load_config
from tests.conftest import MakeGateway, submit_applied
from tests.conftest import follow as follow_store
from tests.fix.conftest import FixClient
from tests.gateway.admin.alerts import SURVEILLANCE, follow, wash_trades
from tests.gateway.admin.conftest import DEMO, AdminClient, MakeAdmin
from tests.gateway.admin.console.conftest import (
    PATIENCE_S,
    Browser,
    MakeBrowser,
    both_browsers,
)
from tests.gateway.conftest import Connect, order, password
from tests.rest.helpers import RestClient
from tests.ws.helpers import connect_client, limit

BTC = 100_000_000


def seed(app: App, role: str) -> str:
    return next(op.demo_seed for op in app.config.admin.operators if op.id == DEMO[role])


async def trade_shows_up(app: App, browser: Browser, fix_login: Connect) -> float:
    """Two FIX clients cross on BTC-USD; the seconds from the taker's fill report to
    the trade's row in the console's Markets view."""
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.click('nav [data-view="markets"]')
    await browser.click('#market-tabs [data-symbol="BTC-USD"]')
    maker = await fix_login("CLIENT1")
    taker = await fix_login("CLIENT2")
    for n, (client, side, price) in enumerate(
        [(maker, 2, "43230"), (maker, 2, "43220"), (maker, 2, "43210"),
         (taker, 1, "43190"), (taker, 1, "43180"), (taker, 1, "43150")]
    ):  # fmt: skip
        await client.send("D", order(f"r{n}", side, "0.5", price))
        assert (await client.expect("8")).get(150) == b"0"
    await browser.until(
        "return document.querySelectorAll('#ladder tr.ask, #ladder tr.bid').length == 6"
    )
    await taker.send("D", order("t1", 1, "0.3", "43210"))
    assert (await taker.expect("8")).get(150) == b"0"
    fill = await taker.expect("8")
    filled_at = time.monotonic()
    assert fill.get(150) == b"F"
    trade_id = app.publisher.books["BTC-USD"].trades[-1].trade_id if app.publisher else 0
    row = f'#trades tr[data-trade-id="{trade_id}"]'
    await browser.until("return document.querySelector(arguments[0])", row)
    seen = time.monotonic() - filled_at
    cells = await browser.js(
        "return [...document.querySelector(arguments[0]).cells].map(c => c.textContent)", row
    )
    assert cells[1:4] == ["43210", "0.3", "buy"], cells
    await browser.shot("markets", docs="markets")
    return seen


@both_browsers
async def test_a_fix_trade_appears_in_the_console(
    app: App, browser: Browser, fix_login: Connect
) -> None:
    await trade_shows_up(app, browser, fix_login)
    # the 24 h figures: first the publisher's recent trades (no store yet), marked
    # partial; once the follower stored the trade, the store's, by themselves
    source = "return document.getElementById('market-stats-source').textContent"
    assert (await browser.js(source)).startswith("PARTIAL: recent trades only")
    assert app.admin is not None
    app.admin.console.stored(await follow_store(app))
    await browser.until(source + ".startsWith('every trade the follower stored')")
    figures = await browser.js(
        "return Object.fromEntries([...document.querySelectorAll('#market-stats dt')]"
        ".map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
    )
    assert figures == {
        "trades": "1",
        "open": "43210",
        "high": "43210",
        "low": "43210",
        "last": "43210",
        "volume (base)": "0.3",
        "volume (quote)": "12963",
    }, figures
    await browser.shot("markets-24h", docs="markets")
    await browser.click('nav [data-view="overview"]')
    await browser.until(
        "return document.getElementById('overview-cards').textContent.includes('Orders / s')"
    )
    await browser.shot("overview", docs="overview")


@pytest.mark.slow
@both_browsers
async def test_a_fix_trade_appears_within_one_second(
    app: App, browser: Browser, fix_login: Connect
) -> None:
    assert await trade_shows_up(app, browser, fix_login) < 1.0


@both_browsers
async def test_a_halt_from_the_console_refuses_the_next_fix_order(
    app: App, browser: Browser, fix_login: Connect
) -> None:
    await browser.login(DEMO["ops"], seed(app, "ops"))
    # by keyboard: the Markets view, tab to BTC-USD's Halt button, Enter, reason, Enter
    await browser.keys("2")
    await browser.until("return document.querySelector('#market-tabs [data-symbol]')")
    await browser.js("document.querySelector('#market-tabs [data-symbol=\"BTC-USD\"]').focus()")
    await browser.keys("\ue007")  # Enter selects the instrument; the focus stays on it
    assert await browser.js("return document.activeElement.dataset.symbol") == "BTC-USD"
    for _ in range(10):  # Tab until the Halt button has the focus
        if await browser.js("return document.activeElement.id") == "market-halt":
            break
        await browser.keys("\ue004")  # Tab
    assert await browser.js("return document.activeElement.id") == "market-halt"
    await browser.keys("\ue007")
    await browser.shot("halt-confirm", docs="confirm")
    await browser.confirm("runaway algo on BTC-USD", enter=True)
    await browser.until("return document.getElementById('market-status').textContent === 'halted'")
    await browser.shot("halted")
    assert app.host.engine.listings["BTC-USD"].status.name == "HALTED"

    client = await fix_login("CLIENT1")
    await client.send("D", order("h1", 2, "0.1", "43000"))
    report = await client.expect("8")
    assert (report.get(150), report.get(39)) == (b"8", b"8")
    assert "halted" in (report.get_str(58) or "").lower(), report

    await browser.keys("7")
    await browser.until(
        "return document.querySelector('#audit tbody').textContent"
        ".includes('runaway algo on BTC-USD')"
    )
    await browser.shot("audit", docs="audit")


@both_browsers
async def test_a_second_operator_approves_a_withdrawal_the_first_requested(
    app: App, browser: Browser
) -> None:
    await submit_applied(app, SetTenantThreshold("DEMO", "BTC", BTC))
    async with aiohttp.ClientSession() as http:
        admin = AdminClient(app, http)
        body = {"account": "ACC1", "asset": "BTC", "amount": "2", "destination": "bc1q-cold"}
        reply = await admin.call("POST", "/admin/v1/withdrawals", body, role="ops")
        assert reply.status == 200, reply
    (withdrawal,) = app.host.engine.funds.withdrawals.values()
    wid = withdrawal.withdrawal_id
    approve = f'button.approve[data-withdrawal="{wid}"]'

    # The maker cannot approve its own request above the threshold.
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("5")
    await browser.click(approve)
    await browser.confirm("client called to confirm")
    await browser.until("return document.getElementById('notice').textContent.includes('Refused')")
    assert "must not be the requester" in (
        await browser.js("return document.getElementById('notice').textContent")
    )
    await browser.shot("maker-refused", docs="funds-maker-refused")
    assert withdrawal.status == "held"

    # A second operator (compliance) approves it.
    await browser.click("#logout")
    await browser.login(DEMO["compliance"], seed(app, "compliance"))
    await browser.keys("5")
    await browser.click(approve)
    await browser.confirm("second check done, destination whitelisted")
    await browser.until(
        "return document.querySelector(arguments[0]) === null"
        " && document.querySelector('#withdrawals').textContent.includes('approved')",
        approve,
    )
    await browser.shot("checker-approved", docs="funds-checker-approved")
    assert withdrawal.status == "approved"
    actors = [(step[0], step[1], step[2]) for step in withdrawal.history]
    assert actors[-1] == (
        "approved",
        DEMO["compliance"],
        "second check done, destination whitelisted",
    )
    assert actors[0][1] == DEMO["ops"]


@both_browsers
async def test_a_read_only_operator_sees_no_action_and_a_forged_one_is_refused(
    app: App, browser: Browser
) -> None:
    await submit_applied(app, SetTenantThreshold("DEMO", "BTC", BTC))
    async with aiohttp.ClientSession() as http:
        body = {"account": "ACC1", "asset": "BTC", "amount": "2", "destination": "bc1q"}
        reply = await AdminClient(app, http).call("POST", "/admin/v1/withdrawals", body, role="ops")
        assert reply.status == 200, reply
    await browser.login(DEMO["read-only"], seed(app, "read-only"))
    # every action button on the page, in any view: none may be shown to this role
    shown = (
        "return [...document.querySelectorAll('[data-route]')]"
        ".filter(b => !b.hidden).map(b => b.id || b.textContent)"
    )
    for view in ("overview", "markets", "accounts", "funds"):
        await browser.click(f'nav [data-view="{view}"]')
        if view == "funds":
            await browser.until(
                "return document.querySelectorAll('#withdrawals tr[data-withdrawal]').length === 1"
            )
        if view == "accounts":
            await browser.until("return document.querySelectorAll('#accounts tbody tr').length > 1")
            await browser.until(
                "return document.querySelector('#tenants tr[data-tenant=\"DEMO\"]')"
            )
        assert await browser.js(shown) == [], view
        await browser.shot(
            f"read-only-{view}", docs="accounts-read-only" if view == "accounts" else ""
        )

    # The same request the Halt button would send, signed with the read-only key.
    forged = await browser.js_async(
        """const done = arguments[arguments.length - 1];
        api('PUT', '/instruments/BTC-USD/status', {status: 'halted', reason: 'forged'})
            .then(a => done({ok: a}),
                  e => done({status: e.problem.status, type: e.problem.type}));"""
    )
    assert forged == {"status": 403, "type": TYPE_PREFIX + "role-forbidden"}, forged
    assert app.host.engine.listings["BTC-USD"].status.name == "OPEN"


@both_browsers
async def test_disabling_a_fix_session_from_the_console_logs_it_out(
    app: App, browser: Browser, fix_login: Connect
) -> None:
    client = await fix_login("CLIENT1")
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("3")
    session = '#sessions tr[data-session="GATEWAY->CLIENT1"]'
    await browser.until(
        "return document.querySelector(arguments[0])?.textContent.includes('logged on')", session
    )
    await browser.shot("sessions")
    await browser.click(session + " button")
    await browser.confirm("client asked us to cut them off")
    logout = await client.expect("5", PATIENCE_S)
    assert "client asked us to cut them off" in (logout.get_str(58) or ""), logout
    await browser.until(
        "return document.querySelector(arguments[0]).textContent.includes('disabled')", session
    )
    await browser.shot("session-disabled")


@both_browsers
async def test_the_sessions_view_shows_message_rates_and_throttle_hits(
    make_gateway: MakeGateway, make_browser: MakeBrowser
) -> None:
    throttled = [
        dataclasses.replace(s, max_msgs_per_s=2) if s.target_comp_id == "CLIENT1" else s
        for s in load_config().fix.sessions
    ]
    app = await make_gateway(fix={"sessions": throttled}, ws={"max_requests_per_s": 5})
    assert app.fix is not None and app.ws is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
    fix = FixClient(reader, writer, sender="CLIENT1")
    await fix.send(
        "A", [(98, 0), (108, 30), (141, "Y"), (553, "CLIENT1"), (554, password("CLIENT1"))]
    )
    await fix.expect("A")
    ws = await connect_client(app)
    await ws.logon("demo-acc2")
    browser = await make_browser(app)
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("3")
    heads = await browser.until(
        "return [...document.querySelectorAll('#sessions thead th')].map(th => th.textContent)"
    )
    assert heads[6:10] == ["In/s", "Out/s", "Messages in / out", "Throttled"], heads

    # a burst over each session's rate limit: some refused, counted and shown
    await fix.send_raw(
        b"".join(fix.build("D", order(f"s{n}", 1, "0.1", "40000")) for n in range(10))
    )
    fix_refused = sum([(await fix.recv()).msg_type == "j" for _ in range(10)])
    ids = [await ws.send("instruments") for _ in range(8)]
    ws_refused = sum([(await ws.answer(i))["status"] == 429 for i in ids])
    assert fix_refused and ws_refused
    (session,) = [
        s for s in app.fix.acceptor.sessions.values() if s.settings.target_comp_id == "CLIENT1"
    ]
    (connection,) = app.ws.connections
    fix_row = '#sessions tr[data-session="GATEWAY->CLIENT1"]'
    ws_row = f'#sessions tr[data-session="{connection.session.peer}"]'
    wanted = [
        [row, f"{live.msgs_in} / {live.msgs_out}", str(refused)]
        for row, live, refused in (
            (fix_row, session, fix_refused),
            (ws_row, connection.session, ws_refused),
        )
    ]
    # both rows show the counters, and a rate of the window that holds the burst
    shown = await browser.until(
        "const rows = arguments[0].map(([row, messages, refused]) => {"
        "  const c = [...(document.querySelector(row)?.cells ?? [])].map(c => c.textContent);"
        "  return c[8] === messages && c[9] === refused && c[6] !== '0.0' ? c : null; });"
        " return rows.every(Boolean) && rows",
        wanted,
    )
    for cells in shown:
        assert all(re.fullmatch(r"[0-9]+\.[0-9]", cells[i]) for i in (6, 7)), cells
    # a REST order's pseudo-session: listed, with nothing counted, and its logout
    await RestClient(app, "demo-acc1").ok(
        "POST", "/api/v1/orders", limit("BTC-USD", "buy", "0.1", "100")
    )
    rest_row = '#sessions tr[data-session="demo-acc1@127.0.0.1"]'
    await browser.until(
        "const row = document.querySelector(arguments[0]);"
        " return row && row.cells[0].textContent === 'rest'"
        " && row.cells[4].textContent === 'logged on' && row.cells[5].textContent !== ''"
        " && !row.querySelector('button.logout').hidden",
        rest_row,
    )
    await browser.shot("sessions", docs="sessions")
    await ws.close()


@both_browsers
async def test_an_analyst_works_an_alert_from_the_queue(
    make_admin: MakeAdmin, make_browser: MakeBrowser
) -> None:
    admin = await make_admin(surveillance=SURVEILLANCE)
    await follow(admin)  # the store exists, without alerts
    browser = await make_browser(admin.app)
    await browser.login(DEMO["compliance"], seed(admin.app, "compliance"))
    await browser.keys("6")
    await browser.until(
        "return document.getElementById('alerts-note').textContent === '0 alert(s), oldest first'"
    )
    # the queue is open: a new alert is pushed to it, no reload
    await wash_trades(admin)
    await follow(admin)
    await browser.until("return document.querySelectorAll('#alerts tr[data-alert]').length === 1")
    alert_id = await browser.js(
        "return document.querySelector('#alerts tr[data-alert]').dataset.alert"
    )
    await browser.click(f'#alerts tr[data-alert="{alert_id}"] button')
    await browser.until("return document.getElementById('alert-state').textContent === 'new'")
    await browser.click('#alert-detail [data-step="in_review"]')
    await browser.confirm("ACC2 is owned by ACC1: looking at the fills")
    await browser.until("return document.getElementById('notice').textContent.includes('Done')")
    # the step is journaled at once; once the follower stored it, the queue's row and
    # the open alert show it, no reload
    await follow(admin)
    await browser.until(
        "return document.querySelector(arguments[0]).textContent.includes('in_review')",
        f'#alerts tr[data-alert="{alert_id}"]',
    )
    await browser.until("return document.getElementById('alert-state').textContent === 'in_review'")
    notes = await browser.js("return document.querySelector('#alert-notes tbody').textContent")
    assert "ACC2 is owned by ACC1: looking at the fills" in notes
    assert DEMO["compliance"] in notes
    await browser.shot("alert", docs="surveillance")

    # Surveillance is confidential: ops sees no queue and no review button.
    await browser.click("#logout")
    await browser.login(DEMO["ops"], seed(admin.app, "ops"))
    await browser.keys("6")
    await browser.until(
        "return document.getElementById('alerts-note').textContent.includes('confidential')"
    )
    assert (
        await browser.js("return document.querySelectorAll('#alerts tr[data-alert]').length") == 0
    )


@both_browsers
async def test_an_account_is_found_and_disabled_from_the_console(
    app: App, browser: Browser
) -> None:
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("/")  # the account search, by keyboard
    await browser.keys("ACC1", "\ue007")
    account = '#accounts tr[data-account="ACC1"]'
    await browser.until(
        "return document.querySelectorAll('#accounts tr[data-account]').length === 1"
    )
    open_orders = f"return document.querySelector('{account}').cells[5].textContent"
    assert await browser.js(open_orders) == "0"
    # an order of the account being viewed: its row follows, no reload
    await submit_applied(
        app, NewOrder("ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 10_000, 4_000_000)
    )
    await browser.until(open_orders + " === '1'")
    assert "USD 1000000000 / 400" in await browser.js(
        f"return document.querySelector('{account}').cells[7].textContent"
    )
    await browser.shot("accounts", docs="accounts")
    await browser.click(account + " button")  # Disable comes first
    await browser.confirm("chargeback under investigation")
    await browser.until(
        "return document.querySelector(arguments[0])?.textContent.includes('DISABLED')", account
    )
    assert not app.host.engine.accounts["ACC1"].enabled


@both_browsers
async def test_a_tenant_is_suspended_and_resumed_from_the_console(
    app: App, browser: Browser
) -> None:
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("4")
    tenant = '#tenants tr[data-tenant="DEMO"]'
    await browser.until("return document.querySelector(arguments[0])", tenant)
    cells = await browser.js(
        "return [...document.querySelector(arguments[0]).cells].map(c => c.textContent)", tenant
    )
    members = len(app.host.engine.tenancy.members["DEMO"])
    assert cells[:4] == ["DEMO", "Demo broker", "active", str(members)], cells
    assert "daily withdrawal" in cells[4] and "BTC 1000000" in cells[4], cells
    await browser.shot("tenants", docs="tenants")
    await browser.click(tenant + " button")  # Suspend
    await browser.confirm("broker under regulatory review")
    await browser.until(
        "return document.querySelector(arguments[0])?.textContent.includes('SUSPENDED')", tenant
    )
    assert app.host.engine.tenancy.tenants["DEMO"].status.name == "SUSPENDED"
    assert await browser.js(f"return document.querySelector('{tenant} button').textContent") == (
        "Resume"
    )
    await browser.shot("tenants-suspended")
    await browser.click(tenant + " button")  # Resume
    await browser.confirm("review closed")
    await browser.until(
        "return document.querySelector(arguments[0])?.cells[2].textContent === 'active'", tenant
    )
    assert app.host.engine.tenancy.tenants["DEMO"].status.name == "ACTIVE"


@both_browsers
async def test_tenant_changes_by_another_operator_show_on_the_open_page(
    app: App, browser: Browser
) -> None:
    await browser.login(DEMO["read-only"], seed(app, "read-only"))
    await browser.keys("4")
    tenant = '#tenants tr[data-tenant="DEMO"]'
    await browser.until(
        "return document.querySelector(arguments[0])?.cells[2].textContent === 'active'", tenant
    )
    await browser.js("window.notReloaded = true")  # a reload would clear it
    async with aiohttp.ClientSession() as http:
        client = AdminClient(app, http)
        body = {"reason": "broker under regulatory review", "cancel_orders": False}
        reply = await client.call("POST", "/admin/v1/tenants/DEMO/suspend", body, role="ops")
        assert reply.status == 200, reply
        await browser.until(
            "return document.querySelector(arguments[0])?.textContent.includes('SUSPENDED')",
            tenant,
        )
        # a new tenant (the search is empty, so it passes) and its first account
        body = {"tenant": "NEWCO", "name": "New broker", "revenue_account": "NEWCO-REV"}
        assert (await client.call("POST", "/admin/v1/tenants", body)).status == 200
        added = '#tenants tr[data-tenant="NEWCO"]'
        await browser.until(
            "return document.querySelector(arguments[0])?.cells[3].textContent === '1'", added
        )
        body = {"account": "NEWCO-1", "label": "first"}
        reply = await client.call("POST", "/admin/v1/tenants/NEWCO/accounts", body)
        assert reply.status == 200, reply
        await browser.until(
            "return document.querySelector(arguments[0])?.cells[3].textContent === '2'", added
        )
    assert await browser.js("return window.notReloaded === true")
    await browser.shot("tenants-pushed")


@both_browsers
async def test_an_admin_action_appears_in_the_open_audit_view(app: App, browser: Browser) -> None:
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("7")
    await browser.type("#audit-path", "/instruments/")
    await browser.click("#audit-filter button[type=submit]")
    await browser.until("return document.querySelector('#audit tbody tr.empty')")
    async with aiohttp.ClientSession() as http:
        client = AdminClient(app, http)
        assert (await client.call("GET", "/admin/v1/fix-sessions", role="support")).status == 200
        body = {"status": "halted", "reason": "exchange-wide incident drill"}
        reply = await client.call("PUT", "/admin/v1/instruments/ETH-USD/status", body, role="ops")
        assert reply.status == 200, reply
    # the action's record is pushed to the top of the open view; the filter holds
    top = "return document.querySelector('#audit tbody tr')?.textContent"
    await browser.until(top + "?.includes('exchange-wide incident drill')")
    rows = await browser.js("return document.querySelector('#audit tbody').textContent")
    assert "/fix-sessions" not in rows
    await browser.shot("audit-live")


@both_browsers
async def test_a_fix_session_is_logged_out_from_the_console_and_logs_on_again(
    app: App, browser: Browser, fix_login: Connect
) -> None:
    client = await fix_login("CLIENT2")
    await browser.login(DEMO["ops"], seed(app, "ops"))
    await browser.keys("3")
    session = '#sessions tr[data-session="GATEWAY->CLIENT2"]'
    await browser.click(session + " button.logout")
    await browser.confirm("reset after a stuck sequence")
    logout = await client.expect("5", PATIENCE_S)
    assert logout.get_str(58) == "Logged out by the venue: reset after a stuck sequence", logout
    await client.send("5", [])
    await browser.until(
        "return document.querySelector(arguments[0])?.textContent.includes('down')", session
    )
    await browser.shot("session-logged-out")
    assert app.host.engine.credentials.fix_sessions["GATEWAY->CLIENT2"].enabled
    await fix_login("CLIENT2")  # not disabled: it logs on again
    await browser.until(
        "return document.querySelector(arguments[0])?.textContent.includes('logged on')", session
    )


async def test_the_demo_perpetual_lives_in_the_markets_view(app: App, browser: Browser) -> None:
    await app.start_demo_lp()  # as `make run` does
    await browser.login(DEMO["read-only"], seed(app, "read-only"))
    await browser.keys("2")
    await browser.click('#market-tabs [data-symbol="ETH-PERP"]')
    await browser.until(
        "return document.querySelectorAll('#ladder tr.ask').length === 5"
        " && document.querySelectorAll('#ladder tr.bid').length === 5"
    )
    figures = await browser.until(
        "const dd = [...document.querySelectorAll('#market-stats dd.perp')];"
        " return dd.length === 2 && dd.every(d => /^[0-9.]+$/.test(d.textContent))"
        " && dd.map(d => d.textContent)"
    )
    market = app.host.engine.perps.markets["ETH-PERP"]
    assert market.mark and market.index and len(figures) == 2
    await browser.shot("perp", docs="markets-perp")


@both_browsers
async def test_a_tenant_admin_sees_its_own_tenant_only(app: App, browser: Browser) -> None:
    await submit_applied(app, CreateTenant("RIVALBANK", "Rival bank", "RIVAL-REV"))
    await submit_applied(app, OpenTenantAccount("RIVAL-CLIENT-7", "RIVALBANK"))
    await browser.login(DEMO["tenant-admin"], seed(app, "tenant-admin"))
    await browser.keys("4")  # tenants and accounts: every account the search finds
    await browser.keys("/")
    await browser.keys("\ue007")
    listed = "return [...document.querySelectorAll(arguments[0])].map(r => r.dataset.%s)"
    rows = listed % "account"
    own = sorted(a for a, acc in app.host.engine.accounts.items() if acc.tenant == "DEMO")
    await browser.until(rows + ".length === arguments[1]", "#accounts tr[data-account]", len(own))
    assert sorted(await browser.js(rows, "#accounts tr[data-account]")) == own
    tenants = listed % "tenant"
    await browser.until(tenants + ".length === 1", "#tenants tr[data-tenant]")
    assert await browser.js(tenants, "#tenants tr[data-tenant]") == ["DEMO"]
    await browser.shot("tenant-admin", docs="tenant-admin")
    page = await browser.js("return document.body.textContent")
    assert "RIVAL" not in page and "VENUE-FEES" not in page
    await browser.click('nav [data-view="audit"]')  # the audit log is venue staff's
    await browser.until("return document.getElementById('audit-note').textContent !== ''")
    assert await browser.js("return document.getElementById('audit-filter').hidden") is True
