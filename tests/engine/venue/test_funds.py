"""Deposits and withdrawals: every transition allowed and forbidden, idempotency, holds,
daily limits across the UTC day boundary, and maker-checker approval."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.commands import Command, NewOrder, OpenAccount, SetAccountEnabled
from engine.core import Engine
from engine.events import BalanceChanged, Event, OrderRejected, RejectCode, VenueEvent
from engine.journal import JournalWriter, recover
from engine.model import OrdType, Side
from engine.sequencer import Sequencer
from engine.snapshot import restore_state
from engine.venue.funds import (
    DAY_US,
    ApproveWithdrawal,
    CancelWithdrawal,
    CompleteWithdrawal,
    ConfirmDeposit,
    CreditDeposit,
    MarkWithdrawalSent,
    RejectDeposit,
    RejectWithdrawal,
    RequestWithdrawal,
)
from engine.venue.tenancy import AccountStatus, KycStatus
from engine.venue.tenancy_commands import (
    AssignAccount,
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    SetAccountStatus,
    SetKyc,
    SetTenantThreshold,
    SetTier,
    SetTierWithdrawLimit,
    SuspendTenant,
)
from tests.engine.helpers import Clock, make_engine, of

BTC = 100_000_000


@pytest.fixture
def venue() -> tuple[Engine, Clock]:
    eng, clock = make_engine()
    for account in ("A", "B"):
        eng.submit(OpenAccount(account))
    return eng, clock


def put_tenant(
    eng: Engine,
    tenant: str,
    accounts: dict[str, str],
    *,
    deposit: bool = True,
    threshold: dict[str, int] | None = None,
) -> None:
    """A tenant with KYC tier 1 (a daily limit of 10 BTC) and accounts (id -> parent,
    "" for top level) verified at tier 1; an account the engine has already is assigned."""
    commands: list[Command] = [
        CreateTenant(tenant, tenant, f"{tenant}-REV"),
        SetTier(tenant, 1, trade=True, deposit=deposit, withdraw=True),
        SetTierWithdrawLimit(tenant, 1, "BTC", 10 * BTC),
    ]
    for asset, amount in (threshold or {}).items():
        commands.append(SetTenantThreshold(tenant, asset, amount))
    for account, parent in accounts.items():
        if parent:
            commands.append(CreateSubAccount(account, parent))
            continue
        if account in eng.accounts:
            commands.append(AssignAccount(account, tenant))
        else:
            commands.append(OpenTenantAccount(account, tenant))
        commands.append(SetKyc(account, KycStatus.PENDING, actor="kyc", reason="documents"))
        commands.append(SetKyc(account, KycStatus.VERIFIED, 1, actor="kyc", reason="checked"))
    for command in commands:
        assert not of(eng.submit(command), OrderRejected), command


def bal(eng: Engine, account: str, asset: str = "BTC") -> tuple[int, int]:
    b = eng.accounts[account].balances.get(asset)
    return (0, 0) if b is None else (b.total, b.held)


def rejected(events: list[Event]) -> int:
    rej = of(events, OrderRejected)
    assert len(rej) == 1 and not of(events, VenueEvent), events
    assert rej[0].request == "admin"
    code: int = rej[0].code
    return code


def answer(events: list[Event]) -> VenueEvent:
    ven = of(events, VenueEvent)
    assert len(ven) == 1 and not of(events, OrderRejected), events
    event: VenueEvent = ven[0]
    return event


def steps(event: VenueEvent) -> list[list[Any]]:
    """A deposit's or withdrawal's history: [status, actor, reason, seq, ts_us] each."""
    history: list[list[Any]] = event.data["history"]  # type: ignore[assignment]
    return history


def funded(eng: Engine, account: str = "A", amount: int = 5 * BTC, ref: str = "tx0") -> None:
    answer(eng.submit(CreditDeposit(account, "BTC", amount, ref, "custody")))


def request(eng: Engine, amount: int = BTC, account: str = "A", **kw: Any) -> str:
    ev = answer(eng.submit(RequestWithdrawal(account, "BTC", amount, "bc1qdest", "client", **kw)))
    assert ev.kind == "withdrawal.held"
    return ev.subject


def unchanged(eng: Engine, command: Command) -> int:
    """Submit a command that must be refused; check it changed nothing but last_seq."""
    before = _without_seq(eng.state())
    events = eng.submit(command)
    assert not of(events, BalanceChanged)
    assert _without_seq(eng.state()) == before
    return rejected(events)


def _without_seq(state: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {k: v for k, v in state.items() if k not in ("last_seq", "last_ts_us")},
        option=orjson.OPT_SORT_KEYS,
    )


# ---------------------------------------------------------------- deposits


def test_deposit_credits_at_once_and_answers_with_the_record(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    events = eng.submit(CreditDeposit("A", "BTC", 2 * BTC, "tx1", "custody", "on chain"))
    ev = answer(events)
    assert ev.kind == "deposit.credited"
    assert ev.subject == f"D{eng.last_seq}"
    assert ev.data["amount"] == 2 * BTC and ev.data["reference"] == "tx1"
    assert ev.data["history"] == [["credited", "custody", "on chain", eng.last_seq, eng.last_ts_us]]
    assert bal(eng, "A") == (2 * BTC, 0)
    changed = of(events, BalanceChanged)
    assert [(c.account, c.asset, c.total, c.held) for c in changed] == [("A", "BTC", 2 * BTC, 0)]


def test_same_reference_again_answers_the_existing_deposit(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    first = answer(eng.submit(CreditDeposit("A", "BTC", 2 * BTC, "tx1", "custody")))
    before = _without_seq(eng.state())
    again = eng.submit(CreditDeposit("A", "BTC", 2 * BTC, "tx1", "custody"))
    assert answer(again).kind == "deposit.existing"
    assert answer(again).subject == first.subject
    assert not of(again, BalanceChanged)
    assert _without_seq(eng.state()) == before
    assert bal(eng, "A") == (2 * BTC, 0)


@pytest.mark.parametrize(
    "other",
    [
        CreditDeposit("A", "BTC", 3 * BTC, "tx1", "custody"),
        CreditDeposit("A", "USD", 2 * BTC, "tx1", "custody"),
        CreditDeposit("B", "BTC", 2 * BTC, "tx1", "custody"),
    ],
    ids=["amount", "asset", "account"],
)
def test_same_reference_with_other_content_is_refused(
    venue: tuple[Engine, Clock], other: CreditDeposit
) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"A": "", "B": ""})
    answer(eng.submit(CreditDeposit("A", "BTC", 2 * BTC, "tx1", "custody")))
    assert unchanged(eng, other) == RejectCode.ALREADY_EXISTS


def test_reference_scope_is_the_tenant_or_else_the_account(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    # Outside any tenant: each account is its own scope.
    answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx1", "custody")))
    assert answer(eng.submit(CreditDeposit("B", "BTC", BTC, "tx1", "custody"))).kind == (
        "deposit.credited"
    )
    # Two tenants may reuse each other's references.
    put_tenant(eng, "T1", {"C": ""})
    put_tenant(eng, "T2", {"D": ""})
    answer(eng.submit(CreditDeposit("C", "BTC", BTC, "tx9", "custody")))
    assert answer(eng.submit(CreditDeposit("D", "BTC", BTC, "tx9", "custody"))).kind == (
        "deposit.credited"
    )


def test_pending_deposit_then_confirm_credits(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    ev = answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx1", "custody", pending=True)))
    assert ev.kind == "deposit.pending"
    assert bal(eng, "A") == (0, 0)
    # The reference again still answers the (pending) deposit, and credits nothing.
    assert answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx1", "custody"))).data["status"] == (
        "pending"
    )
    assert bal(eng, "A") == (0, 0)
    done = answer(eng.submit(ConfirmDeposit(ev.subject, "custody", "6 confirmations")))
    assert done.kind == "deposit.credited"
    assert [h[0] for h in steps(done)] == ["pending", "credited"]
    assert bal(eng, "A") == (BTC, 0)


def test_pending_deposit_then_reject_credits_nothing(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    ev = answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx1", "custody", pending=True)))
    assert answer(eng.submit(RejectDeposit(ev.subject, "ops", "reorged out"))).kind == (
        "deposit.rejected"
    )
    assert bal(eng, "A") == (0, 0)


@pytest.mark.parametrize("final", ["credited", "rejected"])
def test_finished_deposit_takes_no_further_step(venue: tuple[Engine, Clock], final: str) -> None:
    eng, _ = venue
    ev = answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx1", "custody", pending=True)))
    step = ConfirmDeposit if final == "credited" else RejectDeposit
    answer(eng.submit(step(ev.subject, "custody")))
    for command in (ConfirmDeposit(ev.subject, "custody"), RejectDeposit(ev.subject, "custody")):
        assert unchanged(eng, command) == RejectCode.INVALID_TRANSITION


def test_deposit_immediately_credited_cannot_be_confirmed(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    ev = answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx1", "custody")))
    assert unchanged(eng, ConfirmDeposit(ev.subject, "x")) == RejectCode.INVALID_TRANSITION
    assert unchanged(eng, RejectDeposit(ev.subject, "x")) == RejectCode.INVALID_TRANSITION


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (CreditDeposit("Z", "BTC", BTC, "tx1", "custody"), RejectCode.UNKNOWN_ACCOUNT),
        (CreditDeposit("A", "BTC", 0, "tx1", "custody"), RejectCode.INVALID_AMOUNT),
        (CreditDeposit("A", "BTC", -1, "tx1", "custody"), RejectCode.INVALID_AMOUNT),
        (CreditDeposit("A", "BTC", BTC, "", "custody"), RejectCode.INVALID_COMMAND),
        (CreditDeposit("A", "", BTC, "tx1", "custody"), RejectCode.INVALID_COMMAND),
        (CreditDeposit("A", "BTC", BTC, "tx1", ""), RejectCode.INVALID_COMMAND),
        (ConfirmDeposit("D999", "custody"), RejectCode.UNKNOWN_REQUEST),
        (RejectDeposit("D999", "custody"), RejectCode.UNKNOWN_REQUEST),
    ],
)
def test_bad_deposits_are_refused(
    venue: tuple[Engine, Clock], command: Command, code: RejectCode
) -> None:
    eng, _ = venue
    assert unchanged(eng, command) == code


def test_deposit_needs_a_tier_that_allows_it(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"C": ""}, deposit=False)
    assert unchanged(eng, CreditDeposit("C", "BTC", BTC, "tx1", "c")) == RejectCode.KYC_FORBIDS
    # A pending deposit is confirmed only while the tier still allows deposits.
    eng.submit(SetTier("T", 1, trade=True, deposit=True, withdraw=True))
    ev = answer(eng.submit(CreditDeposit("C", "BTC", BTC, "tx2", "c", pending=True)))
    eng.submit(SetTier("T", 1, trade=True, deposit=False, withdraw=True))
    assert unchanged(eng, ConfirmDeposit(ev.subject, "c")) == RejectCode.KYC_FORBIDS


def test_deposit_needs_verified_kyc_and_a_disabled_account_still_receives(
    venue: tuple[Engine, Clock],
) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {})
    eng.submit(OpenTenantAccount("C", "T"))
    eng.submit(SetKyc("C", KycStatus.PENDING, actor="kyc", reason="documents"))
    assert unchanged(eng, CreditDeposit("C", "BTC", BTC, "tx1", "c")) == RejectCode.KYC_FORBIDS
    eng.submit(SetKyc("C", KycStatus.VERIFIED, 1, actor="kyc", reason="checked"))
    eng.submit(SetAccountStatus("C", AccountStatus.DISABLED, "ops"))
    assert answer(eng.submit(CreditDeposit("C", "BTC", BTC, "tx1", "c"))).kind == (
        "deposit.credited"
    )


def test_deposit_to_a_closed_account_is_refused(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"C": ""})
    assert not of(eng.submit(SetAccountStatus("C", AccountStatus.CLOSED, "ops")), OrderRejected)
    assert unchanged(eng, CreditDeposit("C", "BTC", BTC, "tx1", "c")) == RejectCode.ACCOUNT_CLOSED


# ---------------------------------------------------------------- withdrawals: the happy path


def test_withdrawal_lifecycle_holds_then_debits(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng)
    events = eng.submit(RequestWithdrawal("A", "BTC", 2 * BTC, "bc1qdest", "client", "rent"))
    wid = answer(events).subject
    assert wid == f"W{eng.last_seq}"
    assert bal(eng, "A") == (5 * BTC, 2 * BTC)
    assert [(c.total, c.held) for c in of(events, BalanceChanged)] == [(5 * BTC, 2 * BTC)]
    assert answer(eng.submit(ApproveWithdrawal(wid, "ops1"))).kind == "withdrawal.approved"
    sent = answer(eng.submit(MarkWithdrawalSent(wid, "txout1", "custody")))
    assert sent.kind == "withdrawal.sent" and sent.data["custody_reference"] == "txout1"
    assert bal(eng, "A") == (5 * BTC, 2 * BTC)
    events = eng.submit(CompleteWithdrawal(wid, "custody", "6 confirmations"))
    done = answer(events)
    assert done.kind == "withdrawal.completed"
    assert [h[:3] for h in steps(done)] == [
        ["held", "client", "rent"],
        ["approved", "ops1", ""],
        ["sent", "custody", ""],
        ["completed", "custody", "6 confirmations"],
    ]
    assert bal(eng, "A") == (3 * BTC, 0)
    assert [(c.total, c.held) for c in of(events, BalanceChanged)] == [(3 * BTC, 0)]


@pytest.mark.parametrize("at", ["held", "approved"])
def test_reject_releases_the_hold(venue: tuple[Engine, Clock], at: str) -> None:
    eng, _ = venue
    funded(eng)
    wid = request(eng, 2 * BTC)
    if at == "approved":
        answer(eng.submit(ApproveWithdrawal(wid, "ops1")))
    ev = answer(eng.submit(RejectWithdrawal(wid, "compliance1", "sanctioned address")))
    assert ev.kind == "withdrawal.rejected"
    assert bal(eng, "A") == (5 * BTC, 0)


def test_client_cancel_releases_the_hold(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng)
    wid = request(eng, 2 * BTC)
    assert answer(eng.submit(CancelWithdrawal(wid, "A", "client"))).kind == "withdrawal.canceled"
    assert bal(eng, "A") == (5 * BTC, 0)


def test_another_accounts_cancel_finds_nothing(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng)
    wid = request(eng)
    assert unchanged(eng, CancelWithdrawal(wid, "B", "client")) == RejectCode.UNKNOWN_REQUEST


# ---------------------------------------------------------------- withdrawals: forbidden steps

_STEPS: dict[str, Callable[[str], Command]] = {
    "approve": lambda wid: ApproveWithdrawal(wid, "ops2"),
    "reject": lambda wid: RejectWithdrawal(wid, "ops2"),
    "send": lambda wid: MarkWithdrawalSent(wid, "txout", "custody"),
    "complete": lambda wid: CompleteWithdrawal(wid, "custody"),
    "cancel": lambda wid: CancelWithdrawal(wid, "A", "client"),
}
_PATH = {
    "held": [],
    "approved": ["approve"],
    "sent": ["approve", "send"],
    "completed": ["approve", "send", "complete"],
    "rejected": ["reject"],
    "canceled": ["cancel"],
}
_ALLOWED = {
    "held": {"approve", "reject", "cancel"},
    "approved": {"reject", "send"},
    "sent": {"complete"},
    "completed": set(),
    "rejected": set(),
    "canceled": set(),
}


@pytest.mark.parametrize(
    ("state", "step"),
    [(s, st) for s in _PATH for st in _STEPS if st not in _ALLOWED[s]],
)
def test_forbidden_withdrawal_step_changes_nothing(
    venue: tuple[Engine, Clock], state: str, step: str
) -> None:
    eng, _ = venue
    funded(eng)
    wid = request(eng)
    for done in _PATH[state]:
        answer(eng.submit(_STEPS[done](wid)))
    assert eng.funds.withdrawals[wid].status == state
    assert unchanged(eng, _STEPS[step](wid)) == RejectCode.INVALID_TRANSITION


@pytest.mark.parametrize("step", sorted(_STEPS))
def test_unknown_withdrawal_is_refused(venue: tuple[Engine, Clock], step: str) -> None:
    eng, _ = venue
    assert unchanged(eng, _STEPS[step]("W42")) == RejectCode.UNKNOWN_REQUEST


def test_steps_need_an_actor_and_sent_a_custody_reference(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng)
    wid = request(eng)
    assert unchanged(eng, ApproveWithdrawal(wid, "")) == RejectCode.INVALID_COMMAND
    answer(eng.submit(ApproveWithdrawal(wid, "ops1")))
    assert unchanged(eng, MarkWithdrawalSent(wid, "", "custody")) == RejectCode.INVALID_COMMAND
    assert unchanged(eng, RequestWithdrawal("A", "BTC", BTC, "x", "")) == (
        RejectCode.INVALID_COMMAND
    )


# ---------------------------------------------------------------- withdrawals: refused requests


def test_withdrawal_above_available_is_refused(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng, amount=3 * BTC)
    request(eng, 2 * BTC)
    assert unchanged(eng, RequestWithdrawal("A", "BTC", BTC + 1, "d", "client")) == (
        RejectCode.INSUFFICIENT_BALANCE
    )
    request(eng, BTC)  # exactly what is available


def test_withdrawing_an_asset_never_held_leaves_no_empty_balance(
    venue: tuple[Engine, Clock],
) -> None:
    eng, _ = venue
    assert unchanged(eng, RequestWithdrawal("A", "DOGE", 1, "d", "client")) == (
        RejectCode.INSUFFICIENT_BALANCE
    )
    assert "DOGE" not in eng.accounts["A"].balances


def test_order_holds_and_withdrawal_holds_share_available(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng, amount=BTC)
    # A sell of 0.6 BTC (60 lots of 0.01) holds 0.6 BTC.
    eng.submit(NewOrder("A", "BTC-USD", Side.SELL, OrdType.LIMIT, 60, 100))
    assert unchanged(eng, RequestWithdrawal("A", "BTC", BTC // 2, "d", "client")) == (
        RejectCode.INSUFFICIENT_BALANCE
    )
    request(eng, 4 * BTC // 10)
    order = eng.submit(NewOrder("A", "BTC-USD", Side.SELL, OrdType.LIMIT, 1, 100))
    assert of(order, OrderRejected)[0].code == RejectCode.INSUFFICIENT_BALANCE
    assert bal(eng, "A") == (BTC, BTC)


@pytest.mark.parametrize("amount", [0, -BTC])
def test_withdrawal_amount_must_be_positive(venue: tuple[Engine, Clock], amount: int) -> None:
    eng, _ = venue
    funded(eng)
    assert unchanged(eng, RequestWithdrawal("A", "BTC", amount, "d", "client")) == (
        RejectCode.INVALID_AMOUNT
    )


def test_withdrawal_from_unknown_or_disabled_account(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng)
    assert unchanged(eng, RequestWithdrawal("Z", "BTC", BTC, "d", "c")) == (
        RejectCode.UNKNOWN_ACCOUNT
    )
    eng.submit(SetAccountEnabled("A", False))
    assert unchanged(eng, RequestWithdrawal("A", "BTC", BTC, "d", "c")) == (
        RejectCode.ACCOUNT_DISABLED
    )


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("tenant_suspended", RejectCode.TENANT_SUSPENDED),
        ("account_disabled", RejectCode.ACCOUNT_DISABLED),
        ("account_closed", RejectCode.ACCOUNT_CLOSED),
        ("tier_forbids", RejectCode.KYC_FORBIDS),
        ("asset_not_in_tier", RejectCode.KYC_FORBIDS),
        ("kyc_suspended", RejectCode.KYC_FORBIDS),
        ("parent_disabled", RejectCode.ACCOUNT_DISABLED),
        ("parent_kyc_suspended", RejectCode.KYC_FORBIDS),
    ],
)
def test_tenancy_gates_withdrawals(
    venue: tuple[Engine, Clock], setup: str, code: RejectCode
) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"P": "", "C": "P"} if "parent" in setup else {"C": ""})
    if setup != "account_closed":  # only a flat account closes
        funded(eng, "C")
    asset = "BTC"
    change: Command | None = None
    if setup == "tenant_suspended":
        change = SuspendTenant("T", reason="review")
    elif setup == "account_disabled":
        change = SetAccountStatus("C", AccountStatus.DISABLED, "ops")
    elif setup == "account_closed":
        change = SetAccountStatus("C", AccountStatus.CLOSED, "ops")
    elif setup == "tier_forbids":
        change = SetTier("T", 1, trade=True, deposit=True, withdraw=False)
    elif setup == "kyc_suspended":
        change = SetKyc("C", KycStatus.SUSPENDED, actor="kyc", reason="review")
    elif setup == "parent_disabled":
        change = SetAccountStatus("P", AccountStatus.DISABLED, "ops")
    elif setup == "parent_kyc_suspended":
        change = SetKyc("P", KycStatus.SUSPENDED, actor="kyc", reason="review")
    else:
        answer(eng.submit(CreditDeposit("C", "ETH", BTC, "tx-eth", "custody")))
        asset = "ETH"
    if change is not None:
        assert not of(eng.submit(change), OrderRejected), change
    assert unchanged(eng, RequestWithdrawal("C", asset, BTC, "d", "c")) == code


# ---------------------------------------------------------------- daily limits


def test_daily_limit_counts_open_and_completed_withdrawals_of_the_day(
    venue: tuple[Engine, Clock],
) -> None:
    eng, clock = venue
    put_tenant(eng, "T", {"C": ""})  # limit 10 BTC a day
    funded(eng, "C", 30 * BTC)
    clock.now = 5 * DAY_US + 1
    done = request(eng, 3 * BTC, "C")
    for step in ("approve", "send"):
        answer(eng.submit(_STEPS[step](done)))
    answer(eng.submit(CompleteWithdrawal(done, "custody")))
    approved = request(eng, 3 * BTC, "C")
    answer(eng.submit(ApproveWithdrawal(approved, "ops")))
    request(eng, 3 * BTC, "C")  # held: 9 BTC counted
    assert unchanged(eng, RequestWithdrawal("C", "BTC", BTC + 1, "d", "c")) == (
        RejectCode.LIMIT_EXCEEDED
    )
    request(eng, BTC, "C")  # exactly the limit


def test_rejected_and_canceled_withdrawals_do_not_count(venue: tuple[Engine, Clock]) -> None:
    eng, clock = venue
    put_tenant(eng, "T", {"C": ""})
    funded(eng, "C", 30 * BTC)
    clock.now = 5 * DAY_US + 1
    answer(eng.submit(RejectWithdrawal(request(eng, 6 * BTC, "C"), "ops")))
    answer(eng.submit(CancelWithdrawal(request(eng, 4 * BTC, "C"), "C", "c")))
    request(eng, 10 * BTC, "C")


def test_daily_limit_resets_at_the_utc_day_boundary(venue: tuple[Engine, Clock]) -> None:
    eng, clock = venue
    put_tenant(eng, "T", {"C": ""})
    funded(eng, "C", 30 * BTC)
    clock.now = 6 * DAY_US - 1  # the last microsecond of day 5
    request(eng, 10 * BTC, "C")
    assert unchanged(eng, RequestWithdrawal("C", "BTC", 1, "d", "c")) == RejectCode.LIMIT_EXCEEDED
    clock.now = 6 * DAY_US  # day 6 starts: the day-5 withdrawal, still held, is not counted
    request(eng, 10 * BTC, "C")
    assert unchanged(eng, RequestWithdrawal("C", "BTC", 1, "d", "c")) == RejectCode.LIMIT_EXCEEDED


def test_sub_accounts_share_their_parents_daily_limit(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"C": "", "C.1": "C"})
    funded(eng, "C", 10 * BTC, "tx1")
    funded(eng, "C.1", 10 * BTC, "tx2")
    request(eng, 6 * BTC, "C")
    assert unchanged(eng, RequestWithdrawal("C.1", "BTC", 5 * BTC, "d", "c")) == (
        RejectCode.LIMIT_EXCEEDED
    )
    request(eng, 4 * BTC, "C.1")


def test_accounts_outside_a_tenant_have_no_daily_limit(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng, amount=1000 * BTC)
    request(eng, 1000 * BTC)


# ---------------------------------------------------------------- maker-checker


def test_above_threshold_the_approver_must_not_be_the_requester(
    venue: tuple[Engine, Clock],
) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"C": ""}, threshold={"BTC": 2 * BTC})
    funded(eng, "C")
    big = answer(eng.submit(RequestWithdrawal("C", "BTC", 2 * BTC + 1, "d", "ops1"))).subject
    assert unchanged(eng, ApproveWithdrawal(big, "ops1")) == RejectCode.SAME_ACTOR
    assert answer(eng.submit(ApproveWithdrawal(big, "ops2"))).kind == "withdrawal.approved"
    # At the threshold (not above) one actor may do both.
    small = answer(eng.submit(RequestWithdrawal("C", "BTC", 2 * BTC, "d", "ops1"))).subject
    assert answer(eng.submit(ApproveWithdrawal(small, "ops1"))).kind == "withdrawal.approved"


def test_no_threshold_for_the_asset_means_no_maker_checker(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    put_tenant(eng, "T", {"C": ""}, threshold={"ETH": 1})
    funded(eng, "C")
    wid = answer(eng.submit(RequestWithdrawal("C", "BTC", 4 * BTC, "d", "ops1"))).subject
    assert answer(eng.submit(ApproveWithdrawal(wid, "ops1"))).kind == "withdrawal.approved"


# ---------------------------------------------------------------- idempotent requests


def test_client_id_makes_a_request_idempotent(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    funded(eng)
    wid = request(eng, BTC, client_id="r1")
    again = eng.submit(RequestWithdrawal("A", "BTC", BTC, "bc1qdest", "client", client_id="r1"))
    assert answer(again).kind == "withdrawal.existing" and answer(again).subject == wid
    assert bal(eng, "A") == (5 * BTC, BTC)
    assert unchanged(
        eng, RequestWithdrawal("A", "BTC", 2 * BTC, "bc1qdest", "client", client_id="r1")
    ) == (RejectCode.ALREADY_EXISTS)
    # Another account may use the same client id.
    funded(eng, "B", ref="txb")
    request(eng, BTC, "B", client_id="r1")


# ---------------------------------------------------------------- state


def _history(eng: Engine) -> None:
    put_tenant(eng, "T", {"C": ""}, threshold={"BTC": BTC})
    funded(eng)
    funded(eng, "C", ref="txc")
    pending = answer(eng.submit(CreditDeposit("A", "BTC", BTC, "tx2", "c", pending=True)))
    eng.submit(RejectWithdrawal(request(eng, BTC), "ops"))
    wid = request(eng, 2 * BTC, "C", client_id="k")
    eng.submit(ApproveWithdrawal(wid, "ops"))
    eng.submit(MarkWithdrawalSent(wid, "out1", "custody"))
    request(eng, BTC)
    eng.submit(ConfirmDeposit(pending.subject, "c"))


def test_snapshot_restore_gives_the_same_state_and_answers(venue: tuple[Engine, Clock]) -> None:
    eng, _ = venue
    _history(eng)
    state = orjson.loads(eng.state_json())
    twin = Engine(Sequencer(Clock(eng.last_ts_us)))
    restore_state(twin, state)
    assert twin.state_hash() == eng.state_hash()
    # The restored indexes answer as the live ones: idempotency and the daily limit.
    for e in (eng, twin):
        answer(e.submit(CreditDeposit("A", "BTC", 5 * BTC, "tx0", "custody")))
        assert rejected(e.submit(RequestWithdrawal("C", "BTC", 9 * BTC, "d", "c"))) == (
            RejectCode.LIMIT_EXCEEDED
        )
        assert answer(
            e.submit(RequestWithdrawal("C", "BTC", 2 * BTC, "bc1qdest", "c", client_id="k"))
        )
    assert twin.state_hash() == eng.state_hash()


def test_journal_replay_gives_the_same_state_hash(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, fsync="never")
    eng = Engine(Sequencer(Clock()))
    eng.on_command = writer.append
    eng.submit(OpenAccount("A"))
    eng.submit(OpenAccount("B"))
    funded(eng)
    wid = request(eng, 2 * BTC)
    eng.submit(ApproveWithdrawal(wid, "ops"))
    eng.submit(MarkWithdrawalSent(wid, "out1", "custody"))
    eng.submit(CompleteWithdrawal(wid, "custody"))
    eng.submit(CancelWithdrawal(request(eng, BTC, client_id="x"), "A", "client"))
    pending = answer(eng.submit(CreditDeposit("B", "BTC", BTC, "tx2", "c", pending=True)))
    eng.submit(ConfirmDeposit(pending.subject, "c"))
    writer.flush()
    writer.close()
    replayed = Engine(Sequencer(Clock()))
    recover(replayed, tmp_path)
    assert replayed.state_hash() == eng.state_hash()
    assert replayed.funds.to_state() == eng.funds.to_state() != {"deposits": [], "withdrawals": []}
