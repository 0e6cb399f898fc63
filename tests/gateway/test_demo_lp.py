"""The demo liquidity provider: its ladder, its walk, a WS client seeing a living
market it made, and the config rule that keeps it on the demo venue only."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from decimal import Decimal
from pathlib import Path

import pytest

from engine.model import Instrument, Side
from gateway.app import App
from gateway.config import ConfigError, DemoLpConfig, load_config
from gateway.demo_lp import DemoLiquidityProvider, RandomWalk, ladder
from tests import conftest
from tests.conftest import MakeGateway
from tests.ws.helpers import connect_client

PATIENCE_S = 10.0
BTC = Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.0001", "0.0001", "1")


def test_ladder_quotes_both_sides_around_the_reference_with_growing_depth() -> None:
    config = DemoLpConfig(levels=3, spread_bps=10, level_step_bps=5, quote_notional="2000")
    reference = BTC.price_to_ticks("60000")
    quotes = ladder(BTC, reference, config)
    bids = [q for q in quotes if q.side == Side.BUY]
    asks = [q for q in quotes if q.side == Side.SELL]
    assert [BTC.ticks_to_price(q.price) for q in bids] == ["59970", "59940", "59910"]
    assert [BTC.ticks_to_price(q.price) for q in asks] == ["60030", "60060", "60090"]
    for n, quote in enumerate(bids + asks):
        level = n % 3 + 1
        # at least level x 2000 USD, and not one lot more than that needs
        assert BTC.notional(quote.price, quote.qty) >= level * 2000 * 10**8
        assert BTC.notional(quote.price, quote.qty - 1) < level * 2000 * 10**8


def test_ladder_keeps_the_instruments_minimums() -> None:
    tiny = Instrument.from_decimals("X-USD", "X", "USD", "0.01", "1", "5", "100")
    [bid, ask] = ladder(tiny, 100, DemoLpConfig(levels=1, quote_notional="0.01"))
    assert (bid.qty, ask.qty) == (102, 100)  # the first lots >= 100 USD at 0.99 and 1.01
    for quote in (bid, ask):
        assert tiny.notional(quote.price, quote.qty - 1) < tiny.min_notional


def test_random_walk_stays_near_its_anchor_and_positive() -> None:
    walk = RandomWalk(6_000_000, 5, random.Random(3))
    prices = [walk.step() for _ in range(5000)]
    assert len(set(prices)) > 100  # it moves
    assert all(5_700_000 < p < 6_300_000 for p in prices)  # pulled back: within 5%
    low = RandomWalk(1, 10_000, random.Random(3))
    assert all(low.step() >= 1 for _ in range(100))


async def test_a_ws_client_sees_the_lp_quote_and_trade(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    # every round trades (trade_every_ms == interval_ms): deterministic, no timer
    config = dataclasses.replace(app.config.demo_lp, trade_every_ms=1000, interval_ms=1000)
    lp = DemoLiquidityProvider(config, app.host, seed=5)
    watcher = await connect_client(app)
    await watcher.ok("subscribe", {"channels": ["trades.BTC-USD", "trades.ETH-USD"]})
    for _ in range(3):
        lp.step()
    trade = (await watcher.push("trades.BTC-USD"))["data"]
    assert Decimal("54000") < Decimal(trade["price"]) < Decimal("66000")
    await watcher.push("trades.ETH-USD")
    assert lp.rejects == 0

    await watcher.ok("subscribe", {"channels": ["book.BTC-USD.10"]})
    book = (await watcher.push("book.BTC-USD.10"))["data"]
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])
    makers = {o.account for o in app.host.engine.orders.values()}
    assert makers == {"DEMO-LP"}  # the taker's IOCs never rest

    await lp.stop()  # leaves no demo quotes behind
    assert not app.host.engine.orders
    await watcher.close()


async def test_a_restarted_lp_cancels_what_the_last_run_left(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    DemoLiquidityProvider(app.config.demo_lp, app.host, seed=1).step()  # killed, no stop()
    assert len(app.host.engine.orders) == 20
    lp = DemoLiquidityProvider(app.config.demo_lp, app.host, seed=2)
    await lp.start()
    await lp.stop()
    assert not app.host.engine.orders


async def test_app_starts_the_lp_as_a_component_stopped_first(tmp_path: Path) -> None:
    app = App(conftest.test_config(tmp_path))
    await app.start()
    await app.start_demo_lp()
    assert app.components[-1].name == "demo_lp"
    assert app.host.engine.orders  # its first round runs at once
    await app.stop()
    assert not app.host.engine.orders


def test_on_in_the_demo_config_and_off_under_a_config_file(tmp_path: Path) -> None:
    demo = load_config()
    assert demo.demo_lp.enabled and set(demo.demo_lp.prices) == {"BTC-USD", "ETH-USD"}
    path = tmp_path / "venue.toml"
    path.write_text('log_level = "info"\n')
    assert not load_config(path).demo_lp.enabled
    path.write_text('[demo_lp]\nenabled = true\nprices = { BTC-USD = "100" }\n')
    assert load_config(path).demo_lp.enabled


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ('maker_account = "NOPE"', "demo_lp.maker_account: not one of [[accounts]]: 'NOPE'"),
        ('taker_account = "DEMO-LP"', "demo_lp.taker_account: must differ from maker_account"),
        ('prices = { DOGE-USD = "1" }', "demo_lp.prices.DOGE-USD: not one of [[instruments]]"),
        ('prices = { BTC-USD = "1.001" }', "demo_lp.prices.BTC-USD: "),
        ("levels = 0", "demo_lp.levels: must be >= 1"),
        ("spread_bps = 20000", "demo_lp.spread_bps: expected 0..10000"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, table: str, error: str) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(f"[demo_lp]\nenabled = true\n{table}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(error)


def test_app_without_the_lp_runs_none(gateway: App) -> None:
    assert all(c.name != "demo_lp" for c in gateway.components)


async def test_the_demo_venue_lists_a_living_perpetual(tmp_path: Path) -> None:
    """`make run`'s venue: ETH-PERP is listed on the first start, its index follows the
    LP's ETH-USD reference (journaled SetIndexPrice), its mark is set by the ticks and
    the LP quotes it; the WS feed and the console show it. A restart replays it."""
    config = conftest.test_config(tmp_path, perp={"tick_ms": 1000})  # the demo's ticks
    app = App(config)
    await app.start()
    await app.start_demo_lp()
    engine = app.host.engine
    market = engine.perps.markets["ETH-PERP"]
    spot = engine.listings["ETH-USD"].book
    assert market.index and spot.best_bid() < market.index < spot.best_ask()
    watcher = await connect_client(app)
    await watcher.ok("subscribe", {"channels": ["mark.ETH-PERP", "book.ETH-PERP.10"]})
    for _ in range(int(PATIENCE_S / 0.05)):  # the first tick marks it (a bound, no timing)
        if market.mark:
            break
        await asyncio.sleep(0.05)
    assert market.mark, "no mark within the bound"
    book = (await watcher.push("book.ETH-PERP.10", PATIENCE_S))["data"]
    assert len(book["bids"]) == len(book["asks"]) == config.demo_lp.levels
    mark = (await watcher.push("mark.ETH-PERP", PATIENCE_S))["data"]
    assert Decimal(mark["index_price"]) > 0 and Decimal(mark["mark_price"]) > 0
    assert app.admin is not None
    (shown,) = [m for m in app.admin.console.snapshot()["markets"] if m["symbol"] == "ETH-PERP"]
    assert shown["bids"] and shown["asks"] and shown["perp"]["mark"] and shown["perp"]["index"]
    await watcher.close()
    index = market.index
    await app.stop()

    again = App(config)  # the listing and the index are journaled: replay restores them
    await again.start()
    try:
        assert again.host.engine.perps.markets["ETH-PERP"].index == index
    finally:
        await again.stop()


def test_a_perpetual_follows_a_spot_instrument_the_lp_quotes(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text('[demo_lp]\nenabled = true\nperps = { X-PERP = "BTC-USD" }\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith("demo_lp.perps.X-PERP: BTC-USD is not one of")
