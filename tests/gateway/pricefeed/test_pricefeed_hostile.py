"""A price source gone bad, over real HTTP: a quote with a huge exponent ("1e999999",
eight bytes) is no price. Before, it reached the index: one such quote overflowed the
round (decimal.Overflow) and "1e999990" held the feeder for minutes turning it into
ticks."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from gateway.pricefeed.feeder import Feeder, IndexFeed
from gateway.pricefeed.index import IndexRules
from gateway.pricefeed.sources import HttpPollSource, WsStreamSource, price_at
from tests.gateway.pricefeed.conftest import SUBSCRIBE, FakeVenue, until

HUGE = ("1e999999", "1e999990", "1" + "0" * 18, "9e18")


def test_a_price_of_10_to_the_18_or_more_is_no_price() -> None:
    for text in HUGE:
        assert price_at({"p": text}, "p") is None, text
        assert price_at({"p": Decimal(text)}, "p") is None, text
    assert price_at({"p": "9" * 18}, "p") == Decimal("9" * 18)


async def test_a_source_quoting_a_huge_exponent_is_left_out(fake_venue: FakeVenue) -> None:
    submitted: list[tuple[str, str]] = []

    async def submit(symbol: str, price: str) -> None:
        submitted.append((symbol, price))

    fake_venue.price = 0  # a JSON number the test replaces below
    rest = HttpPollSource("rest", 1, fake_venue.http_url, "data.price", interval_ms=10)
    stream = WsStreamSource("ws", 1, fake_venue.ws_url, "price", subscribe=SUBSCRIBE)
    rules = IndexRules(stale_after_ms=60_000, max_deviation_bps=100, min_sources=1)
    feed = IndexFeed("BTC-PERP", Decimal("0.1"), rules, [rest, stream])
    feeder = Feeder([feed], submit, interval_ms=3_600_000, clock_ms=lambda: 0)
    fake_venue.price = "1e999999"
    task = asyncio.create_task(feeder.run())
    try:
        await until(lambda: bool(fake_venue.streams) and fake_venue.polls >= 3)
        await fake_venue.push("1e999999")  # a JSON number, parsed as a Decimal
        await fake_venue.push('"60000.30"')
        await until(lambda: any(p.price is not None for p in feed.board.prices()))
        [(_, result)] = await feeder.round()
        assert result.excluded == {"rest": "no_price"}
        assert submitted[-1] == ("BTC-PERP", "60000.3")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
