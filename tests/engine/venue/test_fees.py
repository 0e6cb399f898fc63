"""Fee schedules, tiers, markups, rebates and revenue accounts (engine/venue/fees.py)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Command,
    OpenAccount,
    command_from_record,
)
from engine.commands import command_to_record as to_record
from engine.core import Engine
from engine.events import CloseReason, OrderExpired, RejectCode, Trade
from engine.model import Side
from engine.sequencer import Sequencer
from engine.snapshot import restore_state
from engine.venue import fees
from engine.venue.fees import (
    ClearFeeOverride,
    ConfigureFees,
    DefineFeeSchedule,
    FeeDayTick,
    SetDefaultFeeSchedule,
    SetFeeOverride,
    SetTenantFees,
)
from engine.venue.tenancy import AccountInfo, Tenant
from tests.engine.helpers import QPT, USD, Clock, bal, limit, make_engine, of, open_account
from tests.engine.helpers import reject_code as code_of

DAY = 20_000  # a UTC day number
TIER2 = 1_000 * USD  # 30-day volume where the "std" schedule's second tier starts


def rates(eng: Engine, account: str) -> tuple[int, int, int, int]:
    """What the account pays now (an account with no resting order may not have its
    rates written yet after a schedule change: it is resolved when it next trades)."""
    a = eng.accounts[account]
    maker, taker, markup = eng.fee_book.rates(account, a)
    if a.open_orders:  # written at once, the hold rate too
        assert (maker, taker, markup) == (a.maker_fee_ppm, a.taker_fee_ppm, a.markup_ppm)
    return maker, taker, max(maker, taker), markup


def join_tenant(eng: Engine, tenant: str, revenue: str, *accounts: str) -> None:
    """Put accounts under a tenant as the tenancy module's commands will."""
    eng.tenancy.tenants[tenant] = Tenant(tenant, revenue_account=revenue)
    for account in accounts:
        eng.tenancy.accounts[account] = AccountInfo(account, tenant)
    fees.assign_rates(eng, accounts)


def venue(
    max_rebate: str = "1",
    max_markup: str = "5",
    *,
    log: list[tuple[int, int, Command]] | None = None,
    usd: int = 1_000_000 * USD,
    btc: int = 1_000 * 10**8,
) -> Engine:
    """BTC-USD; traders A, B, C; the venue's revenue account REV; a tenant's TREV.
    With log, every command is recorded as the journal would."""
    eng = Engine(Sequencer(Clock()))
    if log is not None:
        eng.on_command = lambda seq, ts_us, cmd: log.append((seq, ts_us, cmd))
    eng.submit(AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.01", "0", "0", "0"))
    for name in ("A", "B", "C"):
        open_account(eng, name, usd=usd, btc=btc, maker_bps="7", taker_bps="7")
    for name in ("REV", "TREV"):
        open_account(eng, name, usd=0, btc=0)
    for cmd in (
        ConfigureFees("REV", "USD", max_rebate, max_markup),
        DefineFeeSchedule("std", f"0:1:2,{TIER2}:0.5:1.5"),
        SetDefaultFeeSchedule("std"),
    ):
        assert not of(eng.submit(cmd), Trade)
    return eng


def trade(eng: Engine, maker: str, taker: str, qty: int = 10, price: int = 5_000_000) -> Trade:
    """maker rests a sell, taker buys it; returns the Trade."""
    eng.submit(limit(maker, Side.SELL, price, qty))
    (t,) = of(eng.submit(limit(taker, Side.BUY, price, qty)), Trade)
    assert isinstance(t, Trade)
    return t


def supply(eng: Engine) -> dict[str, int]:
    total: dict[str, int] = dict(eng.fees)
    for account in eng.accounts.values():
        for asset, b in account.balances.items():
            total[asset] = total.get(asset, 0) + b.total
    return {k: v for k, v in total.items() if v}


def test_inactive_book_keeps_open_account_rates_and_counts_fees_in_engine() -> None:
    eng, _ = make_engine()
    open_account(eng, "A", maker_bps="1", taker_bps="2")
    open_account(eng, "B", maker_bps="1", taker_bps="2")
    t = trade(eng, "B", "A")
    assert eng.fees == {"USD": t.maker_fee + t.taker_fee}


def test_default_schedule_replaces_open_account_rates_and_fees_go_to_revenue() -> None:
    eng = venue()
    assert rates(eng, "A") == (100, 200, 200, 0)
    open_account(eng, "D", maker_bps="9", taker_bps="9")  # opened later: resolved too
    assert rates(eng, "D") == (100, 200, 200, 0)
    before = supply(eng)
    t = trade(eng, "B", "A")
    notional = 5_000_000 * 10 * QPT
    assert (t.maker_fee, t.taker_fee) == (notional * 100 // 10**6, notional * 200 // 10**6)
    assert bal(eng, "REV", "USD") == (t.maker_fee + t.taker_fee, 0)
    assert eng.fees == {}
    assert supply(eng) == before


def test_resolution_override_beats_tenant_beats_default_markup_on_top() -> None:
    eng = venue()
    eng.submit(DefineFeeSchedule("vip", "0:0.2:0.4"))
    join_tenant(eng, "T1", "TREV", "A")
    assert rates(eng, "A") == (100, 200, 200, 0)  # a tenant without settings: default
    eng.submit(SetTenantFees("T1", "vip", "3"))
    assert rates(eng, "A") == (20 + 300, 40 + 300, 340, 300)
    assert rates(eng, "B") == (100, 200, 200, 0)  # outside the tenant: untouched
    eng.submit(SetFeeOverride("A", "0.1", "0.1"))
    assert rates(eng, "A") == (310, 310, 310, 300)
    eng.submit(ClearFeeOverride("A"))
    assert rates(eng, "A") == (320, 340, 340, 300)
    eng.submit(SetTenantFees("T1", "", "0"))  # back to the venue default
    assert rates(eng, "A") == (100, 200, 200, 0)


def test_markup_goes_to_the_tenant_revenue_account_and_the_rest_to_the_venue() -> None:
    eng = venue()
    join_tenant(eng, "T1", "TREV", "A")
    eng.submit(SetTenantFees("T1", "", "3"))
    before = supply(eng)
    t = trade(eng, "B", "A", qty=7, price=3_333_333)
    notional = 3_333_333 * 7 * QPT
    assert t.taker_fee == notional * 500 // 10**6
    assert bal(eng, "TREV", "USD") == (notional * 300 // 10**6, 0)
    assert bal(eng, "REV", "USD") == (t.maker_fee + t.taker_fee - notional * 300 // 10**6, 0)
    assert supply(eng) == before


def test_maker_rebate_is_paid_from_the_taker_fee() -> None:
    eng = venue()
    eng.submit(DefineFeeSchedule("mm", "0:-1:2"))
    eng.submit(SetDefaultFeeSchedule("mm"))
    before = supply(eng)
    usd_b = bal(eng, "B", "USD")[0]
    t = trade(eng, "B", "A")
    notional = 5_000_000 * 10 * QPT
    assert t.maker_fee == -(notional * 100 // 10**6)
    assert bal(eng, "B", "USD")[0] == usd_b + notional + notional * 100 // 10**6
    assert bal(eng, "REV", "USD")[0] == t.taker_fee + t.maker_fee > 0
    assert supply(eng) == before


def test_rebate_never_exceeds_the_venue_part_of_the_same_fill() -> None:
    eng = venue()
    eng.submit(DefineFeeSchedule("mm", "0:-1:1"))
    eng.submit(SetDefaultFeeSchedule("mm"))
    eng.submit(SetFeeOverride("A", "0", "0"))  # a free taker: nothing to pay a rebate from
    t = trade(eng, "B", "A")
    assert (t.maker_fee, t.taker_fee) == (0, 0)
    assert bal(eng, "REV", "USD") == (0, 0)


def test_day_tick_rolls_a_30_day_window_and_re_tiers() -> None:
    eng = venue()
    eng.submit(FeeDayTick(DAY))
    notional = 5_000_000 * 10 * QPT
    trades = -(-TIER2 // notional)
    for _ in range(trades):
        trade(eng, "B", "A")
    assert rates(eng, "A")[:2] == (100, 200)  # the tier changes only at the tick
    assert eng.fee_book.volume("A") == 0
    eng.submit(FeeDayTick(DAY + 1))
    assert eng.fee_book.volume("A") == trades * notional
    assert rates(eng, "A")[:2] == (50, 150)
    assert rates(eng, "C")[:2] == (100, 200)  # no volume, no tier
    eng.submit(FeeDayTick(DAY + 30))  # the trading day is still in the window
    assert rates(eng, "A")[:2] == (50, 150)
    eng.submit(FeeDayTick(DAY + 31))  # and now it left it
    assert rates(eng, "A")[:2] == (100, 200)
    assert eng.fee_book.history == {}


def test_a_stale_day_tick_is_refused() -> None:
    eng = venue()
    eng.submit(FeeDayTick(DAY))
    before = _snapshot_without_stamp(eng)
    assert code_of(eng.submit(FeeDayTick(DAY))) == RejectCode.INVALID_COMMAND
    assert _snapshot_without_stamp(eng) == before


def _snapshot_without_stamp(eng: Engine) -> dict[str, Any]:
    state = eng.state()
    del state["last_seq"], state["last_ts_us"]
    return state


def test_out_of_bound_schedules_are_refused_and_change_nothing() -> None:
    eng = venue(max_rebate="1", max_markup="5")
    eng.submit(OpenAccount("X"))  # not in a tenant
    eng.tenancy.tenants["T1"] = Tenant("T1", revenue_account="TREV")
    cases: list[tuple[Command, RejectCode]] = [
        (DefineFeeSchedule("bad", "0:-2:3"), RejectCode.LIMIT_EXCEEDED),  # rebate > max
        (DefineFeeSchedule("bad", "0:-1:0.5"), RejectCode.LIMIT_EXCEEDED),  # rebate > taker
        (DefineFeeSchedule("bad", "0:3:2"), RejectCode.LIMIT_EXCEEDED),  # maker > taker
        (DefineFeeSchedule("bad", "0:1:1001"), RejectCode.LIMIT_EXCEEDED),  # above 10 %
        (DefineFeeSchedule("bad", "0:1:-2"), RejectCode.LIMIT_EXCEEDED),
        (DefineFeeSchedule("bad", "5:1:2"), RejectCode.INVALID_COMMAND),  # not from 0
        (DefineFeeSchedule("bad", "0:1:2,0:1:2"), RejectCode.INVALID_COMMAND),
        (DefineFeeSchedule("bad", "0:1:2.001"), RejectCode.INVALID_COMMAND),
        (DefineFeeSchedule("bad", "0:x:2"), RejectCode.INVALID_COMMAND),
        (DefineFeeSchedule("bad", ""), RejectCode.INVALID_COMMAND),
        (SetTenantFees("T1", "", "5.01"), RejectCode.LIMIT_EXCEEDED),
        (SetTenantFees("T1", "", "-1"), RejectCode.LIMIT_EXCEEDED),
        (SetTenantFees("T1", "nope", "1"), RejectCode.INVALID_COMMAND),
        (SetTenantFees("T9", "", "1"), RejectCode.UNKNOWN_TENANT),
        (SetFeeOverride("A", "-1.5", "2"), RejectCode.LIMIT_EXCEEDED),
        (SetFeeOverride("nobody", "1", "2"), RejectCode.UNKNOWN_ACCOUNT),
        (ClearFeeOverride("A"), RejectCode.INVALID_COMMAND),
        (SetDefaultFeeSchedule("nope"), RejectCode.INVALID_COMMAND),
        (ConfigureFees("REV", "USD", "0.5", "5"), RejectCode.LIMIT_EXCEEDED),  # vs "mm"
        (ConfigureFees("REV", "EUR", "1", "5"), RejectCode.INVALID_COMMAND),
        (ConfigureFees("nobody", "USD", "1", "5"), RejectCode.UNKNOWN_ACCOUNT),
    ]
    eng.submit(DefineFeeSchedule("mm", "0:-1:2"))
    for cmd, code in cases:
        before = _snapshot_without_stamp(eng)
        assert code_of(eng.submit(cmd)) == code, cmd
        assert _snapshot_without_stamp(eng) == before, cmd


def test_a_higher_rate_re_holds_resting_buys_or_expires_what_cannot_be_covered() -> None:
    eng = venue()
    price, qty = 5_000_000, 10
    notional = price * qty * QPT
    hold = notional + notional * 200 // 10**6
    spare = bal(eng, "C", "USD")[0] - hold - 1  # C keeps 1 unit beyond its buy's hold
    eng.submit(AdjustBalance("C", "USD", -spare))
    eng.submit(limit("A", Side.BUY, price, qty))
    eng.submit(limit("C", Side.BUY, price, qty))
    assert bal(eng, "A", "USD")[1] == hold
    eng.submit(SetFeeOverride("A", "1", "4"))
    assert bal(eng, "A", "USD")[1] == notional + notional * 400 // 10**6
    events = eng.submit(SetFeeOverride("C", "1", "4"))
    (expired,) = of(events, OrderExpired)
    assert expired.account == "C" and expired.reason == CloseReason.INSUFFICIENT_BALANCE
    assert bal(eng, "C", "USD")[1] == 0
    eng.submit(ClearFeeOverride("A"))  # lower again: the extra is released
    assert bal(eng, "A", "USD")[1] == notional + notional * 200 // 10**6


# ---------------------------------------------------------------- replay, snapshots

Log = list[tuple[int, int, Command]]


def replayed(log: Log) -> Engine:
    copy = Engine(Sequencer(Clock()))
    for seq, ts_us, cmd in log:
        record = orjson.loads(orjson.dumps(to_record(cmd)))
        copy.apply(seq, ts_us, command_from_record(record))
    return copy


def restored(eng: Engine) -> Engine:
    copy = Engine(Sequencer(Clock()))
    # The tenants join_tenant put in (engine/venue/tenancy.py restores its own state).
    copy.tenancy.tenants.update(eng.tenancy.tenants)
    copy.tenancy.accounts.update(eng.tenancy.accounts)
    restore_state(copy, orjson.loads(orjson.dumps(eng.state())))
    return copy


def test_snapshot_and_replay_give_the_same_state_hash() -> None:
    log: Log = []
    eng = venue(log=log)
    eng.submit(FeeDayTick(DAY))
    eng.submit(SetFeeOverride("C", "-0.5", "1"))
    for _ in range(3):
        trade(eng, "B", "A")
        trade(eng, "C", "B")
    eng.submit(FeeDayTick(DAY + 1))
    trade(eng, "A", "C")  # volume of the day in progress: on the accounts
    eng.submit(limit("A", Side.BUY, 4_000_000, 5))  # a resting buy with a hold
    assert eng.fee_book.history and eng.accounts["C"].fee_volume
    assert replayed(log).state_hash() == eng.state_hash()
    copy = restored(eng)
    assert copy.state_hash() == eng.state_hash()
    assert [rates(copy, a) for a in "ABC"] == [rates(eng, a) for a in "ABC"]
    assert copy.fee_revenue is copy.accounts["REV"]
    # and they go on identically: the next day's tiers and fees
    for e in (eng, copy):
        e.submit(FeeDayTick(DAY + 2))
        trade(e, "B", "A")
    assert copy.state_hash() == eng.state_hash()


# ---------------------------------------------------------------- properties

_bps = st.integers(0, 30).map(lambda n: f"{n / 10:.1f}")


@st.composite
def schedules(draw: st.DrawFn) -> str:
    tiers = []
    volume = 0
    for _ in range(draw(st.integers(1, 3))):
        taker = draw(st.integers(0, 300))
        maker = draw(st.integers(-min(taker, 100), taker))
        tiers.append(f"{volume}:{maker / 100}:{taker / 100}")
        volume += draw(st.integers(1, 10**12))
    return ",".join(tiers)


_order = st.tuples(
    st.sampled_from("ABC"),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(4_999_990, 5_000_010),
    st.integers(1, 20),
)
_override = st.tuples(st.sampled_from("ABC"), st.integers(0, 300)).flatmap(
    lambda a: st.tuples(st.just(a[0]), st.integers(-min(a[1], 100), a[1]), st.just(a[1]))
)
_admin = st.one_of(
    _override.map(lambda o: ("override", o)),
    st.integers(0, 500).map(lambda m: ("markup", m)),
    st.just(("tick", None)),
)


@st.composite
def flows(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Orders with fee changes and day ticks between them."""
    steps: list[tuple[str, Any]] = [("order", o) for o in draw(st.lists(_order, max_size=60))]
    for at, step in draw(st.lists(st.tuples(st.integers(0, 60), _admin), max_size=10)):
        steps.insert(min(at, len(steps)), step)
    return steps


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(default=schedules(), vip=schedules(), steps=flows())
def test_fees_conserve_every_asset_and_never_overdraw(
    default: str, vip: str, steps: list[tuple[str, Any]]
) -> None:
    log: Log = []
    eng = venue(log=log, usd=40_000 * USD, btc=10**8)
    join_tenant(eng, "T1", "TREV", "A", "B")
    eng.submit(DefineFeeSchedule("std", default))
    eng.submit(DefineFeeSchedule("vip", vip))
    eng.submit(SetTenantFees("T1", "vip", "1"))
    start = supply(eng)
    day = DAY
    for kind, arg in steps:
        if kind == "order":
            account, side, price, qty = arg
            eng.submit(limit(account, side, price, qty))
        elif kind == "override":
            account, maker, taker = arg
            eng.submit(SetFeeOverride(account, str(maker / 100), str(taker / 100)))
        elif kind == "markup":
            eng.submit(SetTenantFees("T1", "vip", str(arg / 100)))
        else:
            day += 1
            eng.submit(FeeDayTick(day))
        assert supply(eng) == start
        for account in eng.accounts.values():
            for b in account.balances.values():
                assert 0 <= b.held <= b.total
        held: dict[tuple[str, str], int] = {}
        for order in eng.orders.values():
            inst = eng.listings[order.symbol].instrument
            asset = inst.quote if order.side == Side.BUY else inst.base
            key = (order.account, asset)
            held[key] = held.get(key, 0) + order.hold
        for (account_id, asset), amount in held.items():
            assert eng.accounts[account_id].balances[asset].held == amount
    assert bal(eng, "REV", "USD")[0] >= 0
    assert restored(eng).state_hash() == eng.state_hash()
    copy = Engine(Sequencer(Clock()))
    join_tenant(copy, "T1", "TREV")  # tenancy state as injected above (no command yet)
    for account in ("A", "B"):
        copy.tenancy.accounts[account] = AccountInfo(account, "T1")
    for seq, ts_us, cmd in log:
        copy.apply(seq, ts_us, command_from_record(orjson.loads(orjson.dumps(to_record(cmd)))))
    assert copy.state_hash() == eng.state_hash()
