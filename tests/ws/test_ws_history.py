"""orders.history, fills.history and ledger.history over a real WebSocket, read from
the follower's store (SQLite and PostgreSQL): each key sees its own account's rows
and its sub-accounts', never another account's, a page at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.venue.tenancy_commands import CreateSubAccount
from gateway.app import App
from gateway.follower.follower import Follower, FollowerSettings
from gateway.ws.history import CATCH_UP_S
from tests.conftest import MakeGateway, follow, submit_applied
from tests.ws.helpers import Client, connect_client, issue_key, limit


async def _pages(c: Client, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a history method, page by page."""
    table = method.split(".")[0]
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await c.ok(method, {**params, **({"cursor": cursor} if cursor else {})})
        rows += page[table]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def _trade(acc1: Client, acc2: Client) -> None:
    """ACC1 rests a sell and a buy; ACC2 takes the sell; ACC1 cancels the buy."""
    await acc1.ok("order.place", limit("BTC-USD", "sell", "0.5", "100", client_order_id="s1"))
    buy = await acc1.ok("order.place", limit("BTC-USD", "buy", "0.1", "90", client_order_id="b1"))
    await acc2.ok("order.place", limit("BTC-USD", "buy", "0.5", "100", client_order_id="t1"))
    await acc1.ok("order.cancel", {"symbol": "BTC-USD", "order_id": buy["id"]})


@pytest.fixture
async def stored(make_gateway: MakeGateway, store_url: str) -> App:
    return await make_gateway(store={"url": store_url})


async def test_each_key_reads_its_own_history(stored: App) -> None:
    acc1, acc2 = await connect_client(stored), await connect_client(stored)
    await acc1.logon("demo-acc1")
    await acc2.logon("demo-acc2")
    await _trade(acc1, acc2)
    seq = await follow(stored)

    orders = await acc1.ok("orders.history")
    assert orders["as_of_seq"] == seq and orders["next_cursor"] is None
    assert [(o["event"], o["client_order_id"]) for o in orders["orders"]] == [
        ("accepted", "s1"), ("accepted", "b1"), ("canceled", "b1"),
    ]  # fmt: skip
    first = orders["orders"][0]
    assert (first["side"], first["type"], first["price"], first["quantity"]) == (
        "sell", "limit", "100", "0.5",
    )  # fmt: skip
    assert orders["orders"][2]["reason"] == "user_cancel"
    assert {o["account"] for o in orders["orders"]} == {"ACC1"}

    (maker,) = (await acc1.ok("fills.history"))["fills"]
    (taker,) = (await acc2.ok("fills.history"))["fills"]
    assert (maker["liquidity"], maker["side"], maker["client_order_id"]) == ("maker", "sell", "s1")
    assert (taker["liquidity"], taker["side"], taker["client_order_id"]) == ("taker", "buy", "t1")
    assert maker["trade_id"] == taker["trade_id"]
    assert (maker["price"], maker["quantity"], maker["fee"], maker["fee_asset"]) == (
        "100", "0.5", "0.005", "USD",
    )  # fmt: skip

    usd = (await acc1.ok("ledger.history", {"asset": "USD"}))["ledger"]
    assert [(leg["reason"], leg["amount"], leg["contra"]) for leg in usd[-2:]] == [
        ("trade", "50", None),  # the counterparty (ACC2) is not shown
        ("fee", "-0.005", "@fees"),
    ]
    balances = {b["asset"]: b["total"] for b in (await acc1.ok("account.balances"))["balances"]}
    assert usd[-1]["balance"] == balances["USD"]

    # ACC2's rows: its own only, and never reachable from ACC1's key
    assert {o["account"] for o in (await acc2.ok("orders.history"))["orders"]} == {"ACC2"}
    for method in ("orders.history", "fills.history", "ledger.history"):
        refused = await acc1.call(method, {"account": "ACC2"})
        assert (refused["status"], refused["error"]["code"]) == (400, 2002), refused
    await acc1.close()
    await acc2.close()


async def test_pages_filters_and_sub_accounts(gateway: App) -> None:
    await submit_applied(gateway, CreateSubAccount("ACC1.hedge", "ACC1", "hedge"))
    acc1, acc2 = await connect_client(gateway), await connect_client(gateway)
    await acc1.logon("demo-acc1")
    await acc2.logon("demo-acc2")
    for i in range(5):
        await acc1.ok("order.place", limit("ETH-USD", "buy", "1", f"{10 + i}"))
    await _trade(acc1, acc2)
    await acc1.ok("transfer", {"to_account": "ACC1.hedge", "asset": "USD", "amount": "7"})
    await follow(gateway)

    everything = (await acc1.ok("orders.history", {"limit": 1000}))["orders"]
    assert len(everything) == 8
    assert await _pages(acc1, "orders.history", {"limit": 3}) == everything
    eth = await _pages(acc1, "orders.history", {"symbol": "ETH-USD", "limit": 2})
    assert [o["price"] for o in eth] == ["10", "11", "12", "13", "14"]
    canceled = (await acc1.ok("orders.history", {"status": "canceled"}))["orders"]
    assert [o["client_order_id"] for o in canceled] == ["b1"]
    # a time range: [from, to) in µs
    third = everything[2]["ts_us"]
    window = await acc1.ok("orders.history", {"from": third, "to": everything[5]["ts_us"]})
    assert all(third <= o["ts_us"] < everything[5]["ts_us"] for o in window["orders"])
    assert window["orders"][0] == everything[2]
    assert (await acc1.ok("orders.history", {"from": everything[-1]["ts_us"] + 1}))["orders"] == []

    # the sub-account's ledger: the transfer, its contra the parent (family is shown)
    (leg,) = (await acc1.ok("ledger.history", {"account": "ACC1.hedge"}))["ledger"]
    assert (leg["account"], leg["amount"], leg["reason"], leg["contra"]) == (
        "ACC1.hedge", "7", "transfer", "ACC1",
    )  # fmt: skip
    # ACC2 cannot read ACC1's sub-account either
    refused = await acc2.call("ledger.history", {"account": "ACC1.hedge"})
    assert refused["error"]["code"] == 2002

    bad = [
        {"limit": 0},
        {"limit": 1001},
        {"status": "filled"},
        {"cursor": "not-a-cursor"},
        {"from": 10, "to": 10},
        {"symbol": ""},
        {"asset": "USD"},  # orders are filtered by status, not asset
    ]
    for params in bad:
        answer = await acc1.call("orders.history", params)
        assert (answer["status"], answer["error"]["code"]) == (400, 1004), (params, answer)
    for huge in (2**63, 10**30):  # beyond what the store's BIGINT holds (raw: orjson refuses)
        await acc1.ws.send(f'{{"id": "h", "method": "orders.history", "params": {{"to": {huge}}}}}')
        answer = await acc1.answer("h")
        assert (answer["status"], answer["error"]["code"]) == (400, 1004), answer
    answer = await acc1.call("orders.history", {"symbol": "NOPE-USD"})
    assert answer["error"]["code"] == 2001
    await acc1.close()
    await acc2.close()


async def test_history_needs_a_logon_and_the_read_scope(gateway: App) -> None:
    c = await connect_client(gateway)
    assert (await c.call("fills.history"))["error"]["code"] == 1010
    secret = await issue_key(gateway, "trader-only", scopes="trade")
    await c.logon("trader-only", secret)
    answer = await c.call("fills.history")
    assert (answer["status"], answer["error"]["code"]) == (403, 1019)
    await c.close()


async def test_a_missing_store_is_503_and_later_requests_keep_their_order(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    app = await make_gateway(store={"url": f"sqlite:{tmp_path / 'never' / 'made.sqlite3'}"})
    c = await connect_client(app)
    await c.logon("demo-acc1")
    first = await c.send("ledger.history")
    second = await c.send("order.place", limit("BTC-USD", "buy", "0.1", "90"))
    third = await c.send("account.balances")
    answers = [await c.answer(i) for i in (first, second, third)]
    assert (answers[0]["status"], answers[0]["error"]["code"]) == (503, 1030)
    assert "made.sqlite3" not in answers[0]["error"]["msg"]  # no server paths to clients
    assert [a["status"] for a in answers[1:]] == [200, 200]
    assert [m["id"] for m in c.log if "id" in m][-3:] == [first, second, third]
    await c.close()


async def test_a_read_answers_before_the_command_sent_after_it(gateway: App) -> None:
    c = await connect_client(gateway)
    await c.logon("demo-acc1")
    await c.ok("order.place", limit("BTC-USD", "buy", "0.1", "90"))
    await follow(gateway)
    read = await c.send("orders.history")
    command = await c.send("order.place", limit("BTC-USD", "buy", "0.1", "91"))
    assert (await c.answer(command))["status"] == 200
    assert [m["id"] for m in c.log if "id" in m][-2:] == [read, command]
    page = (await c.answer(read))["result"]
    assert [o["price"] for o in page["orders"]] == ["90"]  # the later order is not in it
    await c.close()


async def test_a_read_waits_for_the_store_to_hold_the_sessions_own_commands(
    gateway: App,
) -> None:
    """Place, then ask: the order is in the history, though the follower stored it only
    after the question arrived."""
    await follow(gateway)  # the store exists, behind the engine from now on
    c = await connect_client(gateway)
    await c.logon("demo-acc1")
    placed = await c.ok("order.place", limit("BTC-USD", "buy", "0.1", "90"))
    read = await c.send("orders.history", {"status": "accepted"})
    settings = FollowerSettings(Path(gateway.config.journal.dir), poll_s=0.01)
    follower, stop = Follower(settings), asyncio.Event()
    running = asyncio.create_task(follower.run(stop))
    try:
        page = (await c.answer(read, timeout=CATCH_UP_S + 5))["result"]
    finally:
        stop.set()
        await running
        await follower.close()
    assert [o["order_id"] for o in page["orders"]] == [placed["id"]]
    assert page["as_of_seq"] >= gateway.host.engine.last_seq
    await c.close()
