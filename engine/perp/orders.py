"""Reduce-only orders on perpetuals: the rules, and the index of the live ones.

The rules (docs/WS_API.md and fix_specs/RULES_OF_ENGAGEMENT.md say the same):
- A reduce-only order must be on the side opposite to the account's position; on a
  flat position, or on the position's own side, it is refused (REDUCE_ONLY).
- Its quantity is clipped to the position's size at entry (the accepted quantity is
  the clipped one). It holds no margin, as it can only release some; the fee of a
  fill is charged to the wallet as for any fill.
- It never trades beyond the position. Before each of its fills as a maker, and for
  every position a command changed at the end of that command: one whose remaining
  quantity exceeds the position is shrunk to it (an OrderReplaced that keeps its
  place in the queue and its client order id), one whose position closed or flipped
  expires (reason ``reduce_only``).
- A replace may not raise its remaining quantity above the position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from engine.book import Order
from engine.events import BookDelta, CloseReason, OrderExpired, OrderReplaced, RejectCode
from engine.model import Side
from engine.perp.state import Perps
from engine.risk import RiskError

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = ["ReduceOnly"]

_BUY: Final = int(Side.BUY)


class ReduceOnly:
    """The live reduce-only orders by (account, symbol), and the rules above."""

    def __init__(self, perps: Perps) -> None:
        self.perps = perps
        #: (account, symbol) -> order id -> order, oldest first (deterministic)
        self.live: dict[tuple[str, str], dict[int, Order]] = {}

    def room(self, account: str, symbol: str, side: int) -> int:
        """Lots an order on side may still reduce the account's position by."""
        pos = self.perps.positions[symbol].get(account)
        if pos is None:
            return 0
        size = pos.size
        if side == _BUY:
            return -size if size < 0 else 0
        return size if size > 0 else 0

    def clip(self, account: str, symbol: str, side: int, qty: int) -> int:
        """A new reduce-only order's quantity: qty clipped to the position; RiskError
        when it would open or increase it."""
        room = self.room(account, symbol, side)
        if not room:
            raise RiskError(
                RejectCode.REDUCE_ONLY, "reduce-only order would open or increase the position"
            )
        return qty if qty < room else room

    def check_replace(self, order: Order, leaves: int) -> None:
        if leaves > self.room(order.account, order.symbol, order.side):
            raise RiskError(
                RejectCode.REDUCE_ONLY, "reduce-only order: remaining quantity above the position"
            )

    def track(self, order: Order) -> None:
        key = (order.account, order.symbol)
        orders = self.live.get(key)
        if orders is None:
            orders = self.live[key] = {}
        orders[order.order_id] = order

    def untrack(self, order: Order) -> None:
        key = (order.account, order.symbol)
        orders = self.live.get(key)
        if orders is not None:
            orders.pop(order.order_id, None)
            if not orders:
                del self.live[key]

    def fit(self, engine: Engine, order: Order, *, delta: bool) -> int:
        """Bring one live reduce-only order within its position: shrink it or expire
        it; returns the lots it may still trade. delta: emit the book change (matching
        emits its own for the level it is consuming)."""
        room = self.room(order.account, order.symbol, order.side)
        if order.leaves <= room:
            return order.leaves
        if not room:
            engine.close(order, OrderExpired, CloseReason.REDUCE_ONLY, delta=delta)
            return 0
        engine.decrement(order, order.leaves - room)
        out = engine.out
        clid = order.client_order_id
        out.append(
            OrderReplaced(
                engine.seq, engine.ts_us, len(out), order.order_id, order.account, order.symbol,
                clid, clid, order.side, order.price, order.qty, order.leaves, order.filled,
                order.notional, True,
            )
        )  # fmt: skip
        level = order.level
        if delta and level is not None:
            book = engine.listings[order.symbol].book
            book.md_seq += 1
            out.append(
                BookDelta(
                    engine.seq, engine.ts_us, len(out), book.symbol, book.md_seq, order.side,
                    level.price, level.qty,
                )
            )  # fmt: skip
        return room

    def settle(self, engine: Engine, account: str, symbol: str) -> None:
        """The end of a command that changed this position: fit its reduce-only orders."""
        orders = self.live.get((account, symbol))
        if orders:
            for order in list(orders.values()):
                self.fit(engine, order, delta=True)
