"""The load test's order mix raises no market-abuse alert.

The same flow as loadtest/scenarios.py: makers resting 1-50 ticks from the mid, takers
crossing 100 ticks through it with IOC, cancels and replaces of the session's own
resting orders (weights 50/20/20/10), 1-10 lots, on the demo grid (tick 0.01 USD, lot
0.0001 BTC). Independent accounts raise no alert at all; accounts shared by several
sessions, as the load test's ACC1/ACC2 with STP off, trade with themselves, which is
a control alert (a pattern to review), never a market-abuse one.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from engine.commands import Cancel, NewOrder, Replace
from engine.events import OrderAccepted, OrderCanceled, OrderExpired, Trade
from engine.model import OrdType, TimeInForce
from gateway.follower.surveillance import Kind
from tests.gateway.follower.surveillance.floor import BUY, SELL, SYMBOL, Floor, usd

MID = usd(50_000)


def run_flow(
    floor: Floor,
    accounts: list[str],
    seed: int,
    orders: int,
    symbol: str = SYMBOL,
    before_each: Callable[[int], None] | None = None,
) -> int:
    """Sessions take turns, one request each, 2 ms apart (before_each(i) runs first, as
    a perpetual's ticks do); returns the trades made."""
    rng = random.Random(seed)
    resting: dict[int, list[tuple[int, int]]] = {n: [] for n in range(len(accounts))}
    trades = 0
    for i in range(orders):
        n = i % len(accounts)
        account = accounts[n]
        floor.later(2_000)
        if before_each is not None:
            before_each(i)
        r = rng.random()
        buy = rng.random() < 0.5
        lots = 1 + int(rng.random() * 10)
        own = resting[n]
        if r >= 0.7 and not own:
            r = 0.0
        if r < 0.5:
            price = MID - (1 + int(rng.random() * 50)) if buy else MID + 1 + int(rng.random() * 50)
            cmd = NewOrder(account, symbol, BUY if buy else SELL, OrdType.LIMIT, lots, price)
        elif r < 0.7:
            price = MID + 100 if buy else MID - 100
            side = BUY if buy else SELL
            cmd = NewOrder(account, symbol, side, OrdType.LIMIT, 1, price, TimeInForce.IOC)
        elif r < 0.9:
            order_id, _ = own.pop(int(rng.random() * len(own)))
            cmd = Cancel(account, symbol, order_id)
        else:
            order_id, side = own.pop(int(rng.random() * len(own)))
            price = (
                MID - 1 - int(rng.random() * 50)
                if side == BUY
                else MID + 1 + int(rng.random() * 50)
            )
            cmd = Replace(account, symbol, lots, price, order_id)
        for ev in floor.submit(cmd):
            if isinstance(ev, OrderAccepted) and ev.tif == TimeInForce.GTC:
                resting[n].append((ev.order_id, ev.side))
            elif isinstance(ev, Trade):
                trades += 1
        done = {
            ev.order_id for ev in floor.engine.out if isinstance(ev, (OrderCanceled, OrderExpired))
        }
        resting[n] = [(o, s) for o, s in resting[n] if o in floor.engine.orders and o not in done]
    return trades


@pytest.mark.parametrize("seed", [1, 2])
def test_independent_accounts_raise_no_alert(seed: int) -> None:
    floor = Floor(lot="0.0001")
    accounts = [f"LOAD{n}" for n in range(1, 9)]
    floor.open(*accounts)
    assert run_flow(floor, accounts, seed, 4_000) > 500
    assert floor.alerts == []


@pytest.mark.parametrize("lot", ["0.0001", "0.1"])
def test_the_load_tests_shared_accounts_raise_no_market_abuse_alert(lot: str) -> None:
    """On the demo grid, and with lots of 0.1 BTC: orders of 5,000 to 50,000 USD, above
    every notional floor, so only the rules' shape criteria stand between the random
    flow and an alert."""
    floor = Floor(lot=lot)
    floor.open("ACC1", "ACC2")
    sessions = ["ACC1" if n % 2 else "ACC2" for n in range(1, 9)]
    assert run_flow(floor, sessions, 3, 4_000) > 500
    assert floor.rules(Kind.MARKET_ABUSE) == []
