"""Busy polling: a command starts the spin, the window ends it, config wires it."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from gateway.app import App
from gateway.busypoll import BusyPoll
from gateway.config import ConfigError, load_config
from tests.conftest import test_config as venue_config


async def _loop_passes_until_idle(poll: BusyPoll, limit: int = 100_000) -> int:
    """Loop passes (each a zero-length sleep) until ``poll`` stops spinning."""
    passes = 0
    while poll.spinning and passes < limit:
        await asyncio.sleep(0)
        passes += 1
    return passes


async def test_a_batch_spins_the_loop_until_the_window_ends() -> None:
    poll = BusyPoll(window_us=20_000)
    assert not poll.spinning
    poll(None)  # type: ignore[arg-type]
    assert poll.spinning
    passes = await _loop_passes_until_idle(poll)
    assert not poll.spinning
    assert passes > 1  # it kept the loop busy, pass after pass
    poll(None)  # type: ignore[arg-type]
    assert poll.spinning  # and starts again on the next command
    await _loop_passes_until_idle(poll)


async def test_app_listens_with_busy_poll_only_when_configured(tmp_path: Path) -> None:
    plain = App(venue_config(tmp_path / "a"))
    assert not any(isinstance(listener, BusyPoll) for listener in plain.host.listeners)
    cfg = dataclasses.replace(venue_config(tmp_path / "b"), busy_poll_us=100)
    app = App(cfg)
    assert isinstance(app.host.listeners[-1], BusyPoll)


def test_busy_poll_is_read_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text("busy_poll_us = 250\n")
    assert load_config(path).busy_poll_us == 250


@pytest.mark.parametrize("value", [-1, 1_000_001])
def test_busy_poll_out_of_range_is_a_config_error(tmp_path: Path, value: int) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(f"busy_poll_us = {value}\n")
    with pytest.raises(ConfigError, match="busy_poll_us"):
        load_config(path)
