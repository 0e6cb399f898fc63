"""The order gate under tenancy: listings per tenant, suspension, delisting, mass cancel
by tenant; cancels always work; derived gate slots survive snapshot and replay."""

from __future__ import annotations

import pytest

from engine.commands import (
    AddInstrument,
    Cancel,
    MassCancel,
    NewOrder,
    OpenAccount,
    SetInstrumentStatus,
)
from engine.core import Engine
from engine.events import CloseReason, OrderCanceled, RejectCode
from engine.model import OrdType, Side, TradingStatus
from engine.snapshot import restore_state
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import (
    CancelTenantOrders,
    CreateTenant,
    OpenTenantAccount,
    SetMarketState,
    SuspendTenant,
)
from tests.engine.helpers import accepted_id, limit, of, open_account
from tests.engine.venue.tenancy_setup import ok, refused, refused_unchanged, tenant_venue


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (MarketState.ENABLED, 0),
        (MarketState.VIEW_ONLY, RejectCode.NOT_LISTED),
        (MarketState.CANCEL_ONLY, RejectCode.NOT_LISTED),
        (MarketState.HIDDEN, RejectCode.NOT_LISTED),
        (0, RejectCode.NOT_LISTED),  # unlisted
    ],
)
def test_orders_only_on_markets_enabled_for_the_tenant(state: int, code: int) -> None:
    eng = tenant_venue()
    resting = accepted_id(eng.submit(limit("A", Side.BUY, 100, 1)))
    ok(eng.submit(SetMarketState("T1", "BTC-USD", state)))
    events = eng.submit(limit("A.1", Side.BUY, 100, 1))
    assert (refused(events) if code else 0) == code
    ok(eng.submit(Cancel("A", "BTC-USD", resting)))  # cancels always work


def test_listing_is_per_tenant() -> None:
    eng = tenant_venue()
    ok(eng.submit(CreateTenant("T2", "Two", "T2-REV")))
    ok(eng.submit(SetMarketState("T2", "BTC-USD", MarketState.HIDDEN)))
    ok(eng.submit(limit("A", Side.BUY, 100, 1)))  # T1's listing is unchanged


def test_market_state_refusals() -> None:
    eng = tenant_venue()
    assert refused_unchanged(eng, SetMarketState("T1", "NOPE", 1)) == RejectCode.UNKNOWN_INSTRUMENT
    assert refused_unchanged(eng, SetMarketState("T1", "BTC-USD", 9)) == RejectCode.INVALID_COMMAND
    assert refused_unchanged(eng, SetMarketState("NO", "BTC-USD", 1)) == RejectCode.UNKNOWN_TENANT


def test_suspend_with_cancel_closes_the_tenants_orders_only() -> None:
    eng = tenant_venue()
    open_account(eng, "OUTSIDE")
    mine = accepted_id(eng.submit(limit("A", Side.BUY, 100, 1)))
    theirs = accepted_id(eng.submit(limit("OUTSIDE", Side.BUY, 100, 1)))
    events = ok(eng.submit(SuspendTenant("T1", cancel_orders=True, reason="regulator")))
    canceled = of(events, OrderCanceled)
    assert [(c.order_id, c.reason) for c in canceled] == [(mine, CloseReason.TENANT_SUSPENDED)]
    assert theirs in eng.orders
    assert refused(eng.submit(limit("A", Side.BUY, 100, 1))) == RejectCode.TENANT_SUSPENDED
    ok(eng.submit(limit("OUTSIDE", Side.BUY, 100, 1)))


def test_suspend_without_cancel_keeps_orders_and_they_can_be_canceled() -> None:
    eng = tenant_venue()
    mine = accepted_id(eng.submit(limit("A", Side.BUY, 100, 1)))
    ok(eng.submit(SuspendTenant("T1")))
    assert mine in eng.orders
    ok(eng.submit(Cancel("A", "BTC-USD", mine)))


def test_mass_cancel_by_tenant() -> None:
    eng = tenant_venue()
    ok(eng.submit(AddInstrument("ETH-USD", "ETH", "USD", "0.01", "0.01")))
    ok(eng.submit(SetMarketState("T1", "ETH-USD", MarketState.ENABLED)))
    open_account(eng, "OUTSIDE")
    a = accepted_id(eng.submit(limit("A", Side.BUY, 100, 1)))
    ok(eng.submit(limit("OUTSIDE", Side.BUY, 100, 1)))
    ok(eng.submit(NewOrder("A", "ETH-USD", Side.BUY, OrdType.LIMIT, 1, 100)))
    events = ok(eng.submit(CancelTenantOrders("T1", "BTC-USD", "kill-1")))
    canceled = of(events, OrderCanceled)
    assert [(c.order_id, c.reason, c.request_id) for c in canceled] == [
        (a, CloseReason.MASS_CANCEL, "kill-1")
    ]
    ok(eng.submit(CancelTenantOrders("T1")))
    assert [o.account for o in eng.orders.values()] == ["OUTSIDE"]
    assert refused_unchanged(eng, CancelTenantOrders("NO")) == RejectCode.UNKNOWN_TENANT
    assert refused_unchanged(eng, CancelTenantOrders("T1", "X")) == RejectCode.UNKNOWN_INSTRUMENT


def test_delisting_cancels_every_resting_order_and_accepts_nothing() -> None:
    eng = tenant_venue()
    open_account(eng, "OUTSIDE")
    ids = [
        accepted_id(eng.submit(limit("A", Side.BUY, 100, 1))),
        accepted_id(eng.submit(limit("OUTSIDE", Side.SELL, 200, 1))),
    ]
    events = ok(eng.submit(SetInstrumentStatus("BTC-USD", TradingStatus.DELISTED)))
    assert [(c.order_id, c.reason) for c in of(events, OrderCanceled)] == [
        (i, CloseReason.DELISTED) for i in ids
    ]
    assert eng.listings["BTC-USD"].book.best_bid() is None
    assert eng.accounts["OUTSIDE"].balances["BTC"].held == 0
    for cmd in (
        limit("OUTSIDE", Side.BUY, 100, 1),
        Cancel("OUTSIDE", "BTC-USD", ids[1]),
        MassCancel("OUTSIDE", "BTC-USD"),
    ):
        assert refused(eng.submit(cmd)) == RejectCode.INSTRUMENT_DELISTED
    for status in TradingStatus:
        again = SetInstrumentStatus("BTC-USD", status)
        assert refused_unchanged(eng, again) == RejectCode.INVALID_TRANSITION


def test_accounts_outside_tenants_are_unaffected() -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenAccount("PLAIN")))
    plain = eng.accounts["PLAIN"]
    assert (plain.tenant, plain.trade_block, plain.markets) == ("", 0, None)


def _gate_slots(eng: Engine) -> dict[str, tuple[object, ...]]:
    return {
        a: (x.tenant, x.trade_block, x.trade_block_text, x.markets, x.tier_max_notional)
        for a, x in eng.accounts.items()
    }


def test_snapshot_restore_rebuilds_the_derived_gate_slots() -> None:
    eng = tenant_venue()
    ok(eng.submit(OpenTenantAccount("B", "T1")))
    ok(eng.submit(SuspendTenant("T1")))
    ok(eng.submit(CreateTenant("T2", "Two", "T2-REV")))
    restored = Engine()
    restore_state(restored, eng.state())
    assert restored.state_hash() == eng.state_hash()
    assert _gate_slots(restored) == _gate_slots(eng)
    assert restored.accounts["A"].markets is restored.accounts["A.1"].markets  # shared view
