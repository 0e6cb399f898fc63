"""The feeder as it runs: `python -m gateway.pricefeed` against a real gateway's admin
API, with a fake venue as its source; the index lands in the engine, journaled."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from engine.perp.commands import AddPerpInstrument
from tests.conftest import MakeGateway, submit_applied
from tests.gateway.pricefeed.conftest import FakeVenue, until


async def test_the_feeder_process_sets_the_index_through_the_admin_api(
    make_gateway: MakeGateway, fake_venue: FakeVenue, tmp_path: Path
) -> None:
    app = await make_gateway()
    assert app.admin is not None
    await submit_applied(app, AddPerpInstrument("BTC-PERP", "BTC", "USD", "0.1", "0.001",
                                                tiers="0:0.005:20"))  # fmt: skip
    ops = next(op for op in app.config.admin.operators if op.role == "ops")
    seed_file = tmp_path / "ops.seed"
    seed_file.write_text(ops.demo_seed + "\n")
    seed_file.chmod(0o600)
    config = tmp_path / "feeder.toml"
    config.write_text(f"""
admin_url = "http://127.0.0.1:{app.admin.port}"
operator = "{ops.id}"
seed_file = "{seed_file}"
interval_ms = 20

[[index]]
symbol = "BTC-PERP"
tick_size = "0.1"

[[index.sources]]
name = "fake"
kind = "http"
url = "{fake_venue.http_url}"
price_path = "data.price"
interval_ms = 20
""")
    fake_venue.price = "60000.26"  # rounds half to even onto the 0.1 grid: 60000.3
    feeder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.pricefeed", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        market = app.host.engine.perps.markets["BTC-PERP"]
        await until(lambda: market.index == 600_003, timeout=30)
        fake_venue.price = "59999.94"
        await until(lambda: market.index == 599_999, timeout=30)
    finally:
        feeder.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(feeder.communicate(), 30)
    assert feeder.returncode == 0, err.decode()
    assert b"pricefeed.started" in err and b"pricefeed.stopped" in err
    assert ops.demo_seed.encode() not in err


async def test_a_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "feeder.toml"
    config.write_text('operator = "x"\nseed = "00"\n')
    feeder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.pricefeed", "--config", str(config),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(feeder.communicate(), 30)
    assert feeder.returncode == 2 and b"seed: expected" in err
