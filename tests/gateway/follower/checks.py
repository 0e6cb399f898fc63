"""Compare a follower's store with the events the live engine produced."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

from engine.core import Engine
from engine.events import (
    AdminApplied,
    BalanceChanged,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    SelfTradePrevented,
    Trade,
    VenueEvent,
)
from gateway.follower.store import Store

__all__ = ["assert_store_matches", "dump"]


def _expected_orders(events: list[Event], after: int) -> list[tuple[Any, ...]]:
    out = []
    for ev in events:
        if ev.seq <= after:
            continue
        if isinstance(ev, OrderAccepted):
            out.append(
                (
                    ev.seq,
                    ev.idx,
                    "accepted",
                    ev.order_id,
                    ev.account,
                    ev.client_order_id,
                    ev.price,
                    ev.qty,
                    ev.ts_us,
                )
            )
        elif isinstance(ev, OrderReplaced):
            out.append(
                (
                    ev.seq,
                    ev.idx,
                    "replaced",
                    ev.order_id,
                    ev.account,
                    ev.client_order_id,
                    ev.price,
                    ev.qty,
                    ev.ts_us,
                )
            )
        elif isinstance(ev, OrderCanceled | OrderExpired):
            kind = "canceled" if isinstance(ev, OrderCanceled) else "expired"
            out.append(
                (
                    ev.seq,
                    ev.idx,
                    kind,
                    ev.order_id,
                    ev.account,
                    ev.client_order_id,
                    0,
                    ev.qty,
                    ev.ts_us,
                )
            )
        elif isinstance(ev, OrderRejected) and ev.request != "admin":
            out.append(
                (
                    ev.seq,
                    ev.idx,
                    "rejected",
                    ev.order_id,
                    ev.account,
                    ev.client_order_id,
                    0,
                    0,
                    ev.ts_us,
                )
            )
    return out


def _expected_fills(events: list[Event], after: int) -> list[tuple[Any, ...]]:
    out = []
    for ev in events:
        if isinstance(ev, Trade) and ev.seq > after:
            out.append(
                (
                    ev.seq,
                    ev.idx,
                    ev.trade_id,
                    "maker",
                    ev.maker_account,
                    ev.maker_order_id,
                    ev.price,
                    ev.qty,
                    ev.maker_fee,
                    ev.maker_leaves,
                )
            )
            out.append(
                (
                    ev.seq,
                    ev.idx,
                    ev.trade_id,
                    "taker",
                    ev.taker_account,
                    ev.taker_order_id,
                    ev.price,
                    ev.qty,
                    ev.taker_fee,
                    ev.taker_leaves,
                )
            )
    return out


def _expected_venue(events: list[Event], after: int) -> list[tuple[Any, ...]]:
    out = []
    for ev in events:
        if ev.seq <= after:
            continue
        if isinstance(ev, VenueEvent):
            out.append((ev.seq, ev.idx, ev.kind))
        elif isinstance(ev, AdminApplied):
            out.append((ev.seq, ev.idx, "admin." + ev.command))
        elif isinstance(ev, OrderRejected) and ev.request == "admin":
            out.append((ev.seq, ev.idx, "admin.rejected"))
        elif isinstance(ev, SelfTradePrevented):
            out.append((ev.seq, ev.idx, "stp.prevented"))
    return out


async def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every history table, in key order."""
    return {
        "orders": await store.fetch("SELECT * FROM orders ORDER BY seq, idx"),
        "fills": await store.fetch("SELECT * FROM fills ORDER BY seq, idx, liquidity"),
        "ledger": await store.fetch("SELECT * FROM ledger ORDER BY seq, leg"),
        "venue_events": await store.fetch("SELECT * FROM venue_events ORDER BY seq, idx"),
        "state": await store.fetch("SELECT seq, crc FROM follower_state"),
    }


async def assert_store_matches(
    store: Store, events: list[Event], engine: Engine, after: int = 0
) -> None:
    """Every order state change, fill and venue event the live engine produced after
    ``after`` is in the store once; the ledger balances each asset per command and its
    running balances are the totals every BalanceChanged reported."""
    orders = await store.fetch(
        "SELECT seq, idx, event, order_id, account, client_order_id, price, qty, ts_us "
        "FROM orders WHERE seq > ? ORDER BY seq, idx",
        after,
    )
    assert [tuple(r) for r in orders] == _expected_orders(events, after)
    fills = await store.fetch(
        "SELECT seq, idx, trade_id, liquidity, account, order_id, price, qty, fee, leaves "
        "FROM fills ORDER BY seq, idx, liquidity",
    )
    assert [tuple(r) for r in fills] == _expected_fills(events, after)
    venue = await store.fetch(
        "SELECT seq, idx, kind FROM venue_events WHERE seq > ? ORDER BY seq, idx", after
    )
    assert [tuple(r) for r in venue] == _expected_venue(events, after)

    legs = await store.fetch(
        "SELECT seq, leg, account, asset, amount, balance FROM ledger ORDER BY seq, leg"
    )
    per_command: dict[tuple[int, str], int] = defaultdict(int)
    last: dict[tuple[int, str, str], int] = {}
    final: dict[tuple[str, str], int] = {}
    for seq, _leg, account, asset, amount, balance in legs:
        per_command[(seq, asset)] += amount
        last[(seq, account, asset)] = balance
        final[(account, asset)] = balance
    assert {k: v for k, v in per_command.items() if v} == {}, "unbalanced ledger entries"
    history: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for (seq, account, asset), balance in last.items():
        history[(account, asset)].append((seq, balance))
    for ev in events:
        if isinstance(ev, BalanceChanged) and ev.seq > after:
            # the running balance as of this command (a change of held only moves none)
            steps = history[(ev.account, ev.asset)]
            at = bisect.bisect_right(steps, (ev.seq, float("inf"))) - 1
            assert (steps[at][1] if at >= 0 else 0) == ev.total, ev
    for account_id, account in engine.accounts.items():
        for asset, bal in account.balances.items():
            assert final.get((account_id, asset), 0) == bal.total, (account_id, asset)
    (state,) = await store.fetch("SELECT seq FROM follower_state")
    assert state[0] == engine.last_seq
