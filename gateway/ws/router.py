"""The WebSocket edge's host listener: every event batch, routed to the WS sessions.

It answers the commands WS sessions submitted (their Pending origins, handed each
batch by the host before the listeners, leave the answer here for this listener's
turn), keeps the balance mirror and the order-owner table current, and collects, per
logged-on account, the order ids, trades and balances its user channel must hear
about; the Venue renders and pushes those. It runs for every command of every edge,
so it lives apart from the WS server (which stays interpreted) and `make native`
compiles it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from engine.events import (
    BalanceChanged,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderReplaced,
    Trade,
)
from gateway.edges import OwnerRegistry
from gateway.host import EventBatch
from gateway.ws.protocol import Pending, Session

__all__ = ["UserRouter", "UserUpdates"]

#: account -> (order ids whose state changed, its fills, its balance changes)
UserUpdates = dict[str, tuple[dict[int, None], list[Trade], list[BalanceChanged]]]

_ORDER_EVENTS: Final = frozenset({OrderAccepted, OrderCanceled, OrderExpired, OrderReplaced})


class UserRouter:
    """The host listener of the WS edge (see the module docstring)."""

    def __init__(
        self,
        users: dict[str, dict[Session, None]],
        owners: OwnerRegistry[Session],
        balances: dict[str, dict[str, tuple[int, int]]],
        push: Callable[[UserUpdates], None],
        answers: list[tuple[Pending, EventBatch]],
    ) -> None:
        self.users = users
        self.owners = owners
        self.balances = balances
        self.push = push
        #: filled by the sessions' Pending origins before the listeners run
        self.answers = answers

    def __call__(self, batch: EventBatch) -> None:
        answers = self.answers
        if answers:
            due = answers[:]
            answers.clear()
            for pending, answered in due:
                pending.session.answer(pending, answered)
        users = self.users
        owners = self.owners
        out: UserUpdates | None = None
        for event in batch.events:
            kind = type(event)
            if kind is BalanceChanged:
                assert isinstance(event, BalanceChanged)
                assets = self.balances.get(event.account)
                if assets is None:
                    assets = self.balances[event.account] = {}
                assets[event.asset] = (event.total, event.held)
                if event.account in users:
                    out = out or {}
                    out.setdefault(event.account, ({}, [], []))[2].append(event)
            elif kind is Trade:
                assert isinstance(event, Trade)
                if len(owners):
                    if event.maker_leaves == 0:
                        owners.release(event.maker_order_id)
                    if event.taker_leaves == 0:
                        owners.release(event.taker_order_id)
                if users:
                    for account, order_id in (
                        (event.taker_account, event.taker_order_id),
                        (event.maker_account, event.maker_order_id),
                    ):
                        if account in users:
                            out = out or {}
                            entry = out.setdefault(account, ({}, [], []))
                            entry[0][order_id] = None
                            entry[1].append(event)
            elif kind in _ORDER_EVENTS:
                # a tuple: `A | B` would build a union object per event (compiled too)
                assert isinstance(
                    event, (OrderAccepted, OrderCanceled, OrderExpired, OrderReplaced)
                )
                if len(owners) and kind is not OrderAccepted and kind is not OrderReplaced:
                    owners.release(event.order_id)
                if event.account in users:
                    out = out or {}
                    out.setdefault(event.account, ({}, [], []))[0][event.order_id] = None
        if out:
            self.push(out)
