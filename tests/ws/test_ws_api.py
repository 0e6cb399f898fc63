"""Every method and every error path over a real socket against a running gateway."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gateway.app import App
from gateway.ws.auth import sign_ed25519, sign_hmac
from tests.conftest import MakeGateway
from tests.ws.helpers import ED25519_SEED, Client, connect_client, fresh_timestamp_ms, limit, url


async def expect_error(
    c: Client, method: str, params: Any, status: int, code: int, msg: str
) -> None:
    answer = await c.call(method, params)
    assert answer["status"] == status, answer
    assert answer["error"]["code"] == code, answer
    assert answer["error"]["msg"] == msg, answer
    assert "result" not in answer


# ------------------------------------------------------------------- logon


async def test_logon_hmac_and_ed25519(gateway: App) -> None:
    c = await connect_client(gateway)
    result = await c.logon("demo-acc2")
    assert result["account"] == "ACC2" and result["api_key"] == "demo-acc2"
    assert result["cancel_on_disconnect"] is False
    assert abs(result["server_time_ms"] - time.time() * 1000) < 5000
    await expect_error(
        c, "session.logon", {"api_key": "x", "timestamp_ms": 1, "signature": "00"},
        409, 1014, "already logged on as 'demo-acc2'",
    )  # fmt: skip
    d = await connect_client(gateway)
    ts = fresh_timestamp_ms()
    sig = sign_ed25519(ED25519_SEED, "demo-acc1", ts)
    res = await d.ok("session.logon", {"api_key": "demo-acc1", "timestamp_ms": ts,
                                       "signature": sig, "cancel_on_disconnect": True})  # fmt: skip
    assert res["account"] == "ACC1" and res["cancel_on_disconnect"] is True
    await c.close()
    await d.close()


async def test_logon_failures_keep_the_connection(gateway: App) -> None:
    c = await connect_client(gateway)
    ts = fresh_timestamp_ms()
    good = sign_hmac("demo-secret-acc1", "demo-acc1", ts)
    await expect_error(
        c, "session.logon", {"api_key": "demo-acc1", "timestamp_ms": ts,
                             "signature": sign_hmac("wrong", "demo-acc1", ts)},
        401, 1012, "signature does not verify",
    )  # fmt: skip
    await expect_error(
        c, "session.logon", {"api_key": "nobody", "timestamp_ms": ts, "signature": good},
        401, 1011, "unknown api_key 'nobody'",
    )  # fmt: skip
    stale = ts - 60_000
    answer = await c.call(
        "session.logon",
        {"api_key": "demo-acc1", "timestamp_ms": stale,
         "signature": sign_hmac("demo-secret-acc1", "demo-acc1", stale)},
    )  # fmt: skip
    assert answer["status"] == 401 and answer["error"]["code"] == 1013
    assert "allowed window is +/-5000 ms" in answer["error"]["msg"]
    await expect_error(
        c, "session.logon", {"api_key": "demo-acc1", "timestamp_ms": ts},
        400, 1004, "session.logon: missing required parameter 'signature'",
    )  # fmt: skip
    # Not logged on: trading and the user channel are refused, public data is not.
    await expect_error(
        c, "order.place", limit("BTC-USD", "buy", "1", "100"),
        401, 1010, "order.place requires session.logon",
    )  # fmt: skip
    await expect_error(
        c, "subscribe", {"channels": ["user"]}, 401, 1010, "channel 'user' requires session.logon"
    )
    assert (await c.ok("subscribe", {"channels": ["trades.BTC-USD"]})) == {
        "subscribed": ["trades.BTC-USD"]
    }
    assert (await c.logon())["account"] == "ACC1"
    await c.close()


# ------------------------------------------------------------------- methods


async def test_every_method(gateway: App) -> None:
    a = await connect_client(gateway)
    b = await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")

    instruments = (await a.ok("instruments"))["instruments"]
    assert instruments[0] == {
        "symbol": "BTC-USD", "base": "BTC", "quote": "USD", "tick_size": "0.01",
        "lot_size": "0.0001", "min_qty": "0.0001", "min_notional": "1", "status": "open",
    }  # fmt: skip
    assert [i["symbol"] for i in instruments] == ["BTC-USD", "ETH-USD"]

    placed = await a.ok("order.place", limit("BTC-USD", "buy", "1.5", "100.25",
                                             client_order_id="a1"))  # fmt: skip
    oid = placed["id"]
    assert {k: v for k, v in placed.items() if k not in ("id", "ts_us")} == {
        "client_order_id": "a1", "symbol": "BTC-USD", "side": "buy", "type": "limit",
        "time_in_force": "gtc", "status": "new", "price": "100.25", "quantity": "1.5",
        "quote_quantity": None, "filled": "0", "remaining": "1.5", "average_price": None,
        "fee": "0", "fee_asset": "USD", "reason": None, "reduce_only": False, "fills": [],
    }  # fmt: skip

    taker = await b.ok("order.place", {"symbol": "BTC-USD", "side": "sell", "type": "market",
                                       "quantity": "0.5"})  # fmt: skip
    assert taker["status"] == "filled" and taker["average_price"] == "100.25"
    assert taker["price"] is None and taker["filled"] == "0.5" and taker["remaining"] == "0"
    assert taker["fee"] == "0.010025"  # 0.5 * 100.25 * 2 bps
    [fill] = taker["fills"]
    assert {k: v for k, v in fill.items() if k not in ("ts_us", "order_id", "trade_id")} == {
        "client_order_id": "", "symbol": "BTC-USD", "side": "sell", "price": "100.25",
        "quantity": "0.5", "fee": "0.010025", "fee_asset": "USD", "liquidity": "taker",
    }  # fmt: skip

    status = await a.ok("order.status", {"symbol": "BTC-USD", "client_order_id": "a1"})
    assert status["id"] == oid and status["status"] == "partially_filled"
    assert (status["filled"], status["remaining"], status["fee"]) == ("0.5", "1", "0.0050125")
    assert await a.ok("order.status", {"symbol": "BTC-USD", "order_id": oid}) == status

    replaced = await a.ok("order.replace", {"symbol": "BTC-USD", "order_id": oid,
                                            "quantity": "2", "price": "100.3",
                                            "client_order_id": "a2"})  # fmt: skip
    assert (replaced["quantity"], replaced["remaining"], replaced["price"]) == ("2", "1.5", "100.3")
    assert replaced["client_order_id"] == "a2" and replaced["status"] == "partially_filled"

    second = await a.ok("order.place", limit("ETH-USD", "sell", "2", "3000", post_only=True,
                                             time_in_force="gtc"))  # fmt: skip
    opened = (await a.ok("orders.open"))["orders"]
    assert [o["id"] for o in opened] == [oid, second["id"]]
    assert [o["id"] for o in (await a.ok("orders.open", {"symbol": "ETH-USD"}))["orders"]] == [
        second["id"]
    ]

    canceled = await a.ok("order.cancel", {"symbol": "BTC-USD", "client_order_id": "a2"})
    assert canceled["status"] == "canceled" and canceled["reason"] == "user_cancel"
    assert canceled["remaining"] == "0" and canceled["filled"] == "0.5"

    third = await a.ok("order.place", limit("ETH-USD", "buy", "1", "2000"))
    swept = (await a.ok("orders.cancel_all", {"symbol": "ETH-USD"}))["canceled"]
    assert sorted(o["id"] for o in swept) == sorted([second["id"], third["id"]])
    assert {o["reason"] for o in swept} == {"mass_cancel"}
    assert (await a.ok("orders.cancel_all"))["canceled"] == []
    assert (await a.ok("orders.open"))["orders"] == []

    balances = {x["asset"]: x for x in (await b.ok("account.balances"))["balances"]}
    assert balances["BTC"] == {"asset": "BTC", "total": "99999.5", "available": "99999.5",
                               "held": "0"}  # fmt: skip
    # 1e9 + 0.5 * 100.25 - taker fee 0.010025
    assert balances["USD"]["total"] == "1000000050.114975"
    balances_a = {x["asset"]: x for x in (await a.ok("account.balances"))["balances"]}
    # 1e9 - 50.125 - maker fee 0.0050125
    assert balances_a["USD"] == {"asset": "USD", "total": "999999949.8699875",
                                 "available": "999999949.8699875", "held": "0"}  # fmt: skip

    assert await a.ok("subscribe", {"channels": ["bbo.BTC-USD", "trades.ETH-USD"]}) == {
        "subscribed": ["bbo.BTC-USD", "trades.ETH-USD"]
    }
    bbo = await a.push("bbo.BTC-USD")
    assert bbo["data"]["bid_price"] is None and bbo["data"]["ask_price"] is None
    assert await a.ok("unsubscribe", {"channels": ["bbo.BTC-USD", "nope"]}) == {
        "subscribed": ["trades.ETH-USD"]
    }
    await a.close()
    await b.close()


async def test_market_order_by_quote_quantity_and_trades_channel(gateway: App) -> None:
    a = await connect_client(gateway)
    b = await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    await b.ok("subscribe", {"channels": ["trades.BTC-USD", "bbo.BTC-USD"]})
    assert (await b.push("bbo.BTC-USD"))["data"]["ask_price"] is None
    await a.ok("order.place", limit("BTC-USD", "sell", "1", "100"))
    bbo = await b.push("bbo.BTC-USD")
    assert (bbo["data"]["ask_price"], bbo["data"]["ask_qty"], bbo["data"]["bid_qty"]) == (
        "100", "1", None,
    )  # fmt: skip
    res = await b.ok("order.place", {"symbol": "BTC-USD", "side": "buy", "type": "market",
                                     "quote_quantity": "25"})  # fmt: skip
    assert res["quote_quantity"] == "25" and res["filled"] == "0.25" and res["status"] == "filled"
    trade = await b.push("trades.BTC-USD")
    assert {k: v for k, v in trade["data"].items() if k not in ("ts_us", "trade_id")} == {
        "symbol": "BTC-USD", "price": "100", "quantity": "0.25", "taker_side": "buy",
    }  # fmt: skip
    assert trade["seq"] > bbo["seq"]
    bbo = await b.push("bbo.BTC-USD")
    assert bbo["data"]["ask_qty"] == "0.75"
    await a.close()
    await b.close()


# ------------------------------------------------------------------- errors


async def test_error_paths_keep_the_connection(gateway: App) -> None:
    c = await connect_client(gateway)
    await c.logon()
    raw_cases: list[tuple[str, int, int, object, str]] = [
        ("{not json", 400, 1001, None, "malformed JSON"),
        ("[1, 2]", 400, 1002, None, "request must be a JSON object"),
        ('{"method": "instruments"}', 400, 1002, None, "'id' is required"),
        ('{"id": true, "method": "instruments"}', 400, 1002, None, "'id' is required"),
        ('{"id": 7, "method": 3}', 400, 1002, 7, "'method' is required and must be a string"),
        ('{"id": "x", "method": "instruments", "foo": 1}', 400, 1002, "x",
         "unknown request field 'foo'"),
        ('{"id": 8, "method": "instruments", "params": []}', 400, 1004, 8,
         "instruments: 'params' must be an object"),
    ]  # fmt: skip
    for raw, status, code, req_id, msg in raw_cases:
        await c.ws.send(raw)
        answer = orjson.loads(await asyncio.wait_for(c.ws.recv(), 3))
        assert answer["id"] == req_id and answer["status"] == status, (raw, answer)
        assert answer["error"]["code"] == code and answer["error"]["msg"].startswith(msg), answer

    answer = await c.call("order.fly", {})
    assert answer["status"] == 400 and answer["error"]["code"] == 1003
    assert answer["error"]["msg"].startswith("unknown method 'order.fly'; methods are: ")

    p = limit("BTC-USD", "buy", "1", "100")
    cases: list[tuple[str, dict[str, Any], int, int, str]] = [
        ("order.place", {**p, "price": "100.001"}, 400, 1005,
         "order.place: price: price 100.001 is not a multiple of 0.01"),
        ("order.place", {**p, "quantity": "0.00001"}, 400, 1005,
         "order.place: quantity: quantity 0.00001 is not a multiple of 0.0001"),
        ("order.place", {**p, "quantity": "-1"}, 400, 1005,
         "order.place: quantity: quantity must be positive, got -1"),
        ("order.place", {**p, "price": "1e400x"}, 400, 1005,
         "order.place: price: not a decimal number: '1e400x'"),
        ("order.place", {**p, "price": 100.5}, 400, 1004,
         "order.place: 'price' must be a decimal string such as \"1.25\", got 100.5"),
        ("order.place", {**p, "side": "long"}, 400, 1004,
         "order.place: 'side' must be one of buy, sell; got 'long'"),
        ("order.place", {**p, "colour": "red"}, 400, 1004,
         "order.place: unknown parameter 'colour'"),
        ("order.place", {k: v for k, v in p.items() if k != "price"}, 400, 1004,
         "order.place: 'price' is required for limit orders"),
        ("order.place", {**p, "type": "market", "price": None, "quantity": None}, 400, 1004,
         "order.place: market orders need exactly one of 'quantity' or 'quote_quantity'"),
        ("order.place", {**p, "time_in_force": "gtd"}, 400, 1004,
         "order.place: 'expire_ts_us' is required for time_in_force gtd"),
        ("order.place", {**p, "symbol": "DOGE-USD"}, 404, 2001,
         "unknown instrument 'DOGE-USD'"),
        ("order.place", {**p, "quantity": "100000000"}, 400, 2015,
         "insufficient USD: need 10002000000, available 1000000000"),
        ("order.place", {**p, "quantity": "0.001"}, 400, 2010,
         "notional below instrument minimum"),
        ("order.cancel", {"symbol": "BTC-USD", "order_id": 999999}, 404, 2020,
         "unknown order (never existed or closed)"),
        ("order.cancel", {"symbol": "BTC-USD"}, 400, 1004,
         "order.cancel: give exactly one of 'order_id' or 'client_order_id'"),
        ("order.cancel", {"symbol": "BTC-USD", "order_id": -3}, 400, 1004,
         "order.cancel: 'order_id' must be a non-negative integer, got -3"),
        ("order.replace", {"symbol": "BTC-USD", "orig_client_order_id": "zz",
                           "quantity": "1"}, 404, 2020,
         "unknown order (never existed or closed)"),
        ("order.replace", {"symbol": "BTC-USD", "order_id": 5}, 400, 1004,
         "order.replace: missing required parameter 'quantity'"),
        ("order.status", {"symbol": "BTC-USD", "client_order_id": "nope"}, 404, 2020,
         "unknown order (never existed or no longer kept)"),
        ("orders.cancel_all", {"symbol": "XRP-USD"}, 404, 2001, "unknown instrument 'XRP-USD'"),
        ("account.balances", {"asset": "BTC"}, 400, 1004,
         "account.balances: unknown parameter 'asset'"),
        ("subscribe", {"channels": []}, 400, 1004,
         "subscribe: 'channels' must be a non-empty list of channel names"),
        ("subscribe", {"channels": ["book.BTC-USD.7"]}, 400, 1020,
         "channel 'book.BTC-USD.7': depth must be one of 10, 50, 100, 500"),
        ("subscribe", {"channels": ["bbo.NOPE"]}, 400, 1020,
         "channel 'bbo.NOPE': unknown symbol 'NOPE'"),
        ("subscribe", {"channels": ["ticker.BTC-USD"]}, 400, 1020,
         "unknown channel 'ticker.BTC-USD'; expected book.<SYMBOL>.<DEPTH>, trades.<SYMBOL>,"
         " bbo.<SYMBOL>, mark.<SYMBOL>, funding.<SYMBOL>, user or positions"),
    ]  # fmt: skip
    for method, params, status, code, msg in cases:
        await expect_error(c, method, params, status, code, msg)

    # Engine rejects that need state: duplicate client id, post-only would take.
    await c.ok("order.place", {**p, "client_order_id": "dup"})
    await expect_error(c, "order.place", {**p, "client_order_id": "dup"}, 409, 2016,
                       "client order id 'dup' already used")  # fmt: skip
    await c.ok("order.place", limit("BTC-USD", "sell", "1", "101"))
    await expect_error(c, "order.place", limit("BTC-USD", "buy", "1", "101", post_only=True),
                       400, 2017, "post-only order would take")  # fmt: skip
    # A failed subscribe is all or nothing.
    await expect_error(c, "subscribe", {"channels": ["trades.BTC-USD", "bad"]}, 400, 1020,
                       "unknown channel 'bad'; expected book.<SYMBOL>.<DEPTH>, trades.<SYMBOL>,"
                       " bbo.<SYMBOL>, mark.<SYMBOL>, funding.<SYMBOL>,"
                       " user or positions")  # fmt: skip
    assert await c.ok("unsubscribe", {"channels": ["trades.BTC-USD"]}) == {"subscribed": []}
    # Still alive, still in order.
    assert len((await c.ok("orders.open"))["orders"]) == 2
    await c.close()


async def test_answers_follow_request_order_when_pipelined(gateway: App) -> None:
    c = await connect_client(gateway)
    await c.logon()
    ids = [
        await c.send("order.place", limit("BTC-USD", "buy", "1", "99", client_order_id="p1")),
        await c.send("order.status", {"symbol": "BTC-USD", "client_order_id": "p1"}),
        await c.send("order.place", limit("BTC-USD", "buy", "1", "bad")),
        await c.send("order.cancel", {"symbol": "BTC-USD", "client_order_id": "p1"}),
        await c.send("orders.open"),
    ]
    got = [await c._read(3) for _ in ids]
    assert [m["id"] for m in got] == ids
    assert got[1]["result"]["status"] == "new"  # the read saw the earlier place
    assert got[2]["error"]["code"] == 1005
    assert got[3]["result"]["status"] == "canceled"
    assert got[4]["result"]["orders"] == []
    await c.close()


async def test_rate_limit_answers_429_and_the_connection_survives(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway(ws={"max_requests_per_s": 5})
    c = await connect_client(app)
    ids = [await c.send("instruments") for _ in range(8)]
    answers = [await c.answer(i) for i in ids]
    assert [a["status"] for a in answers] == [200] * 5 + [429] * 3
    assert answers[5]["error"] == {
        "code": 1029,
        "msg": "rate limit exceeded: 5 requests per second per connection",
        "limit": 5,
    }
    await asyncio.sleep(0.45)  # two tokens back
    assert (await c.call("instruments"))["status"] == 200
    assert (await c.call("instruments"))["status"] == 200
    assert (await c.call("instruments"))["status"] == 429
    await c.close()


async def test_a_connection_counts_its_frames_and_its_rate_limit_refusals(
    make_gateway: MakeGateway,
) -> None:
    """What the console and GET /admin/v1/sessions show of a WS connection: frames read,
    frames written, and requests the rate limit refused."""
    app = await make_gateway(ws={"max_requests_per_s": 5})
    assert app.ws is not None
    c = await connect_client(app)
    ids = [await c.send("instruments") for _ in range(8)]
    answers = [await c.answer(i) for i in ids]
    refused = sum(a["status"] == 429 for a in answers)
    assert refused >= 1  # five per second: a burst of eight cannot all pass
    (connection,) = app.ws.connections
    session = connection.session
    assert (session.msgs_in, session.msgs_out, session.throttle_hits) == (8, 8, refused)
    await c.close()


async def test_wrong_path_is_rejected_at_handshake(gateway: App) -> None:
    assert gateway.ws is not None
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://127.0.0.1:{gateway.ws.port}/nope")
    assert info.value.response.status_code == 404
    assert url(gateway).endswith("/ws")
