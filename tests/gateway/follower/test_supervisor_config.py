"""The supervised follower reads the gateway's own config file, so that it replays
with the same instruments and surveillance thresholds as the engine it follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.follower.supervisor import FollowerSupervisor
from gateway.metrics import Registry


def _supervisor(config_path: Path | None) -> FollowerSupervisor:
    return FollowerSupervisor(load_config(config_path), Registry(), last_seq=lambda: 0)


def test_the_follower_is_started_with_the_gateways_config_file(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text('log_level = "warning"\n')
    argv = _supervisor(path).command()
    assert argv[argv.index("--config") + 1] == str(path.resolve())


def test_without_a_file_the_follower_gets_no_config_argument() -> None:
    assert "--config" not in _supervisor(None).command()


def test_the_follower_runs_at_the_configured_nice_value(tmp_path: Path) -> None:
    """Below the gateway's priority by default: at the peak the order path keeps its core."""
    assert load_config(None).store.nice == 10
    path = tmp_path / "venue.toml"
    path.write_text("[store]\nnice = 5\n")
    argv = _supervisor(path).command()
    assert argv[argv.index("--nice") + 1] == "5"
    argv = _supervisor(None).command()
    assert argv[argv.index("--nice") + 1] == "10"


def test_config_file_is_not_a_key_a_toml_file_may_set(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text('config_file = "/etc/other.toml"\n')
    with pytest.raises(ConfigError, match="config_file: unknown key"):
        load_config(path)
