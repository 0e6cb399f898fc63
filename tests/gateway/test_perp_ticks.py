"""The PerpTick scheduler: one journaled tick per perpetual, at the sequencer's time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.events import VenueEvent
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from gateway.config import ConfigError, load_config
from gateway.host import EventBatch
from gateway.perp_ticks import PerpTicker
from tests.conftest import MakeGateway, submit_applied


def _perp(symbol: str) -> AddPerpInstrument:
    return AddPerpInstrument(symbol, "BTC", "USD", "0.1", "0.001", tiers="0:0.005:20")


async def test_a_tick_per_perp_marks_it(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    ticker = PerpTicker(app.host, 0)
    assert ticker.tick() == 0  # no perps: nothing journaled
    for symbol in ("BTC-PERP", "ETH-PERP"):
        await submit_applied(app, _perp(symbol))
    await submit_applied(app, SetIndexPrice("BTC-PERP", 600_000))
    seen: list[EventBatch] = []
    app.host.listeners.append(seen.append)
    assert ticker.tick() == 2
    await submit_applied(app, SetIndexPrice("ETH-PERP", 30_000))  # waits for the ticks too
    ticks = [b for b in seen if isinstance(b.command, PerpTick)]
    assert [b.command.symbol for b in ticks] == ["BTC-PERP", "ETH-PERP"]
    assert {b.origin for b in ticks} == {None}  # no session waits for a tick
    marks = [e for e in ticks[0].events if isinstance(e, VenueEvent) and e.kind == "perp.mark"]
    assert marks and marks[0].data["index"] == 600_000
    assert app.host.engine.perps.markets["BTC-PERP"].mark == 600_000


async def test_the_gateway_ticks_on_schedule(make_gateway: MakeGateway) -> None:
    app = await make_gateway(perp={"tick_ms": 5})
    await submit_applied(app, _perp("BTC-PERP"))
    ticked = asyncio.Event()
    app.host.listeners.append(lambda b: ticked.set() if isinstance(b.command, PerpTick) else None)
    async with asyncio.timeout(10):  # a safety bound, not a timing assertion
        await ticked.wait()
    await app.perp_ticker.stop()


async def test_tick_ms_zero_schedules_none(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    assert app.config.perp.tick_ms == 0 and app.perp_ticker.schedule.task is None


def test_tick_ms_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text("[perp]\ntick_ms = -1\n")
    with pytest.raises(ConfigError, match=r"^perp\.tick_ms: expected 0\.\.3600000"):
        load_config(path)
    assert load_config().perp.tick_ms == 1000
