"""liabilities.proof as a hostile client calls it: a seq beyond what the store's
integers hold is a 400 invalid-params over WS and REST (never a 500 internal error),
and the signed REST route takes ?seq= as the integer it documents."""

from __future__ import annotations

from pathlib import Path

from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import balances_of, publish
from gateway.follower.store import open_store
from tests.conftest import MakeGateway
from tests.rest.helpers import RestClient
from tests.ws.helpers import connect_client

PROOF = "/api/v1/liabilities/proof"


async def test_a_seq_out_of_range_is_invalid_params(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    store_url = f"sqlite:{tmp_path / 'store.sqlite3'}"
    app = await make_gateway(store={"url": store_url, "follower": False})
    balances = balances_of(app.host.engine)
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    published = await publish(store, build(app.host.engine.last_seq, balances), 1_000)
    await store.close()
    ws = await connect_client(app)
    await ws.logon("demo-acc1")
    for seq in (2**63, 2**64 - 1):
        answer = await ws.call("liabilities.proof", {"seq": seq})
        assert (answer["status"], answer["error"]["code"]) == (400, 1004), answer
    assert (await ws.ok("liabilities.proof", {"seq": published["seq"]}))["account"] == "ACC1"
    await ws.close()
    rest = RestClient(app, "demo-acc1")
    status, proof = await rest.get(f"{PROOF}?seq={published['seq']}")
    assert (status, proof["seq"]) == (200, published["seq"]), proof
    for seq in ("9" * 19, "9" * 30, "%C2%B2"):
        status, refused = await rest.get(f"{PROOF}?seq={seq}")
        assert (status, refused["error"]["code"]) == (400, 1004), (seq, refused)
