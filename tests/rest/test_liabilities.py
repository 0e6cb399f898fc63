"""GET /api/v1/liabilities: the published root and totals, read from the store by the
gateway (SQLite and PostgreSQL); a client checks its proof against exactly this."""

from __future__ import annotations

from pathlib import Path

from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import balances_of, publish
from gateway.follower.store import open_store
from tests.conftest import MakeGateway
from tests.rest.test_http import get


async def test_the_newest_publication_is_served(
    make_gateway: MakeGateway, store_url: str, tmp_path: Path
) -> None:
    app = await make_gateway(store={"url": store_url, "follower": False})
    status, body, _ = await get(app, "/api/v1/liabilities")
    assert status in (404, 503)  # nothing published (SQLite: no store file yet)
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    status, body, _ = await get(app, "/api/v1/liabilities")
    assert (status, body["error"]["code"]) == (404, "not_published")
    balances = balances_of(app.host.engine)
    first = await publish(store, build(3, balances), 1_000)
    newest = await publish(store, build(app.host.engine.last_seq, balances), 2_000)
    await store.close()
    assert await get(app, "/api/v1/liabilities") == (200, newest, "application/json")
    assert (await get(app, "/api/v1/liabilities?seq=3"))[1] == first
    assert newest["totals"]["USD"] == sum(b.get("USD", 0) for b in balances.values())
    status, body, _ = await get(app, "/api/v1/liabilities?seq=4")
    assert (status, body["error"]["code"]) == (404, "not_published")
    status, body, _ = await get(app, "/api/v1/liabilities?seq=x")
    assert (status, body["error"]["code"]) == (400, "invalid_param")
