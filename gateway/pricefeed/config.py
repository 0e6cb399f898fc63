"""The feeder's TOML (docs/PRICE_FEED.md): where the admin API is, who signs, and each
perp's index rules and sources. Errors name the key, as the gateway's config does;
the operator's seed may come from ``seed_env`` or ``seed_file`` instead of the file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from gateway.config import ConfigError, _build, _check_decimal, _secret
from gateway.pricefeed.feeder import IndexFeed
from gateway.pricefeed.index import IndexRules
from gateway.pricefeed.sources import HttpPollSource, SimulatedSource, Source, WsStreamSource

__all__ = ["DEMO_FEEDER", "FeederConfig", "SourceConfig", "load_feeder_config"]

#: the demo feeder's config: `make pricefeed`
DEMO_FEEDER = Path(__file__).with_name("demo.toml")

_KINDS = ("simulated", "http", "ws")


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str  # simulated | http | ws
    weight: int = 1
    url: str = ""  # http, ws
    price_path: str = "price"  # http, ws: dotted path to the price in each JSON message
    subscribe: str = ""  # ws: the text sent once connected
    interval_ms: int = 1000  # simulated, http: between two prices
    start: str = ""  # simulated: the price it walks around
    step_bps: int = 5  # simulated: the most it moves a step
    seed: int = 0  # simulated


@dataclass(frozen=True)
class IndexConfig:
    symbol: str
    tick_size: str  # the perp's; the index is rounded onto it, half to even
    stale_after_ms: int = 5_000
    max_deviation_bps: int = 200
    min_sources: int = 1
    sources: list[SourceConfig] = field(default_factory=list)


@dataclass(frozen=True)
class FeederConfig:
    admin_url: str = "http://127.0.0.1:8081"
    operator: str = ""
    seed: str = _secret()  # the operator's Ed25519 private seed, hex
    interval_ms: int = 1000  # one index per perp this often
    log_level: str = "info"
    index: list[IndexConfig] = field(default_factory=list)

    def feeds(self) -> list[IndexFeed]:
        return [
            IndexFeed(
                ix.symbol,
                Decimal(ix.tick_size),
                IndexRules(ix.stale_after_ms, ix.max_deviation_bps, ix.min_sources),
                [_source(s, Decimal(ix.tick_size)) for s in ix.sources],
            )
            for ix in self.index
        ]


def _source(sc: SourceConfig, tick: Decimal) -> Source:
    if sc.kind == "simulated":
        return SimulatedSource(
            sc.name, sc.weight, Decimal(sc.start), step_bps=sc.step_bps,
            interval_ms=sc.interval_ms, quantum=tick, seed=sc.seed,
        )  # fmt: skip
    if sc.kind == "http":
        return HttpPollSource(sc.name, sc.weight, sc.url, sc.price_path, interval_ms=sc.interval_ms)
    return WsStreamSource(sc.name, sc.weight, sc.url, sc.price_path, sc.subscribe)


def load_feeder_config(path: str | Path) -> FeederConfig:
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    config: FeederConfig = _build(FeederConfig, raw, "")
    _validate(config)
    return config


def _validate(config: FeederConfig) -> None:
    if not config.operator:
        raise ConfigError("operator: required (an ops or venue-admin operator id)")
    if len(config.seed) != 64 or any(c not in "0123456789abcdefABCDEF" for c in config.seed):
        raise ConfigError("seed: expected the operator's Ed25519 seed, 64 hex digits")
    if config.interval_ms < 1:
        raise ConfigError("interval_ms: must be >= 1")
    if not config.index:
        raise ConfigError("index: at least one [[index]] is required")
    symbols: set[str] = set()
    for i, ix in enumerate(config.index):
        where = f"index[{i}]"
        if ix.symbol in symbols:
            raise ConfigError(f"{where}.symbol: duplicate {ix.symbol!r}")
        symbols.add(ix.symbol)
        _check_decimal(f"{where}.tick_size", ix.tick_size)
        if Decimal(ix.tick_size) <= 0:
            raise ConfigError(f"{where}.tick_size: must be > 0")
        for name in ("stale_after_ms", "min_sources"):
            if getattr(ix, name) < 1:
                raise ConfigError(f"{where}.{name}: must be >= 1")
        if ix.max_deviation_bps < 0:
            raise ConfigError(f"{where}.max_deviation_bps: must be >= 0")
        if len(ix.sources) < ix.min_sources:
            raise ConfigError(f"{where}.sources: fewer than min_sources ({ix.min_sources})")
        names: set[str] = set()
        for j, sc in enumerate(ix.sources):
            _validate_source(sc, f"{where}.sources[{j}]", names)


def _validate_source(sc: SourceConfig, where: str, names: set[str]) -> None:
    if not sc.name or sc.name in names:
        raise ConfigError(f"{where}.name: empty or duplicate {sc.name!r}")
    names.add(sc.name)
    if sc.kind not in _KINDS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(_KINDS)}")
    if sc.weight < 1:
        raise ConfigError(f"{where}.weight: must be >= 1")
    if sc.interval_ms < 1:
        raise ConfigError(f"{where}.interval_ms: must be >= 1")
    if sc.kind == "simulated":
        if not sc.start:
            raise ConfigError(f"{where}.start: required (the price it walks around)")
        _check_decimal(f"{where}.start", sc.start)
        if Decimal(sc.start) == 0:
            raise ConfigError(f"{where}.start: must be > 0")
        return
    scheme = ("http://", "https://") if sc.kind == "http" else ("ws://", "wss://")
    if not sc.url.startswith(scheme):
        raise ConfigError(f"{where}.url: expected {' or '.join(s + '...' for s in scheme)}")
    if not sc.price_path:
        raise ConfigError(f"{where}.price_path: required")
