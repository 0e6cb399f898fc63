"""The perp benchmark's mixed-flow measurement: runs alternate in pairs after a warm-up
of each flow, the ratio is the median of each pair's own ratio, and the mixed flow
really sends about half its orders to the perpetual. Speed itself is not asserted."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.commands import Command, NewOrder
from engine.core import Engine
from loadtest import engine_bench, perp_bench
from loadtest.perp_bench import MIXED, PERP, SPOT, flow_order, paired_ratios, paired_runs


def test_flows_alternate_which_runs_first() -> None:
    assert flow_order(4) == [(SPOT, MIXED), (MIXED, SPOT), (SPOT, MIXED), (MIXED, SPOT)]


def test_the_ratio_is_the_median_of_each_pairs_own_ratio() -> None:
    # a slow spell (pairs 2 and 3) halves both runs of its pairs: each pair's ratio
    # stays 0.8, where a slow mixed run against a fast spot-only one would show 0.4
    spot = [500.0, 250.0, 260.0, 480.0, 490.0]
    mixed = [400.0, 200.0, 208.0, 384.0, 392.0]
    out = paired_ratios(spot, mixed)
    assert out["ratio"] == out["ratio_min"] == out["ratio_max"] == 0.8
    assert out["pairs"] == 5
    assert (out[SPOT], out[MIXED]) == (480, 384)
    assert out["spot_only_spread"] == 2.0


def test_an_odd_pair_moves_the_range_not_the_median() -> None:
    out = paired_ratios([100.0, 100.0, 100.0], [80.0, 50.0, 90.0])
    assert (out["ratio"], out["ratio_min"], out["ratio_max"]) == (0.8, 0.5, 0.9)
    assert out["ratios"] == [0.8, 0.5, 0.9]


def test_unpaired_runs_are_refused() -> None:
    with pytest.raises(ValueError):
        paired_ratios([100.0, 100.0], [80.0])
    with pytest.raises(ValueError):
        paired_ratios([], [])


def test_each_flow_is_warmed_up_then_run_once_per_pair_in_fresh_engines() -> None:
    calls: list[str] = []
    engines: list[Engine] = []
    spot_cmds: list[Command] = []
    mixed_cmds: list[Command] = []

    def factory(name: str) -> Callable[[], Engine]:
        def make() -> Engine:
            engine = engine_bench.new_engine()
            engines.append(engine)
            calls.append(name)
            return engine

        return make

    scripted = {SPOT: iter([9.0, 100.0, 200.0, 100.0]), MIXED: iter([9.0, 90.0, 160.0, 70.0])}

    def measure(commands: list[Command], make: Callable[[], Engine]) -> float:
        make()
        return next(scripted[SPOT if commands is spot_cmds else MIXED])

    flows = {SPOT: (spot_cmds, factory(SPOT)), MIXED: (mixed_cmds, factory(MIXED))}
    out = paired_runs(flows, 3, measure)
    assert calls == [SPOT, MIXED, SPOT, MIXED, MIXED, SPOT, SPOT, MIXED]
    assert len({id(e) for e in engines}) == len(engines)
    # the warm-up runs (9.0) are not counted; ratios 0.9, 0.8, 0.7
    assert out["ratios"] == [0.9, 0.8, 0.7]
    assert out["ratio"] == 0.8


def test_mixed_flow_reports_its_pairs() -> None:
    out = perp_bench.mixed_flow(600, pairs=2)
    assert out["pairs"] == 2
    ratios = out["ratios"]
    assert isinstance(ratios, list) and len(ratios) == 2
    assert out["ratio_min"] <= out["ratio"] <= out["ratio_max"]  # type: ignore[operator]


def test_the_mixed_flow_sends_about_half_its_orders_to_the_perpetual() -> None:
    commands = engine_bench.generate(4_000, engine_factory=perp_bench._mixed_engine, perp=PERP)
    orders = [c for c in commands if isinstance(c, NewOrder)]
    perp = sum(1 for c in orders if c.symbol == PERP)
    assert 0.4 < perp / len(orders) < 0.6
    # and the perpetual's orders trade: its book is live, not a side show
    engine = perp_bench._mixed_engine()
    for command in commands:
        engine.submit(command)
    positions = engine.perps.positions[PERP]
    assert any(p.size for p in positions.values())
