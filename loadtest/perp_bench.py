"""Perpetuals benchmarks (issue #19): liquidation reaction, and the mixed flow.

Liquidation reaction: 10,000 open positions (5,000 healthy long/short pairs at 2x)
plus one victim per round whose liquidation price sits one step below the previous
round's mark. Each round moves the index one step down (SetIndexPrice, which recomputes
the mark and checks the instrument's positions) and submits a PerpTick; the victim's
first liquidation fill follows in the mark command that breaches it. Measured in
engine time: from the start of that command's ``Engine.submit`` to the return of the
liquidation order that produced the first fill (``first``), and the whole command
(``command``).

Mixed flow: engine_bench's command mix (60% adds, 30% cancels, 10% crossing IOC),
spot only, and the same mix spread over the spot pair and a perpetual on the same
grid (about half the orders go to the perpetual), same run. Each run replays its flow
through a fresh engine from the same GC state; after one warm-up run of each, the two
flows alternate in pairs (spot-only first in one pair, mixed first in the next), and
the ratio reported is the median over the pairs of mixed / spot-only commands/s, with
its range and each flow's spread: the box's slow spells hit both runs of a pair, not
one flow's best-of-N.

    python -m loadtest.perp_bench [--positions 10000] [--rounds 200] [--commands 100000]
                                  [--pairs 9]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable

from engine.commands import AdjustBalance, Command, MassCancel, NewOrder, OpenAccount
from engine.core import Engine
from engine.events import Event, Trade
from engine.model import OrdType, Side
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice, SetLeverage
from engine.perp.liquidation import Liquidator
from engine.sequencer import Sequencer
from loadtest import engine_bench

PERP = "BTC-PERP"
P0 = 500_000  # 50,000.0 in ticks of 0.1
QPT = 10_000  # tick 0.1 x lot 0.001 BTC, in 1e-8 USDT
Q = 100  # every position is 0.1 BTC
USDT = 100_000_000
STEP = 50  # 5 USDT per round


def _engine() -> Engine:
    return Engine(Sequencer(itertools.count(1_700_000_000_000_000).__next__))


def _submit_all(engine: Engine, commands: list[Command]) -> None:
    for command in commands:
        engine.submit(command)


def liquidation_setup(positions: int, rounds: int) -> Engine:
    engine = _engine()
    engine.submit(
        AddPerpInstrument(PERP, "BTC", "USDT", "0.1", "0.001", max_leverage=125,
                          tiers="0:0.004:125,50000:0.005:100,250000:0.01:50", mark_window=1)
    )  # fmt: skip
    engine.submit(OpenAccount("MM"))
    engine.submit(AdjustBalance("MM", "USDT", 10**18))
    engine.submit(SetIndexPrice(PERP, P0))
    engine.submit(PerpTick(PERP))
    setup: list[Command] = []
    for i in range(positions // 2):
        for name in (f"L{i}", f"S{i}"):
            setup += [OpenAccount(name), AdjustBalance(name, "USDT", 10_000 * USDT),
                      SetLeverage(name, PERP, 2)]  # fmt: skip
        setup += [
            NewOrder(f"S{i}", PERP, Side.SELL, OrdType.LIMIT, Q, P0),
            NewOrder(f"L{i}", PERP, Side.BUY, OrdType.LIMIT, Q, P0),
        ]
    mmr = 400_000  # 0.4% in 1e-8
    for r in range(rounds):
        # liquidated at m_r = P0 - (r + 1) x STEP - 200 (a 1% drop first): the wallet
        # W with W + Q(m - P0)qpt = mmr x Q m qpt, rounded up, and its leverage
        m = P0 - 5_000 - (r + 1) * STEP
        wallet = Q * QPT * (P0 - m) + Q * m * QPT * mmr // 100_000_000 + 1
        leverage = min(100, -(-Q * P0 * QPT // wallet))
        name = f"V{r}"
        setup += [
            OpenAccount(name), AdjustBalance(name, "USDT", wallet),
            SetLeverage(name, PERP, leverage),
            NewOrder("MM", PERP, Side.SELL, OrdType.LIMIT, Q, P0),
            NewOrder(name, PERP, Side.BUY, OrdType.LIMIT, Q, P0),
        ]  # fmt: skip
    _submit_all(engine, setup)
    open_positions = sum(1 for p in engine.perps.positions[PERP].values() if p.size)
    assert open_positions >= positions, open_positions
    return engine


def liquidation_reaction(positions: int, rounds: int) -> dict[str, object]:
    engine = liquidation_setup(positions, rounds)
    risk = engine.perp_liquidation
    first_ns: list[int] = []
    original = Liquidator.internal_order

    def timed(self: Liquidator, *args: object, **kw: object) -> tuple[int, int]:
        result = original(self, *args, **kw)  # type: ignore[arg-type]
        if result[0] and not first_ns:
            first_ns.append(time.perf_counter_ns())
        return result

    Liquidator.internal_order = timed  # type: ignore[method-assign]
    firsts: list[int] = []
    ticks: list[int] = []
    liquidated = 0
    try:
        for r in range(rounds):
            index = P0 - 5_000 - (r + 1) * STEP
            engine.submit(MassCancel("MM", PERP))
            engine.submit(NewOrder("MM", PERP, Side.BUY, OrdType.LIMIT, 10 * Q, index - 10))
            engine.submit(NewOrder("MM", PERP, Side.SELL, OrdType.LIMIT, 10 * Q, index + 10))
            for command in (SetIndexPrice(PERP, index), PerpTick(PERP)):
                first_ns.clear()
                gc.collect()
                gc.disable()
                start = time.perf_counter_ns()
                events: list[Event] = engine.submit(command)
                end = time.perf_counter_ns()
                gc.enable()
                if any(type(e) is Trade for e in events):
                    liquidated += 1
                    if first_ns:  # the hook cannot reach a compiled Liquidator
                        firsts.append(first_ns[0] - start)
                    ticks.append(end - start)
                    break
    finally:
        Liquidator.internal_order = original  # type: ignore[method-assign]
    del risk
    open_positions = sum(1 for p in engine.perps.positions[PERP].values() if p.size)
    return {
        "positions_checked_per_tick": open_positions,
        "rounds": rounds,
        "liquidated_rounds": liquidated,
        # empty when engine/perp is compiled: then the whole command bounds the reaction
        "first_fill_us": _quantiles(firsts),
        "command_us": _quantiles(ticks),
    }


def _quantiles(samples: list[int]) -> dict[str, float]:
    if len(samples) < 2:
        return {}
    q = statistics.quantiles(sorted(samples), n=100, method="inclusive")
    return {"p50": q[49] / 1000, "p99": q[98] / 1000, "max": max(samples) / 1000}


SPOT = "spot_only"
MIXED = "spot_and_perp"

#: A flow's measurement: the commands/s of one run of commands through a fresh engine.
Measure = Callable[[list[Command], Callable[[], Engine]], float]


def timed_run(commands: list[Command], factory: Callable[[], Engine]) -> float:
    """Commands/s of one run in a fresh engine, after a full collection and with the
    collector off while it runs: every run starts from the same GC state."""
    engine = factory()
    submit = engine.submit
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for command in commands:
            submit(command)
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    return len(commands) / seconds


def flow_order(pairs: int) -> list[tuple[str, str]]:
    """Which flow runs first in each pair: alternated, so that neither flow always runs
    in the slot after the other one."""
    return [(SPOT, MIXED) if i % 2 == 0 else (MIXED, SPOT) for i in range(pairs)]


def paired_ratios(spot: list[float], mixed: list[float]) -> dict[str, object]:
    """The mixed rate over the spot-only rate of the same pair, for each pair, and their
    median. Runs next to each other share the box's state at that moment (another
    process, the CPU's clock), so a slow spell lowers both sides of a pair instead of
    one flow's best-of-N against the other's."""
    if not spot or len(spot) != len(mixed):
        raise ValueError(f"need pairs of runs, got {len(spot)} spot-only and {len(mixed)} mixed")
    ratios = [m / s for s, m in zip(spot, mixed, strict=True)]
    return {
        "pairs": len(ratios),
        SPOT: round(statistics.median(spot)),
        MIXED: round(statistics.median(mixed)),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        # how far each flow's own rate moved over the runs (max / min)
        "spot_only_spread": round(max(spot) / min(spot), 3),
        "spot_and_perp_spread": round(max(mixed) / min(mixed), 3),
    }


def paired_runs(
    flows: dict[str, tuple[list[Command], Callable[[], Engine]]],
    pairs: int,
    measure: Measure = timed_run,
) -> dict[str, object]:
    """One discarded warm-up run of each flow, then ``pairs`` pairs in flow_order."""
    for name in (SPOT, MIXED):
        measure(*flows[name])
    rates: dict[str, list[float]] = {SPOT: [], MIXED: []}
    for pair in flow_order(pairs):
        for name in pair:
            rates[name].append(measure(*flows[name]))
    return paired_ratios(rates[SPOT], rates[MIXED])


def mixed_flow(count: int, pairs: int = 9) -> dict[str, object]:
    """engine_bench's mix spot-only and spread over the spot pair and a perpetual, each
    run in a fresh engine, alternated in pairs (see paired_ratios)."""
    flows = {
        SPOT: (engine_bench.generate(count), engine_bench.new_engine),
        MIXED: (engine_bench.generate(count, engine_factory=_mixed_engine, perp=PERP),
                _mixed_engine),
    }  # fmt: skip
    return paired_runs(flows, pairs)


def _mixed_engine() -> Engine:
    """engine_bench's venue plus a perpetual on the same grid (quote USD)."""
    engine = engine_bench.new_engine()
    engine.submit(
        AddPerpInstrument(PERP, "BTC", "USD", "0.01", "0.0001", max_leverage=20,
                          tiers="0:0.005:20", mark_window=1)
    )  # fmt: skip
    engine.submit(SetIndexPrice(PERP, engine_bench.MID))
    engine.submit(PerpTick(PERP))
    return engine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=9, help="spot-only/mixed pairs of runs")
    parser.add_argument("--skip-mixed", action="store_true")
    args = parser.parse_args(argv)
    out: dict[str, object] = {
        "liquidation": liquidation_reaction(args.positions, args.rounds),
    }
    if not args.skip_mixed:
        out["mixed_flow"] = mixed_flow(args.commands, args.pairs)
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
