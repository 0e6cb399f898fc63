"""The feeder's TOML: what it builds, and errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.pricefeed.config import load_feeder_config
from gateway.pricefeed.sources import HttpPollSource, SimulatedSource, WsStreamSource

SEED = "ab" * 32
GOOD = f"""
admin_url = "http://127.0.0.1:8081"
operator = "demo-ops"
seed = "{SEED}"

[[index]]
symbol = "BTC-PERP"
tick_size = "0.1"
min_sources = 2
max_deviation_bps = 150

[[index.sources]]
name = "sim"
kind = "simulated"
start = "60000"

[[index.sources]]
name = "rest"
kind = "http"
weight = 2
url = "https://api.example.com/ticker?symbol=BTCUSDT"
price_path = "price"

[[index.sources]]
name = "stream"
kind = "ws"
url = "wss://ws.example.com/"
subscribe = '{{"type": "subscribe"}}'
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeder.toml"
    path.write_text(text)
    return path


def test_a_good_config_builds_its_feeds(tmp_path: Path) -> None:
    config = load_feeder_config(_write(tmp_path, GOOD))
    [feed] = config.feeds()
    assert feed.symbol == "BTC-PERP" and feed.tick_size == Decimal("0.1")
    assert (feed.rules.min_sources, feed.rules.max_deviation_bps) == (2, 150)
    sim, rest, stream = feed.sources
    assert isinstance(sim, SimulatedSource) and sim.quantum == Decimal("0.1")
    assert isinstance(rest, HttpPollSource) and rest.weight == 2
    assert isinstance(stream, WsStreamSource) and stream.subscribe == '{"type": "subscribe"}'
    assert SEED not in repr(config)


def test_the_seed_may_come_from_a_file(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed"
    seed_file.write_text(SEED + "\n")
    text = GOOD.replace(f'seed = "{SEED}"', f'seed_file = "{seed_file}"')
    assert load_feeder_config(_write(tmp_path, text)).seed == SEED


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('operator = "demo-ops"', 'operator = ""', "operator: required"),
        (f'seed = "{SEED}"', 'seed = "abc"', "seed: expected"),
        ('tick_size = "0.1"', 'tick_size = "0"', "index[0].tick_size: must be > 0"),
        ("min_sources = 2", "min_sources = 4", "index[0].sources: fewer than min_sources"),
        ('kind = "simulated"', 'kind = "carrier-pigeon"', "index[0].sources[0].kind: expected"),
        ('start = "60000"', 'start = "-1"', "index[0].sources[0].start: must be >= 0"),
        ('start = "60000"', 'start = "0"', "index[0].sources[0].start: must be > 0"),
        ('name = "rest"', 'name = "sim"', "index[0].sources[1].name: empty or duplicate"),
        ("weight = 2", "weight = 0", "index[0].sources[1].weight: must be >= 1"),
        ('url = "wss://', 'url = "https://', "index[0].sources[2].url: expected ws://"),
        ("max_deviation_bps = 150", "max_deviation_bps = 1.5", "index[0].max_deviation_bps:"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, old: str, new: str, error: str) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as info:
        load_feeder_config(_write(tmp_path, GOOD.replace(old, new, 1)))
    assert str(info.value).startswith(error), str(info.value)
    assert SEED not in str(info.value)


def test_the_demo_feeder_signs_as_the_demo_ops_operator() -> None:
    from gateway.admin.signing import public_key_of
    from gateway.config import load_config
    from gateway.pricefeed.config import DEMO_FEEDER

    feeder = load_feeder_config(DEMO_FEEDER)
    [ops] = [op for op in load_config().admin.operators if op.id == feeder.operator]
    assert ops.role == "ops" and public_key_of(feeder.seed) == ops.public_key
    [feed] = feeder.feeds()
    assert feed.symbol == "BTC-PERP" and [s.name for s in feed.sources] == ["sim-a", "sim-b"]
