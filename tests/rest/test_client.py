"""The signed client REST routes against a running gateway: history read from the
follower's store (SQLite and PostgreSQL), sub-accounts, transfers and withdrawals;
every key sees its own account's rows only; forged, tampered and replayed requests
are refused and change nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from engine.venue.credentials import RevokeApiKey
from engine.venue.tenancy_commands import CreateSubAccount
from gateway.app import App
from gateway.rest.client import ROUTES
from gateway.rest.signing import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP
from gateway.scopes import METHOD_SCOPES
from tests.conftest import MakeGateway, follow, submit_applied
from tests.rest.helpers import RestClient
from tests.ws.helpers import ED25519_SEED, connect_client, issue_key, limit

HISTORY = ("/api/v1/orders", "/api/v1/fills", "/api/v1/ledger")


async def _trade(app: App) -> None:
    """ACC1 rests a sell, ACC2 takes it; each account also places and cancels a buy."""
    acc1, acc2 = await connect_client(app), await connect_client(app)
    await acc1.logon("demo-acc1")
    await acc2.logon("demo-acc2")
    await acc1.ok("order.place", limit("BTC-USD", "sell", "0.5", "100", client_order_id="s1"))
    await acc2.ok("order.place", limit("BTC-USD", "buy", "0.5", "100", client_order_id="t1"))
    for c in (acc1, acc2):
        buy = await c.ok("order.place", limit("ETH-USD", "buy", "1", "10"))
        await c.ok("order.cancel", {"symbol": "ETH-USD", "order_id": buy["id"]})
        await c.close()


def _error(answer: tuple[int, Any]) -> tuple[int, int]:
    status, body = answer
    return status, body["error"]["code"]


@pytest.fixture
async def stored(make_gateway: MakeGateway, store_url: str) -> App:
    return await make_gateway(store={"url": store_url})


async def test_every_key_reads_its_own_accounts_rows_only(stored: App) -> None:
    await _trade(stored)
    seq = await follow(stored)
    rows_of: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for key, account in (("demo-acc1", "ACC1"), ("demo-acc2", "ACC2"), ("demo-acc3", "ACC3")):
        rest = RestClient(stored, key)
        rows_of[account] = {}
        for path in HISTORY:
            page = await rest.ok("GET", path)
            table = path.rsplit("/", 1)[1]
            assert page["as_of_seq"] == seq and page["next_cursor"] is None
            rows_of[account][table] = page[table]
            assert {row["account"] for row in page[table]} <= {account}, (key, path)
            for other in {"ACC1", "ACC2", "ACC3"} - {account}:
                refused = await rest.get(f"{path}?account={other}")
                assert _error(refused) == (400, 2002), (key, path, other)
    # what each saw is its own: ACC1 the maker, ACC2 the taker, ACC3 nothing traded
    assert [f["liquidity"] for f in rows_of["ACC1"]["fills"]] == ["maker"]
    assert [f["liquidity"] for f in rows_of["ACC2"]["fills"]] == ["taker"]
    assert [o["event"] for o in rows_of["ACC2"]["orders"]] == ["accepted"] * 2 + ["canceled"]
    assert rows_of["ACC3"]["orders"] == rows_of["ACC3"]["fills"] == []
    # no leg names another client: the trade's contra is hidden
    for account, tables in rows_of.items():
        for leg in tables["ledger"]:
            assert leg["contra"] in (None, "@fees", "@external"), (account, leg)

    # the same rows with the Ed25519 key of demo-acc1, and a page at a time
    ed = RestClient(stored, "demo-acc1", seed=ED25519_SEED)
    assert (await ed.ok("GET", "/api/v1/orders"))["orders"] == rows_of["ACC1"]["orders"]
    paged: list[dict[str, Any]] = []
    path = "/api/v1/orders?limit=1"
    while True:
        page = await ed.ok("GET", path)
        paged += page["orders"]
        if page["next_cursor"] is None:
            break
        path = f"/api/v1/orders?limit=1&cursor={page['next_cursor']}"
    assert paged == rows_of["ACC1"]["orders"]
    usd = await ed.ok("GET", "/api/v1/ledger?asset=USD&from=1")
    assert [leg["asset"] for leg in usd["ledger"]] == ["USD"] * len(usd["ledger"])
    eth = await ed.ok("GET", "/api/v1/orders?symbol=ETH-USD&status=canceled")
    assert [o["event"] for o in eth["orders"]] == ["canceled"]


async def test_forged_tampered_and_replayed_requests_are_refused(gateway: App) -> None:
    await submit_applied(gateway, CreateSubAccount("ACC1.sub", "ACC1"))
    rest = RestClient(gateway, "demo-acc1")
    path = "/api/v1/balances"
    headers = rest.signed("GET", path)
    assert (await rest.send("GET", path, headers=headers))[0] == 200
    assert _error(await rest.send("GET", path, headers=headers)) == (401, 1015)  # replayed

    assert _error(await rest.send("GET", path, headers={})) == (401, 1010)  # unsigned
    flipped = rest.signed("GET", path)
    sig = flipped[HEADER_SIGNATURE]
    flipped[HEADER_SIGNATURE] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    assert _error(await rest.send("GET", path, headers=flipped)) == (401, 1012)
    # signed by ACC2's secret, presented as ACC1's key
    forged = RestClient(gateway, "demo-acc1", secret="demo-secret-acc2")
    assert _error(await forged.get(path)) == (401, 1012)
    # signed for ACC1's own rows, sent for ACC2's: the query is signed
    mine = rest.signed("GET", "/api/v1/orders?account=ACC1")
    assert _error(await rest.send("GET", "/api/v1/orders?account=ACC2", headers=mine)) == (
        401, 1012,
    )  # fmt: skip
    # a body changed after signing: nothing moves
    body = orjson.dumps({"to_account": "ACC1.sub", "asset": "USD", "amount": "1"})
    signed = rest.signed("POST", "/api/v1/transfers", body)
    bigger = body.replace(b'"1"', b'"100"')
    assert _error(await rest.send("POST", "/api/v1/transfers", bigger, signed)) == (401, 1012)
    # the same request signed for another method
    as_get = rest.signed("GET", "/api/v1/transfers", body)
    assert _error(await rest.send("POST", "/api/v1/transfers", body, as_get)) == (401, 1012)
    assert gateway.host.engine.accounts["ACC1.sub"].balances.get("USD") is None

    stale = rest.signed("GET", path)
    stale[HEADER_TIMESTAMP] = str(int(stale[HEADER_TIMESTAMP]) - 60_000)
    assert _error(await rest.send("GET", path, headers=stale)) == (401, 1013)
    short = rest.signed("GET", path)
    short[HEADER_NONCE] = "x"
    assert _error(await rest.send("GET", path, headers=short)) == (400, 1002)
    assert _error(await RestClient(gateway, "nobody", secret="x").get(path)) == (401, 1011)


async def test_the_keys_scopes_allowlist_and_revocation_hold(gateway: App) -> None:
    reader = RestClient(gateway, "reader", secret=await issue_key(gateway, "reader", "read"))
    trader = RestClient(gateway, "trader", secret=await issue_key(gateway, "trader", "trade"))
    fenced = RestClient(
        gateway, "fenced",
        secret=await issue_key(gateway, "fenced", "read", ip_allowlist="10.0.0.0/8"),
    )  # fmt: skip
    assert (await reader.get("/api/v1/balances"))[0] == 200
    transfer = {"to_account": "ACC1", "asset": "USD", "amount": "1"}
    assert _error(await reader.post("/api/v1/transfers", transfer)) == (403, 1019)
    assert _error(await reader.post("/api/v1/withdrawals", {})) == (403, 1019)
    assert _error(await trader.get("/api/v1/fills")) == (403, 1019)
    assert _error(await fenced.get("/api/v1/balances")) == (403, 1018)
    await submit_applied(gateway, RevokeApiKey("reader"))
    assert _error(await reader.get("/api/v1/balances")) == (401, 1016)


async def test_sub_accounts_transfers_and_withdrawals(gateway: App) -> None:
    await submit_applied(gateway, CreateSubAccount("ACC1.hedge", "ACC1", "hedge"))
    await submit_applied(gateway, CreateSubAccount("ACC2.x", "ACC2"))
    rest = RestClient(gateway, "demo-acc1")
    other = RestClient(gateway, "demo-acc2")
    moved = await rest.ok(
        "POST", "/api/v1/transfers",
        {"to_account": "ACC1.hedge", "asset": "USD", "amount": "25.5", "transfer_id": "t1"},
    )  # fmt: skip
    assert moved == {
        "transfer_id": "t1", "from_account": "ACC1", "to_account": "ACC1.hedge",
        "asset": "USD", "amount": "25.5",
    }  # fmt: skip
    (sub,) = (await rest.ok("GET", "/api/v1/sub-accounts"))["sub_accounts"]
    assert (sub["account"], sub["label"], sub["balances"][0]["total"]) == (
        "ACC1.hedge", "hedge", "25.5",
    )  # fmt: skip
    # another account's sub-account is unknown to this key, and nothing moves
    refused = await rest.post("/api/v1/transfers", {"to_account": "ACC2.x", "asset": "USD",
                                                    "amount": "1"})  # fmt: skip
    assert _error(refused) == (400, 2002)
    assert _error(await rest.post("/api/v1/transfers", {"to_account": "ACC1.hedge"})) == (
        400, 1004,
    )  # fmt: skip

    held = await rest.ok(
        "POST", "/api/v1/withdrawals",
        {"asset": "BTC", "amount": "1.5", "destination": "bc1qdemo", "client_id": "w-1"},
    )  # fmt: skip
    assert held["status"] == "held"
    wid = held["withdrawal_id"]
    assert await rest.ok("GET", f"/api/v1/withdrawals/{wid}") == held
    assert (await rest.ok("GET", "/api/v1/withdrawals?status=held"))["withdrawals"] == [held]
    # ACC2 can neither see nor cancel ACC1's withdrawal
    assert _error(await other.get(f"/api/v1/withdrawals/{wid}")) == (404, 2036)
    assert _error(await other.send("DELETE", f"/api/v1/withdrawals/{wid}")) == (404, 2036)
    assert (await other.ok("GET", "/api/v1/withdrawals"))["withdrawals"] == []
    canceled = await rest.ok("DELETE", f"/api/v1/withdrawals/{wid}")
    assert canceled["status"] == "canceled"


async def test_bad_requests_get_a_reason(gateway: App) -> None:
    rest = RestClient(gateway, "demo-acc1")
    assert _error(await rest.send("POST", "/api/v1/transfers", b"{nope")) == (400, 1001)
    assert _error(await rest.send("POST", "/api/v1/transfers", b"[1]")) == (400, 1002)
    assert _error(await rest.get("/api/v1/orders?limit=ten")) == (400, 1004)
    assert _error(await rest.get("/api/v1/orders?limit=1&limit=2")) == (400, 1004)
    assert _error(await rest.get("/api/v1/orders?colour=red")) == (400, 1004)
    # no store yet (no follower ran): 503, trading unaffected
    assert _error(await rest.get("/api/v1/fills")) == (503, 1030)


async def test_requests_are_rate_limited_per_key(make_gateway: MakeGateway) -> None:
    app = await make_gateway(ws={"max_requests_per_s": 2})
    rest = RestClient(app, "demo-acc1")
    answers = [await rest.get("/api/v1/balances") for _ in range(3)]
    assert [status for status, _ in answers[:2]] == [200, 200]
    assert _error(answers[2]) == (429, 1029)
    assert (await RestClient(app, "demo-acc2").get("/api/v1/balances"))[0] == 200


def test_every_route_is_a_scoped_method() -> None:
    """A route whose method had no scope would be refused to every key."""
    assert {method for _, _, method in ROUTES} <= set(METHOD_SCOPES)


async def test_a_body_that_arrives_in_pieces_is_read_whole(gateway: App) -> None:
    """The signature covers the whole body, however the client's writes split it."""
    await submit_applied(gateway, CreateSubAccount("ACC1.sub", "ACC1"))
    rest = RestClient(gateway, "demo-acc1")
    body = orjson.dumps({"to_account": "ACC1.sub", "asset": "USD", "amount": "3"})
    headers = rest.signed("POST", "/api/v1/transfers", body)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    assert gateway.http is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.http.port)
    writer.write(
        f"POST /api/v1/transfers HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: application/json\r\nConnection: close\r\n{head}\r\n".encode()
        + body[:10]
    )
    await writer.drain()
    await asyncio.sleep(0.1)  # the server has the first piece alone
    writer.write(body[10:])
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert gateway.host.engine.accounts["ACC1.sub"].balances["USD"].total == 300_000_000
