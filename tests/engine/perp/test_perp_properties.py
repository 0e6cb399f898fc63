"""Hypothesis: random traders on random mark-price paths, gaps included, that bankrupt
some of them. After every command:
- every quote unit is conserved: wallets + isolated margins + insurance fund + fees +
  positions valued at any common price equal what was deposited (realized PnL,
  funding, fees and the fund's changes sum to zero);
- positions net to zero;
- no wallet is negative after a tick or an index (the bankruptcy path ends every liquidation with
  the account at zero or above: fund or ADL take the rest);
- closes (ClosePosition) pay the taker fee like any order, and conserve the same;
and replaying the journal gives the same state_hash().
"""

from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.commands import MassCancel
from engine.core import Engine
from engine.events import Event, OrderAccepted, Trade, VenueEvent
from engine.journal import JournalWriter, recover
from engine.model import Side, TimeInForce
from engine.perp.commands import (
    ClosePosition,
    DepositInsurance,
    PerpTick,
    SetIndexPrice,
    SetLeverage,
    SetMarginMode,
)
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import SYMBOL, USDT, open_trader, order, perp_command, total_value

USD = 10
TRADERS = ("T0", "T1", "T2", "T3")

step = st.one_of(
    st.tuples(st.just("move"), st.integers(-300, 300)),  # index move, basis points
    st.tuples(st.just("move"), st.integers(-40, 40)),
    st.tuples(st.just("move"), st.integers(-40, 10)),
    st.tuples(st.just("move"), st.integers(-10, 40)),
    st.tuples(st.just("gap"), st.sampled_from([-1_500, -800, 800, 1_500])),
    st.tuples(
        st.just("trade"),
        st.sampled_from(TRADERS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 400),
    ),
    st.tuples(st.just("rest"), st.sampled_from(TRADERS), st.integers(-500, 500)),
    st.tuples(st.just("funding"), st.integers(0, 3)),
    st.tuples(st.just("close"), st.sampled_from(TRADERS)),  # pays the taker fee
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    wallets=st.lists(st.integers(200, 5_000), min_size=4, max_size=4),
    leverages=st.lists(st.integers(1, 100), min_size=4, max_size=4),
    isolated=st.lists(st.booleans(), min_size=4, max_size=4),
    fund=st.integers(0, 2_000),
    slice_lots=st.sampled_from([0, 50, 200]),
    fund_limit=st.sampled_from(["0", "5000", "50000"]),
    steps=st.lists(step, min_size=1, max_size=40),
)
def test_random_paths_conserve_and_replay(
    wallets: list[int],
    leverages: list[int],
    isolated: list[bool],
    fund: int,
    slice_lots: int,
    fund_limit: str,
    steps: list[tuple],  # type: ignore[type-arg]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        clock = Clock()
        eng = Engine(Sequencer(clock))
        writer = JournalWriter(directory)
        eng.on_command = writer.append
        eng.submit(
            perp_command(
                liquidation_slice_lots=slice_lots,
                funding_cap="0.02",
                insurance_max_notional=fund_limit,
            )
        )
        deposited = 0
        for name, usdt, lev, iso in zip(TRADERS, wallets, leverages, isolated, strict=True):
            open_trader(eng, name, usdt * USDT, taker_bps="5")
            eng.submit(SetMarginMode(name, SYMBOL, iso))
            eng.submit(SetLeverage(name, SYMBOL, lev))
            deposited += usdt * USDT
        open_trader(eng, "MM", 10_000_000 * USDT)
        deposited += 10_000_000 * USDT
        if fund:
            eng.submit(DepositInsurance(SYMBOL, fund * USDT))
            deposited += fund * USDT
        index = 50_000 * USD
        eng.submit(SetIndexPrice(SYMBOL, index))
        eng.submit(PerpTick(SYMBOL))
        for action in steps:
            kind = action[0]
            if kind in ("move", "gap"):
                index = max(USD, index + index * action[1] // 10_000)
                observe(eng.submit(SetIndexPrice(SYMBOL, index)), "index")
                check(eng, deposited)  # the index alone moves the mark and liquidates
            elif kind == "trade":
                _, who, side, lots = action
                quote(eng, index)
                eng.submit(order(who, side, 0, lots))
            elif kind == "close":
                quote(eng, index)
                eng.submit(ClosePosition(action[1], SYMBOL))
            elif kind == "rest":
                _, who, offset = action
                side = Side.BUY if offset < 0 else Side.SELL
                eng.submit(order(who, side, index + offset * USD, 50, TimeInForce.GTC))
            else:
                market = eng.perps.markets[SYMBOL]
                clock.now = max(clock.now, market.next_funding_us) + action[1]
                eng.submit(SetIndexPrice(SYMBOL, index))  # the feeder keeps up
            quote(eng, index)
            observe(eng.submit(PerpTick(SYMBOL)), "tick")
            check(eng, deposited)
        writer.flush()
        writer.close()
        replayed = Engine()
        recover(replayed, directory)
        assert replayed.state_hash() == eng.state_hash()


def quote(eng: Engine, index: int) -> None:
    """The market maker refreshes one bid and one ask around the index."""
    eng.submit(MassCancel("MM", SYMBOL))
    eng.submit(order("MM", Side.BUY, index - 20 * USD, 2_000))
    eng.submit(order("MM", Side.SELL, index + 20 * USD, 2_000))


def observe(events: list[Event], command: str) -> None:
    """Coverage statistics: which liquidation steps ran, on which command. And every
    fill names orders accepted earlier in the command (liquidation, takeover and ADL
    orders included), with ids no other order of the command has."""
    accepted: set[int] = set()
    for ev in events:
        if isinstance(ev, OrderAccepted):
            assert ev.order_id not in accepted
            accepted.add(ev.order_id)
        elif isinstance(ev, Trade) and ev.taker_account in TRADERS:
            assert ev.taker_order_id in accepted
            if ev.maker_client_order_id.startswith(("adl-", "ins-")):
                assert ev.maker_order_id in accepted
        elif isinstance(ev, VenueEvent) and ev.kind == "perp.liquidation":
            event(f"liquidation step {ev.data['step']} on {command}")


def check(eng: Engine, deposited: int) -> None:
    positions = eng.perps.positions[SYMBOL].values()
    assert sum(p.size for p in positions) == 0
    risk = eng.perp_risk
    for name in (*TRADERS, "MM"):  # the cached cross-margin figures stay exact
        assert risk.cross(name, "USDT") == risk.cross_now(name, "USDT")
    for price in (1, 50_000 * USD):
        assert total_value(eng, price) == deposited
    for name in TRADERS:
        assert eng.accounts[name].balances["USDT"].total >= 0, name
