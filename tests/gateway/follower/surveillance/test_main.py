"""python -m gateway.follower.surveillance: the analyst replays a journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.follower.surveillance.__main__ import main
from tests.gateway.follower.surveillance.floor import CONFIG_TOML, journaled_day


def printed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_prints_the_alerts_raised_live(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal, floor = journaled_day(tmp_path)
    config = tmp_path / "venue.toml"
    config.write_text(CONFIG_TOML)
    assert main([str(journal), "--config", str(config)]) == 0
    assert printed(capsys) == [a.to_dict() for a in floor.alerts]


def test_a_seq_range_limits_the_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal, floor = journaled_day(tmp_path)
    spoof = next(a for a in floor.alerts if a.rule == "spoofing_layering")
    assert main([str(journal), "--to-seq", str(spoof.last_seq)]) == 0
    rules = [a["rule"] for a in printed(capsys)]
    assert "spoofing_layering" in rules
    assert "marking_the_close" not in rules
    assert main([str(journal), "--from-seq", str(spoof.last_seq + 1)]) == 0
    assert [a["rule"] for a in printed(capsys)] == ["marking_the_close"]


def test_a_bad_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "venue.toml"
    config.write_text("[surveillance]\nbogus = 1\n")
    assert main([str(tmp_path), "--config", str(config)]) == 2
    assert "surveillance.bogus: unknown key" in capsys.readouterr().err
