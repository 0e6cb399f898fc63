"""The adapters against a local fake venue over real HTTP and WebSocket, and the
feeder's rounds over them."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from gateway.pricefeed.feeder import Feeder, IndexFeed
from gateway.pricefeed.index import IndexRules
from gateway.pricefeed.sources import (
    HttpPollSource,
    SimulatedSource,
    WsStreamSource,
    price_at,
)
from tests.gateway.pricefeed.conftest import SUBSCRIBE, FakeVenue, until


def test_price_at_reads_exact_decimals_and_skips_what_is_no_price() -> None:
    assert price_at({"data": [{"p": "60000.1"}]}, "data.0.p") == Decimal("60000.1")
    assert price_at({"p": Decimal("0.1")}, "p") == Decimal("0.1")
    for message in ({"p": "0"}, {"p": "-1"}, {"p": "NaN"}, {"p": "x"}, {"p": True},
                    {"p": None}, {"q": "1"}, {"data": []}, "text"):  # fmt: skip
        assert price_at(message, "data.0.p" if "data" in str(message) else "p") is None


async def _collect(source: object, until_count: int) -> list[Decimal]:
    got: list[Decimal] = []
    task = asyncio.create_task(source.run(got.append))  # type: ignore[attr-defined]
    try:
        await until(lambda: len(got) >= until_count)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return got


async def test_http_poll_source_reads_the_venue_and_survives_its_outage(
    fake_venue: FakeVenue,
) -> None:
    source = HttpPollSource("fake-rest", 1, fake_venue.http_url, "data.price", interval_ms=10)
    assert (await _collect(source, 1))[0] == Decimal("60000.10")
    fake_venue.price = 60001.25  # a JSON number: still exact
    fake_venue.status = 503
    got: list[Decimal] = []
    polls = fake_venue.polls
    task = asyncio.create_task(source.run(got.append))
    await until(lambda: fake_venue.polls >= polls + 2)
    assert got == []  # the outage publishes nothing: the price ages
    fake_venue.status = 200
    await until(lambda: bool(got))
    task.cancel()
    assert got[0] == Decimal("60001.25")


async def test_ws_stream_source_subscribes_and_reconnects(fake_venue: FakeVenue) -> None:
    source = WsStreamSource("fake-ws", 1, fake_venue.ws_url, "price", subscribe=SUBSCRIBE)
    got: list[Decimal] = []
    task = asyncio.create_task(source.run(got.append))
    await until(lambda: bool(fake_venue.streams))
    await fake_venue.push('"60000.5"')
    await until(lambda: len(got) == 1)
    await fake_venue.drop_streams()  # the venue drops us: we come back and resubscribe
    await until(lambda: bool(fake_venue.streams))
    await fake_venue.push("60002.75")
    await until(lambda: len(got) == 2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert got == [Decimal("60000.5"), Decimal("60002.75")]


async def test_simulated_source_walks_on_its_grid() -> None:
    source = SimulatedSource("sim", 1, Decimal("3000"), step_bps=10, interval_ms=1, seed=4)
    prices = await _collect(source, 50)
    assert len(set(prices)) > 10
    assert all(p == p.quantize(Decimal("0.01")) and 2900 < p < 3100 for p in prices)


async def test_feeder_submits_the_median_of_live_sources(fake_venue: FakeVenue) -> None:
    now = [0]
    submitted: list[tuple[str, str]] = []

    async def submit(symbol: str, price: str) -> None:
        submitted.append((symbol, price))

    rest = HttpPollSource("rest", 1, fake_venue.http_url, "data.price", interval_ms=10)
    stream = WsStreamSource("ws", 1, fake_venue.ws_url, "price", subscribe=SUBSCRIBE)
    sim = SimulatedSource("sim", 1, Decimal("90000"), step_bps=0, interval_ms=10)
    rules = IndexRules(stale_after_ms=1000, max_deviation_bps=100, min_sources=2)
    feed = IndexFeed("BTC-PERP", Decimal("0.1"), rules, [rest, stream, sim])
    feeder = Feeder([feed], submit, interval_ms=3_600_000, clock_ms=lambda: now[0])
    task = asyncio.create_task(feeder.run())
    await until(lambda: bool(fake_venue.streams))
    await fake_venue.push('"60000.30"')
    await until(lambda: all(p.price is not None for p in feed.board.prices()))

    [(_, result)] = await feeder.round()
    # sim (90000) is far from the reference and left out; 60000.10 and 60000.30 on a
    # 0.1 grid: 600001 and 600003 ticks, exactly half the weight each: the mean
    assert result.excluded == {"sim": "deviation"}
    assert submitted == [("BTC-PERP", "60000.2")]

    now[0] = 1001  # nothing new arrived: all three are stale, no index, nothing sent
    [(_, result)] = await feeder.round()
    assert result.price is None and set(result.excluded.values()) == {"stale"}
    assert len(submitted) == 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
