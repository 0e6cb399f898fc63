"""Stateful property test: the engine against the naive reference model, step by step."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Cancel,
    Command,
    MassCancel,
    NewOrder,
    OpenAccount,
    Replace,
    SetAccountEnabled,
    SetGlobalHalt,
    SetInstrumentStatus,
    Tick,
)
from engine.core import Engine
from engine.events import BalanceChanged, BookDelta, OrderRejected, Trade
from engine.model import OrdType, Side, Stp, TimeInForce, TradingStatus
from engine.risk import PPM
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.reference_model import ReferenceModel

SYMBOLS = ["X-USD", "Y-USD"]
ACCOUNTS = ["A", "B", "C"]
KIND = {
    NewOrder: "new",
    Cancel: "cancel",
    Replace: "replace",
    MassCancel: "mass_cancel",
    Tick: "tick",
    AdjustBalance: "adjust",
    SetInstrumentStatus: "status",
    SetGlobalHalt: "halt",
    SetAccountEnabled: "enable",
}

accounts = st.sampled_from(ACCOUNTS)
symbols = st.sampled_from(SYMBOLS)
sides = st.sampled_from([Side.BUY, Side.SELL])
prices = st.integers(90, 110)
dts = st.sampled_from([0, 0, 1, 50, 300, 1000])
stps = st.sampled_from([None, None, None, *Stp])
clids = st.one_of(st.just(""), st.just(""), st.integers(0, 12).map(lambda i: f"k{i}"))


class EngineVsReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock(1_000_000)
        self.eng = Engine(Sequencer(self.clock))
        self.ref = ReferenceModel()
        self.md_seq = {s: 0 for s in SYMBOLS}
        self.ids: list[int] = [1]
        self.deposits: dict[str, int] = {}
        setup: list[tuple[Command, Any]] = [
            (
                AddInstrument("X-USD", "X", "USD", "0.01", "0.01", "0", "0", "20"),
                ("X-USD", "X", "USD", "0.01", "0.01", "0", "0", "20"),
            ),
            (
                AddInstrument("Y-USD", "Y", "USD", "0.01", "0.01", "0.02", "0.02", "0"),
                ("Y-USD", "Y", "USD", "0.01", "0.01", "0.02", "0.02", "0"),
            ),
        ]
        for cmd, args in setup:
            self.eng.submit(cmd)
            self.ref.add_instrument(*args)
        for name, stp, mk, tk, lim in (
            ("A", Stp.NONE, "1", "2.5", {"max_order_notional": 100 * 9 * 10_000}),
            ("B", Stp.EXPIRE_MAKER, "0", "5", {"max_order_qty": 8 * 1_000_000}),
            ("C", Stp.DECREMENT, "2.5", "0.5", {"max_open_orders": 6}),
        ):
            self.eng.submit(OpenAccount(name, stp, mk, tk, **lim))
            self.ref.open_account(
                name,
                stp,
                mk,
                tk,
                lim.get("max_order_qty", 0),
                lim.get("max_order_notional", 0),
                lim.get("max_open_orders", 0),
            )
            for asset, amount in (("USD", 200_000_000), ("X", 50_000_000), ("Y", 50_000_000)):
                self.run(AdjustBalance(name, asset, amount))
        # Start every run with some depth on both books, from every account.
        for i, name in enumerate(ACCOUNTS * 2):
            for sym in SYMBOLS:
                self.run(NewOrder(name, sym, Side.SELL, OrdType.LIMIT, 2 + i, 101 + i))
                self.run(NewOrder(name, sym, Side.BUY, OrdType.LIMIT, 2 + i, 99 - i))

    # ------------------------------------------------------------ driving both

    def run(self, cmd: Command, dt: int = 0) -> None:
        self.clock.now += dt
        events = self.eng.submit(cmd)
        seq, ts = self.eng.last_seq, self.eng.last_ts_us
        kwargs = {f.name: getattr(cmd, f.name) for f in fields(cmd)}  # type: ignore[arg-type]
        kind = KIND[type(cmd)]
        if kind == "status":
            kwargs["status"] = int(kwargs["status"])
        code = self.ref.apply(seq, ts, kind, **kwargs)
        if code is None and isinstance(cmd, AdjustBalance):
            self.deposits[cmd.asset] = self.deposits.get(cmd.asset, 0) + cmd.amount
        # same accept / reject decision and code
        rejects = [e.code for e in events if isinstance(e, OrderRejected)]
        assert rejects == ([] if code is None else [code]), (cmd, events)
        # same fills, fees included
        trades = [
            (t.price, t.qty, t.maker_order_id, t.taker_order_id, t.maker_fee, t.taker_fee)
            for t in events
            if isinstance(t, Trade)
        ]
        assert trades == self.ref.fills, cmd
        # event stamps, idx, md_seq gapless per instrument, balance events at the end
        seen_balance = False
        for i, e in enumerate(events):
            assert (e.seq, e.ts_us, e.idx) == (seq, ts, i)
            if isinstance(e, BookDelta | Trade):
                assert not seen_balance
                self.md_seq[e.symbol] += 1
                assert e.md_seq == self.md_seq[e.symbol]
            if isinstance(e, BalanceChanged):
                seen_balance = True
                b = self.eng.accounts[e.account].balances[e.asset]
                assert (e.total, e.held) == (b.total, b.held)
            else:
                assert not seen_balance
        for s in SYMBOLS:
            assert self.eng.listings[s].book.md_seq == self.md_seq[s]
        if seq not in self.ids:
            self.ids.append(seq)

    # ------------------------------------------------------------ rules

    @rule(
        acct=accounts,
        sym=symbols,
        side=sides,
        price=prices,
        qty=st.integers(1, 10),
        tif=st.sampled_from(
            [TimeInForce.GTC] * 3 + [TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD]
        ),
        post_only=st.booleans(),
        stp=stps,
        clid=clids,
        expire=st.integers(-100, 3000),
        dt=dts,
    )
    def limit_order(
        self,
        acct: str,
        sym: str,
        side: Side,
        price: int,
        qty: int,
        tif: TimeInForce,
        post_only: bool,
        stp: Stp | None,
        clid: str,
        expire: int,
        dt: int,
    ) -> None:
        exp = self.clock.now + dt + expire if tif == TimeInForce.GTD else 0
        self.run(
            NewOrder(
                acct,
                sym,
                side,
                OrdType.LIMIT,
                qty,
                price,
                tif,
                clid,
                0,
                post_only and dt % 2 == 0,
                stp,
                exp,
            ),
            dt,
        )

    # Rules cannot be weighted, so the common order entry has several names.
    limit_order_2 = limit_order
    limit_order_3 = limit_order

    @rule(
        acct=accounts,
        sym=symbols,
        side=sides,
        qty=st.integers(1, 12),
        tif=st.sampled_from([TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTC]),
        stp=stps,
        clid=clids,
        dt=dts,
    )
    def market_qty(
        self,
        acct: str,
        sym: str,
        side: Side,
        qty: int,
        tif: TimeInForce,
        stp: Stp | None,
        clid: str,
        dt: int,
    ) -> None:
        self.run(NewOrder(acct, sym, side, OrdType.MARKET, qty, 0, tif, clid, 0, False, stp), dt)

    @rule(
        acct=accounts,
        sym=symbols,
        side=sides,
        qty=st.sampled_from([0, 0, 0, 0, 3]),
        quote=st.integers(0, 15_000_000),
        stp=stps,
        dt=dts,
    )
    def market_quote(
        self, acct: str, sym: str, side: Side, qty: int, quote: int, stp: Stp | None, dt: int
    ) -> None:
        self.run(
            NewOrder(
                acct, sym, side, OrdType.MARKET, qty, 0, TimeInForce.IOC, "", quote, False, stp
            ),
            dt,
        )

    @rule(acct=accounts, sym=symbols, pick=st.integers(0, 10**6), clid=clids, dt=dts)
    def cancel(self, acct: str, sym: str, pick: int, clid: str, dt: int) -> None:
        oid = 0 if clid else self.ids[-1 - pick % min(len(self.ids), 30)]
        self.run(Cancel(acct, sym, oid, clid), dt)

    @rule(
        acct=accounts,
        sym=symbols,
        pick=st.integers(0, 10**6),
        qty=st.integers(1, 12),
        price=st.one_of(st.just(0), prices),
        clid=clids,
        by_clid=clids,
        dt=dts,
    )
    def replace(
        self,
        acct: str,
        sym: str,
        pick: int,
        qty: int,
        price: int,
        clid: str,
        by_clid: str,
        dt: int,
    ) -> None:
        live = [o for o in self.eng.orders.values() if o.account == acct and o.symbol == sym]
        oid = live[pick % len(live)].order_id if live and pick % 5 else self.ids[-1]
        if by_clid:
            self.run(Replace(acct, sym, qty, price, 0, by_clid, clid), dt)
        else:
            self.run(Replace(acct, sym, qty, price, oid, "", clid), dt)

    @rule(dt=st.integers(0, 3000))
    def tick(self, dt: int) -> None:
        self.run(Tick(), dt)

    @rule(
        which=st.integers(0, 7),
        acct=accounts,
        sym=symbols,
        asset=st.sampled_from(["USD", "X", "Y"]),
        amount=st.integers(-30_000_000, 30_000_000),
    )
    def admin(self, which: int, acct: str, sym: str, asset: str, amount: int) -> None:
        if which == 0:
            self.run(SetInstrumentStatus(sym, TradingStatus.HALTED))
        elif which == 1:
            self.run(SetInstrumentStatus(sym, TradingStatus.CANCEL_ONLY))
        elif which == 2:
            self.run(SetAccountEnabled(acct, amount % 3 != 0))
        elif which == 3:
            self.run(SetGlobalHalt(amount % 4 == 0))
        elif which == 4:
            side = amount % 3
            self.run(MassCancel(["", acct][amount % 2], ["", sym][amount % 5 < 2], side))
        else:
            self.run(AdjustBalance(acct, asset, amount))
        if which < 2 and amount % 2:
            self.run(SetInstrumentStatus(sym, TradingStatus.OPEN))

    # ------------------------------------------------------------ invariants

    @invariant()
    def same_books(self) -> None:
        for sym in SYMBOLS:
            book = self.eng.listings[sym].book
            for side_no, side in ((1, book.bids), (2, book.asks)):
                mine = [
                    (lvl.price, [(o.order_id, o.leaves, o.qty, o.filled) for o in lvl])
                    for lvl in side.iter_levels()
                ]
                assert mine == self.ref.book(sym, side_no), (sym, side_no)
                for lvl in side.iter_levels():
                    assert lvl.qty == sum(o.leaves for o in lvl) > 0
                    assert lvl.count == len(list(lvl))
            bid, ask = book.best_bid(), book.best_ask()
            assert bid is None or ask is None or bid < ask, "crossed book"
            assert book.last_price == self.ref.instruments[sym].last_price
        assert len(self.eng.orders) == len(self.ref.orders)

    @invariant()
    def same_balances_and_conservation(self) -> None:
        assert {k: v for k, v in self.eng.fees.items() if v} == {
            k: v for k, v in self.ref.fees.items() if v
        }
        supply: dict[str, int] = dict(self.eng.fees)
        for name, acct in self.eng.accounts.items():
            assert acct.open_orders == len(self.eng.open_orders(name))
            holds: dict[str, int] = {}
            for o in self.eng.open_orders(name):
                inst = self.eng.listings[o.symbol].instrument
                asset, expect = self.ref.hold_of(self.ref_order(o.order_id))
                assert o.hold == expect, o.order_id
                assert asset == (inst.quote if o.side == Side.BUY else inst.base)
                holds[asset] = holds.get(asset, 0) + o.hold
            for asset in ("USD", "X", "Y"):
                b = acct.balances.get(asset)
                total, held = (0, 0) if b is None else (b.total, b.held)
                assert held == holds.get(asset, 0), (name, asset)
                assert total >= 0 and held >= 0 and total - held >= 0
                assert (total, held) == (
                    self.ref.total(name, asset),
                    self.ref.held(name, asset),
                ), (name, asset)
                supply[asset] = supply.get(asset, 0) + total
        for asset in ("USD", "X", "Y"):
            assert supply.get(asset, 0) == self.deposits.get(asset, 0), asset
        assert PPM == 1_000_000

    def ref_order(self, order_id: int) -> Any:
        (o,) = [o for o in self.ref.orders if o.order_id == order_id]
        return o


EngineVsReference.TestCase.settings = settings(
    max_examples=500,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEngineVsReference = EngineVsReference.TestCase
