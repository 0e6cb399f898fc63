"""The [surveillance] config table: thresholds, owners, groups and the reporting entity.

Each rule's table (wash, stp, spoofing, ratios, ramping, marking) sets fields of its
parameters by their names; its ``instruments.<symbol>`` tables set fields for one
instrument over the rule's table. Notional fields take decimal strings of the quote
asset ("10000"), reference_times_us takes "HH:MM[:SS]" UTC strings or microseconds,
every other field an integer. An unknown key is an error naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.model import GridError, decimal_to_units
from gateway.config import ConfigError
from gateway.follower.surveillance.monitor import RULES, Surveillance, SurveillanceConfig
from gateway.follower.surveillance.parties import Parties
from gateway.follower.surveillance.report import ENTITY_FIELDS, ReportingEntity
from gateway.follower.surveillance.rule import PerInstrument

__all__ = ["SurveillanceSettings", "load_settings"]

_RULE_TABLES = tuple(RULES)
_RULE_NAMES = tuple(cls.name for cls in RULES.values())


@dataclass(frozen=True)
class SurveillanceSettings:
    config: SurveillanceConfig = field(default_factory=SurveillanceConfig)
    owners: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    entity: ReportingEntity | None = None

    def build(self, quote_per_tick_lot: Mapping[str, int] | None = None) -> Surveillance:
        return Surveillance(
            self.config,
            owners=self.owners,
            groups=self.groups,
            quote_per_tick_lot=quote_per_tick_lot,
        )


def load_settings(table: Mapping[str, Any], where: str = "surveillance") -> SurveillanceSettings:
    """Parse the [surveillance] table; raises ConfigError naming the offending key."""
    _known(table, where, {*_RULE_TABLES, "disabled", "owners", "groups", "reporting_entity"})
    rules: dict[str, PerInstrument[Any]] = {}
    defaults = SurveillanceConfig()
    for name in _RULE_TABLES:
        base: PerInstrument[Any] = getattr(defaults, name)
        sub = _table(table.get(name, {}), f"{where}.{name}")
        rules[name] = _rule(base.default, sub, f"{where}.{name}")
    disabled = _strings(table.get("disabled", []), f"{where}.disabled")
    for rule in disabled:
        if rule not in _RULE_NAMES:
            raise ConfigError(f"{where}.disabled: unknown rule {rule!r} (one of {_RULE_NAMES})")
    owners = _table(table.get("owners", {}), f"{where}.owners")
    for account, owner in owners.items():
        if not isinstance(owner, str) or not owner:
            raise ConfigError(f"{where}.owners.{account}: expected an account id")
    groups = {
        name: tuple(_strings(members, f"{where}.groups.{name}"))
        for name, members in _table(table.get("groups", {}), f"{where}.groups").items()
    }
    entity = None
    if "reporting_entity" in table:
        entity = _entity(_table(table["reporting_entity"], f"{where}.reporting_entity"), where)
    try:
        config = SurveillanceConfig(**rules, disabled=frozenset(disabled))
        Parties(owners, groups)  # a member in two groups is refused here
    except ValueError as exc:
        raise ConfigError(f"{where}.groups: {exc}") from exc
    return SurveillanceSettings(config, dict(owners), groups, entity)


def _rule(default: Any, sub: Mapping[str, Any], where: str) -> PerInstrument[Any]:
    names = {f.name for f in dataclasses.fields(default)}
    _known(sub, where, {*names, "instruments"})
    base = _params(default, {k: v for k, v in sub.items() if k != "instruments"}, where)
    overrides = {
        symbol: _params(base, _table(values, f"{where}.instruments.{symbol}"),
                        f"{where}.instruments.{symbol}")
        for symbol, values in _table(sub.get("instruments", {}), f"{where}.instruments").items()
    }  # fmt: skip
    return PerInstrument(base, overrides)


def _params(base: Any, values: Mapping[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(base)}
    _known(values, where, names)
    changes = {key: _value(key, value, f"{where}.{key}") for key, value in values.items()}
    return dataclasses.replace(base, **changes)


def _value(name: str, value: Any, key: str) -> Any:
    if name.endswith("notional"):
        if not isinstance(value, str):
            raise ConfigError(f'{key}: expected a decimal string of the quote asset ("10000")')
        try:
            units = decimal_to_units(value)
        except GridError as exc:
            raise ConfigError(f"{key}: {exc}") from exc
        if units < 0:
            raise ConfigError(f"{key}: must be >= 0")
        return units
    if name == "reference_times_us":
        if not isinstance(value, list):
            raise ConfigError(f'{key}: expected a list of UTC times ("00:00")')
        return tuple(_time_of_day(v, key) for v in value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key}: expected an integer >= 0")
    return value


def _time_of_day(value: Any, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 86_400_000_000:
        return value
    if isinstance(value, str):
        parts = value.split(":")
        if 2 <= len(parts) <= 3 and all(p.isdigit() and len(p) == 2 for p in parts):
            h, m, s = (int(p) for p in [*parts, "00"][:3])
            if h < 24 and m < 60 and s < 60:
                return ((h * 60 + m) * 60 + s) * 1_000_000
    raise ConfigError(f'{key}: {value!r} is not a UTC time of day ("HH:MM" or "HH:MM:SS")')


def _entity(table: Mapping[str, Any], where: str) -> ReportingEntity:
    key = f"{where}.reporting_entity"
    _known(table, key, {*ENTITY_FIELDS, "venue", "not_applicable"})
    values = {}
    for name in (*ENTITY_FIELDS, "venue"):
        value = table.get(name, "")
        if not isinstance(value, str):
            raise ConfigError(f"{key}.{name}: expected a string")
        values[name] = value
    not_applicable = _table(table.get("not_applicable", {}), f"{key}.not_applicable")
    _known(not_applicable, f"{key}.not_applicable", set(ENTITY_FIELDS))
    for name in ENTITY_FIELDS:
        if not values[name] and not not_applicable.get(name):
            raise ConfigError(f"{key}.{name}: set it, or give the reason in not_applicable")
    if not values["venue"]:
        raise ConfigError(f"{key}.venue: required (the venue's name or MIC)")
    return ReportingEntity(**values, not_applicable={k: str(v) for k, v in not_applicable.items()})


def _known(table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key")


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return list(value)
