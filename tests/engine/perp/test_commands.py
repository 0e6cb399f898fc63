"""The perpetual commands: journaled under codes 80-99, applied, replayed exactly."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from engine.commands import COMMAND_TYPES, command_from_record, command_to_record
from engine.core import Engine
from engine.events import RejectCode
from engine.journal import JournalWriter, recover
from engine.perp.commands import (
    CODE_RANGE,
    PERP_COMMANDS,
    AdjustIsolatedMargin,
    ClosePosition,
    DepositInsurance,
    PerpTick,
    SetIndexPrice,
    SetLeverage,
    SetMarginMode,
)
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import (
    SYMBOL,
    USDT,
    kinds,
    perp_command,
    perp_engine,
    rejected,
    venue,
)

SAMPLES = [
    perp_command(),
    SetIndexPrice(SYMBOL, 500_000),
    PerpTick(SYMBOL),
    SetLeverage("A", SYMBOL, 10),
    SetMarginMode("A", SYMBOL, True),
    AdjustIsolatedMargin("A", SYMBOL, -5),
    DepositInsurance(SYMBOL, 7),
    ClosePosition("A", SYMBOL, "c1"),
]


def test_codes_are_in_the_perp_range_and_registered() -> None:
    assert set(PERP_COMMANDS) <= set(CODE_RANGE)
    for code, cls in PERP_COMMANDS.items():
        assert COMMAND_TYPES[code] is cls
    assert {type(c) for c in SAMPLES} == set(PERP_COMMANDS.values())


@pytest.mark.parametrize("command", SAMPLES, ids=lambda c: type(c).__name__)
def test_record_round_trip(command: object) -> None:
    record = orjson.loads(orjson.dumps(command_to_record(command)))  # type: ignore[arg-type]
    assert record[0] in CODE_RANGE
    assert command_from_record(record) == command


def test_index_and_tick_give_index_and_mark() -> None:
    eng, clock = perp_engine()
    assert kinds(eng.submit(SetIndexPrice(SYMBOL, 500_000))) == ["perp.index"]
    (mark,) = venue(eng.submit(PerpTick(SYMBOL)), "perp.mark")
    # no book and no trade yet: every mark component is the index
    assert mark.data["mark"] == mark.data["index"] == 500_000
    assert eng.perps.markets[SYMBOL].mark == 500_000
    clock.now += 1_000
    assert venue(eng.submit(PerpTick(SYMBOL)), "perp.mark") == []  # unchanged: no event


def test_refusals_change_nothing() -> None:
    eng, _ = perp_engine()
    before = _without_clock(eng)
    assert rejected(eng.submit(perp_command())).code == RejectCode.ALREADY_EXISTS
    assert rejected(eng.submit(SetIndexPrice("NOPE", 1))).code == RejectCode.UNKNOWN_INSTRUMENT
    assert rejected(eng.submit(SetIndexPrice(SYMBOL, 0))).code == RejectCode.INVALID_PRICE
    assert rejected(eng.submit(PerpTick("NOPE"))).code == RejectCode.UNKNOWN_INSTRUMENT
    bad = perp_command(symbol="ETH-PERP", tiers="0:0.004:125,10:0.003:100")
    assert rejected(eng.submit(bad)).code == RejectCode.INVALID_COMMAND
    assert _without_clock(eng) == before


def _without_clock(eng: Engine) -> dict[str, object]:
    state = eng.state()
    del state["last_seq"], state["last_ts_us"]
    return state


def test_stale_index_makes_reduce_only_and_a_fresh_one_lifts_it() -> None:
    eng, clock = perp_engine(index_stale_s=30)
    eng.submit(SetIndexPrice(SYMBOL, 500_000))
    eng.submit(PerpTick(SYMBOL))
    clock.now += 31_000_000
    (halt,) = venue(eng.submit(PerpTick(SYMBOL)), "perp.halt")
    assert halt.data["reduce_only"] is True and halt.data["reason"] == "index_stale"
    assert eng.perps.markets[SYMBOL].reduce_only
    assert venue(eng.submit(SetIndexPrice(SYMBOL, 500_100)), "perp.halt")[0].data == {
        "reduce_only": False,
        "reason": "index_fresh",
        "index_ts_us": clock.now,
    }


def test_insurance_deposit_and_replay_is_exact(tmp_path: Path) -> None:
    clock = Clock()
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(tmp_path)
    eng.on_command = writer.append
    eng.submit(perp_command())
    (fund,) = venue(eng.submit(DepositInsurance(SYMBOL, 1_000 * USDT)), "perp.insurance")
    assert fund.data == {"balance": 1_000 * USDT}
    assert rejected(eng.submit(DepositInsurance(SYMBOL, -2_000 * USDT))).code == (
        RejectCode.INVALID_AMOUNT
    )
    for step in range(5):
        eng.submit(SetIndexPrice(SYMBOL, 500_000 + step * 37))
        clock.now += 20_000_000
        eng.submit(PerpTick(SYMBOL))
    writer.flush()
    writer.close()
    replayed = Engine()
    recover(replayed, tmp_path)
    assert replayed.state()["perp"] == eng.state()["perp"]
    assert replayed.state_hash() == eng.state_hash()
