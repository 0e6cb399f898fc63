"""Sessions in the journal and the store: FIX and WS logons and logouts with their
reasons, each order's origin session, sessions a dead gateway left open closed at the
next start. A real gateway over real sockets, its journal followed into SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.venue.sessions import SessionOpened
from gateway.app import App
from gateway.follower.follower import Follower, FollowerSettings
from tests.conftest import MakeGateway
from tests.conftest import test_config as venue_config
from tests.gateway.conftest import Connect
from tests.ws.helpers import connect_client, limit

ORDER = [(11, "fix-1"), (55, "BTC-USD"), (54, 1), (38, "0.1"), (40, 2), (44, "100"), (59, 1),
         (60, "20261123-00:00:00")]  # fmt: skip


async def _followed(app: App, store_url: str) -> Follower:
    """A follower that stored everything the gateway has journaled so far."""
    done = asyncio.get_running_loop().create_future()
    app.host.defer(lambda: done.set_result(None))
    await done  # journaled
    f = Follower(FollowerSettings(Path(app.config.journal.dir), store_url=store_url))
    await f.start(asyncio.Event())
    while await f.step(asyncio.Event()):
        pass
    return f


async def _until_closed(app: App, session: int) -> None:
    while session in app.host.engine.sessions.open:
        await asyncio.sleep(0.01)


async def test_logons_logouts_and_the_origin_of_orders(
    app: App, fix_login: Connect, store_url: str
) -> None:
    fix = await fix_login("CLIENT1")
    fix_id = max(app.host.engine.sessions.open)
    await fix.send("D", ORDER)
    await fix.expect("8")
    ws = await connect_client(app)
    await ws.logon()
    ws_id = max(app.host.engine.sessions.open)
    placed = await ws.ok(
        "order.place", limit("BTC-USD", "sell", "0.1", "200", client_order_id="ws-1")
    )
    await ws.ok("order.cancel", {"symbol": "BTC-USD", "client_order_id": "ws-1"})
    assert placed["status"] == "new"
    for _ in range(2):  # the account's WS order, new and canceled: the session sees both
        await fix.expect("8")
    await fix.send("5", [(58, "done for the day")])
    await fix.expect("5")
    await ws.close()
    await asyncio.wait_for(_until_closed(app, ws_id), 5)
    await asyncio.wait_for(_until_closed(app, fix_id), 5)

    f = await _followed(app, store_url)
    sessions = await f.store.fetch(
        "SELECT session, event, protocol, name, account, reason FROM sessions ORDER BY seq, idx"
    )
    fix_name = sessions[0][3]
    assert sessions == [
        (fix_id, "logon", "fix", fix_name, "ACC1", ""),
        (ws_id, "logon", "ws", "demo-acc1", "ACC1", ""),
        (fix_id, "logout", "fix", fix_name, "ACC1", "Logout received"),
        (ws_id, "logout", "ws", "demo-acc1", "ACC1", "connection closed"),
    ]
    assert "CLIENT1" in fix_name
    source = await f.store.fetch("SELECT DISTINCT source FROM sessions")
    assert source == [("127.0.0.1",)]
    origins = await f.store.fetch(
        "SELECT client_order_id, event, origin FROM orders ORDER BY seq, idx"
    )
    assert origins == [
        ("fix-1", "accepted", str(fix_id)),
        ("ws-1", "accepted", str(ws_id)),
        ("ws-1", "canceled", str(ws_id)),
    ]
    assert not await f.store.fetch("SELECT kind FROM venue_events WHERE kind LIKE 'session.%'")
    await f.close()


async def test_a_restart_closes_the_sessions_left_open(
    make_gateway: MakeGateway, store_url: str, tmp_path: Path
) -> None:
    first = App(venue_config(tmp_path))  # the journal make_gateway's gateway starts from
    await first.start()
    first.host.submit(SessionOpened("fix", "FIX.4.4:VENUE->GONE", "ACC1", "192.0.2.7"))
    left = first.host.engine.last_seq
    await first.stop()  # as if it died: nothing logged the session out
    second = await make_gateway()
    assert not second.host.engine.sessions.open
    f = await _followed(second, store_url)
    assert await f.store.fetch(
        "SELECT event, reason FROM sessions WHERE session = ? ORDER BY seq", left
    ) == [("logon", ""), ("logout", "gateway restarted")]
    await f.close()
