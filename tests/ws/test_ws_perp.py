"""The perpetual channels and account.positions over a real WebSocket: mark and
funding from journaled PerpTicks, positions of the logged-on account only."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import SetMarketState
from gateway.app import App
from tests.conftest import MakeGateway, submit_applied
from tests.ws.helpers import connect_client

SYMBOL = "BTC-PERP"
QPT = 10_000  # tick 0.1 x lot 0.001 = 0.0001 USD


async def _perp_gateway(make_gateway: MakeGateway) -> App:
    app = await make_gateway()
    await submit_applied(app, AddPerpInstrument(SYMBOL, "BTC", "USD", "0.1", "0.001",
                                                tiers="0:0.005:20"))  # fmt: skip
    await submit_applied(app, SetIndexPrice(SYMBOL, 600_000))
    return app


def _hold(app: App, account: str, size: int, entry_ticks: int) -> None:
    """A position as settlement would leave it (trading perps is lane 2's next step)."""
    pos = app.host.engine.perps.position(account, SYMBOL)
    pos.size, pos.entry = size, abs(size) * entry_ticks * QPT


async def test_mark_channel_starts_with_the_mark_then_follows_each_tick(
    make_gateway: MakeGateway,
) -> None:
    app = await _perp_gateway(make_gateway)
    c = await connect_client(app)
    assert await c.ok("subscribe", {"channels": [f"mark.{SYMBOL}"]}) == {
        "subscribed": [f"mark.{SYMBOL}"]
    }
    await c.quiet()  # no mark yet: no first frame
    await submit_applied(app, PerpTick(SYMBOL))
    msg = await c.push(f"mark.{SYMBOL}")
    assert msg["seq"] == 1
    data = msg["data"]
    assert (data["symbol"], data["mark_price"], data["index_price"]) == (SYMBOL, "60000", "60000")
    assert data["last_price"] == "" and data["funding_rate"] == "0" and data["ts_us"] > 0
    late = await connect_client(app)
    await late.ok("subscribe", {"channels": [f"mark.{SYMBOL}"]})
    first = (await late.push(f"mark.{SYMBOL}"))["data"]
    assert first["mark_price"] == "60000" and first["next_funding_us"] > 0
    for client in (c, late):
        await client.close()


async def test_funding_and_positions_reach_their_subscribers_only(
    make_gateway: MakeGateway,
) -> None:
    app = await _perp_gateway(make_gateway)
    await submit_applied(app, PerpTick(SYMBOL))  # starts the schedules
    _hold(app, "ACC1", 2_000, 590_000)  # long 2 BTC from 59000
    _hold(app, "ACC2", -2_000, 590_000)
    a, b, public = [await connect_client(app) for _ in range(3)]
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    await a.ok("subscribe", {"channels": ["positions"]})
    first = (await a.push("positions"))["data"]
    assert first == {
        "symbol": SYMBOL, "size": "2", "entry_notional": "118000", "margin_mode": "cross",
        "leverage": 20, "margin": "0", "realized_pnl": "0", "funding": "0",
        "mark_price": "60000", "unrealized_pnl": "2000",
    }  # fmt: skip
    await public.ok("subscribe", {"channels": [f"funding.{SYMBOL}"]})
    app.host.engine.perps.markets[SYMBOL].next_funding_us = 1  # funding is due
    await submit_applied(app, PerpTick(SYMBOL))
    funding = (await public.push(f"funding.{SYMBOL}"))["data"]
    assert funding["funding_rate"] == "0.0001" and funding["mark_price"] == "60000"
    assert funding["longs_paid"] == "12" and funding["shorts_received"] == "12"  # 120000 x 1bp
    moved = (await a.push("positions"))["data"]
    assert moved["size"] == "2" and moved["funding"] == "-12" and moved["ts_us"] > 0
    assert not [m for m in await b.quiet() if m.get("channel") == "positions"]  # not B's
    answer = await b.ok("account.positions")
    assert [p["size"] for p in answer["positions"]] == ["-2"]
    assert answer["positions"][0]["funding"] == "12"
    for client in (a, b, public):
        await client.close()


async def test_private_and_unknown_perp_channels_are_refused(make_gateway: MakeGateway) -> None:
    app = await _perp_gateway(make_gateway)
    c = await connect_client(app)
    cases: list[tuple[str, Any, int, int]] = [
        ("subscribe", {"channels": ["positions"]}, 401, 1010),
        ("subscribe", {"channels": ["mark.BTC-USD"]}, 400, 1020),  # spot: no mark
        ("subscribe", {"channels": ["funding.NOPE"]}, 400, 1020),
        ("account.positions", None, 401, 1010),
    ]
    for method, params, status, code in cases:
        answer = await c.call(method, params)
        assert (answer["status"], answer["error"]["code"]) == (status, code), answer
    await c.close()


async def test_account_positions_filters_by_symbol(make_gateway: MakeGateway) -> None:
    app = await _perp_gateway(make_gateway)
    c = await connect_client(app)
    await c.logon("demo-acc1")
    assert await c.ok("account.positions") == {"positions": []}
    _hold(app, "ACC1", -1_000, 610_000)
    [short] = (await c.ok("account.positions", {"symbol": SYMBOL}))["positions"]
    assert short["size"] == "-1" and short["entry_notional"] == "61000"
    assert "unrealized_pnl" not in short  # no mark yet
    answer = await c.call("account.positions", {"symbol": "ETH-PERP"})
    assert answer["status"] == 404 and answer["error"]["code"] == 2001
    await c.close()


async def test_a_perp_fill_moves_both_positions_live(make_gateway: MakeGateway) -> None:
    """Orders on the perp through the WS edge: the fill reaches each side's positions
    channel as the engine's settlement changes the positions."""
    app = await _perp_gateway(make_gateway)
    await submit_applied(app, SetMarketState("DEMO", SYMBOL, MarketState.ENABLED))
    await submit_applied(app, PerpTick(SYMBOL))
    a, b = await connect_client(app), await connect_client(app)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    await a.ok("subscribe", {"channels": ["positions"]})
    await b.ok("subscribe", {"channels": ["positions"]})
    watcher = await connect_client(app)  # a perp listed at run time has a public book
    await watcher.ok("subscribe", {"channels": [f"trades.{SYMBOL}", f"book.{SYMBOL}.10"]})
    assert (await watcher.push(f"book.{SYMBOL}.10"))["data"]["bids"] == []
    await a.ok("order.place", {"symbol": SYMBOL, "side": "buy", "type": "limit",
                               "quantity": "0.5", "price": "60000"})  # fmt: skip
    taker = await b.ok("order.place", {"symbol": SYMBOL, "side": "sell", "type": "market",
                                       "quantity": "0.5"})  # fmt: skip
    assert taker["status"] == "filled"
    long = (await a.push("positions"))["data"]
    short = (await b.push("positions"))["data"]
    assert (long["symbol"], long["size"], long["entry_notional"]) == (SYMBOL, "0.5", "30000")
    assert (short["size"], short["entry_notional"]) == ("-0.5", "30000")
    assert long["unrealized_pnl"] == short["unrealized_pnl"] == "0"  # at the mark, 60000
    trade = (await watcher.push(f"trades.{SYMBOL}"))["data"]
    assert (trade["price"], trade["quantity"], trade["taker_side"]) == ("60000", "0.5", "sell")
    await watcher.close()
    [pos] = (await a.ok("account.positions"))["positions"]
    assert {k: v for k, v in pos.items() if k != "ts_us"} == {
        k: v for k, v in long.items() if k != "ts_us"
    }
    for client in (a, b):
        await client.close()


async def _traded(make_gateway: MakeGateway) -> tuple[App, Any, Any]:
    """ACC1 long 0.5 and ACC2 short 0.5 on the perp, both logged on."""
    app = await _perp_gateway(make_gateway)
    await app.perp_ticker.stop()  # this test sends its own ticks
    await submit_applied(app, SetMarketState("DEMO", SYMBOL, MarketState.ENABLED))
    await submit_applied(app, PerpTick(SYMBOL))
    a, b = await connect_client(app), await connect_client(app)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    await a.ok("subscribe", {"channels": [f"mark.{SYMBOL}"]})
    await a.push(f"mark.{SYMBOL}")
    await a.ok("order.place", {"symbol": SYMBOL, "side": "buy", "type": "limit",
                               "quantity": "0.5", "price": "60000"})  # fmt: skip
    await b.ok("order.place", {"symbol": SYMBOL, "side": "sell", "type": "market",
                               "quantity": "0.5"})  # fmt: skip
    return app, a, b


async def test_reduce_only_orders(make_gateway: MakeGateway) -> None:
    """reduce_only: refused (2039) when it would increase, clipped to the position."""
    _, a, b = await _traded(make_gateway)
    limit = {"symbol": SYMBOL, "type": "limit", "price": "61000", "reduce_only": True}
    refused = await a.call("order.place", {**limit, "side": "buy", "quantity": "0.1"})
    assert (refused["status"], refused["error"]["code"]) == (400, 2039), refused
    assert "increase" in refused["error"]["msg"]
    await a.ok("subscribe", {"channels": ["user"]})
    placed = await a.ok("order.place", {**limit, "side": "sell", "quantity": "2"})
    assert (placed["quantity"], placed["status"], placed["reduce_only"]) == ("0.5", "new", True)
    update = (await a.push("user"))["data"]
    assert (update["type"], update["order"]["reduce_only"]) == ("order", True)
    [listed] = (await a.ok("orders.open", {"symbol": SYMBOL}))["orders"]
    assert listed["reduce_only"] is True
    canceled = await a.ok("order.cancel", {"symbol": SYMBOL, "order_id": placed["id"]})
    assert (canceled["status"], canceled["reduce_only"]) == ("canceled", True)
    plain = await a.ok("order.place", {**limit, "side": "sell", "quantity": "0.1",
                                       "reduce_only": False})  # fmt: skip
    assert plain["reduce_only"] is False
    bad = await a.call("order.place", {**limit, "side": "sell", "quantity": "1",
                                       "reduce_only": "yes"})  # fmt: skip
    assert bad["status"] == 400 and bad["error"]["code"] < 2000
    for client in (a, b):
        await client.close()


async def test_a_stale_index_halts_new_risk_and_the_mark_channel_says_so(
    make_gateway: MakeGateway,
) -> None:
    app, a, b = await _traded(make_gateway)
    market = app.host.engine.perps.markets[SYMBOL]
    market.index_ts_us = 1  # the feed went quiet long ago
    await submit_applied(app, PerpTick(SYMBOL))
    frame = (await a.push(f"mark.{SYMBOL}"))["data"]
    assert (frame["reduce_only"], frame["reason"]) == (True, "index_stale")
    order = {"symbol": SYMBOL, "type": "limit", "price": "59000", "quantity": "0.1"}
    refused = await a.call("order.place", {**order, "side": "buy"})
    assert (refused["status"], refused["error"]["code"]) == (400, 2039)
    assert "index_stale" in refused["error"]["msg"]
    assert (await a.ok("order.place", {**order, "side": "sell"}))["status"] == "new"
    await submit_applied(app, SetIndexPrice(SYMBOL, 600_000))
    frame = (await a.push(f"mark.{SYMBOL}"))["data"]
    assert (frame["reduce_only"], frame["reason"]) == (False, "")
    lifted = await a.ok("order.place", {**order, "side": "buy", "price": "58000"})
    assert lifted["status"] == "new"
    for client in (a, b):
        await client.close()


async def test_position_close_closes_the_whole_position(make_gateway: MakeGateway) -> None:
    """position.close: a reduce-only market order for the whole position, other side."""
    app, a, b = await _traded(make_gateway)
    await b.ok("order.place", {"symbol": SYMBOL, "side": "buy", "type": "limit",
                               "quantity": "2", "price": "60000"})  # fmt: skip
    closed = await a.ok("position.close", {"symbol": SYMBOL, "client_order_id": "bye"})
    assert (closed["side"], closed["type"], closed["quantity"], closed["status"]) == (
        "sell",
        "market",
        "0.5",
        "filled",
    )
    assert closed["reduce_only"] is True and closed["client_order_id"] == "bye"
    assert [f["quantity"] for f in closed["fills"]] == ["0.5"]
    assert app.host.engine.perps.positions[SYMBOL]["ACC1"].size == 0
    flat = await a.call("position.close", {"symbol": SYMBOL})
    assert (flat["status"], flat["error"]["code"]) == (400, 2039)
    assert "no open position" in flat["error"]["msg"]
    spot = await a.call("position.close", {"symbol": "BTC-USD"})
    assert spot["error"]["code"] == 2022
    for client in (a, b):
        await client.close()


async def test_leverage_margin_mode_and_isolated_margin(make_gateway: MakeGateway) -> None:
    """position.leverage / position.margin_mode / position.margin: the engine's
    SetLeverage, SetMarginMode and AdjustIsolatedMargin for the logged-on account,
    answered with the position; the engine's refusals are error answers."""
    app = await _perp_gateway(make_gateway)
    await app.perp_ticker.stop()  # this test sends its own ticks
    await submit_applied(app, SetMarketState("DEMO", SYMBOL, MarketState.ENABLED))
    await submit_applied(app, PerpTick(SYMBOL))
    a, b = await connect_client(app), await connect_client(app)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    pos = await a.ok("position.leverage", {"symbol": SYMBOL, "leverage": 5})
    assert (pos["symbol"], pos["leverage"], pos["margin_mode"]) == (SYMBOL, 5, "cross")
    too_high = await a.call("position.leverage", {"symbol": SYMBOL, "leverage": 21})
    assert too_high["status"] == 400 and "1..20" in too_high["error"]["msg"]
    pos = await a.ok("position.margin_mode", {"symbol": SYMBOL, "margin_mode": "isolated"})
    assert pos["margin_mode"] == "isolated"
    flat = await a.call("position.margin", {"symbol": SYMBOL, "amount": "100"})
    assert flat["status"] == 400 and "no isolated position" in flat["error"]["msg"]
    await b.ok("order.place", {"symbol": SYMBOL, "side": "sell", "type": "limit",
                               "quantity": "0.5", "price": "60000"})  # fmt: skip
    await a.ok("order.place", {"symbol": SYMBOL, "side": "buy", "type": "market",
                               "quantity": "0.5"})  # fmt: skip
    engine_pos = app.host.engine.perps.positions[SYMBOL]["ACC1"]
    assert engine_pos.isolated and engine_pos.margin == 6_000 * 100_000_000  # 30,000 / 5x
    pos = await a.ok("position.margin", {"symbol": SYMBOL, "amount": "250.5"})
    assert (pos["margin"], pos["size"]) == ("6250.5", "0.5")
    pos = await a.ok("position.margin", {"symbol": SYMBOL, "amount": "-0.5"})
    assert pos["margin"] == "6250"
    busy = await a.call("position.margin_mode", {"symbol": SYMBOL, "margin_mode": "cross"})
    assert busy["status"] >= 400 and "position or orders open" in busy["error"]["msg"]
    spot = await a.call("position.leverage", {"symbol": "BTC-USD", "leverage": 2})
    assert spot["error"]["code"] == 2022
    for client in (a, b):
        await client.close()


def _usd(answer: dict[str, Any]) -> dict[str, Decimal]:
    [usd] = [b for b in answer["balances"] if b["asset"] == "USD"]
    return {k: Decimal(v) for k, v in usd.items() if k != "asset" and k != "ts_us"}


def _locked(position: dict[str, Any]) -> Decimal:
    """What a cross position needs of the wallet, from the position as the API shows
    it: its initial margin at mark (rounded up to a unit) plus its unrealized loss."""
    notional = abs(Decimal(position["size"])) * Decimal(position["mark_price"])
    im = (notional / position["leverage"]).quantize(Decimal("1e-8"), rounding=ROUND_CEILING)
    return im + max(Decimal(0), -Decimal(position["unrealized_pnl"]))


async def test_available_balance_leaves_out_the_margin_cross_positions_use(
    make_gateway: MakeGateway,
) -> None:
    """account.balances (and the user channel's balance updates): available = total -
    held (open orders' margin and fees) - the cross positions' initial margin at mark
    and unrealized loss, the rule withdrawals and transfers are checked by; it follows
    the mark."""
    app, a, b = await _traded(make_gateway)
    [pos] = (await a.ok("account.positions"))["positions"]
    assert (pos["mark_price"], pos["unrealized_pnl"], pos["leverage"]) == ("60000", "0", 20)
    usd = _usd(await a.ok("account.balances"))
    assert usd["available"] == usd["total"] - usd["held"] - 1_500  # 30,000 / 20x
    await a.ok("subscribe", {"channels": ["user"]})
    await a.ok("order.place", {"symbol": SYMBOL, "side": "buy", "type": "limit",
                               "quantity": "0.1", "price": "59000"})  # fmt: skip
    pushed = [m["data"]["balance"] for m in await a.quiet() if m.get("channel") == "user"
              and m["data"]["type"] == "balance"]  # fmt: skip
    assert [Decimal(x["available"]) for x in pushed] == [
        Decimal(pushed[0]["total"]) - Decimal(pushed[0]["held"]) - 1_500
    ]
    usd = _usd(await a.ok("account.balances"))
    assert usd["held"] > 295  # 5,900 / 20x and the fee
    assert usd["available"] == usd["total"] - usd["held"] - 1_500
    await submit_applied(app, SetIndexPrice(SYMBOL, 570_000))  # down 5%: the long loses
    [pos] = (await a.ok("account.positions"))["positions"]
    assert Decimal(pos["unrealized_pnl"]) < 0
    usd = _usd(await a.ok("account.balances"))
    assert usd["available"] == usd["total"] - usd["held"] - _locked(pos)
    [short] = (await b.ok("account.positions"))["positions"]
    assert Decimal(short["unrealized_pnl"]) > 0  # a profit is not available to withdraw
    usd = _usd(await b.ok("account.balances"))
    assert usd["available"] == usd["total"] - usd["held"] - _locked(short)
    too_much = usd["available"] + Decimal("0.00000001")
    refused = await b.call("withdrawal.request", {"asset": "USD", "amount": str(too_much),
                                                  "destination": "bc1-demo"})  # fmt: skip
    assert refused["status"] == 400 and refused["error"]["code"] == 2015, refused
    btc = _usd({"balances": [dict(x, asset="USD") for x in (await a.ok("account.balances"))[
        "balances"] if x["asset"] == "BTC"]})  # fmt: skip
    assert btc["available"] == btc["total"] - btc["held"]  # no perp margin in BTC
    for client in (a, b):
        await client.close()
