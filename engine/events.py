"""Events: the only output of the engine.

Every event carries the (seq, ts_us) of the command that caused it and its own index
within that command's events, so (seq, idx) orders all output totally. Events are
slotted (not frozen: building a frozen dataclass costs twice as much on the hot path);
treat them as immutable. Prices are ticks, quantities lots, amounts asset units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "AdminApplied",
    "BalanceChanged",
    "BookDelta",
    "CloseReason",
    "Event",
    "OrderAccepted",
    "OrderCanceled",
    "OrderClosed",
    "OrderExpired",
    "OrderRejected",
    "OrderReplaced",
    "RejectCode",
    "SelfTradePrevented",
    "Trade",
]


class RejectCode(IntEnum):
    """Why a command was refused. Stable numbers: clients key on them."""

    UNKNOWN_INSTRUMENT = 1
    UNKNOWN_ACCOUNT = 2
    ACCOUNT_DISABLED = 3
    TRADING_HALTED = 4
    INSTRUMENT_HALTED = 5
    INSTRUMENT_CANCEL_ONLY = 6
    INVALID_QUANTITY = 7
    INVALID_PRICE = 8
    BELOW_MIN_QTY = 9
    BELOW_MIN_NOTIONAL = 10
    PRICE_OUTSIDE_COLLAR = 11
    MAX_ORDER_QTY = 12
    MAX_ORDER_NOTIONAL = 13
    MAX_OPEN_ORDERS = 14
    INSUFFICIENT_BALANCE = 15
    DUPLICATE_CLIENT_ORDER_ID = 16
    POST_ONLY_WOULD_TAKE = 17
    INVALID_TIME_IN_FORCE = 18
    INVALID_EXPIRE_TIME = 19
    UNKNOWN_ORDER = 20
    REPLACE_BELOW_FILLED = 21
    INVALID_ORDER = 22
    ALREADY_EXISTS = 23
    INVALID_AMOUNT = 24
    INVALID_COMMAND = 25


class CloseReason(IntEnum):
    """Why an order left the book without being filled."""

    USER_CANCEL = 1
    MASS_CANCEL = 2
    IOC_REMAINDER = 3
    FOK_NOT_FILLABLE = 4
    GTD_EXPIRED = 5
    COLLAR_REACHED = 6
    NO_LIQUIDITY = 7
    INSUFFICIENT_BALANCE = 8
    STP_EXPIRE_TAKER = 9
    STP_EXPIRE_MAKER = 10
    STP_EXPIRE_BOTH = 11
    STP_DECREMENT = 12


@dataclass(slots=True)
class OrderAccepted:
    seq: int
    ts_us: int
    idx: int
    order_id: int
    account: str
    symbol: str
    client_order_id: str
    side: int
    ord_type: int
    price: int
    qty: int
    tif: int
    quote_qty: int
    post_only: bool
    stp: int
    expire_ts_us: int


@dataclass(slots=True)
class OrderRejected:
    """A refused command. request names its kind: new, cancel, replace, mass_cancel, admin."""

    seq: int
    ts_us: int
    idx: int
    request: str
    account: str
    symbol: str
    client_order_id: str
    order_id: int
    code: int
    text: str


@dataclass(slots=True)
class Trade:
    """One match. Carries both orders' state after the fill so edges need no lookups.

    *_filled are cumulative lots, *_notional cumulative quote units (avg price =
    notional / (filled * quote_per_tick_lot) ticks), *_leaves the lots still open.
    """

    seq: int
    ts_us: int
    idx: int
    symbol: str
    md_seq: int
    trade_id: int
    price: int
    qty: int
    taker_side: int
    maker_order_id: int
    maker_account: str
    maker_client_order_id: str
    maker_fee: int
    maker_filled: int
    maker_notional: int
    maker_leaves: int
    taker_order_id: int
    taker_account: str
    taker_client_order_id: str
    taker_fee: int
    taker_filled: int
    taker_notional: int
    taker_leaves: int


@dataclass(slots=True)
class OrderClosed:
    """An order left the book unfilled (qty = lots taken off); reason is a CloseReason."""

    seq: int
    ts_us: int
    idx: int
    order_id: int
    account: str
    symbol: str
    client_order_id: str
    side: int
    qty: int
    filled: int
    notional: int
    reason: int


@dataclass(slots=True)
class OrderCanceled(OrderClosed):
    """Closed by request (user or mass cancel); request_id is the canceling request's id."""

    request_id: str


@dataclass(slots=True)
class OrderExpired(OrderClosed):
    """Closed by a rule (IOC/FOK rest, GTD, collar, STP, funds)."""


@dataclass(slots=True)
class OrderReplaced:
    seq: int
    ts_us: int
    idx: int
    order_id: int
    account: str
    symbol: str
    client_order_id: str
    orig_client_order_id: str
    side: int
    price: int
    qty: int
    leaves: int
    filled: int
    notional: int
    priority_kept: bool


@dataclass(slots=True)
class SelfTradePrevented:
    seq: int
    ts_us: int
    idx: int
    symbol: str
    account: str
    taker_order_id: int
    maker_order_id: int
    qty: int
    mode: int


@dataclass(slots=True)
class BookDelta:
    """A price level's new total quantity (0 = level removed). md_seq is per instrument."""

    seq: int
    ts_us: int
    idx: int
    symbol: str
    md_seq: int
    side: int
    price: int
    level_qty: int


@dataclass(slots=True)
class BalanceChanged:
    """An account's asset after the change: total and held (available = total - held)."""

    seq: int
    ts_us: int
    idx: int
    account: str
    asset: str
    total: int
    held: int


@dataclass(slots=True)
class AdminApplied:
    """An administrative command took effect; detail says what changed."""

    seq: int
    ts_us: int
    idx: int
    command: str
    detail: str


Event = (
    OrderAccepted
    | OrderRejected
    | Trade
    | OrderCanceled
    | OrderExpired
    | OrderReplaced
    | SelfTradePrevented
    | BookDelta
    | BalanceChanged
    | AdminApplied
)
