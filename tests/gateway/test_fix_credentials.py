"""FIX sessions live over real sockets: created, disabled, re-enabled, changed and
deleted while the gateway runs; a live session is logged out with a reason."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.venue.credentials import (
    CreateFixSession,
    DeleteFixSession,
    SetFixSessionEnabled,
    UpdateFixSession,
)
from gateway.app import App
from gateway.fix.auth import hash_password
from tests.conftest import submit_applied
from tests.fix.conftest import FixClient, new_order_single
from tests.gateway.conftest import Connect

PATIENCE_S = 10.0


async def submit_ok(app: App, command: Any) -> None:
    events = await submit_applied(app, command)
    assert type(events[0]).__name__ == "VenueEvent", events


async def log_on(app: App, sender: str, password: str) -> FixClient:
    """Connect and send a Logon; the caller expects the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
    client = FixClient(reader, writer, sender=sender)
    await client.send("A", [(98, 0), (108, 30), (141, "Y"), (553, sender), (554, password)])
    return client


async def refused(app: App, sender: str, password: str) -> None:
    """A Logon for ``sender`` is closed without an answer (no such enabled session)."""
    client = await log_on(app, sender, password)
    await client.expect_closed(PATIENCE_S)


def new_session(target: str, password: str, cls: type[CreateFixSession] = CreateFixSession) -> Any:
    return cls(
        "GATEWAY", target, "FIX.4.4", "order_entry", "ACC1", "password",
        password_hash=hash_password(password), max_msgs_per_s=100,
    )  # fmt: skip


async def test_disabling_a_session_logs_it_out_and_refuses_logons_until_enabled(
    app: App, fix_login: Connect
) -> None:
    client = await fix_login("CLIENT1")
    await submit_ok(app, SetFixSessionEnabled("GATEWAY", "CLIENT1", False, "compliance hold"))
    logout = await client.expect("5", PATIENCE_S)
    assert logout.get_str(58) == "Session disabled by the venue: compliance hold"
    # an order sent before the Logout answer is refused (its BusinessMessageReject is
    # stored like any message sent while logging out), never placed
    await client.send("D", new_order_single("AFTER"))
    await client.send("5", [])
    await client.expect_closed(PATIENCE_S)
    assert app.tracker.find("ACC1", "AFTER") is None
    await refused(app, "CLIENT1", "demo-client1")

    await submit_ok(app, SetFixSessionEnabled("GATEWAY", "CLIENT1", True))
    again = await log_on(app, "CLIENT1", "demo-client1")
    await again.expect("A", PATIENCE_S)
    await again.close()


async def test_a_created_session_logs_on_without_a_restart_and_a_deleted_one_cannot(
    app: App,
) -> None:
    await refused(app, "NEW1", "pw-new1")
    await submit_ok(app, new_session("NEW1", "pw-new1"))
    client = await log_on(app, "NEW1", "pw-new1")
    await client.expect("A", PATIENCE_S)
    await client.send("D", new_order_single("N1"))
    report = await client.expect("8", PATIENCE_S)
    assert report.get_str(150) == "0" and report.get_str(1) == "ACC1"

    await submit_ok(app, DeleteFixSession("GATEWAY", "NEW1", "offboarded"))
    logout = await client.expect("5", PATIENCE_S)
    assert logout.get_str(58) == "Session deleted by the venue: offboarded"
    await client.send("5", [])
    await client.expect_closed(PATIENCE_S)
    await refused(app, "NEW1", "pw-new1")

    # created again (same CompIDs): its old store is reused, the new password counts
    await submit_ok(app, new_session("NEW1", "pw-new2"))
    back = await log_on(app, "NEW1", "pw-new2")
    await back.expect("A", PATIENCE_S)
    await back.close()


async def test_a_password_change_logs_the_live_session_out(app: App) -> None:
    await submit_ok(app, new_session("ROT1", "old-pw"))
    client = await log_on(app, "ROT1", "old-pw")
    await client.expect("A", PATIENCE_S)
    await submit_ok(app, new_session("ROT1", "new-pw", UpdateFixSession))
    logout = await client.expect("5", PATIENCE_S)
    assert logout.get_str(58) == "Session credentials changed by the venue; log on again"
    await client.send("5", [])
    await client.expect_closed(PATIENCE_S)
    stale = await log_on(app, "ROT1", "old-pw")
    assert (await stale.expect("5", PATIENCE_S)).get_str(58) == "Authentication failed"
    fresh = await log_on(app, "ROT1", "new-pw")
    await fresh.expect("A", PATIENCE_S)
    await fresh.close()
