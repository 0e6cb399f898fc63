"""Engine throughput and per-command latency through Engine.submit (the one entry point).

Workload (issue #2): 60% adds, 30% cancels, 10% crossing orders over ~1,000 resting
orders on one instrument, two accounts. Commands are generated once (by driving a
scratch engine, so cancels name real order ids) and then replayed through a fresh
engine's submit(): the timed loop contains nothing but the engine.

    python -m loadtest.engine_bench [--commands N] [--journal off|never|batch|interval]
                                    [--flush-every K] [--profile]

Journal modes: off = no journal; never/batch/interval = JournalWriter with that fsync
policy, flushed every K commands (the gateway flushes once per loop iteration).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.commands import AddInstrument, AdjustBalance, Cancel, Command, NewOrder, OpenAccount
from engine.core import Engine
from engine.events import OrderAccepted, OrderCanceled, OrderExpired, Trade
from engine.journal import JournalWriter
from engine.model import OrdType, Side, TimeInForce
from engine.sequencer import Sequencer

SYMBOL = "BTC-USD"
MID = 5_000_000  # 50,000.00 in ticks of 0.01
RESTING_TARGET = 1_000
SETUP: list[Command] = [
    AddInstrument(SYMBOL, "BTC", "USD", "0.01", "0.0001", "0.0001", "1", "0"),
    OpenAccount("A", maker_fee_bps="1", taker_fee_bps="2"),
    OpenAccount("B", maker_fee_bps="1", taker_fee_bps="2"),
    AdjustBalance("A", "USD", 10**20),
    AdjustBalance("A", "BTC", 10**18),
    AdjustBalance("B", "USD", 10**20),
    AdjustBalance("B", "BTC", 10**18),
]


# A fake clock: the benchmark measures the engine, not the host's clock. A C-level
# counter costs about what time.time_ns() does, without its variance.
_clock = itertools.count(1_700_000_000_000_000).__next__


def new_engine() -> Engine:
    engine = Engine(Sequencer(_clock))
    for command in SETUP:
        engine.submit(command)
    return engine


def generate(
    count: int,
    seed: int = 7,
    engine_factory: Callable[[], Engine] | None = None,
    perp: str = "",
) -> list[Command]:
    """The command mix, made by driving a scratch engine so cancels hit live orders.

    With ``perp`` (a perpetual the factory's engine lists on the same grid), each order
    goes to the spot pair or the perpetual at random (loadtest/perp_bench.py)."""
    rng = random.Random(seed)
    engine = (engine_factory or new_engine)()
    live: list[int] = []
    where: dict[int, int] = {}
    commands: list[Command] = []

    def forget(order_id: int) -> None:
        i = where.pop(order_id, None)
        if i is None:
            return
        last = live.pop()
        if last != order_id:
            live[i] = last
            where[last] = i

    n = 0
    while len(commands) < count:
        roll = rng.random()
        account = "A" if rng.random() < 0.5 else "B"
        symbol = perp if perp and rng.random() < 0.5 else SYMBOL
        command: Command
        if len(live) < RESTING_TARGET // 2:
            roll = 0.0  # warm the book up first
        if roll < 0.6:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            offset = rng.randint(1, 50)
            price = MID - offset if side == Side.BUY else MID + offset
            command = NewOrder(
                account,
                symbol,
                side,
                OrdType.LIMIT,
                rng.randint(1, 10),
                price,
                client_order_id=f"c{n}",
            )
        elif roll < 0.9 and live:
            order = engine.orders[live[rng.randrange(len(live))]]
            command = Cancel(order.account, order.symbol, order_id=order.order_id)
        else:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            # Sized to take ~3 resting orders, which keeps the book near its target.
            qty = rng.randint(10, 25) if len(live) > RESTING_TARGET else rng.randint(3, 12)
            price = MID + 60 if side == Side.BUY else MID - 60
            command = NewOrder(
                account,
                symbol,
                side,
                OrdType.LIMIT,
                qty,
                price,
                tif=TimeInForce.IOC,
                client_order_id=f"c{n}",
            )
        n += 1
        for event in engine.submit(command):
            kind = type(event)
            if kind is OrderAccepted and isinstance(event, OrderAccepted):
                if event.tif != TimeInForce.IOC:
                    where[event.order_id] = len(live)
                    live.append(event.order_id)
            elif kind is Trade and isinstance(event, Trade):
                if event.maker_leaves == 0:
                    forget(event.maker_order_id)
            elif isinstance(event, OrderCanceled | OrderExpired):
                forget(event.order_id)
        commands.append(command)
    return commands


@dataclass
class Result:
    journal: str
    commands: int
    seconds: float
    per_second: float
    p50_us: float
    p99_us: float
    p999_us: float
    events: int


def run(commands: list[Command], journal: str, flush_every: int) -> Result:
    """Throughput pass (no per-call timing), then a latency pass with per-call timing."""
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        engine, writer = _setup(journal, tmp + "/t")
        submit = engine.submit
        events = 0
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        if writer is None:
            for command in commands:
                events += len(submit(command))
        else:
            flush = writer.flush
            for i, command in enumerate(commands, 1):
                events += len(submit(command))
                if i % flush_every == 0:
                    flush()
            flush()
        seconds = time.perf_counter() - start
        gc.enable()

        engine, writer = _setup(journal, tmp + "/l")
        submit = engine.submit
        clock = time.perf_counter_ns
        samples = [0] * len(commands)
        gc.collect()
        gc.disable()
        for i, command in enumerate(commands):
            t0 = clock()
            submit(command)
            if writer is not None and (i + 1) % flush_every == 0:
                writer.flush()
            samples[i] = clock() - t0
        gc.enable()
        samples.sort()
    q = statistics.quantiles(samples, n=1000, method="inclusive")
    return Result(
        journal,
        len(commands),
        seconds,
        len(commands) / seconds,
        q[499] / 1000,
        q[989] / 1000,
        q[998] / 1000,
        events,
    )


def _setup(journal: str, directory: str) -> tuple[Engine, JournalWriter | None]:
    engine = new_engine()
    if journal == "off":
        return engine, None
    writer = JournalWriter(directory, fsync=journal, next_seq=engine.last_seq + 1)
    engine.on_command = writer.append
    return engine, writer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.engine_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument(
        "--journal",
        nargs="*",
        default=["off", "never", "batch"],
        choices=["off", "never", "batch", "interval"],
    )
    parser.add_argument(
        "--flush-every", type=int, default=100, help="commands per group commit (default 100)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the journal-off pass")
    parser.add_argument("--json", help="write results to this file")
    args = parser.parse_args(argv)

    import engine as engine_pkg

    native = engine_pkg.NATIVE
    flavour = f"native (mypyc: {', '.join(native)})" if native else "pure Python"
    print(f"engine: {flavour}")
    print(
        f"generating {args.commands:,} commands (60% add / 30% cancel / 10% crossing IOC)...",
        file=sys.stderr,
    )
    commands = generate(args.commands)
    if args.profile:
        engine = new_engine()
        profiler = cProfile.Profile()
        profiler.enable()
        for command in commands:
            engine.submit(command)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        return 0
    results = [run(commands, mode, args.flush_every) for mode in args.journal]
    print(
        f"{'journal':>9} {'commands':>9} {'cmds/s':>10} {'p50 us':>8} {'p99 us':>8} "
        f"{'p99.9 us':>9} {'events':>9}"
    )
    for r in results:
        print(
            f"{r.journal:>9} {r.commands:>9,} {r.per_second:>10,.0f} {r.p50_us:>8.2f} "
            f"{r.p99_us:>8.2f} {r.p999_us:>9.2f} {r.events:>9,}"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([r.__dict__ for r in results], fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
