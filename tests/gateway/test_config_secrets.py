"""Secrets come from the environment or from files, not only from the TOML: every
secret key ``k`` may be given as ``k_env`` (the name of an environment variable) or
``k_file`` (a file, e.g. a systemd credential). Refusals name the key, never the value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import Config, ConfigError, load_config
from loadtest.gateway_runner import LOAD_PASSWORD, dump_toml, free_port, gateway_config

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_HASH = "scrypt$00112233445566778899aabbccddeeff$" + "ab" * 32
HMAC_SECRET = "hmac-secret-that-must-not-leak"


def ws_key(source: str) -> str:
    return f'[ws]\n[[ws.api_keys]]\nkey = "k1"\naccount = "ACC1"\n{source}\n'


def fix_session(source: str) -> str:
    return f'[fix]\n[[fix.sessions]]\ntarget_comp_id = "C1"\nauth = "password"\n{source}\n'


def load(tmp_path: Path, toml: str) -> Config:
    path = tmp_path / "venue.toml"
    path.write_text(toml)
    return load_config(path)


def test_an_hmac_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VENUE_WS_K1_HMAC_SECRET", HMAC_SECRET)
    config = load(tmp_path, ws_key('hmac_secret_env = "VENUE_WS_K1_HMAC_SECRET"'))
    assert config.ws.api_keys[0].hmac_secret == HMAC_SECRET


def test_a_password_hash_from_a_file_without_its_final_newline(tmp_path: Path) -> None:
    (tmp_path / "c1.hash").write_text(PASSWORD_HASH + "\n")
    config = load(tmp_path, fix_session(f'password_hash_file = "{tmp_path / "c1.hash"}"'))
    assert config.fix.sessions[0].password_hash == PASSWORD_HASH


def test_a_missing_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.hash"
    with pytest.raises(ConfigError, match=r"fix\.sessions\[0\]\.password_hash_file: cannot read"):
        load(tmp_path, fix_session(f'password_hash_file = "{missing}"'))


def test_an_unset_variable_is_a_config_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VENUE_UNSET", raising=False)
    with pytest.raises(
        ConfigError, match=r"ws\.api_keys\[0\]\.hmac_secret_env: VENUE_UNSET is not"
    ):
        load(tmp_path, ws_key('hmac_secret_env = "VENUE_UNSET"'))


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match=r"api_keys\[0\]\.hmac_secret_file: .* is empty"):
        load(tmp_path, ws_key(f'hmac_secret_file = "{tmp_path / "empty"}"'))


def test_one_source_per_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENUE_WS_K1_HMAC_SECRET", HMAC_SECRET)
    both = 'hmac_secret = "inline"\nhmac_secret_env = "VENUE_WS_K1_HMAC_SECRET"'
    with pytest.raises(ConfigError, match=r"api_keys\[0\]: set only one of hmac_secret, hmac"):
        load(tmp_path, ws_key(both))


def test_the_tls_key_is_a_file_already(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fix\.tls_key_file: unknown key"):
        load(tmp_path, '[fix]\ntls_key_file = "/x"\n')


def test_secrets_stay_out_of_the_config_repr_and_of_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VENUE_WS_K1_HMAC_SECRET", HMAC_SECRET)
    config = load(tmp_path, ws_key('hmac_secret_env = "VENUE_WS_K1_HMAC_SECRET"'))
    assert HMAC_SECRET not in repr(config)
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, ws_key('hmac_secret_env = "VENUE_WS_K1_HMAC_SECRET"\nkey = 5'))
    assert HMAC_SECRET not in str(refused.value)


def test_a_gateway_with_secrets_from_env_and_file_logs_neither(tmp_path: Path) -> None:
    """A real gateway, debug logging, until it has started and stopped: its output holds
    neither secret (nor the FIX password the file's hash is of)."""
    doc = gateway_config(tmp_path, free_port(), free_port(), free_port(), load_sessions=1)
    doc["log_level"] = "debug"
    (tmp_path / "load1.hash").write_text(doc["fix"]["sessions"][-1].pop("password_hash"))
    doc["fix"]["sessions"][-1]["password_hash_file"] = str(tmp_path / "load1.hash")
    doc["ws"]["api_keys"][0].pop("hmac_secret")
    doc["ws"]["api_keys"][0]["hmac_secret_env"] = "VENUE_WS_DEMO_SECRET"
    (tmp_path / "venue.toml").write_text(dump_toml(doc))
    env = {**os.environ, "VENUE_WS_DEMO_SECRET": HMAC_SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(tmp_path / "venue.toml")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    output = b""
    for line in proc.stdout:  # startup logs, then the banner (sessions, WS api keys)
        output += line
        if b'"gateway.ready"' in line:
            break
    proc.terminate()
    output += proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
    assert b"demo-acc1" in output  # the api key is shown, its secret is not
    hash_text = (tmp_path / "load1.hash").read_bytes()
    for secret in (HMAC_SECRET.encode(), hash_text, LOAD_PASSWORD.encode()):
        assert secret not in output
