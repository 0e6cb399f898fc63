"""Random tenancy, transfer and order commands: money is conserved, nothing goes
negative, a refused command changes nothing, and snapshots and journal replay rebuild
the same state."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Cancel,
    Command,
    NewOrder,
    OpenAccount,
    SetInstrumentStatus,
    command_from_record,
    command_to_record,
)
from engine.core import Engine
from engine.events import OrderRejected
from engine.model import OrdType, Side, TimeInForce, TradingStatus
from engine.sequencer import Sequencer
from engine.snapshot import restore_state
from engine.venue.tenancy import AccountStatus, KycStatus, MarketState
from engine.venue.tenancy_commands import (
    CancelTenantOrders,
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    ResumeTenant,
    SetAccountStatus,
    SetKyc,
    SetMarketState,
    SetTier,
    SuspendTenant,
    Transfer,
)
from tests.engine.helpers import Clock

SYMBOLS = ["X-USD", "Y-USD"]
ASSETS = ["USD", "X", "Y"]
TENANTS = ["T1", "T2"]
TOP = {"A": "T1", "B": "T1", "C": "T2"}
FUNDED = [*TOP, "P"]  # P is outside any tenant

ids = st.sampled_from(["A", "B", "C", "P", "A.1", "A.2", "B.1", "C.1", "T1-REV"])
amounts = st.integers(-5, 40_000_000)


class TenancyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.eng = Engine(Sequencer(self.clock))
        self.journal: list[tuple[int, int, bytes]] = []
        self.eng.on_command = lambda seq, ts, cmd: self.journal.append(
            (seq, ts, orjson.dumps(command_to_record(cmd)))
        )
        self.deposits: dict[str, int] = {}
        self.next_sub = 0
        for sym, base in (("X-USD", "X"), ("Y-USD", "Y")):
            self.run(AddInstrument(sym, base, "USD", "0.01", "0.01"))
        for tenant in TENANTS:
            self.run(CreateTenant(tenant, tenant, f"{tenant}-REV"))
            self.run(SetTier(tenant, 1, trade=True, deposit=True, withdraw=True))
            for sym in SYMBOLS:
                self.run(SetMarketState(tenant, sym, MarketState.ENABLED))
        for account, tenant in TOP.items():
            self.run(OpenTenantAccount(account, tenant, maker_fee_bps="1", taker_fee_bps="2"))
            self.run(SetKyc(account, KycStatus.PENDING, actor="op", reason="r"))
            self.run(SetKyc(account, KycStatus.VERIFIED, 1, actor="op", reason="r"))
        self.run(OpenAccount("P", maker_fee_bps="1", taker_fee_bps="2"))
        self.run(CreateSubAccount("A.1", "A"))
        for account in FUNDED:
            for asset in ASSETS:
                self.run(AdjustBalance(account, asset, 100_000_000))

    def run(self, cmd: Command) -> None:
        before = self._comparable()
        events = self.eng.submit(cmd)
        rejected = [e for e in events if isinstance(e, OrderRejected)]
        if rejected:
            assert len(events) == 1, events
            assert self._comparable() == before, (cmd, rejected)
        elif isinstance(cmd, AdjustBalance):
            self.deposits[cmd.asset] = self.deposits.get(cmd.asset, 0) + cmd.amount

    def _comparable(self) -> bytes:
        state = self.eng.state()
        del state["last_seq"], state["last_ts_us"]
        return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)

    # ------------------------------------------------------------ rules

    @rule(
        acct=ids,
        sym=st.sampled_from(SYMBOLS),
        side=st.sampled_from([Side.BUY, Side.SELL]),
        price=st.integers(95, 105),
        qty=st.integers(1, 20),
        ioc=st.booleans(),
    )
    def order(self, acct: str, sym: str, side: Side, price: int, qty: int, ioc: bool) -> None:
        tif = TimeInForce.IOC if ioc else TimeInForce.GTC
        self.run(NewOrder(acct, sym, side, OrdType.LIMIT, qty, price, tif))

    @rule(pick=st.integers(0, 50))
    def cancel(self, pick: int) -> None:
        orders = list(self.eng.orders.values())
        if orders:
            order = orders[pick % len(orders)]
            self.run(Cancel(order.account, order.symbol, order.order_id))

    @rule(src=ids, dst=ids, asset=st.sampled_from(ASSETS), amount=amounts)
    def transfer(self, src: str, dst: str, asset: str, amount: int) -> None:
        self.run(Transfer(src, dst, asset, amount, "t"))

    @rule(acct=ids, asset=st.sampled_from(ASSETS), amount=st.integers(-50_000_000, 50_000_000))
    def deposit(self, acct: str, asset: str, amount: int) -> None:
        self.run(AdjustBalance(acct, asset, amount))

    @rule(acct=ids, status=st.sampled_from(list(KycStatus)), tier=st.integers(-1, 2))
    def kyc(self, acct: str, status: KycStatus, tier: int) -> None:
        self.run(SetKyc(acct, status, tier, actor="op", reason="r", reference="case"))

    @rule(acct=ids, status=st.sampled_from(list(AccountStatus)))
    def account_status(self, acct: str, status: AccountStatus) -> None:
        self.run(SetAccountStatus(acct, status, "r"))

    @rule(tenant=st.sampled_from(TENANTS), suspend=st.booleans(), cancel=st.booleans())
    def suspend_or_resume(self, tenant: str, suspend: bool, cancel: bool) -> None:
        self.run(SuspendTenant(tenant, cancel, "r") if suspend else ResumeTenant(tenant, "r"))

    @rule(
        tenant=st.sampled_from(TENANTS),
        sym=st.sampled_from(SYMBOLS),
        state=st.sampled_from([0, *MarketState]),
    )
    def market_state(self, tenant: str, sym: str, state: int) -> None:
        self.run(SetMarketState(tenant, sym, int(state)))

    @rule(
        tenant=st.sampled_from(TENANTS),
        tier=st.integers(1, 2),
        trade=st.booleans(),
        cap=st.sampled_from([0, 0, 5_000_000]),
    )
    def tier(self, tenant: str, tier: int, trade: bool, cap: int) -> None:
        self.run(SetTier(tenant, tier, trade, True, True, cap))

    @rule(parent=ids)
    def sub_account(self, parent: str) -> None:
        self.next_sub += 1
        self.run(CreateSubAccount(f"{parent}.{self.next_sub % 3 + 1}", parent))

    @rule(tenant=st.sampled_from(TENANTS), sym=st.sampled_from(["", *SYMBOLS]))
    def cancel_tenant(self, tenant: str, sym: str) -> None:
        self.run(CancelTenantOrders(tenant, sym))

    @precondition(lambda self: self.eng.listings["Y-USD"].status != TradingStatus.DELISTED)
    @rule(which=st.integers(0, 9))
    def delist(self, which: int) -> None:
        if which == 0:
            self.run(SetInstrumentStatus("Y-USD", TradingStatus.DELISTED))

    # ------------------------------------------------------------ invariants

    @invariant()
    def conserved_and_never_negative(self) -> None:
        supply = dict(self.eng.fees)
        for account in self.eng.accounts.values():
            for asset, bal in account.balances.items():
                assert bal.total >= 0 and bal.held >= 0 and bal.total >= bal.held
                supply[asset] = supply.get(asset, 0) + bal.total
        for asset in ASSETS:
            assert supply.get(asset, 0) == self.deposits.get(asset, 0), asset

    @invariant()
    def snapshot_restores_the_same_state(self) -> None:
        restored = Engine()
        restore_state(restored, orjson.loads(orjson.dumps(self.eng.state())))
        assert restored.state_hash() == self.eng.state_hash()
        for name, acct in self.eng.accounts.items():
            again = restored.accounts[name]
            assert (again.trade_block, again.markets, again.tier_max_notional) == (
                acct.trade_block,
                acct.markets,
                acct.tier_max_notional,
            )

    def teardown(self) -> None:
        replayed = Engine()
        for seq, ts_us, record in self.journal:
            replayed.apply(seq, ts_us, command_from_record(orjson.loads(record)))
        assert replayed.state_hash() == self.eng.state_hash()


TenancyMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTenancyMachine = TenancyMachine.TestCase
