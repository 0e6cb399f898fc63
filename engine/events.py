"""Events: the only output of the engine.

Every event carries the (seq, ts_us) of the command that caused it and its own index
within that command's events, so (seq, idx) orders all output totally. Events are
slotted (not frozen: building a frozen dataclass costs twice as much on the hot path);
treat them as immutable. Prices are ticks, quantities lots, amounts asset units.

Each class writes its ``__init__`` by hand (``init=False``): `make native` compiles
this module, and mypyc compiles a hand-written ``__init__`` but leaves a dataclass's
generated one interpreted. Native events cost the gateway ~4 us less per order
(core_bench, 2026-11-23): cheaper to build, and every edge reads their fields as
struct slots. The dataclass decorator still provides ``__eq__`` and ``__repr__``.
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
    "VenueEvent",
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
    # The operator side (engine/venue): tenants, KYC, credentials, fees, funds.
    UNKNOWN_TENANT = 26
    INVALID_TRANSITION = 27  # a state machine refuses this step from the current state
    TENANT_SUSPENDED = 28
    KYC_FORBIDS = 29  # the account's KYC status or tier does not allow this action
    NOT_FLAT = 30  # closing an account (or sub-account) that holds balances or orders
    LIMIT_EXCEEDED = 31  # a configured limit (daily withdrawal, fee bound, ...) is exceeded
    NOT_LISTED = 32  # the instrument is not listed (or hidden/view-only) for this tenant
    UNKNOWN_CREDENTIAL = 33
    UNKNOWN_OPERATOR = 34
    SAME_ACTOR = 35  # maker-checker: the approver must not be the requester
    UNKNOWN_REQUEST = 36  # no deposit or withdrawal with this id or reference
    ACCOUNT_CLOSED = 37
    INSTRUMENT_DELISTED = 38
    REDUCE_ONLY = 39  # the order would open or increase a position where only reductions go


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
    TENANT_SUSPENDED = 13  # the account's tenant was suspended with its orders canceled
    DELISTED = 14  # the instrument was delisted
    LIQUIDATION = 15  # canceled to release margin for a liquidation (engine/perp)
    REDUCE_ONLY = 16  # a reduce-only order whose position closed or flipped (engine/perp)


@dataclass(slots=True, init=False)
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
    reduce_only: bool

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        order_id: int,
        account: str,
        symbol: str,
        client_order_id: str,
        side: int,
        ord_type: int,
        price: int,
        qty: int,
        tif: int,
        quote_qty: int,
        post_only: bool,
        stp: int,
        expire_ts_us: int,
        reduce_only: bool = False,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.side = side
        self.ord_type = ord_type
        self.price = price
        self.qty = qty
        self.tif = tif
        self.quote_qty = quote_qty
        self.post_only = post_only
        self.stp = stp
        self.expire_ts_us = expire_ts_us
        self.reduce_only = reduce_only  # a perpetual order that may only reduce (edges echo it)


@dataclass(slots=True, init=False)
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

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        request: str,
        account: str,
        symbol: str,
        client_order_id: str,
        order_id: int,
        code: int,
        text: str,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.request = request
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.order_id = order_id
        self.code = code
        self.text = text


@dataclass(slots=True, init=False)
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

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        symbol: str,
        md_seq: int,
        trade_id: int,
        price: int,
        qty: int,
        taker_side: int,
        maker_order_id: int,
        maker_account: str,
        maker_client_order_id: str,
        maker_fee: int,
        maker_filled: int,
        maker_notional: int,
        maker_leaves: int,
        taker_order_id: int,
        taker_account: str,
        taker_client_order_id: str,
        taker_fee: int,
        taker_filled: int,
        taker_notional: int,
        taker_leaves: int,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.symbol = symbol
        self.md_seq = md_seq
        self.trade_id = trade_id
        self.price = price
        self.qty = qty
        self.taker_side = taker_side
        self.maker_order_id = maker_order_id
        self.maker_account = maker_account
        self.maker_client_order_id = maker_client_order_id
        self.maker_fee = maker_fee
        self.maker_filled = maker_filled
        self.maker_notional = maker_notional
        self.maker_leaves = maker_leaves
        self.taker_order_id = taker_order_id
        self.taker_account = taker_account
        self.taker_client_order_id = taker_client_order_id
        self.taker_fee = taker_fee
        self.taker_filled = taker_filled
        self.taker_notional = taker_notional
        self.taker_leaves = taker_leaves


@dataclass(slots=True, init=False)
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

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        order_id: int,
        account: str,
        symbol: str,
        client_order_id: str,
        side: int,
        qty: int,
        filled: int,
        notional: int,
        reason: int,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.side = side
        self.qty = qty
        self.filled = filled
        self.notional = notional
        self.reason = reason


@dataclass(slots=True, init=False)
class OrderCanceled(OrderClosed):
    """Closed by request (user or mass cancel); request_id is the canceling request's id."""

    request_id: str

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        order_id: int,
        account: str,
        symbol: str,
        client_order_id: str,
        side: int,
        qty: int,
        filled: int,
        notional: int,
        reason: int,
        request_id: str,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.side = side
        self.qty = qty
        self.filled = filled
        self.notional = notional
        self.reason = reason
        self.request_id = request_id


@dataclass(slots=True, init=False)
class OrderExpired(OrderClosed):
    """Closed by a rule (IOC/FOK rest, GTD, collar, STP, funds). No fields of its own, so
    OrderClosed's compiled __init__ serves."""


@dataclass(slots=True, init=False)
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

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        order_id: int,
        account: str,
        symbol: str,
        client_order_id: str,
        orig_client_order_id: str,
        side: int,
        price: int,
        qty: int,
        leaves: int,
        filled: int,
        notional: int,
        priority_kept: bool,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.orig_client_order_id = orig_client_order_id
        self.side = side
        self.price = price
        self.qty = qty
        self.leaves = leaves
        self.filled = filled
        self.notional = notional
        self.priority_kept = priority_kept


@dataclass(slots=True, init=False)
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

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        symbol: str,
        account: str,
        taker_order_id: int,
        maker_order_id: int,
        qty: int,
        mode: int,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.symbol = symbol
        self.account = account
        self.taker_order_id = taker_order_id
        self.maker_order_id = maker_order_id
        self.qty = qty
        self.mode = mode


@dataclass(slots=True, init=False)
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

    def __init__(
        self,
        seq: int,
        ts_us: int,
        idx: int,
        symbol: str,
        md_seq: int,
        side: int,
        price: int,
        level_qty: int,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.symbol = symbol
        self.md_seq = md_seq
        self.side = side
        self.price = price
        self.level_qty = level_qty


@dataclass(slots=True, init=False)
class BalanceChanged:
    """An account's asset after the change: total and held (available = total - held)."""

    seq: int
    ts_us: int
    idx: int
    account: str
    asset: str
    total: int
    held: int

    def __init__(
        self, seq: int, ts_us: int, idx: int, account: str, asset: str, total: int, held: int
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.account = account
        self.asset = asset
        self.total = total
        self.held = held


@dataclass(slots=True, init=False)
class AdminApplied:
    """An administrative command took effect; detail says what changed."""

    seq: int
    ts_us: int
    idx: int
    command: str
    detail: str

    def __init__(self, seq: int, ts_us: int, idx: int, command: str, detail: str) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.command = command
        self.detail = detail


@dataclass(slots=True, init=False)
class VenueEvent:
    """The operator side changed: kind names what ("tenant.created", "withdrawal.held"),
    subject the thing it happened to (a tenant, account, key or request id), data the
    new state as JSON-ready values (ints, strings, bools, lists, dicts; never floats).

    One event type for the whole operator side keeps every edge's dispatch simple: the
    admin API answers with it, the gateway's credential view and the read side follow it.
    """

    seq: int
    ts_us: int
    idx: int
    kind: str
    subject: str
    data: dict[str, object]

    def __init__(
        self, seq: int, ts_us: int, idx: int, kind: str, subject: str, data: dict[str, object]
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.idx = idx
        self.kind = kind
        self.subject = subject
        self.data = data


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
    | VenueEvent
)
