"""A client fetches its own proof of liabilities over WS (liabilities.proof) and the
signed REST route, and it verifies against the published root; never another
account's. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from gateway.app import App
from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import balances_of, publish
from gateway.follower.store import open_store
from tests.conftest import MakeGateway
from tests.gateway.follower.verifier import load_verifier
from tests.rest.helpers import RestClient
from tests.ws.helpers import connect_client

V = load_verifier()


async def _publish(app: App, store_url: str, tmp_path: Path) -> dict[str, object]:
    balances = balances_of(app.host.engine)
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    published = await publish(store, build(app.host.engine.last_seq, balances), 1_000)
    await store.close()
    return published


async def test_a_client_fetches_and_verifies_its_own_proof(
    make_gateway: MakeGateway, store_url: str, tmp_path: Path
) -> None:
    app = await make_gateway(store={"url": store_url, "follower": False})
    ws = await connect_client(app)
    await ws.logon("demo-acc1")
    store = open_store(store_url, tmp_path / "unused")
    await store.open()  # the follower's tables, nothing published
    await store.close()
    early = await ws.call("liabilities.proof")
    assert (early["status"], early["error"]["code"]) == (404, 1031)
    published = await _publish(app, store_url, tmp_path)
    proof = await ws.ok("liabilities.proof")
    assert proof["account"] == "ACC1" and proof["seq"] == published["seq"]
    assert V.verify(proof, published) == published["root"]
    assert proof["balances"]["USD"] == app.host.engine.accounts["ACC1"].balances["USD"].total
    other = await ws.call("liabilities.proof", {"account": "ACC2"})
    assert other["status"] == 400 and "no account 'ACC2' of yours" in other["error"]["msg"]
    missing = await ws.call("liabilities.proof", {"seq": published["seq"] + 1})
    assert missing["error"]["code"] == 1031
    status, over_rest = await RestClient(app, "demo-acc1").get("/api/v1/liabilities/proof")
    assert status == 200 and V.verify(over_rest, published)
    status, _ = await RestClient(app, "demo-acc1").get("/api/v1/liabilities/proof?account=ACC2")
    assert status == 400
    await ws.close()
