"""The order commands (NewOrder, Cancel, Replace, MassCancel): the engine's hot input.

They live apart from engine/commands.py, which also gathers the operator side's and the
perpetuals' commands into the journal's record table, so that the pre-trade stage
(engine/pretrade.py) can read an order without seeing the command handlers.
engine.commands re-exports them: edges and the journal keep importing from there.

These are frozen dataclasses that write their ``__init__`` by hand (``init=False``):
mypyc compiles a hand-written ``__init__`` but leaves a dataclass's generated one
interpreted. Compiled, ``self.x = v`` there is a direct slot write (the frozen
``__setattr__`` still refuses every write from outside); interpreted, that statement
would raise, so the pure build sets the fields through ``object.__setattr__``
(:func:`_frozen_init`), as the generated one does. A NewOrder so built costs ~0.1 us
instead of ~2 (generated) or ~1 (through ``object.__setattr__`` compiled). Keep each
signature identical to the fields (order and defaults): journal replay builds commands
positionally, and tests/engine/test_native_build.py checks the match and the
frozenness on both builds.

``origin`` (last, so that records journaled before it replay) is the session that sent
an order command: the seq of its SessionOpened (engine/venue/sessions.py), 0 if none.
The engine never reads it; the journal carries it to the read side. NewOrder's
``reduce_only`` came after it, for the same reason (a record without it is False).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, fields
from typing import Final

from engine.model import OrdType, Side, Stp, TimeInForce

__all__ = ["Cancel", "MassCancel", "NewOrder", "OrderCommand", "Replace"]


def _is_compiled() -> bool:
    """True when this module runs as a mypyc extension (`make native`)."""
    return not isinstance(_is_compiled, types.FunctionType)


#: Whether the hand-written __init__s may assign fields directly (see the docstring).
_DIRECT_WRITES: Final = _is_compiled()


def _frozen_init(command: object, values: tuple[object, ...]) -> None:
    """Set a frozen dataclass's fields in order, as its generated __init__ does."""
    for f, value in zip(fields(type(command)), values, strict=True):  # type: ignore[arg-type]
        object.__setattr__(command, f.name, value)


@dataclass(frozen=True, slots=True, init=False)
class NewOrder:
    """A new limit or market order.

    qty is in lots; a market order may give quote_qty (quote units to spend or to
    raise) instead, with qty = 0. stp None means the account's default mode.
    expire_ts_us is required for GTD and ignored otherwise. reduce_only (perpetuals
    only) may only reduce the account's position (engine/perp/orders.py).
    """

    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: int
    price: int = 0
    tif: TimeInForce = TimeInForce.GTC
    client_order_id: str = ""
    quote_qty: int = 0
    post_only: bool = False
    stp: Stp | None = None
    expire_ts_us: int = 0
    origin: int = 0
    reduce_only: bool = False

    def __init__(
        self,
        account: str,
        symbol: str,
        side: Side,
        ord_type: OrdType,
        qty: int,
        price: int = 0,
        tif: TimeInForce = TimeInForce.GTC,
        client_order_id: str = "",
        quote_qty: int = 0,
        post_only: bool = False,
        stp: Stp | None = None,
        expire_ts_us: int = 0,
        origin: int = 0,
        reduce_only: bool = False,
    ) -> None:
        if not _DIRECT_WRITES:
            _frozen_init(
                self,
                (account, symbol, side, ord_type, qty, price, tif, client_order_id, quote_qty,
                 post_only, stp, expire_ts_us, origin, reduce_only),
            )  # fmt: skip
            return
        self.account = account  # type: ignore[misc]
        self.symbol = symbol  # type: ignore[misc]
        self.side = side  # type: ignore[misc]
        self.ord_type = ord_type  # type: ignore[misc]
        self.qty = qty  # type: ignore[misc]
        self.price = price  # type: ignore[misc]
        self.tif = tif  # type: ignore[misc]
        self.client_order_id = client_order_id  # type: ignore[misc]
        self.quote_qty = quote_qty  # type: ignore[misc]
        self.post_only = post_only  # type: ignore[misc]
        self.stp = stp  # type: ignore[misc]
        self.expire_ts_us = expire_ts_us  # type: ignore[misc]
        self.origin = origin  # type: ignore[misc]
        self.reduce_only = reduce_only  # type: ignore[misc]


@dataclass(frozen=True, slots=True, init=False)
class Cancel:
    """Cancel one order, named by engine order_id or by the account's client_order_id."""

    account: str
    symbol: str
    order_id: int = 0
    client_order_id: str = ""
    request_id: str = ""  # the canceling request's own client id (FIX 11 on F)
    origin: int = 0

    def __init__(
        self,
        account: str,
        symbol: str,
        order_id: int = 0,
        client_order_id: str = "",
        request_id: str = "",
        origin: int = 0,
    ) -> None:
        if not _DIRECT_WRITES:
            _frozen_init(self, (account, symbol, order_id, client_order_id, request_id, origin))
            return
        self.account = account  # type: ignore[misc]
        self.symbol = symbol  # type: ignore[misc]
        self.order_id = order_id  # type: ignore[misc]
        self.client_order_id = client_order_id  # type: ignore[misc]
        self.request_id = request_id  # type: ignore[misc]
        self.origin = origin  # type: ignore[misc]


@dataclass(frozen=True, slots=True, init=False)
class Replace:
    """Amend price and/or total quantity (filled included, as in FIX OrderQty).

    A quantity decrease at the same price keeps queue priority; a price change or a
    quantity increase re-queues the order (and may trade). price 0 keeps the price.
    """

    account: str
    symbol: str
    qty: int
    price: int = 0
    order_id: int = 0
    orig_client_order_id: str = ""
    client_order_id: str = ""
    origin: int = 0

    def __init__(
        self,
        account: str,
        symbol: str,
        qty: int,
        price: int = 0,
        order_id: int = 0,
        orig_client_order_id: str = "",
        client_order_id: str = "",
        origin: int = 0,
    ) -> None:
        if not _DIRECT_WRITES:
            _frozen_init(
                self,
                (account, symbol, qty, price, order_id, orig_client_order_id, client_order_id,
                 origin),
            )  # fmt: skip
            return
        self.account = account  # type: ignore[misc]
        self.symbol = symbol  # type: ignore[misc]
        self.qty = qty  # type: ignore[misc]
        self.price = price  # type: ignore[misc]
        self.order_id = order_id  # type: ignore[misc]
        self.orig_client_order_id = orig_client_order_id  # type: ignore[misc]
        self.client_order_id = client_order_id  # type: ignore[misc]
        self.origin = origin  # type: ignore[misc]


@dataclass(frozen=True, slots=True, init=False)
class MassCancel:
    """Cancel every open order matching all given filters ("" / 0 = any)."""

    account: str = ""
    symbol: str = ""
    side: int = 0
    request_id: str = ""
    origin: int = 0

    def __init__(
        self,
        account: str = "",
        symbol: str = "",
        side: int = 0,
        request_id: str = "",
        origin: int = 0,
    ) -> None:
        if not _DIRECT_WRITES:
            _frozen_init(self, (account, symbol, side, request_id, origin))
            return
        self.account = account  # type: ignore[misc]
        self.symbol = symbol  # type: ignore[misc]
        self.side = side  # type: ignore[misc]
        self.request_id = request_id  # type: ignore[misc]
        self.origin = origin  # type: ignore[misc]


OrderCommand = NewOrder | Cancel | Replace | MassCancel
