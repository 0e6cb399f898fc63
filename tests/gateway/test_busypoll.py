"""Busy polling: a command starts the spin, the window ends it, config wires it. The
adaptive spin: which rhythms earn a spin (decided from turnaround histories, no clock),
and that a spin without input ends the rhythm."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway import busypoll
from gateway.app import App
from gateway.busypoll import (
    SPIN_MARGIN_NS,
    TURNAROUND_SAMPLES,
    AdaptiveSpin,
    BusyPoll,
    Turnaround,
    spin_window_ns,
)
from gateway.config import ConfigError, load_config
from tests.conftest import test_config as venue_config


async def _loop_passes_until_idle(poll: BusyPoll | AdaptiveSpin, limit: int = 100_000) -> int:
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


# ---------------------------------------------------------------- adaptive spin

US = 1000  # ns


def _steady(n: int = TURNAROUND_SAMPLES, each_us: int = 60) -> list[int]:
    return [each_us * US] * n


def test_a_steady_short_rhythm_spins_its_turnaround_and_a_margin() -> None:
    window = spin_window_ns(_steady(), 500 * US)
    assert window == 60 * US + 30 * US + SPIN_MARGIN_NS


def test_no_spin_without_a_full_history() -> None:
    assert spin_window_ns([], 500 * US) == 0
    assert spin_window_ns(_steady(TURNAROUND_SAMPLES - 1), 500 * US) == 0


def test_no_spin_when_the_turnaround_is_longer_than_the_cap_allows() -> None:
    assert spin_window_ns(_steady(each_us=400), 500 * US) == 0  # 400 * 1.5 + margin > 500
    assert spin_window_ns(_steady(), 0) == 0  # adaptive_spin_us = 0: never


def test_no_spin_for_an_unsteady_rhythm_but_one_outlier_is_forgiven() -> None:
    unsteady = [20 * US, 20 * US, *_steady(TURNAROUND_SAMPLES - 2, each_us=200)]
    assert spin_window_ns(unsteady, 1000 * US) == 0
    one_slow = [*_steady(TURNAROUND_SAMPLES - 1), 10_000 * US]
    assert spin_window_ns(one_slow, 500 * US) == spin_window_ns(_steady(), 500 * US)


def _ping_pong(turnaround: Turnaround, orders: int, gap_ns: int, start_ns: int = 1) -> int:
    """``orders`` rounds of: we answer, the client's next order arrives gap_ns later."""
    now = start_ns
    for _ in range(orders):
        turnaround.wrote(now)
        now += gap_ns
        turnaround.read(now, 1)
    return now


def test_a_ping_pong_client_earns_a_spin() -> None:
    turnaround = Turnaround(500 * US)
    _ping_pong(turnaround, TURNAROUND_SAMPLES - 1, 60 * US)
    assert turnaround.window_ns == 0
    _ping_pong(turnaround, 1, 60 * US)
    assert turnaround.window_ns == spin_window_ns(_steady(), 500 * US)


def test_several_orders_in_one_read_forget_the_rhythm_at_once() -> None:
    """More than one order in flight is not ping-pong: the loop is busy anyway."""
    turnaround = Turnaround(500 * US)
    now = _ping_pong(turnaround, TURNAROUND_SAMPLES, 60 * US)
    turnaround.wrote(now)
    turnaround.read(now + 60 * US, 2)
    assert turnaround.window_ns == 0
    _ping_pong(turnaround, TURNAROUND_SAMPLES - 1, 60 * US, now)
    assert turnaround.window_ns == 0  # a full, fresh history is needed again


def test_a_read_without_our_answer_before_it_forgets_the_rhythm() -> None:
    turnaround = Turnaround(500 * US)
    now = _ping_pong(turnaround, TURNAROUND_SAMPLES, 60 * US)
    turnaround.read(now + 60 * US, 1)  # a second read, nothing written between
    assert turnaround.window_ns == 0


class _Clock:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


async def test_an_idle_gateway_never_spins() -> None:
    """Answers to a client without a rhythm (idle, slow, or several in flight) start
    nothing: the loop sleeps."""
    clock = _Clock()
    spin = AdaptiveSpin(clock)
    turnaround = Turnaround(500 * US)
    _ping_pong(turnaround, TURNAROUND_SAMPLES, 5_000 * US)  # one order every 5 ms
    spin.answered(turnaround, clock.ns)
    assert not spin.spinning and spin.spins == 0


async def test_a_spin_that_sees_no_input_is_a_miss_and_ends_the_rhythm() -> None:
    clock = _Clock()
    spin = AdaptiveSpin(clock)
    turnaround = Turnaround(500 * US)
    clock.ns = _ping_pong(turnaround, TURNAROUND_SAMPLES, 60 * US)
    spin.answered(turnaround, clock.ns)
    assert spin.spinning
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert spin.spinning  # the loop keeps polling until the order is due
    clock.ns += turnaround.window_ns
    await _loop_passes_until_idle(spin)
    assert not spin.spinning and spin.misses == 1
    assert turnaround.window_ns == 0  # the client went quiet: no spin after the next answer
    spin.answered(turnaround, clock.ns)
    assert not spin.spinning


async def test_input_during_the_spin_keeps_the_rhythm() -> None:
    clock = _Clock()
    spin = AdaptiveSpin(clock)
    turnaround = Turnaround(500 * US)
    clock.ns = _ping_pong(turnaround, TURNAROUND_SAMPLES, 60 * US)
    spin.answered(turnaround, clock.ns)
    spin.input()  # the next order came while spinning
    clock.ns += turnaround.window_ns
    await _loop_passes_until_idle(spin)
    assert spin.misses == 0 and turnaround.window_ns > 0


def test_adaptive_spin_is_read_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text("[fix]\nadaptive_spin_us = 250\n")
    assert load_config(path).fix.adaptive_spin_us == 250
    assert load_config().fix.adaptive_spin_us == 500  # on by default


@pytest.mark.parametrize("value", [-1, 1_000_001])
def test_adaptive_spin_out_of_range_is_a_config_error(tmp_path: Path, value: int) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(f"[fix]\nadaptive_spin_us = {value}\n")
    with pytest.raises(ConfigError, match=r"fix\.adaptive_spin_us"):
        load_config(path)


def test_a_read_leaves_the_window_to_be_computed_after_the_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read that brings an order does not weigh its rhythm (the order waits on
    that read): the window is computed when first asked, once the answer is written."""
    turnaround = Turnaround(500 * US)
    now = _ping_pong(turnaround, TURNAROUND_SAMPLES, 60 * US)
    assert turnaround.window_ns > 0
    calls: list[int] = []

    def counted(turnarounds: Sequence[int], max_ns: int) -> int:
        calls.append(len(turnarounds))
        return spin_window_ns(turnarounds, max_ns)

    monkeypatch.setattr(busypoll, "spin_window_ns", counted)
    turnaround.wrote(now)
    turnaround.read(now + 60 * US, 1)
    assert calls == []
    assert turnaround.window_ns == spin_window_ns(_steady(), 500 * US)
    assert turnaround.window_ns > 0 and calls == [TURNAROUND_SAMPLES]  # once
