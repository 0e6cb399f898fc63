"""Config decimals take the one grammar of every edge (gateway/decimals.py) and are
never negative: every refusal names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config

INSTRUMENT = '[[instruments]]\nsymbol = "X-USD"\nbase = "X"\nquote = "USD"\n'
ACCOUNT = '[[accounts]]\nid = "ACC1"\n'
OTHER_DEMO_ACCOUNTS = '[[accounts]]\nid = "ACC2"\n[[accounts]]\nid = "ACC3"\n'


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        (INSTRUMENT + 'tick_size = "1e-2"\nlot_size = "1"\n', r"\[0\]\.tick_size: not a decimal"),
        (INSTRUMENT + 'tick_size = "0.01"\nlot_size = "+1"\n', r"\[0\]\.lot_size: not a decimal"),
        (INSTRUMENT + 'tick_size = "0.01"\nlot_size = "1"\nmin_notional = "-1"\n',
         r"instruments\[0\]\.min_notional: must be >= 0"),
        (ACCOUNT + 'balances = { USD = "1_000" }\n', r"\[0\]\.balances\.USD: not a decimal"),
        (ACCOUNT + 'balances = { USD = "-5" }\n', r"accounts\[0\]\.balances\.USD: must be >= 0"),
        (ACCOUNT + 'max_order_qty = "-1"\n', r"accounts\[0\]\.max_order_qty: must be >= 0"),
        (ACCOUNT + 'max_order_notional = " 10"\n', r"accounts\[0\]\.max_order_notional: not a"),
        (ACCOUNT + 'taker_fee_bps = "1E1"\n', r"accounts\[0\]\.taker_fee_bps: not a decimal"),
        (ACCOUNT + 'maker_fee_bps = "-0.5"\n', r"accounts\[0\]\.maker_fee_bps: must be >= 0"),
    ],
)  # fmt: skip
def test_config_decimals_outside_the_grammar_or_negative_are_refused(
    tmp_path: Path, toml: str, error: str
) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=error):
        load_config(path)


def test_the_grammars_odd_forms_are_config_decimals(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(ACCOUNT + 'maker_fee_bps = ".5"\nbalances = { USD = "10." }\n'
                    + OTHER_DEMO_ACCOUNTS)  # fmt: skip
    account = load_config(path).accounts[0]
    assert (account.maker_fee_bps, account.balances) == (".5", {"USD": "10."})


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('[store]\nurl = "mysql://db/venue"\n', r"store\.url: expected postgresql://"),
        ("[store]\nbatch = 0\n", r"store\.batch: must be >= 1"),
        ("[store]\nlag_log_s = 0\n", r"store\.lag_log_s: must be > 0"),
        ("[store]\nreconcile_every_s = -1\n", r"store\.reconcile_every_s: must be >= 0"),
        ("[store]\nliabilities_every_s = -1\n", r"store\.liabilities_every_s: must be >= 0"),
        ("[store]\nnice = 20\n", r"store\.nice: expected 0\.\.19"),
        ("[store]\nnice = -1\n", r"store\.nice: expected 0\.\.19"),
        (
            "[admin]\njournal_refusals_per_min = -1\n",
            r"admin\.journal_refusals_per_min: must be >= 0",
        ),
    ],
)
def test_store_settings_are_checked(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=error):
        load_config(path)


def test_the_store_url_may_come_from_the_environment_and_stays_out_of_the_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORE_URL", "postgresql://venue:s3cret@db/venue")
    path = tmp_path / "venue.toml"
    path.write_text('[store]\nurl_env = "STORE_URL"\n')
    config = load_config(path)
    assert config.store.url == "postgresql://venue:s3cret@db/venue"
    assert config.store.follower
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('[[tenants]]\nid = "T"\n[[tenants]]\nid = "T"\n', r"tenants\[1\]\.id: empty or duplicate"),
        ('[[tenants]]\nid = ""\n', r"tenants\[0\]\.id: empty or duplicate"),
        ('[[tenants]]\nid = "T"\naccounts = ["A"]\n[[tenants]]\nid = "U"\naccounts = ["A"]\n',
         r"tenants\[1\]\.accounts: 'A' is in two tenants"),
        ('[[tenants]]\nid = "T"\ndaily_withdraw_limit = { BTC = "1e3" }\n',
         r"tenants\[0\]\.daily_withdraw_limit\.BTC: not a decimal"),
        ('[[tenants]]\nid = "T"\ndaily_withdraw_limit = { BTC = "0.000000001" }\n',
         r"tenants\[0\]\.daily_withdraw_limit\.BTC: "),
    ],
)  # fmt: skip
def test_tenant_settings_are_checked(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=error):
        load_config(path)
