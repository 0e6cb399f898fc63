"""The operator side and trading together: a hypothesis state machine over random admin
and trading commands, checking the books after every step.

Invariants:
- a refused command changes nothing (the admin envelope excepted: it remembers its
  answer for the Idempotency-Key);
- per asset, the sum of every account's total plus the fees the engine collected
  equals what was seeded plus credited deposits minus completed withdrawals;
- no total, held or available amount is ever negative;
- every account's held amount is exactly its open withdrawals' amounts plus its open
  orders' holds (nothing is held without a step that says why);
- an engine restored from a snapshot and fed the same stamped commands stays at the
  same state_hash(), and so does an engine recovered from the journal (real files).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Cancel,
    Command,
    MassCancel,
    NewOrder,
    OpenAccount,
    SetAccountEnabled,
    command_to_record,
)
from engine.core import Engine
from engine.events import Event, OrderAccepted, OrderRejected, VenueEvent
from engine.journal import JournalWriter, recover, write_snapshot
from engine.model import OrdType, Side, TimeInForce
from engine.sequencer import Sequencer
from engine.snapshot import restore_state
from engine.venue.fees import (
    ConfigureFees,
    DefineFeeSchedule,
    FeeDayTick,
    SetDefaultFeeSchedule,
    SetFeeOverride,
    SetTenantFees,
)
from engine.venue.funds import (
    DAY_US,
    OPEN_WITHDRAWAL,
    ApproveWithdrawal,
    CancelWithdrawal,
    CompleteWithdrawal,
    ConfirmDeposit,
    CreditDeposit,
    MarkWithdrawalSent,
    RejectDeposit,
    RejectWithdrawal,
    RequestWithdrawal,
    Withdrawal,
)
from engine.venue.operators import AdminRequest, CreateOperator
from engine.venue.tenancy import KycStatus, MarketState
from engine.venue.tenancy_commands import (
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    ResumeTenant,
    SetAccountStatus,
    SetKyc,
    SetMarketState,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
    SuspendTenant,
    Transfer,
)
from tests.engine.helpers import Clock

CONFIG_ACCOUNTS = ("A", "B", "C")  # outside any tenant: no KYC gates or daily limits
TENANT_ACCOUNTS = ("D", "D.1")  # tenant T1's client and its sub-account
REVENUE = ("REV", "T1-REV")  # the venue's and T1's fee revenue accounts
ACCOUNTS = (*CONFIG_ACCOUNTS, *TENANT_ACCOUNTS, *REVENUE)
TRADERS = (*CONFIG_ACCOUNTS, *TENANT_ACCOUNTS)
ASSETS = ("BTC", "USD")
SYMBOL = "BTC-USD"
SEED = {"BTC": 50_000_000, "USD": 100_000_000}  # per account, by AdjustBalance
ACTORS = ("client", "ops1", "ops2")
FEES = (("1", "2.5"), ("0", "5"), ("2", "0"))  # maker, taker bps per account

accounts = st.sampled_from(ACCOUNTS)
traders = st.sampled_from(TRADERS)
family = st.sampled_from(TENANT_ACCOUNTS)
assets = st.sampled_from(ASSETS)
actors = st.sampled_from(ACTORS)
amounts = st.integers(-1, 80_000_000)
picks = st.integers(0, 1_000)


class VenueMachine(RuleBasedStateMachine):
    """One live engine journaling to real files, and the expected books beside it."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.clock = Clock(3 * DAY_US - 5_000)
        self.eng = Engine(Sequencer(self.clock))
        self.writer = JournalWriter(directory, fsync="never")
        self.stamped: list[tuple[int, int, Command]] = []
        self.eng.on_command = self._record
        self.shadow: Engine | None = None  # restored from a snapshot, fed what follows
        self.supply = dict.fromkeys(ASSETS, 0)  # seeded + credited - completed
        self.deposits: list[str] = []
        self.withdrawals: list[str] = []
        self.orders: list[tuple[str, int]] = []
        self.submit(AddInstrument(SYMBOL, "BTC", "USD", "0.01", "0.01"))
        for account, (maker, taker) in zip(CONFIG_ACCOUNTS, FEES, strict=True):
            self.submit(OpenAccount(account, maker_fee_bps=maker, taker_fee_bps=taker))
        self.submit(OpenAccount("REV"))
        for command in (
            ConfigureFees("REV", "USD", "1", "5"),
            DefineFeeSchedule("std", "0:1:2,1000000000:-0.5:1.5"),
            SetDefaultFeeSchedule("std"),
            CreateTenant("T1", "Tenant one", "T1-REV"),
            SetTenantFees("T1", "", "1"),
            SetTier("T1", 1, trade=True, deposit=True, withdraw=True),
            SetTierWithdrawLimit("T1", 1, "BTC", 30_000_000),
            SetTierWithdrawLimit("T1", 1, "USD", 40_000_000),
            SetTier("T1", 2, trade=True, deposit=True, withdraw=False),
            SetTenantThreshold("T1", "BTC", 20_000_000),
            SetMarketState("T1", SYMBOL, MarketState.ENABLED),
            OpenTenantAccount("D", "T1"),
            SetKyc("D", KycStatus.PENDING, actor="kyc", reason="documents"),
            SetKyc("D", KycStatus.VERIFIED, 1, actor="kyc", reason="checked", reference="c1"),
            CreateSubAccount("D.1", "D"),
            CreateOperator("ops1", "ops", "ab" * 32),
            CreateOperator("ops2", "compliance", "cd" * 32),
        ):
            refused = [e for e in self.submit(command) if isinstance(e, OrderRejected)]
            assert not refused, refused
        for account in TRADERS:
            for asset, amount in SEED.items():
                self.submit(AdjustBalance(account, asset, amount))
                self.supply[asset] += amount

    def _record(self, seq: int, ts_us: int, command: Command) -> None:
        self.writer.append(seq, ts_us, command)
        self.stamped.append((seq, ts_us, command))

    def submit(self, command: Command) -> list[Event]:
        before = self._state_without_clock()
        events = self.eng.submit(command)
        if (
            len(events) == 1
            and isinstance(events[0], OrderRejected)
            and not isinstance(command, AdminRequest)  # it remembers its answer, by design
        ):
            # A refused command changes nothing (not even an empty balance entry).
            assert self._state_without_clock() == before, (command, events)
        if self.shadow is not None:
            seq, ts_us, _ = self.stamped[-1]
            self.shadow.apply(seq, ts_us, command)
        for event in events:
            if isinstance(event, OrderAccepted):
                self.orders.append((event.account, event.order_id))
            if not isinstance(event, VenueEvent):
                continue
            data: dict[str, Any] = event.data
            if event.kind == "deposit.credited":
                self.supply[data["asset"]] += data["amount"]
            elif event.kind == "withdrawal.completed":
                self.supply[data["asset"]] -= data["amount"]
            if event.kind.startswith("deposit.") and event.subject not in self.deposits:
                self.deposits.append(event.subject)
            if event.kind.startswith("withdrawal.") and event.subject not in self.withdrawals:
                self.withdrawals.append(event.subject)
        return events

    def _state_without_clock(self) -> bytes:
        state = self.eng.state()
        del state["last_seq"], state["last_ts_us"]
        return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)

    @staticmethod
    def _pick(items: list[Any], k: int) -> Any:
        return items[k % len(items)]

    # ------------------------------------------------------------ time

    @rule(dt=st.sampled_from([0, 1, 1_000, DAY_US // 3, DAY_US]))
    def advance(self, dt: int) -> None:
        self.clock.now += dt

    # ------------------------------------------------------------ deposits

    @rule(
        account=accounts,
        asset=assets,
        amount=amounts,
        ref=st.integers(0, 12),
        pending=st.booleans(),
    )
    def deposit(self, account: str, asset: str, amount: int, ref: int, pending: bool) -> None:
        self.submit(CreditDeposit(account, asset, amount, f"tx{ref}", "custody", "", pending))

    @precondition(lambda self: self.deposits)
    @rule(k=picks, confirm=st.booleans(), actor=actors)
    def settle_deposit(self, k: int, confirm: bool, actor: str) -> None:
        deposit_id = self._pick(self.deposits, k)
        step = ConfirmDeposit if confirm else RejectDeposit
        self.submit(step(deposit_id, actor, "confirmations"))

    # ------------------------------------------------------------ withdrawals

    @rule(
        account=accounts,
        asset=assets,
        amount=amounts,
        actor=actors,
        client_id=st.sampled_from(["", "", "r1", "r2"]),
    )
    def request_withdrawal(
        self, account: str, asset: str, amount: int, actor: str, client_id: str
    ) -> None:
        self.submit(RequestWithdrawal(account, asset, amount, "dest", actor, "", client_id))

    @rule(
        account=family,
        asset=assets,
        amount=st.integers(1, 30_000_000),
        actor=actors,
    )
    def tenant_withdrawal(self, account: str, asset: str, amount: int, actor: str) -> None:
        """Within the tenant's limits and thresholds, where most requests are held."""
        self.submit(RequestWithdrawal(account, asset, amount, "dest", actor))

    tenant_withdrawal_2 = tenant_withdrawal

    @precondition(lambda self: self.withdrawals)
    @rule(
        k=picks,
        step=st.sampled_from(["approve", "reject", "send", "complete", "cancel"]),
        actor=actors,
        account=accounts,
        enveloped=st.booleans(),
    )
    def withdrawal_step(self, k: int, step: str, actor: str, account: str, enveloped: bool) -> None:
        wid = self._pick(self.withdrawals, k)
        command: Command
        if step == "approve":
            command = ApproveWithdrawal(wid, actor, "checked")
        elif step == "reject":
            command = RejectWithdrawal(wid, actor, "refused")
        elif step == "send":
            command = MarkWithdrawalSent(wid, f"out-{wid}", actor)
        elif step == "complete":
            command = CompleteWithdrawal(wid, actor)
        else:
            command = CancelWithdrawal(wid, account, actor)
        if enveloped and actor != "client":  # as the admin API journals it
            command = AdminRequest(
                actor,
                "ops",
                "127.0.0.1",
                f"key-{self.eng.last_seq}",
                "0" * 64,
                orjson.dumps(command_to_record(command)).decode(),
            )
        self.submit(command)

    withdrawal_step_2 = withdrawal_step

    @precondition(lambda self: self.open_withdrawals())
    @rule(k=picks, actor=actors)
    def progress_withdrawal(self, k: int, actor: str) -> None:
        """The next step of the happy path for an open withdrawal (random steps rarely
        reach completion)."""
        w = self._pick(self.open_withdrawals(), k)
        command: Command
        if w.status == "held":
            command = ApproveWithdrawal(w.withdrawal_id, actor)
        elif w.status == "approved":
            command = MarkWithdrawalSent(w.withdrawal_id, f"out-{w.withdrawal_id}", actor)
        else:
            command = CompleteWithdrawal(w.withdrawal_id, actor)
        self.submit(command)

    progress_withdrawal_2 = progress_withdrawal
    progress_withdrawal_3 = progress_withdrawal

    def open_withdrawals(self) -> list[Withdrawal]:
        funds = self.eng.funds
        return [w for w in funds.withdrawals.values() if w.status in OPEN_WITHDRAWAL]

    # ------------------------------------------------------------ trading

    @rule(
        account=traders,
        side=st.sampled_from([Side.BUY, Side.SELL]),
        price=st.integers(90, 110),
        qty=st.integers(1, 60),
        tif=st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC]),
    )
    def order(self, account: str, side: Side, price: int, qty: int, tif: TimeInForce) -> None:
        self.submit(NewOrder(account, SYMBOL, side, OrdType.LIMIT, qty, price, tif))

    order_2 = order

    @rule(account=traders, side=st.sampled_from([Side.BUY, Side.SELL]), qty=st.integers(1, 40))
    def market_order(self, account: str, side: Side, qty: int) -> None:
        self.submit(NewOrder(account, SYMBOL, side, OrdType.MARKET, qty, 0, TimeInForce.IOC))

    @precondition(lambda self: self.orders)
    @rule(k=picks)
    def cancel(self, k: int) -> None:
        account, order_id = self._pick(self.orders, k)
        self.submit(Cancel(account, SYMBOL, order_id))

    @rule(account=st.sampled_from(["", *ACCOUNTS]))
    def mass_cancel(self, account: str) -> None:
        self.submit(MassCancel(account))

    @rule(account=accounts, enabled=st.booleans())
    def enable(self, account: str, enabled: bool) -> None:
        self.submit(SetAccountEnabled(account, enabled))

    # ------------------------------------------------------------ tenancy

    @rule(
        pair=st.sampled_from([("D", "D.1"), ("D.1", "D"), ("D", "A"), ("D.1", "D.1")]),
        asset=assets,
        amount=amounts,
    )
    def transfer(self, pair: tuple[str, str], asset: str, amount: int) -> None:
        self.submit(Transfer(pair[0], pair[1], asset, amount, "t"))

    @rule(
        change=st.sampled_from(["suspend", "suspend+cancel", "resume", "kyc", "status"]),
        kyc=st.sampled_from(list(KycStatus)),
        tier=st.sampled_from([-1, 1, 1, 2]),
        account=family,
        status=st.sampled_from([1, 1, 2, 3]),
    )
    def tenancy_change(
        self, change: str, kyc: KycStatus, tier: int, account: str, status: int
    ) -> None:
        """One rule for the changes that stop funds moving, so they stay rare."""
        command: Command
        if change.startswith("suspend"):
            command = SuspendTenant("T1", change.endswith("cancel"), "review")
        elif change == "resume":
            command = ResumeTenant("T1", "cleared")
        elif change == "kyc":
            command = SetKyc("D", kyc, tier, actor="kyc", reason="review", reference="c2")
        else:
            command = SetAccountStatus(account, status, "ops")
        self.submit(command)

    @rule(
        asset=assets,
        limit=st.sampled_from([0, 10_000_000, 60_000_000, 200_000_000]),
        threshold=st.sampled_from([0, 1, 20_000_000]),
    )
    def limits(self, asset: str, limit: int, threshold: int) -> None:
        self.submit(SetTierWithdrawLimit("T1", 1, asset, limit))
        self.submit(SetTenantThreshold("T1", asset, threshold))

    # ------------------------------------------------------------ fees

    @rule(account=traders, rates=st.sampled_from([("0", "0"), ("-0.5", "3"), ("2", "2")]))
    def fee_override(self, account: str, rates: tuple[str, str]) -> None:
        self.submit(SetFeeOverride(account, *rates))

    @rule()
    def fee_day(self) -> None:
        self.submit(FeeDayTick(self.clock.now // DAY_US))

    # ------------------------------------------------------------ state round trips

    @rule()
    def restore_a_shadow(self) -> None:
        """From here on a twin restored from the state must follow the live engine."""
        shadow = Engine(Sequencer(Clock()))
        restore_state(shadow, orjson.loads(self.eng.state_json()))
        self.shadow = shadow

    @rule(snapshot=st.booleans())
    def recover_from_the_journal(self, snapshot: bool) -> None:
        self.writer.flush()
        if snapshot:
            write_snapshot(self.eng, self.directory, keep=2)
        recovered = Engine(Sequencer(Clock()))
        recover(recovered, self.directory)
        assert recovered.state_hash() == self.eng.state_hash()

    # ------------------------------------------------------------ invariants

    @invariant()
    def supply_is_conserved(self) -> None:
        totals = dict.fromkeys(ASSETS, 0)
        for account in self.eng.accounts.values():
            for asset, bal in account.balances.items():
                totals[asset] += bal.total
        for asset, fees in self.eng.fees.items():
            totals[asset] += fees
        assert totals == self.supply

    @invariant()
    def nothing_is_negative(self) -> None:
        for account in self.eng.accounts.values():
            for asset, bal in account.balances.items():
                assert bal.held >= 0 and bal.total - bal.held >= 0, (account.account_id, asset)

    @invariant()
    def every_hold_has_an_owner(self) -> None:
        expected: dict[tuple[str, str], int] = {}
        for w in self.eng.funds.withdrawals.values():
            if w.status in OPEN_WITHDRAWAL:
                key = (w.account, w.asset)
                expected[key] = expected.get(key, 0) + w.amount
        for order in self.eng.orders.values():
            inst = self.eng.listings[order.symbol].instrument
            key = (order.account, inst.quote if order.side == Side.BUY else inst.base)
            expected[key] = expected.get(key, 0) + order.hold
        for account in self.eng.accounts.values():
            for asset, bal in account.balances.items():
                assert bal.held == expected.get((account.account_id, asset), 0)

    @invariant()
    def the_shadow_follows(self) -> None:
        if self.shadow is not None:
            assert self.shadow.state_hash() == self.eng.state_hash()

    def teardown(self) -> None:
        self.recover_from_the_journal(snapshot=False)
        self.writer.close()


def test_venue_machine(tmp_path: Path) -> None:
    runs = itertools.count()

    class Machine(VenueMachine):
        """One journal directory per example."""

        def __init__(self) -> None:
            super().__init__(tmp_path / f"run{next(runs)}")

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=60,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
