"""A change of the default or an in-use schedule does not re-resolve every account in
its one command: accounts with resting orders (whose holds depend on the rate) are
resolved at once, every other account when it next places an order. Either way each
fill pays what eager resolution would have charged, and a snapshot or a replay taken
while accounts are still unresolved gives the same state hash."""

from __future__ import annotations

import orjson

from engine.commands import AddInstrument, Command, command_from_record, command_to_record
from engine.core import Engine
from engine.events import Trade, VenueEvent
from engine.model import Side
from engine.sequencer import Sequencer
from engine.snapshot import restore_state
from engine.venue.fees import (
    ConfigureFees,
    DefineFeeSchedule,
    SetDefaultFeeSchedule,
    SetTenantFees,
)
from engine.venue.tenancy_commands import CreateTenant, OpenTenantAccount
from tests.engine.helpers import Clock, limit, of, open_account

IDLE = [f"I{n}" for n in range(20)]
NOTIONAL = 10 * 5_000_000  # ticks x lots of the fills below (qty 10 at 50,000.00)


def venue(log: list[tuple[int, int, Command]]) -> Engine:
    """BTC-USD (tick 0.01, lot 0.01); makers M, N with resting sells; 20 idle accounts."""
    eng = Engine(Sequencer(Clock()))
    eng.on_command = lambda seq, ts_us, cmd: log.append((seq, ts_us, cmd))
    eng.submit(AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.01", "0", "0", "0"))
    open_account(eng, "REV", usd=0, btc=0)
    for cmd in (
        ConfigureFees("REV", "USD", "0", "5"),
        DefineFeeSchedule("std", "0:1:2"),
        DefineFeeSchedule("dear", "0:3:4"),
        SetDefaultFeeSchedule("std"),
        CreateTenant("T1", "Tenant one", "T1-REV"),
    ):
        eng.submit(cmd)
    for name in ("M", "N", *IDLE):
        open_account(eng, name)
    for maker in ("M", "N"):
        eng.submit(limit(maker, Side.SELL, 5_000_000, 10))
    return eng


def rates_event(events: list[object]) -> VenueEvent:
    [event] = [e for e in of(events, VenueEvent) if e.kind == "fees.rates"]
    return event


def taker_fee(eng: Engine, taker: str) -> int:
    [fill] = of(eng.submit(limit(taker, Side.BUY, 5_000_000, 10)), Trade)
    fee: int = fill.taker_fee
    return fee


def test_a_new_default_resolves_only_the_accounts_with_resting_orders() -> None:
    eng = venue([])
    changed = rates_event(eng.submit(SetDefaultFeeSchedule("dear")))
    assert changed.data["accounts"] == 2  # M and N, not the 20 idle ones
    qpt = eng.listings["BTC-USD"].instrument.quote_per_tick_lot
    assert eng.accounts["M"].maker_fee_ppm == 300
    # an idle account pays the new taker rate on its first order; the maker its new rate
    assert taker_fee(eng, "I0") == NOTIONAL * qpt * 400 // 1_000_000
    assert eng.accounts["I0"].taker_fee_ppm == 400


def test_redefining_the_default_and_a_tenant_schedule_are_lazy_too() -> None:
    eng = venue([])
    assert rates_event(eng.submit(DefineFeeSchedule("std", "0:2:3"))).data["accounts"] == 2
    qpt = eng.listings["BTC-USD"].instrument.quote_per_tick_lot
    assert taker_fee(eng, "I1") == NOTIONAL * qpt * 300 // 1_000_000
    eng.submit(OpenTenantAccount("TA", "T1"))
    tenant = eng.submit(SetTenantFees("T1", "dear", "1"))
    assert [e.kind for e in of(tenant, VenueEvent)] == ["fees.tenant"]  # nobody resting
    assert eng.fee_book.rates("TA", eng.accounts["TA"]) == (400, 500, 100)


def test_unresolved_accounts_snapshot_and_replay_to_the_same_state_hash() -> None:
    log: list[tuple[int, int, Command]] = []
    eng = venue(log)
    eng.submit(SetDefaultFeeSchedule("dear"))
    taker_fee(eng, "I2")
    copy = Engine(Sequencer(Clock()))
    restore_state(copy, orjson.loads(orjson.dumps(eng.state())))
    assert copy.state_hash() == eng.state_hash()
    replay = Engine(Sequencer(Clock()))
    for seq, ts_us, cmd in log:
        record = orjson.loads(orjson.dumps(command_to_record(cmd)))
        replay.apply(seq, ts_us, command_from_record(record))
    replay.sequencer.resume(replay.last_seq, replay.last_ts_us)
    assert replay.state_hash() == eng.state_hash()
    for e in (eng, copy, replay):  # and they go on identically
        e.submit(SetDefaultFeeSchedule("std"))
        taker_fee(e, "I3")
    assert copy.state_hash() == eng.state_hash() == replay.state_hash()
