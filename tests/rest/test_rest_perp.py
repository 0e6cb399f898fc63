"""The perpetuals over REST: prices, funding rate and insurance fund now; the funding
history from the follower's store (both backends); an account's positions, signed."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import aiohttp
import orjson

from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import SetMarketState
from gateway.app import App
from tests.conftest import MakeGateway, follow, submit_applied
from tests.rest.helpers import RestClient

SYMBOL = "BTC-PERP"


async def _get(app: App, path: str) -> tuple[int, object]:
    assert app.http is not None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{app.http.port}{path}") as resp,
    ):
        return resp.status, orjson.loads(await resp.read())


async def _listed(app: App) -> None:
    await submit_applied(app, AddPerpInstrument(
        SYMBOL, "BTC", "USD", "0.1", "0.001", tiers="0:0.005:20",
        funding_interval_s=1, premium_sample_s=1,
    ))  # fmt: skip
    await submit_applied(app, SetIndexPrice(SYMBOL, 600_005))


async def test_perps_now(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    assert await _get(app, "/api/v1/perps") == (200, {"perps": []})
    await _listed(app)
    await submit_applied(app, PerpTick(SYMBOL))
    status, body = await _get(app, f"/api/v1/perps/{SYMBOL}")
    assert status == 200 and isinstance(body, dict)
    assert (body["index_price"], body["mark_price"]) == ("60000.5", "60000.5")
    assert body["insurance_fund"] == "0" and body["reduce_only"] is False
    assert (await _get(app, "/api/v1/perps"))[1] == {"perps": [body]}
    status, missing = await _get(app, "/api/v1/perps/BTC-USD")
    assert status == 404 and missing == {
        "error": {"code": "unknown_symbol", "msg": "unknown perpetual 'BTC-USD'"}
    }


async def test_funding_history_from_the_store(make_gateway: MakeGateway, store_url: str) -> None:
    app = await make_gateway(store={"url": store_url})
    await _listed(app)
    await submit_applied(app, PerpTick(SYMBOL))  # starts the schedule: funding each second
    due = app.host.engine.perps.markets[SYMBOL].next_funding_us
    while time.time_ns() // 1000 <= due:  # journaled ticks only: a replay is the same
        await asyncio.sleep(0.05)
    await submit_applied(app, PerpTick(SYMBOL))
    await follow(app)
    status, body = await _get(app, f"/api/v1/perps/{SYMBOL}/funding?limit=5")
    assert status == 200 and isinstance(body, dict)
    [funding] = body["funding"]
    assert funding["funding_us"] == due and funding["funding_rate"] == "0.0001"
    assert funding["longs_paid"] == funding["to_insurance"] == "0"
    for bad in ("0", "1001", "x", "٣"):
        status, _ = await _get(app, f"/api/v1/perps/{SYMBOL}/funding?limit={bad}")
        assert status == 400, bad


async def test_positions_are_signed_and_the_keys_own(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    await _listed(app)
    app.host.engine.perps.position("ACC2", SYMBOL).size = 1_000  # another account's
    assert await RestClient(app, "demo-acc1").ok("GET", "/api/v1/positions") == {"positions": []}
    [pos] = (await RestClient(app, "demo-acc2").ok("GET", "/api/v1/positions"))["positions"]
    assert pos["symbol"] == SYMBOL and pos["size"] == "1"
    status, _ = await _get(app, "/api/v1/positions")  # unsigned
    assert status == 401


async def test_orders_with_reduce_only_over_signed_rest(make_gateway: MakeGateway) -> None:
    """POST /api/v1/orders is order.place: a reduce-only order that would open a
    position is the engine's 2039; one that reduces is clipped to the position."""
    app = await make_gateway()
    await app.perp_ticker.stop()  # this test sends its own ticks
    await _listed(app)
    await submit_applied(app, SetMarketState("DEMO", SYMBOL, MarketState.ENABLED))
    await submit_applied(app, PerpTick(SYMBOL))
    acc1, acc2 = RestClient(app, "demo-acc1"), RestClient(app, "demo-acc2")
    order = {"symbol": SYMBOL, "type": "limit", "price": "60000", "reduce_only": True}
    status, refused = await acc1.post("/api/v1/orders", {**order, "side": "sell",
                                                         "quantity": "1"})  # fmt: skip
    assert (status, refused["error"]["code"]) == (400, 2039)
    await acc1.ok("POST", "/api/v1/orders", {**order, "side": "buy", "quantity": "0.3",
                                             "reduce_only": False})  # fmt: skip
    await acc2.ok("POST", "/api/v1/orders", {**order, "side": "sell", "quantity": "0.3",
                                             "reduce_only": False})  # fmt: skip
    placed = await acc1.ok("POST", "/api/v1/orders", {**order, "side": "sell", "price": "61000",
                                                      "quantity": "1"})  # fmt: skip
    assert (placed["quantity"], placed["status"], placed["reduce_only"]) == ("0.3", "new", True)
    opening = {**order, "side": "sell", "price": "62000", "quantity": "0.1", "reduce_only": False}
    opened = await acc2.ok("POST", "/api/v1/orders", opening)
    assert opened["reduce_only"] is False


async def test_close_a_position_over_signed_rest(make_gateway: MakeGateway) -> None:
    """POST /api/v1/positions/close is position.close."""
    app = await make_gateway()
    await app.perp_ticker.stop()  # this test sends its own ticks
    await _listed(app)
    await submit_applied(app, SetMarketState("DEMO", SYMBOL, MarketState.ENABLED))
    await submit_applied(app, PerpTick(SYMBOL))
    acc1, acc2 = RestClient(app, "demo-acc1"), RestClient(app, "demo-acc2")
    order = {"symbol": SYMBOL, "type": "limit", "price": "60000"}
    await acc2.ok("POST", "/api/v1/orders", {**order, "side": "sell", "quantity": "0.3"})
    await acc1.ok("POST", "/api/v1/orders", {**order, "side": "buy", "quantity": "0.3"})
    await acc2.ok("POST", "/api/v1/orders", {**order, "side": "buy", "quantity": "1"})
    closed = await acc1.ok("POST", "/api/v1/positions/close", {"symbol": SYMBOL})
    assert (closed["side"], closed["quantity"], closed["status"]) == ("sell", "0.3", "filled")
    assert app.host.engine.perps.positions[SYMBOL]["ACC1"].size == 0
    status, refused = await acc1.post("/api/v1/positions/close", {"symbol": SYMBOL})
    assert (status, refused["error"]["code"]) == (400, 2039)


async def test_position_settings_over_signed_rest(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    await _listed(app)
    acc1 = RestClient(app, "demo-acc1")
    pos = await acc1.ok("POST", "/api/v1/positions/leverage", {"symbol": SYMBOL, "leverage": 3})
    assert pos["leverage"] == 3
    body = {"symbol": SYMBOL, "margin_mode": "isolated"}
    pos = await acc1.ok("POST", "/api/v1/positions/margin-mode", body)
    assert pos["margin_mode"] == "isolated"
    status, refused = await acc1.post("/api/v1/positions/margin", {"symbol": SYMBOL,
                                                                   "amount": "1"})  # fmt: skip
    assert status == 400 and "no isolated position" in refused["error"]["msg"]


async def test_balances_leave_out_the_margin_a_cross_position_uses(
    make_gateway: MakeGateway,
) -> None:
    """GET /api/v1/balances is account.balances: available = total - held - the cross
    position's initial margin at mark (and unrealized loss)."""
    app = await make_gateway()
    await app.perp_ticker.stop()  # this test sends its own ticks
    await _listed(app)
    await submit_applied(app, SetIndexPrice(SYMBOL, 600_000))
    await submit_applied(app, SetMarketState("DEMO", SYMBOL, MarketState.ENABLED))
    await submit_applied(app, PerpTick(SYMBOL))
    acc1, acc2 = RestClient(app, "demo-acc1"), RestClient(app, "demo-acc2")
    order = {"symbol": SYMBOL, "type": "limit", "price": "60000", "quantity": "0.5"}
    await acc2.ok("POST", "/api/v1/orders", {**order, "side": "sell"})
    await acc1.ok("POST", "/api/v1/orders", {**order, "side": "buy"})
    [pos] = (await acc1.ok("GET", "/api/v1/positions"))["positions"]
    assert (pos["mark_price"], pos["unrealized_pnl"]) == ("60000", "0")
    [usd] = [b for b in (await acc1.ok("GET", "/api/v1/balances"))["balances"]
             if b["asset"] == "USD"]  # fmt: skip
    total, held, available = (Decimal(usd[k]) for k in ("total", "held", "available"))
    assert available == total - held - 1_500  # 30,000 at mark / 20x
