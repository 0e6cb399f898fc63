"""REST sessions: a REST order names the API key and address that sent it, through a
journaled ``rest`` session that ends when idle, when its key is revoked and when the
gateway stops (an operator's logout: tests/gateway/admin/test_session_logout.py).
A real gateway over real sockets, its journal followed into SQLite and PostgreSQL."""

from __future__ import annotations

from engine.venue.credentials import RevokeApiKey
from gateway.app import App
from gateway.rest.sessions import RestSessions
from tests.conftest import MakeGateway, follow, submit_applied
from tests.rest.helpers import RestClient
from tests.ws.helpers import limit


def _open_rest(app: App) -> dict[int, list[str]]:
    return {sid: info for sid, info in app.host.engine.sessions.open.items() if info[0] == "rest"}


async def _place(rest: RestClient, client_order_id: str) -> None:
    body = limit("BTC-USD", "buy", "0.1", "100", client_order_id=client_order_id)
    await rest.ok("POST", "/api/v1/orders", body)


async def test_rest_orders_name_their_key_and_source(
    make_gateway: MakeGateway, store_url: str
) -> None:
    app = await make_gateway(store={"url": store_url})
    acc1, acc2 = RestClient(app, "demo-acc1"), RestClient(app, "demo-acc2")
    await acc1.ok("GET", "/api/v1/balances")
    assert _open_rest(app) == {}  # a read opens nothing
    await _place(acc1, "r1")
    await _place(acc1, "r2")
    await _place(acc2, "q1")
    (first, info1), (second, info2) = sorted(_open_rest(app).items())
    assert info1 == ["rest", "demo-acc1", "ACC1", "127.0.0.1"]
    assert info2 == ["rest", "demo-acc2", "ACC2", "127.0.0.1"]

    # a revoked key's session ends; the other key's goes on
    await submit_applied(app, RevokeApiKey("demo-acc2"))
    await _place(acc1, "r3")
    assert set(_open_rest(app)) == {first}

    await follow(app)
    assert app.readstore is not None
    f = app.readstore
    sessions = await f.fetch(
        "SELECT session, event, protocol, name, account, source, reason FROM sessions"
        " WHERE protocol = 'rest' ORDER BY seq, idx"
    )
    assert sessions == [
        (first, "logon", "rest", "demo-acc1", "ACC1", "127.0.0.1", ""),
        (second, "logon", "rest", "demo-acc2", "ACC2", "127.0.0.1", ""),
        (second, "logout", "rest", "demo-acc2", "ACC2", "127.0.0.1", "api key demo-acc2 revoked"),
    ]
    origins = await f.fetch(
        "SELECT client_order_id, origin FROM orders WHERE event = 'accepted' ORDER BY seq"
    )
    assert origins == [("r1", str(first)), ("r2", str(first)), ("q1", str(second)),
                       ("r3", str(first))]  # fmt: skip


async def test_an_idle_session_is_closed_and_a_used_one_kept(gateway: App) -> None:
    now = [1_000_000]
    sessions = RestSessions(gateway.host, clock_ms=lambda: now[0], idle_ms=60_000)
    idle = sessions.origin("demo-acc1", "ACC1", "192.0.2.1")
    busy = sessions.origin("demo-acc2", "ACC2", "192.0.2.2")
    assert idle and busy and idle != busy
    # the same key from another address is another session; the same pair is reused
    other = sessions.origin("demo-acc1", "ACC1", "192.0.2.3")
    assert other not in (idle, busy)
    now[0] += 50_000
    assert sessions.origin("demo-acc2", "ACC2", "192.0.2.2") == busy
    now[0] += 10_000
    assert sessions.sweep() == 2  # idle and other: 60 s unused; busy was used 10 s ago
    open_now = gateway.host.engine.sessions.open
    assert busy in open_now and idle not in open_now and other not in open_now
    assert sessions.origin("demo-acc1", "ACC1", "192.0.2.1") not in (0, idle)

    await sessions.stop()  # the gateway stops: nothing is left open
    assert _open_rest(gateway) == {}
