"""OrderTracker: every order's client-visible state, rebuilt from engine events.

Edges need more than the engine keeps: the state of orders that are already closed
(order.status, FIX OrderStatusRequest, duplicate detection texts), cumulative fees,
average price. The tracker listens to every event batch (first listener, so edges
that render the same batch see the updated view) and keeps live orders plus a
bounded window of recently closed ones.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from engine.core import Engine
from engine.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderReplaced,
    SelfTradePrevented,
    Trade,
)
from engine.model import OrderStatus, Stp
from gateway.host import EventBatch

__all__ = ["OrderTracker", "OrderView"]


class OrderView:
    """One order as the edges show it. A plain class, not a dataclass: compiled by
    mypyc its __init__ is native (a dataclass's generated __init__ stays interpreted,
    ~1 us with these keyword arguments), and one is built per accepted order."""

    __slots__ = (
        "account", "client_order_id", "created_us", "edge_cache", "expire_ts_us", "fee", "filled",
        "notional", "ord_type", "order_id", "post_only", "price", "qty", "quote_qty",
        "reason", "reduce_only", "side", "status", "stp", "symbol", "tif", "updated_us",
    )  # fmt: skip

    def __init__(
        self,
        order_id: int,
        account: str,
        symbol: str,
        client_order_id: str,
        side: int,
        ord_type: int,
        tif: int,
        price: int,
        qty: int,
        quote_qty: int,
        filled: int = 0,
        notional: int = 0,
        fee: int = 0,
        status: OrderStatus = OrderStatus.NEW,
        created_us: int = 0,
        updated_us: int = 0,
        reason: int = 0,
        post_only: bool = False,
        stp: int = 0,
        expire_ts_us: int = 0,
        reduce_only: bool = False,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.side = side
        self.ord_type = ord_type
        self.tif = tif
        self.price = price
        self.qty = qty
        self.quote_qty = quote_qty
        self.filled = filled
        self.notional = notional
        self.fee = fee
        self.status = status
        self.created_us = created_us
        self.updated_us = updated_us
        self.reason = reason
        self.post_only = post_only
        self.stp = stp
        self.expire_ts_us = expire_ts_us
        self.reduce_only = reduce_only
        # an edge's rendering of the fields fixed for the order's life (FIX ER)
        self.edge_cache = b""

    def __repr__(self) -> str:
        return (
            f"OrderView(order_id={self.order_id}, account={self.account!r},"
            f" client_order_id={self.client_order_id!r}, status={self.status!r},"
            f" qty={self.qty}, filled={self.filled})"
        )

    @property
    def leaves(self) -> int:
        return 0 if self.status in _CLOSED else max(self.qty - self.filled, 0)

    @property
    def is_open(self) -> bool:
        return self.status not in _CLOSED


_CLOSED: Final = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED})


class OrderTracker:
    """Listener keeping OrderViews; lookups by order id or (account, client id)."""

    def __init__(self, closed_window: int = 100_000) -> None:
        self.orders: dict[int, OrderView] = {}
        # closed views, and their ids oldest first (an OrderedDict's popitem is a
        # generic method call and its links an allocation per order)
        self.closed: dict[int, OrderView] = {}
        self._closed_order: deque[int] = deque()
        self.by_client_id: dict[tuple[str, str], int] = {}
        self.closed_window = closed_window

    def seed(self, engine: Engine) -> None:
        """Views of the live orders after a journal replay (fees paid before it are unknown)."""
        for order in engine.orders.values():
            view = OrderView(
                order.order_id,
                order.account,
                order.symbol,
                order.client_order_id,
                order.side,
                order.ord_type,
                order.tif,
                order.price,
                order.qty,
                order.quote_qty,
                filled=order.filled,
                notional=order.notional,
                status=OrderStatus.PARTIALLY_FILLED if order.filled else OrderStatus.NEW,
                post_only=order.post_only,
                stp=order.stp,
                expire_ts_us=order.expire_ts_us,
                reduce_only=order.reduce_only,
            )
            self.orders[order.order_id] = view
            if order.client_order_id:
                self.by_client_id[(order.account, order.client_order_id)] = order.order_id

    def get(self, order_id: int) -> OrderView | None:
        return self.orders.get(order_id) or self.closed.get(order_id)

    def find(self, account: str, client_order_id: str) -> OrderView | None:
        order_id = self.by_client_id.get((account, client_order_id))
        return None if order_id is None else self.get(order_id)

    def open_orders(self, account: str, symbol: str = "") -> list[OrderView]:
        return [
            o
            for o in self.orders.values()
            if o.account == account and (not symbol or o.symbol == symbol)
        ]

    def __call__(self, batch: EventBatch) -> None:
        for event in batch.events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        kind = type(event)
        if kind is Trade:
            assert isinstance(event, Trade)
            self._fill(
                event.maker_order_id,
                event.maker_filled,
                event.maker_notional,
                event.maker_fee,
                event.maker_leaves,
                event.ts_us,
            )
            self._fill(
                event.taker_order_id,
                event.taker_filled,
                event.taker_notional,
                event.taker_fee,
                event.taker_leaves,
                event.ts_us,
            )
        elif kind is OrderAccepted:
            assert isinstance(event, OrderAccepted)
            view = OrderView(
                event.order_id,
                event.account,
                event.symbol,
                event.client_order_id,
                event.side,
                event.ord_type,
                event.tif,
                event.price,
                event.qty,
                event.quote_qty,
                created_us=event.ts_us,
                updated_us=event.ts_us,
                post_only=event.post_only,
                stp=event.stp,
                expire_ts_us=event.expire_ts_us,
                reduce_only=event.reduce_only,
            )
            self.orders[event.order_id] = view
            if event.client_order_id:
                self.by_client_id[(event.account, event.client_order_id)] = event.order_id
        elif kind is OrderCanceled or kind is OrderExpired:
            assert isinstance(event, (OrderCanceled, OrderExpired))  # no union object per event
            done = self.orders.get(event.order_id)
            if done is not None:
                done.status = OrderStatus.CANCELED if kind is OrderCanceled else OrderStatus.EXPIRED
                done.reason = event.reason
                done.updated_us = event.ts_us
                self._close(done)
        elif kind is OrderReplaced:
            assert isinstance(event, OrderReplaced)
            amended = self.orders.get(event.order_id)
            if amended is not None:
                # The order answers to its new client id only: the old key would
                # outlive the order (eviction removes the current key), one per replace.
                old_key = (amended.account, amended.client_order_id)
                if self.by_client_id.get(old_key) == amended.order_id:
                    del self.by_client_id[old_key]
                self.by_client_id[(amended.account, event.client_order_id)] = amended.order_id
                amended.client_order_id = event.client_order_id
                amended.price = event.price
                amended.qty = event.qty
                amended.updated_us = event.ts_us
        elif kind is SelfTradePrevented:
            assert isinstance(event, SelfTradePrevented)
            if event.mode == Stp.DECREMENT:  # both orders shrink by the prevented qty
                for order_id in (event.maker_order_id, event.taker_order_id):
                    shrunk = self.orders.get(order_id)
                    if shrunk is not None:
                        shrunk.qty -= event.qty

    def _fill(
        self, order_id: int, filled: int, notional: int, fee: int, leaves: int, ts_us: int
    ) -> None:
        view = self.orders.get(order_id)
        if view is None:
            return
        view.filled = filled
        view.notional = notional
        view.fee += fee
        view.updated_us = ts_us
        view.qty = filled + leaves
        if leaves == 0:
            view.status = OrderStatus.FILLED
            self._close(view)
        else:
            view.status = OrderStatus.PARTIALLY_FILLED

    def _close(self, view: OrderView) -> None:
        order_id = view.order_id
        del self.orders[order_id]
        self.closed[order_id] = view
        closed_order = self._closed_order
        closed_order.append(order_id)
        if len(closed_order) > self.closed_window:
            old = self.closed.pop(closed_order.popleft())
            key = (old.account, old.client_order_id)
            if self.by_client_id.get(key) == old.order_id:
                del self.by_client_id[key]
