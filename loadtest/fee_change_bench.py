"""How long does a fee schedule change hold the engine, with many accounts?

    python -m loadtest.fee_change_bench                       # 100 tenants, 100k accounts
    python -m loadtest.fee_change_bench --accounts 10000      # quick

Builds an in-memory engine with ``--tenants`` tenants and ``--accounts`` accounts (the
large-operator benchmark's population), the venue's fees configured and a default
schedule, and ``--resting`` accounts with a resting limit buy. Then times, best of
``--rounds``, the commands that change what every account pays: a new default
schedule, redefining the default schedule in place, and a tenant's schedule. Each is
one engine command: the whole time is a stall of the order path. Also times the first
order of an account after a change (where a lazily resolved account pays its share).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from engine.commands import AddInstrument, AdjustBalance, Command, NewOrder, OpenAccount
from engine.core import Engine
from engine.events import OrderRejected
from engine.model import OrdType, Side
from engine.venue.fees import (
    ConfigureFees,
    DefineFeeSchedule,
    SetDefaultFeeSchedule,
    SetTenantFees,
)
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import SetMarketState
from loadtest.operator_bench import Shape, population

USD = 100_000_000


def _ok(engine: Engine, command: Command) -> None:
    refused = [e for e in engine.submit(command) if isinstance(e, OrderRejected)]
    if refused:
        raise SystemExit(f"{command}: {refused[0].text}")


def build(tenants: int, accounts: int, resting: int) -> Engine:
    engine = Engine()
    _ok(engine, AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.0001"))
    _ok(engine, OpenAccount("VENUE-FEES"))
    for command in population(Shape(tenants, accounts, 0)):
        _ok(engine, command)
    for t in range(tenants):
        _ok(engine, SetMarketState(f"T{t:03d}", "BTC-USD", MarketState.ENABLED))
    for command in (
        ConfigureFees("VENUE-FEES", "USD", "1", "5"),
        DefineFeeSchedule("std", f"0:1:2,{1_000_000 * USD}:0.5:1.5"),
        DefineFeeSchedule("vip", "0:0.5:1"),
        SetDefaultFeeSchedule("std"),
    ):
        _ok(engine, command)
    step = max(1, accounts // max(1, resting))
    for a in range(0, min(accounts, resting * step), step):
        account = f"A{a:06d}"
        _ok(engine, AdjustBalance(account, "USD", 1_000 * USD))
        _ok(engine, NewOrder(account, "BTC-USD", Side.BUY, OrdType.LIMIT, 10, 4_000_000))
    return engine


def best_ms(rounds: int, run: Callable[[int], None]) -> float:
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - start)
    return round(min(times) * 1000, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.fee_change_bench")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--resting", type=int, default=1_000, help="accounts with an order")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    engine = build(args.tenants, args.accounts, args.resting)
    built_s = round(time.perf_counter() - started, 1)
    schedules = ("vip", "std")
    tiers = ("0:1:2", "0:1.5:2.5")
    # accounts with no resting order (resolved when they next trade), one per round
    idle = [f"A{args.accounts - 1 - n:06d}" for n in range(args.rounds)]

    def first_order(n: int) -> None:
        engine.submit(SetDefaultFeeSchedule(schedules[n % 2]))
        start = time.perf_counter()
        engine.submit(NewOrder(idle[n], "BTC-USD", Side.SELL, OrdType.LIMIT, 1, 9_000_000))
        figures["first_order_after_change_us"] = min(
            figures.get("first_order_after_change_us", 1e9),
            round((time.perf_counter() - start) * 1e6, 1),
        )

    figures: dict[str, float] = {}
    figures["set_default_schedule_ms"] = best_ms(
        args.rounds, lambda n: _ok(engine, SetDefaultFeeSchedule(schedules[n % 2]))
    )
    _ok(engine, SetDefaultFeeSchedule("std"))
    figures["redefine_default_schedule_ms"] = best_ms(
        args.rounds, lambda n: _ok(engine, DefineFeeSchedule("std", tiers[n % 2]))
    )
    figures["set_tenant_schedule_ms"] = best_ms(
        args.rounds, lambda n: _ok(engine, SetTenantFees("T000", schedules[n % 2], "1"))
    )
    for account in idle:
        _ok(engine, AdjustBalance(account, "BTC", 10 * USD))
    best_ms(args.rounds, first_order)
    print(
        json.dumps(
            {
                "tenants": args.tenants,
                "accounts": args.accounts,
                "resting_accounts": args.resting,
                "build_s": built_s,
                **figures,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
