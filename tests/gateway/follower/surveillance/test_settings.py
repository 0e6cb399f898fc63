"""The [surveillance] config table."""

from __future__ import annotations

import tomllib

import pytest

from gateway.config import ConfigError
from gateway.follower.surveillance.settings import load_settings
from tests.gateway.follower.surveillance.floor import BUY, SELL, Floor, usd

TOML = """
[surveillance]
disabled = ["order_ratios"]
owners = { "S1" = "P", "S2" = "P" }
groups = { desk-7 = ["X", "Y"] }

[surveillance.reporting_entity]
name = "Example Venue Ltd"
lei = ""
address = "1 Market Street"
capacity = "operator of a trading platform for crypto-assets"
contact = "mlro@example.test"
venue = "EXAMPLE"
not_applicable = { lei = "LEI application pending" }

[surveillance.wash]
min_notional = "20000"

[surveillance.wash.instruments.BTC-USD]
min_count = 2

[surveillance.marking]
reference_times_us = ["00:00", "08:00:30"]

[surveillance.marking.instruments.BTC-PERP]
min_premium_move_bps = 40
"""


def parsed(text: str = TOML) -> dict[str, object]:
    doc: dict[str, object] = tomllib.loads(text)["surveillance"]
    return doc


def test_rule_tables_set_defaults_and_instrument_tables_override_fields() -> None:
    settings = load_settings(parsed())
    wash = settings.config.wash
    assert (wash.default.min_count, wash.default.min_notional) == (3, 20_000 * 10**8)
    assert (wash.of("BTC-USD").min_count, wash.of("BTC-USD").min_notional) == (2, 20_000 * 10**8)
    assert wash.of("ETH-USD") == wash.default
    assert settings.config.marking.default.reference_times_us == (0, (8 * 3600 + 30) * 10**6)
    perp = settings.config.marking.of("BTC-PERP")
    assert (perp.min_premium_move_bps, perp.reference_times_us[1]) == (40, (8 * 3600 + 30) * 10**6)
    assert settings.config.disabled == frozenset({"order_ratios"})
    assert settings.owners == {"S1": "P", "S2": "P"}
    assert settings.groups == {"desk-7": ("X", "Y")}
    assert settings.entity is not None
    assert settings.entity.not_applicable == {"lei": "LEI application pending"}


def test_the_settings_drive_the_rules() -> None:
    settings = load_settings(parsed())
    floor = Floor(settings.config, owners=settings.owners, groups=settings.groups)
    floor.open("S1", "S2")
    floor.cross("S1", "S2", BUY, usd(50_000), 20)
    floor.cross("S2", "S1", SELL, usd(50_000), 20)  # two trades, 20000 USD: the override
    assert floor.rules() == ["wash_trades"]
    assert "order_ratios" not in [r.name for r in floor.surv.rules]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[surveillance]\nspoof = {}", "surveillance.spoof: unknown key"),
        ("[surveillance.wash]\nmin_cnt = 2", "surveillance.wash.min_cnt: unknown key"),
        ("[surveillance.wash]\nmin_notional = 5", "expected a decimal string"),
        ('[surveillance.wash]\nmin_notional = "1e400"', "surveillance.wash.min_notional"),
        ("[surveillance.wash]\nmin_count = -1", "expected an integer >= 0"),
        ("[surveillance.wash]\nmin_count = true", "expected an integer >= 0"),
        ('[surveillance.marking]\nreference_times_us = ["24:00"]', "not a UTC time of day"),
        ('[surveillance]\ndisabled = ["nope"]', "unknown rule 'nope'"),
        ('[surveillance]\ngroups = { a = ["X"], b = ["X"] }', "in groups 'a' and 'b'"),
        (
            '[surveillance.reporting_entity]\nname = "V"\naddress = "a"\ncapacity = "c"\n'
            'contact = "c"\nvenue = "V"',
            "reporting_entity.lei: set it, or give the reason",
        ),
        (
            "[surveillance.spoofing.instruments.BTC-USD]\ncancel_window = 1",
            "surveillance.spoofing.instruments.BTC-USD.cancel_window: unknown key",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(parsed(text))


def test_an_empty_table_is_the_defaults() -> None:
    settings = load_settings({})
    assert settings.config.spoofing.default.cancel_window_us == 5_000_000
    assert settings.entity is None
