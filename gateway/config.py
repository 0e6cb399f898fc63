"""Typed configuration from TOML, with an embedded demo venue as the default.

A file given with --config is laid over the defaults section by section: each
top-level section present in the file replaces the default one; absent sections
keep the demo values. Unknown keys and wrong types are errors that name the key
("accounts[1].stp: expected one of ...").

A secret key ``k`` (password_hash, hmac_secret, key_derivation_secret) may instead
be given as ``k_env``, the name of an environment variable holding it, or ``k_file``,
a file holding it (a final newline is dropped): secrets need not live in the TOML.
Secrets stay out of the config's repr and of every error message.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AccountConfig",
    "AdminConfig",
    "AdminOperatorConfig",
    "ApiKeyConfig",
    "Config",
    "ConfigError",
    "DemoLpConfig",
    "FeeScheduleConfig",
    "FeeTierConfig",
    "FeesConfig",
    "FixConfig",
    "FixSessionConfig",
    "HttpConfig",
    "InstrumentConfig",
    "JournalConfig",
    "PerpConfig",
    "StoreConfig",
    "WsConfig",
    "load_config",
    "parse_listen",
]


class ConfigError(ValueError):
    """Invalid configuration; the message names the offending key."""


def _secret() -> Any:
    """A secret field: settable from the environment or a file (``_env``/``_file``),
    kept out of repr."""
    return field(default="", repr=False, metadata={"secret": True})


@dataclass(frozen=True)
class JournalConfig:
    dir: str = "var/journal"
    fsync: str = "batch"  # batch | interval | never
    fsync_interval_ms: int = 10
    snapshot_every: int = 100_000  # commands between snapshots; 0 = never
    follower_retain_mb: int = 1024  # kept beyond that for a follower behind; 0 = none


@dataclass(frozen=True)
class StoreConfig:
    follower: bool = True  # `python -m gateway` starts and supervises the journal follower
    url: str = _secret()  # "" = SQLite beside the journal dir; postgresql://...; sqlite:PATH
    batch: int = 1000  # commands per store transaction at most
    lag_log_s: float = 10.0  # how often the follower logs its lag
    reconcile_every_s: float = 3600.0  # the follower reconciles the ledger this often; 0 = off
    liabilities_every_s: float = 86400.0  # the follower publishes liabilities this often; 0 = off
    nice: int = 10  # the follower's CPU priority (nice, 0..19): the gateway's order path first


@dataclass(frozen=True)
class InstrumentConfig:
    symbol: str
    base: str
    quote: str
    tick_size: str
    lot_size: str
    min_qty: str = "0"
    min_notional: str = "0"
    collar_pct: str = "0"


@dataclass(frozen=True)
class AccountConfig:
    id: str
    balances: dict[str, str] = field(default_factory=dict)
    stp: str = "none"  # none | expire_taker | expire_maker | expire_both | decrement
    maker_fee_bps: str = "0"
    taker_fee_bps: str = "0"
    max_order_qty: str = "0"  # base asset amount; 0 = no limit
    max_order_notional: str = "0"  # quote asset amount; 0 = no limit
    max_open_orders: int = 0


@dataclass(frozen=True)
class FixSessionConfig:
    target_comp_id: str
    sender_comp_id: str = ""
    begin_string: str = "FIX.4.4"
    default_appl_ver_id: str = "9"  # FIXT.1.1: DefaultApplVerID (1137); only 9 = FIX50SP2
    role: str = "order_entry"  # order_entry | market_data | drop_copy
    account: list[str] = field(default_factory=list)
    auth: str = "none"  # none | password | ed25519
    password_hash: str = _secret()  # scrypt$<salt hex>$<hash hex>
    ed25519_keys: dict[str, str] = field(default_factory=dict)  # key id -> public key hex
    reset_on_logon: bool = True
    cancel_on_disconnect: bool = False
    cancel_on_logout: bool = False
    max_msgs_per_s: int = 1000
    username: str = ""  # password auth: if set, Username (553) must equal it
    heartbeat_min_s: int = 1
    heartbeat_max_s: int = 300
    logout_timeout_s: float = 2.0


@dataclass(frozen=True)
class FixConfig:
    listen: str = "127.0.0.1:9878"
    sender_comp_id: str = "GATEWAY"
    sending_time_tolerance_s: int = 120
    store_dir: str = "var/fix"
    tls_cert: str = ""
    tls_key: str = ""
    store_fsync: bool = False  # fsync the FIX message stores on every flush
    resend_window: int = 1_000_000  # latest MsgSeqNums a session can resend (older: gap fill)
    logon_timeout_s: float = 10.0
    slow_consumer_timeout_s: float = 5.0  # a client that stops reading is disconnected
    max_connections: int = 1000  # open connections, logged on or not; 0 = no cap
    max_connections_per_source: int = 100  # from one source address; 0 = no cap
    adaptive_spin_us: int = 500  # longest poll after answering a ping-pong client; 0 = never
    sessions: list[FixSessionConfig] = field(default_factory=list)


@dataclass(frozen=True)
class ApiKeyConfig:
    key: str
    account: str
    hmac_secret: str = _secret()  # HMAC-SHA256 secret
    ed25519_public_key: str = ""  # hex


@dataclass(frozen=True)
class WsConfig:
    listen: str = "127.0.0.1:8765"
    path: str = "/ws"
    max_requests_per_s: int = 100
    ping_interval_s: float = 10.0
    ping_timeout_s: float = 10.0
    logon_window_ms: int = 5000
    send_queue: int = 1024
    handshake_timeout_s: float = 5.0  # TCP accept to completed WebSocket handshake
    idle_timeout_s: float = 60.0  # neither logged on nor subscribed this long: closed; 0 = never
    max_connections: int = 5000
    max_connections_per_source: int = 200
    #: master of the API keys' HMAC secrets (gateway/credentials.py); "" = no HMAC keys
    #: can be issued or verified but config-secret ones
    key_derivation_secret: str = _secret()
    api_keys: list[ApiKeyConfig] = field(default_factory=list)


@dataclass(frozen=True)
class HttpConfig:
    listen: str = "127.0.0.1:8080"
    header_timeout_s: float = 5.0  # to a complete request header, from accept or last answer
    max_connections: int = 256
    max_connections_per_source: int = 32


@dataclass(frozen=True)
class AdminOperatorConfig:
    """An operator seeded into an empty journal (after that, the journal is the truth)."""

    id: str
    role: str  # venue-admin | ops | compliance | support | read-only | tenant-admin
    public_key: str  # Ed25519, 64 hex digits
    tenant: str = ""  # tenant-admin only
    demo_seed: str = _secret()  # demo only: the private seed the banner prints


@dataclass(frozen=True)
class AdminConfig:
    listen: str = "127.0.0.1:8081"  # "" = no admin listener
    max_body_bytes: int = 65536
    signature_window_s: int = 30  # a signed request's timestamp within this of our clock
    nonce_capacity: int = 100_000  # nonces remembered within the window
    audit_log: str = ""  # "" = admin-audit.jsonl in the journal directory
    header_timeout_s: float = 5.0
    max_connections: int = 64
    max_connections_per_source: int = 16
    journal_refusals_per_min: int = 60  # per operator, into the journal's audit trail
    operators: list[AdminOperatorConfig] = field(default_factory=list)


@dataclass(frozen=True)
class FeeTierConfig:
    min_volume: str = "0"  # 30-day traded notional (reference asset) where it starts
    maker_bps: str = "0"  # negative = a rebate, within max_rebate_bps
    taker_bps: str = "0"


@dataclass(frozen=True)
class FeeScheduleConfig:
    id: str
    tiers: list[FeeTierConfig] = field(default_factory=list)


@dataclass(frozen=True)
class FeesConfig:
    """The venue's fees (engine/venue/fees.py); revenue_account "" = no fee schedules:
    each account pays the fees its [[accounts]] entry gives."""

    revenue_account: str = ""
    reference_asset: str = "USD"
    max_rebate_bps: str = "0"
    max_markup_bps: str = "0"
    default_schedule: str = ""
    schedules: list[FeeScheduleConfig] = field(default_factory=list)


@dataclass(frozen=True)
class TenantConfig:
    """A tenant bootstrapped into an empty journal: its accounts (from [[accounts]])
    are KYC-verified at tier 1, which allows everything, and every instrument is
    enabled for it. Accounts named here but not in [[accounts]] are skipped."""

    id: str
    name: str = ""
    revenue_account: str = ""  # "" = "<id>-REVENUE"
    accounts: list[str] = field(default_factory=list)
    daily_withdraw_limit: dict[str, str] = field(default_factory=dict)  # asset -> amount


@dataclass(frozen=True)
class PerpConfig:
    """Perpetuals' scheduling (gateway/perp_ticks.py)."""

    tick_ms: int = 1000  # one PerpTick per perpetual this often; 0 = none


@dataclass(frozen=True)
class DemoLpConfig:
    """The demo liquidity provider (gateway/demo_lp.py): on in the demo config only."""

    enabled: bool = False
    maker_account: str = "DEMO-LP"  # quotes the ladder
    taker_account: str = "DEMO-TAKER"  # trades against the touch now and then
    prices: dict[str, str] = field(default_factory=dict)  # symbol -> starting reference
    #: perpetual -> the spot instrument (of ``prices``) whose reference is its index:
    #: listed on the spot's grid at the first start, quoted like the spot
    perps: dict[str, str] = field(default_factory=dict)
    interval_ms: int = 1000  # one requote round
    trade_every_ms: int = 5000  # mean time between the taker's trades, per instrument
    levels: int = 5  # quotes on each side
    spread_bps: int = 10  # between the best bid and the best ask
    level_step_bps: int = 5  # between two levels of one side
    step_bps: int = 5  # the most the reference moves in one round
    quote_notional: str = "2000"  # quote asset at the first level; level n holds n times it
    seed: int = 0  # of the random walk and the taker's draws

    @property
    def quote_notional_units(self) -> int:
        from engine.model import decimal_to_units

        return decimal_to_units(self.quote_notional)


@dataclass(frozen=True)
class Config:
    journal: JournalConfig = field(default_factory=JournalConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    instruments: list[InstrumentConfig] = field(default_factory=list)
    accounts: list[AccountConfig] = field(default_factory=list)
    tenants: list[TenantConfig] = field(default_factory=list)
    fix: FixConfig = field(default_factory=FixConfig)
    ws: WsConfig = field(default_factory=WsConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    fees: FeesConfig = field(default_factory=FeesConfig)
    demo_lp: DemoLpConfig = field(default_factory=DemoLpConfig)
    perp: PerpConfig = field(default_factory=PerpConfig)
    log_level: str = "info"
    busy_poll_us: int = 0  # keep the loop polling this long after a command; 0 = sleep
    # The follower's market surveillance: thresholds per rule and instrument, owners,
    # groups, the reporting entity (docs/SURVEILLANCE.md); checked at load.
    surveillance: dict[str, Any] = field(default_factory=dict)
    #: the file this config was loaded from (set by load_config, not a TOML key), so
    #: that processes the gateway starts read the same file
    config_file: str | None = field(default=None, metadata={"internal": True})


DEMO_TOML = Path(__file__).with_name("demo.toml")


def parse_listen(text: str) -> tuple[str, int]:
    """'host:port' -> (host, port); raises ConfigError."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"listen address must be host:port, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def load_config(path: str | Path | None = None) -> Config:
    """Demo defaults, overlaid by the file's top-level sections; validated.

    The one exception: the demo liquidity provider trades on the demo venue only, so a
    file that has no [demo_lp] section of its own turns it off."""
    raw = _read(DEMO_TOML)
    if path is not None:
        raw.pop("demo_lp", None)
        raw.update(_read(Path(path)))
    config: Config = _build(Config, raw, "")
    _validate(config)
    if path is not None:
        config = dataclasses.replace(config, config_file=str(Path(path).resolve()))
    return config


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _build(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a table")
    data = _read_secrets(cls, data, where)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{_join(where, unknown[0])}: unknown key")
    values = {}
    for f in dataclasses.fields(cls):
        key = _join(where, f.name)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: required key missing")
            continue
        values[f.name] = _convert(hints[f.name], data[f.name], key)
    return cls(**values)


def _read_secrets(cls: type[Any], data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with each secret given as ``<name>_env`` or ``<name>_file`` read into
    ``<name>``."""
    data = dict(data)
    for f in dataclasses.fields(cls):
        if not f.metadata.get("secret"):
            continue
        given = [k for k in (f.name, f"{f.name}_env", f"{f.name}_file") if k in data]
        if len(given) > 1:
            raise ConfigError(f"{where}: set only one of {', '.join(given)}")
        if not given or given[0] == f.name:
            continue
        key, source = _join(where, given[0]), data.pop(given[0])
        if not isinstance(source, str):
            raise ConfigError(f"{key}: expected str, got {type(source).__name__}")
        data[f.name] = _read_file(key, source) if key.endswith("_file") else _read_env(key, source)
    return data


def _read_env(key: str, name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"{key}: {name} is not set in the environment (or is empty)")
    return value


def _read_file(key: str, path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            value = fh.read().removesuffix("\n").removesuffix("\r")
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {path} is not UTF-8 text") from None
    if not value:
        raise ConfigError(f"{key}: {path} is empty")
    return value


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:  # a table checked by its own parser (e.g. [surveillance])
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)  # type: ignore[arg-type]
    if origin is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, str) and item is str:
            return [value]  # `account = "ACC1"` is a list of one
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list")
        return [_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table")
        return {str(k): _convert(item, v, f"{key}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"{key}: unsupported type")  # pragma: no cover - not used
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, int | float) and not isinstance(value, bool):
        raise ConfigError(f'{key}: expected a string (write decimals as "1.5", not 1.5)')
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {type(value).__name__}")
    return value


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


_STP_NAMES = ("none", "expire_taker", "expire_maker", "expire_both", "decrement")


def _check_decimal(key: str, text: str) -> None:
    """A config decimal is in the grammar of every edge (gateway/decimals.py) and, as
    every one is a size, an amount, a fee or a percentage, not negative."""
    from engine.model import GridError
    from gateway.decimals import parse_decimal

    try:
        value = parse_decimal(text)
    except GridError as exc:
        raise ConfigError(f"{key}: {exc}") from exc
    if value < 0:
        raise ConfigError(f"{key}: must be >= 0, got {text}")


def _validate_fees(config: Config) -> None:
    """[fees]: the commands seed_fees builds from it would all be accepted."""
    from engine.model import GridError
    from engine.venue.fees import FeeError, check_rates, parse_tiers, signed_bps_to_ppm

    fees = config.fees
    if not fees.revenue_account:
        return
    _check_decimal("fees.max_rebate_bps", fees.max_rebate_bps)
    _check_decimal("fees.max_markup_bps", fees.max_markup_bps)
    try:
        max_rebate = signed_bps_to_ppm(fees.max_rebate_bps)
        max_markup = signed_bps_to_ppm(fees.max_markup_bps)
    except FeeError as exc:
        raise ConfigError(f"fees: {exc}") from exc
    if max_rebate < 0 or max_markup < 0:
        raise ConfigError("fees: max_rebate_bps and max_markup_bps must be >= 0")
    ids = set()
    for i, schedule in enumerate(fees.schedules):
        where = f"fees.schedules[{i}]"
        if not schedule.id or schedule.id in ids:
            raise ConfigError(f"{where}.id: empty or duplicate {schedule.id!r}")
        ids.add(schedule.id)
        for j, tier in enumerate(schedule.tiers):
            _check_decimal(f"{where}.tiers[{j}].min_volume", tier.min_volume)
            _check_decimal(f"{where}.tiers[{j}].maker_bps", tier.maker_bps.removeprefix("-"))
            _check_decimal(f"{where}.tiers[{j}].taker_bps", tier.taker_bps)
        try:
            for rates in parse_tiers(schedule_tiers(schedule)):
                check_rates(rates.maker_ppm, rates.taker_ppm, max_rebate)
        except (FeeError, GridError) as exc:
            raise ConfigError(f"{where}.tiers: {exc}") from exc
    if fees.default_schedule not in ids:
        raise ConfigError(f"fees.default_schedule: no schedule {fees.default_schedule!r}")


def schedule_tiers(schedule: FeeScheduleConfig) -> str:
    """A schedule's tiers as DefineFeeSchedule takes them."""
    from engine.model import decimal_to_units
    from engine.venue.fees import join_tiers

    return join_tiers(
        (decimal_to_units(t.min_volume), t.maker_bps, t.taker_bps) for t in schedule.tiers
    )


def _validate(config: Config) -> None:
    """Semantic checks beyond types; every message names its key."""
    from engine.model import GridError, Instrument
    from engine.risk import bps_to_ppm

    if config.journal.fsync not in ("batch", "interval", "never"):
        raise ConfigError("journal.fsync: expected one of batch, interval, never")
    if config.journal.follower_retain_mb < 0:
        raise ConfigError("journal.follower_retain_mb: must be >= 0")
    symbols = set()
    for i, inst in enumerate(config.instruments):
        for name in ("tick_size", "lot_size", "min_qty", "min_notional", "collar_pct"):
            _check_decimal(f"instruments[{i}].{name}", getattr(inst, name))
        try:
            Instrument.from_decimals(
                inst.symbol, inst.base, inst.quote, inst.tick_size, inst.lot_size,
                inst.min_qty, inst.min_notional, inst.collar_pct,
            )  # fmt: skip
        except (GridError, ValueError) as exc:
            raise ConfigError(f"instruments[{i}]: {exc}") from exc
        if inst.symbol in symbols:
            raise ConfigError(f"instruments[{i}].symbol: duplicate {inst.symbol!r}")
        symbols.add(inst.symbol)
    ids = set()
    for i, acct in enumerate(config.accounts):
        where = f"accounts[{i}]"
        if acct.id in ids:
            raise ConfigError(f"{where}.id: duplicate {acct.id!r}")
        ids.add(acct.id)
        if acct.stp not in _STP_NAMES:
            raise ConfigError(f"{where}.stp: expected one of {', '.join(_STP_NAMES)}")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            _check_decimal(f"{where}.{name}", getattr(acct, name))
            try:
                bps_to_ppm(getattr(acct, name))
            except (GridError, ValueError) as exc:
                raise ConfigError(f"{where}.{name}: {exc}") from exc
        for name in ("max_order_qty", "max_order_notional"):
            _check_amount(f"{where}.{name}", getattr(acct, name))
        for asset, amount in acct.balances.items():
            _check_amount(f"{where}.balances.{asset}", amount)
    _validate_fees(config)
    _validate_tenants(config)
    from gateway.follower.surveillance.settings import load_settings

    load_settings(config.surveillance)  # raises ConfigError naming the key
    for name, section in (("fix", config.fix), ("ws", config.ws), ("http", config.http)):
        parse_listen(section.listen)
        for cap in ("max_connections", "max_connections_per_source"):
            if getattr(section, cap) < 0:
                raise ConfigError(f"{name}.{cap}: must be >= 0 (0 = no cap)")
    for where, timeout in (
        ("fix.logon_timeout_s", config.fix.logon_timeout_s),
        ("ws.handshake_timeout_s", config.ws.handshake_timeout_s),
        ("http.header_timeout_s", config.http.header_timeout_s),
    ):
        if not timeout > 0:
            raise ConfigError(f"{where}: must be > 0")
    if config.ws.idle_timeout_s < 0:
        raise ConfigError("ws.idle_timeout_s: must be >= 0 (0 = never)")
    if not 0 <= config.fix.adaptive_spin_us <= 1_000_000:
        raise ConfigError("fix.adaptive_spin_us: expected 0..1000000 (microseconds)")
    for i, sess in enumerate(config.fix.sessions):
        where = f"fix.sessions[{i}]"
        if sess.role not in ("order_entry", "market_data", "drop_copy"):
            raise ConfigError(f"{where}.role: expected order_entry, market_data or drop_copy")
        if sess.auth not in ("none", "password", "ed25519"):
            raise ConfigError(f"{where}.auth: expected none, password or ed25519")
        if sess.begin_string not in ("FIX.4.2", "FIX.4.4", "FIXT.1.1"):
            raise ConfigError(f"{where}.begin_string: expected FIX.4.2, FIX.4.4 or FIXT.1.1")
        if sess.default_appl_ver_id != "9":
            raise ConfigError(f"{where}.default_appl_ver_id: only 9 (FIX50SP2) is supported")
        for acct_id in sess.account:
            if acct_id not in ids:
                raise ConfigError(f"{where}.account: unknown account {acct_id!r}")
    for i, key in enumerate(config.ws.api_keys):
        if key.account not in ids:
            raise ConfigError(f"ws.api_keys[{i}].account: unknown account {key.account!r}")
        if not key.hmac_secret and not key.ed25519_public_key:
            raise ConfigError(f"ws.api_keys[{i}]: needs hmac_secret or ed25519_public_key")
    _validate_admin(config.admin)
    _validate_demo_lp(config, ids)
    if not 0 <= config.perp.tick_ms <= 3_600_000:
        raise ConfigError("perp.tick_ms: expected 0..3600000 (0 = no scheduled ticks)")
    store = config.store
    if store.url and not store.url.startswith(("postgresql://", "postgres://", "sqlite:")):
        raise ConfigError("store.url: expected postgresql://..., sqlite:PATH or empty")
    if store.batch < 1:
        raise ConfigError("store.batch: must be >= 1")
    if not store.lag_log_s > 0:
        raise ConfigError("store.lag_log_s: must be > 0")
    if not store.reconcile_every_s >= 0:
        raise ConfigError("store.reconcile_every_s: must be >= 0 (0 = off)")
    if not store.liabilities_every_s >= 0:
        raise ConfigError("store.liabilities_every_s: must be >= 0 (0 = off)")
    if not 0 <= store.nice <= 19:
        raise ConfigError("store.nice: expected 0..19")
    if config.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError("log_level: expected debug, info, warning or error")
    if not 0 <= config.busy_poll_us <= 1_000_000:
        raise ConfigError("busy_poll_us: expected 0..1000000 (microseconds)")


def _validate_demo_lp(config: Config, accounts: set[str]) -> None:
    lp = config.demo_lp
    if not lp.enabled:
        return
    for name in ("maker_account", "taker_account"):
        if getattr(lp, name) not in accounts:
            raise ConfigError(f"demo_lp.{name}: not one of [[accounts]]: {getattr(lp, name)!r}")
    if lp.maker_account == lp.taker_account:
        raise ConfigError("demo_lp.taker_account: must differ from maker_account (a wash trade)")
    from engine.model import GridError, Instrument

    instruments = {inst.symbol: inst for inst in config.instruments}
    for symbol, price in lp.prices.items():
        key = f"demo_lp.prices.{symbol}"
        inst = instruments.get(symbol)
        if inst is None:
            raise ConfigError(f"{key}: not one of [[instruments]]")
        _check_decimal(key, price)
        grid = Instrument.from_decimals(inst.symbol, inst.base, inst.quote, inst.tick_size,
                                        inst.lot_size)  # fmt: skip
        try:
            grid.price_to_ticks(price)
        except GridError as exc:
            raise ConfigError(f"{key}: {exc}") from exc
    for perp, spot in lp.perps.items():
        key = f"demo_lp.perps.{perp}"
        if spot not in lp.prices:
            raise ConfigError(f"{key}: {spot} is not one of demo_lp.prices")
        if perp in instruments:
            raise ConfigError(f"{key}: a spot instrument of that name is in [[instruments]]")
    _check_amount("demo_lp.quote_notional", lp.quote_notional)
    for name in ("interval_ms", "trade_every_ms", "levels"):
        if getattr(lp, name) < 1:
            raise ConfigError(f"demo_lp.{name}: must be >= 1")
    for name in ("spread_bps", "level_step_bps", "step_bps"):
        if not 0 <= getattr(lp, name) <= 10_000:
            raise ConfigError(f"demo_lp.{name}: expected 0..10000")


def _validate_tenants(config: Config) -> None:
    ids: set[str] = set()
    members: set[str] = set()
    for i, tenant in enumerate(config.tenants):
        where = f"tenants[{i}]"
        if not tenant.id or tenant.id in ids:
            raise ConfigError(f"{where}.id: empty or duplicate {tenant.id!r}")
        ids.add(tenant.id)
        for account in tenant.accounts:
            if account in members:
                raise ConfigError(f"{where}.accounts: {account!r} is in two tenants")
            members.add(account)
        for asset, amount in tenant.daily_withdraw_limit.items():
            _check_amount(f"{where}.daily_withdraw_limit.{asset}", amount)


def _check_amount(key: str, text: str) -> None:
    """A decimal asset amount that converts exactly to units."""
    from engine.model import GridError, decimal_to_units

    _check_decimal(key, text)
    try:
        decimal_to_units(text)
    except GridError as exc:
        raise ConfigError(f"{key}: {exc}") from exc


_ROLES = ("venue-admin", "ops", "compliance", "support", "read-only", "tenant-admin")


def _validate_admin(admin: AdminConfig) -> None:
    if admin.listen:
        parse_listen(admin.listen)
    for name in ("max_body_bytes", "signature_window_s", "nonce_capacity"):
        if getattr(admin, name) <= 0:
            raise ConfigError(f"admin.{name}: must be > 0")
    for cap in ("max_connections", "max_connections_per_source"):
        if getattr(admin, cap) < 0:
            raise ConfigError(f"admin.{cap}: must be >= 0 (0 = no cap)")
    if admin.journal_refusals_per_min < 0:
        raise ConfigError("admin.journal_refusals_per_min: must be >= 0 (0 = none)")
    if not admin.header_timeout_s > 0:
        raise ConfigError("admin.header_timeout_s: must be > 0")
    ids = set()
    for i, op in enumerate(admin.operators):
        where = f"admin.operators[{i}]"
        if op.id in ids:
            raise ConfigError(f"{where}.id: duplicate {op.id!r}")
        ids.add(op.id)
        if op.role not in _ROLES:
            raise ConfigError(f"{where}.role: expected one of {', '.join(_ROLES)}")
        if (op.role == "tenant-admin") != bool(op.tenant):
            raise ConfigError(f"{where}.tenant: required for tenant-admin, and only for it")
        if len(op.public_key) != 64 or any(c not in "0123456789abcdef" for c in op.public_key):
            raise ConfigError(f"{where}.public_key: expected 64 lower-case hex digits")
        if op.demo_seed:
            from gateway.admin.signing import public_key_of

            try:
                derived = public_key_of(op.demo_seed)
            except ValueError:
                raise ConfigError(f"{where}.demo_seed: expected 64 hex digits") from None
            if derived != op.public_key:
                raise ConfigError(f"{where}.demo_seed: does not match public_key")
