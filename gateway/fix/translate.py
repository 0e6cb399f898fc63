"""FIX <-> engine: parse order-entry messages into Commands, render events as FIX bodies.

Pure functions over FixMessage and engine types; no sessions, no sockets. Decimal
strings are converted exactly with the instrument's grid (off-grid = reject, never
rounding). Bodies are returned as pre-encoded ``tag=value<SOH>`` bytes so one body can
be sent to the owner session and every drop-copy session without re-encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Final

from engine.commands import Cancel, NewOrder, Replace
from engine.events import CloseReason
from engine.model import (
    ASSET_UNIT,
    MAX_COUNT,
    GridError,
    Instrument,
    OrderStatus,
    OrdType,
    Side,
    Stp,
    TimeInForce,
    decimal_to_units,
)
from gateway.decimals import decimal_text
from gateway.fix.codec import FixMessage, encode_fields, format_utc_timestamp, parse_utc_timestamp
from gateway.fix.tags import (
    ACCOUNT,
    AVG_PX,
    CL_ORD_ID,
    CUM_QTY,
    CXL_REJ_REASON,
    CXL_REJ_RESPONSE_TO,
    EXEC_ID,
    EXEC_TRANS_TYPE,
    EXEC_TYPE,
    LEAVES_QTY,
    ORD_REJ_REASON,
    ORD_TYPE,
    ORDER_ID,
    ORDER_QTY,
    ORIG_CL_ORD_ID,
    PRICE,
    SIDE,
    SYMBOL,
    TEXT,
    TRANSACT_TIME,
)
from gateway.fix.tags import (
    ORD_STATUS as ORD_STATUS_TAG,
)
from gateway.orders import OrderView

_FastErBody = Callable[
    [int, str, str, str, bool, bytes, bytes, bytes, bool, tuple[int, ...], int, int, int, int,
     int, int, int, int, int, int, str],
    bytes | None,
]  # fmt: skip
_crender_er_body: _FastErBody | None
try:  # built by `make native` from _crender.c; absent in the pure-Python build
    from gateway.fix._crender import er_body as _crender_er_body
except ImportError:
    _crender_er_body = None

__all__ = [
    "STP_TAG",
    "FixRequestError",
    "avg_px",
    "cancel_reject_body",
    "engine_order_id",
    "er_body",
    "parse_cancel",
    "parse_new_order",
    "parse_replace",
]

STP_TAG: Final = 7928
"""Custom tag SelfTradePreventionMode: 0 none, 1 expire taker, 2 expire maker, 3 both,
4 decrement."""


class FixRequestError(Exception):
    """An application message we refuse before the engine sees it (ER/9 reject)."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


_SIDES: Final = {b"1": Side.BUY, b"2": Side.SELL}
_ORD_TYPES: Final = {b"1": OrdType.MARKET, b"2": OrdType.LIMIT}
# Day (0) has no session end on a 24/7 venue: it is accepted as GTC (documented).
_TIFS: Final = {
    b"0": TimeInForce.GTC,
    b"1": TimeInForce.GTC,
    b"3": TimeInForce.IOC,
    b"4": TimeInForce.FOK,
    b"6": TimeInForce.GTD,
}
_STPS: Final = {b"%d" % m: m for m in Stp}


def _required(msg: FixMessage, tag: int, name: str) -> bytes:
    value = msg.get(tag)
    if not value:
        raise FixRequestError(99, f"{name} ({tag}) is required")
    return value


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


# Inbound decimal text -> grid count, memoized per (step, text): the conversion is a pure
# function of both, so a cache hit is exactly what Instrument.qty_to_lots /
# price_to_ticks would return (errors are never cached). Bounded: cleared when full.
_PARSED: Final[dict[tuple[Decimal, bytes], int]] = {}
_PARSED_MAX: Final = 1 << 16


def _on_grid(
    step: Decimal, value: bytes, convert: Callable[[str], int], reason: int, name: str
) -> int:
    """Exact decimal -> grid count through the bounded cache; errors are never cached."""
    key = (step, value)
    cached = _PARSED.get(key)
    if cached is not None:
        return cached
    try:
        count: int = convert(decimal_text(value.decode("ascii")))
    except (GridError, UnicodeDecodeError) as exc:
        raise FixRequestError(reason, f"{name}: {exc}") from exc
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = count
    return count


def _lots(inst: Instrument, value: bytes, name: str) -> int:
    return _on_grid(inst.lot_size, value, inst.qty_to_lots, 13, name)


def _ticks(inst: Instrument, value: bytes) -> int:
    return _on_grid(inst.tick_size, value, inst.price_to_ticks, 99, "Price (44)")


def _instrument(msg: FixMessage, listings: dict[str, Instrument]) -> Instrument:
    symbol = _text(_required(msg, 55, "Symbol"))
    inst = listings.get(symbol)
    if inst is None:
        raise FixRequestError(1, f"unknown symbol {symbol!r}")
    return inst


def _side(msg: FixMessage) -> Side:
    side = _SIDES.get(_required(msg, 54, "Side"))
    if side is None:
        raise FixRequestError(11, "Side (54) must be 1 (buy) or 2 (sell)")
    return side


def parse_new_order(
    msg: FixMessage, account: str, listings: dict[str, Instrument], origin: int = 0
) -> NewOrder:
    """NewOrderSingle (D) -> NewOrder (sent by session ``origin``); raises
    FixRequestError with an OrdRejReason."""
    clordid = _text(_required(msg, 11, "ClOrdID"))
    inst = _instrument(msg, listings)
    side = _side(msg)
    ord_type = _ORD_TYPES.get(_required(msg, 40, "OrdType"))
    if ord_type is None:
        raise FixRequestError(11, "OrdType (40) must be 1 (market) or 2 (limit)")
    tif_raw = msg.get(59) or b"1"
    tif = _TIFS.get(tif_raw)
    if tif is None:
        raise FixRequestError(11, "TimeInForce (59) must be 0, 1, 3, 4 or 6")
    if ord_type == OrdType.MARKET and tif in (TimeInForce.GTC, TimeInForce.GTD):
        tif = TimeInForce.IOC  # a market order never rests
    qty = quote_qty = price = expire = 0
    raw_qty, raw_cash = msg.get(38), msg.get(152)
    if raw_cash is not None:
        if ord_type != OrdType.MARKET or raw_qty is not None:
            raise FixRequestError(11, "CashOrderQty (152) is for market orders without OrderQty")
        try:
            quote_qty = decimal_to_units(decimal_text(raw_cash.decode("ascii")))
        except (GridError, UnicodeDecodeError) as exc:
            raise FixRequestError(13, f"CashOrderQty (152): {exc}") from exc
        if quote_qty <= 0:
            raise FixRequestError(13, "CashOrderQty (152) must be positive")
    elif raw_qty is not None:
        qty = _lots(inst, raw_qty, "OrderQty (38)")
    else:
        raise FixRequestError(13, "OrderQty (38) or CashOrderQty (152) is required")
    if ord_type == OrdType.LIMIT:
        price = _ticks(inst, _required(msg, 44, "Price"))
    elif msg.get(44) is not None:
        raise FixRequestError(11, "Price (44) is not allowed on market orders")
    if tif == TimeInForce.GTD:
        raw_expire = msg.get(126)
        if raw_expire is None:
            raise FixRequestError(11, "ExpireTime (126) is required for TimeInForce=6 (GTD)")
        parsed = parse_utc_timestamp(raw_expire)
        if parsed is None:
            raise FixRequestError(11, "ExpireTime (126) is not a UTCTimestamp")
        expire = parsed
    exec_inst = (msg.get(18) or b"").split(b" ")
    post_only = b"6" in exec_inst
    reduce_only = b"E" in exec_inst  # Do Not Increase
    stp: Stp | None = None
    raw_stp = msg.get(STP_TAG)
    if raw_stp is not None:
        stp = _STPS.get(raw_stp)
        if stp is None:
            raise FixRequestError(11, f"SelfTradePreventionMode ({STP_TAG}) must be 0-4")
    return NewOrder(
        account,
        inst.symbol,
        side,
        ord_type,
        qty,
        price,
        tif,
        clordid,
        quote_qty,
        post_only,
        stp,
        expire,
        origin,
        reduce_only,
    )


def engine_order_id(raw: bytes | None) -> int:
    """OrderID (37) as an engine order id; 0 if it is none: absent, not digits, or above
    the engine's 64-bit ids (int() refuses over 4300 digits, the journal over 64 bits)."""
    if raw and raw.isdigit() and len(raw) <= 19:
        order_id = int(raw)
        if order_id <= MAX_COUNT:
            return order_id
    return 0


def _order_ref(msg: FixMessage) -> tuple[int, str]:
    """(OrderID 37 as engine id, OrigClOrdID 41); one of them is needed."""
    orig = msg.get(41)
    order_id = engine_order_id(msg.get(37))
    if not order_id and not orig:
        raise FixRequestError(99, "OrigClOrdID (41) or OrderID (37) is required")
    return order_id, _text(orig) if orig else ""


def parse_cancel(
    msg: FixMessage, account: str, listings: dict[str, Instrument], origin: int = 0
) -> Cancel:
    """OrderCancelRequest (F) -> Cancel."""
    clordid = _text(_required(msg, 11, "ClOrdID"))
    inst = _instrument(msg, listings)
    order_id, orig = _order_ref(msg)
    return Cancel(account, inst.symbol, order_id, "" if order_id else orig, clordid, origin)


def parse_replace(
    msg: FixMessage, account: str, listings: dict[str, Instrument], origin: int = 0
) -> Replace:
    """OrderCancelReplaceRequest (G) -> Replace (OrderQty is the new total quantity)."""
    clordid = _text(_required(msg, 11, "ClOrdID"))
    inst = _instrument(msg, listings)
    order_id, orig = _order_ref(msg)
    qty = _lots(inst, _required(msg, 38, "OrderQty"), "OrderQty (38)")
    raw_price = msg.get(44)
    price = _ticks(inst, raw_price) if raw_price is not None else 0
    return Replace(
        account, inst.symbol, qty, price, order_id, "" if order_id else orig, clordid, origin
    )


# ------------------------------------------------------------------ rendering


class _Grid:
    """Exact decimal text of integer multiples of one grid step, memoized.

    ``text(n)`` equals the engine's ``_fmt(step * n)`` (normalized, no exponent): the
    product is formed with integers (n * mantissa, decimal point ``scale`` digits from
    the right) and trailing zeros are stripped, which is what Decimal.normalize does.
    Beyond 20 digits it defers to Decimal so the (28-digit) context rounding is kept.
    """

    __slots__ = ("cache", "mant", "pow10", "scale", "step")

    def __init__(self, step: Decimal) -> None:
        self.step = step
        # the smallest mantissa (1E-3, not 1000E-6): "0.0010" and "0.001" are one grid
        # (they share the _GRIDS entry), and products stay in the exact integer range
        canonical = step.normalize(_WIDE)
        exp = int(canonical.as_tuple().exponent)
        self.scale = max(0, -exp)
        self.mant = int(canonical.scaleb(self.scale, _WIDE))
        self.pow10 = 10**self.scale
        self.cache: dict[int, bytes] = {}

    def text(self, n: int) -> bytes:
        b = self.cache.get(n)
        if b is None:
            b = self._format(n)
            if len(self.cache) >= _PARSED_MAX:
                self.cache.clear()
            self.cache[n] = b
        return b

    def _format(self, n: int) -> bytes:
        v = n * self.mant
        if not -_BIG < v < _BIG:
            text = format((self.step * n).normalize(), "f")
            return b"0" if text in ("-0", "0") else text.encode()
        scale = self.scale
        if not scale:
            return b"%d" % v
        digits = b"%0*d" % (scale + 1, abs(v))
        frac = digits[-scale:].rstrip(b"0")
        out = digits[:-scale] + b"." + frac if frac else digits[:-scale]
        return b"-" + out if v < 0 else out


_BIG: Final = 10**20
# exact for any grid step or average a config or the engine can produce
_WIDE: Final = Context(prec=100, Emax=MAX_EMAX, Emin=MIN_EMIN)
_EIGHT_PLACES: Final = Decimal("1e-8")
_GRIDS: Final[dict[Decimal, _Grid]] = {}


def _grid(step: Decimal) -> _Grid:
    g = _GRIDS.get(step)
    if g is None:
        g = _GRIDS[step] = _Grid(step)
    return g


_UNITS: Final = _grid(ASSET_UNIT)


def price_text(inst: Instrument, ticks: int) -> bytes:
    """``inst.ticks_to_price(ticks)`` as bytes, exact, memoized per tick count."""
    return _grid(inst.tick_size).text(ticks)


def qty_text(inst: Instrument, lots: int) -> bytes:
    """``inst.lots_to_qty(lots)`` as bytes, exact, memoized per lot count."""
    return _grid(inst.lot_size).text(lots)


def avg_px(inst: Instrument, notional: int, filled: int) -> str:
    """Average price as a decimal string (8 decimals at most, normalized)."""
    return _avg_px_of(_grid(inst.lot_size), notional, filled).decode()


def _avg_px_of(lot: _Grid, notional: int, filled: int) -> bytes:
    if not filled:
        return b"0"
    # Exact integer path when the average is a whole number of 1e-8 units: then the
    # Decimal division below is exact too and quantize/normalize only strip zeros.
    num = notional * lot.pow10
    den = lot.mant * filled
    q, r = divmod(num, den)
    if not r and 0 <= q < _BIG:
        return _UNITS.text(q)
    # the default 28-digit context cannot quantize an average of 1e20 units or more
    ctx = _WIDE
    value = ctx.divide(ctx.multiply(Decimal(notional), ASSET_UNIT), ctx.multiply(lot.step, filled))
    return format(ctx.quantize(value, _EIGHT_PLACES).normalize(ctx), "f").encode()


ORD_STATUS: Final = {
    OrderStatus.NEW: b"0",
    OrderStatus.PARTIALLY_FILLED: b"1",
    OrderStatus.FILLED: b"2",
    OrderStatus.CANCELED: b"4",
    OrderStatus.REPLACED: b"5",
    OrderStatus.REJECTED: b"8",
    OrderStatus.EXPIRED: b"C",
}


class OrderState:
    """An order's dynamic state as of one event (the tracker's view is end-of-batch).

    One is built per ExecutionReport: a plain class, which mypyc compiles (a
    NamedTuple's generated ``__new__`` stays interpreted, ~0.3 us); Final keeps it
    read-only for mypy, as the NamedTuple was."""

    __slots__ = ("filled", "leaves", "notional", "price", "qty", "status")

    def __init__(
        self, status: OrderStatus, qty: int, price: int, leaves: int, filled: int, notional: int
    ) -> None:
        self.status: Final = status
        self.qty: Final = qty
        self.price: Final = price
        self.leaves: Final = leaves
        self.filled: Final = filled
        self.notional: Final = notional

    def __repr__(self) -> str:
        return (
            f"OrderState({self.status!r}, qty={self.qty}, price={self.price},"
            f" leaves={self.leaves}, filled={self.filled}, notional={self.notional})"
        )


def er_body(
    view: OrderView,
    state: OrderState,
    inst: Instrument,
    exec_id: str,
    exec_type: bytes,
    ts_us: int,
    fix42: bool,
    *,
    clordid: str = "",
    orig_clordid: str = "",
    last_px: int = 0,
    last_qty: int = 0,
    commission: int = 0,
    liquidity: int = 0,
    text: str = "",
    extra: tuple[tuple[int, bytes | str | int], ...] = (),
    accelerate: bool = True,
) -> bytes:
    """ExecutionReport (8) body: static order fields from view, the rest from state.

    Encoded directly as ``tag=value<SOH>`` runs, in the order 37, 11, [41], 17, [20],
    150, 39, then the fields fixed for the order's life (1, 55, 54, 40, [152], 59,
    [18], rendered once per order: :func:`_static_fields`), 38, [44], [32, 31], 151,
    14, 6, 60, [12, 13, [851]], extra..., [58]. Body field order is free in FIX
    outside repeating groups.

    With the native build the bytes are written by ``_crender.er_body`` in C when
    every number is in its exact integer range (``accelerate=False`` turns it off);
    :func:`_render_er` is the reference and takes everything else.
    """
    if fix42 and exec_type == b"F":
        exec_type = b"2" if state.status == OrderStatus.FILLED else b"1"
    grids = _GRIDS_OF.get(view.symbol)
    if grids is None:
        grids = _GRIDS_OF[view.symbol] = _Grids(inst)
    static = view.edge_cache
    if not static:
        static = view.edge_cache = _static_fields(view)
    clordid = clordid or view.client_order_id or "NONE"
    limit = view.ord_type == OrdType.LIMIT
    fast = _crender_er_body if accelerate else None
    if fast is not None and not extra:
        body = fast(
            view.order_id, clordid, orig_clordid, exec_id, fix42, exec_type,
            ORD_STATUS[state.status], static, limit, grids.ints, state.qty, state.price,
            last_qty, last_px, state.leaves, state.filled, state.notional, ts_us,
            commission, liquidity, text,
        )  # fmt: skip
        if body is not None:
            return body
    return _render_er(
        view.order_id, clordid, orig_clordid, exec_id, fix42, exec_type,
        ORD_STATUS[state.status], static, limit, grids, state.qty, state.price, last_qty,
        last_px, state.leaves, state.filled, state.notional, format_utc_timestamp(ts_us, 6),
        commission, liquidity, text, extra,
    )  # fmt: skip


def _render_er(
    order_id: int,
    clordid: str,
    orig_clordid: str,
    exec_id: str,
    fix42: bool,
    exec_type: bytes,
    ord_status: bytes,
    static: bytes,
    limit: bool,
    grids: _Grids,
    qty: int,
    price: int,
    last_qty: int,
    last_px: int,
    leaves: int,
    filled: int,
    notional: int,
    transact_time: bytes,
    commission: int,
    liquidity: int,
    text: str,
    extra: tuple[tuple[int, bytes | str | int], ...],
) -> bytes:
    """The ER body of :func:`er_body` from its fields: the reference for ``_crender``."""
    lots, ticks = grids.lot.text, grids.tick.text
    parts = [b"37=%d\x0111=%s\x01" % (order_id, clordid.encode())]
    if orig_clordid:
        parts.append(b"41=%s\x01" % orig_clordid.encode())
    parts.append(
        b"17=%s\x01%s150=%s\x0139=%s\x01%s38=%s\x01"
        % (
            exec_id.encode(),
            b"20=0\x01" if fix42 else b"",
            exec_type,
            ord_status,
            static,
            lots(qty),
        )
    )
    if limit:
        parts.append(b"44=%s\x01" % ticks(price))
    if last_qty:
        parts.append(b"32=%s\x0131=%s\x01" % (lots(last_qty), ticks(last_px)))
    parts.append(
        b"151=%s\x0114=%s\x016=%s\x0160=%s\x01"
        % (lots(leaves), lots(filled), _avg_px_of(grids.lot, notional, filled), transact_time)
    )
    if last_qty:
        parts.append(b"12=%s\x0113=3\x01" % _UNITS.text(commission))
        if liquidity and not fix42:
            parts.append(b"851=%d\x01" % liquidity)
    if extra:
        parts.append(encode_fields(extra))
    if text:
        parts.append(b"58=%s\x01" % text.encode())
    return b"".join(parts)


def _static_fields(view: OrderView) -> bytes:
    """The ER fields an order keeps for its life: 1, 55, 54, 40, [152], 59, [18 (6, E)]."""
    limit = view.ord_type == OrdType.LIMIT
    return b"1=%s\x0155=%s\x0154=%s\x0140=%s\x01%s59=%s\x01%s" % (
        view.account.encode(),
        view.symbol.encode(),
        b"1" if view.side == Side.BUY else b"2",
        b"2" if limit else b"1",
        b"152=%s\x01" % _UNITS.text(view.quote_qty) if view.quote_qty else b"",
        _TIF_OUT.get(view.tif, b"1"),
        _EXEC_INST[view.post_only, view.reduce_only],
    )


#: ExecInst (18) as the order was placed: 6 post-only (Participate Don't Initiate),
#: E reduce-only (Do Not Increase), both space-separated (a MultipleCharValue)
_EXEC_INST: Final = {
    (False, False): b"",
    (True, False): b"18=6\x01",
    (False, True): b"18=E\x01",
    (True, True): b"18=6 E\x01",
}


class _Grids:
    """One instrument's grids for ER rendering; ``ints`` is what ``_crender`` takes:
    (lot mantissa, lot scale, tick mantissa, tick scale, unit mantissa, unit scale)."""

    __slots__ = ("ints", "lot", "tick")

    def __init__(self, inst: Instrument) -> None:
        self.lot: Final = _grid(inst.lot_size)
        self.tick: Final = _grid(inst.tick_size)
        lot, tick = self.lot, self.tick
        self.ints: Final = (lot.mant, lot.scale, tick.mant, tick.scale, _UNITS.mant, _UNITS.scale)


# symbol -> its grids: saves hashing two Decimals per ER
_GRIDS_OF: Final[dict[str, _Grids]] = {}


_TIF_OUT: Final[dict[int, bytes]] = {
    TimeInForce.GTC: b"1",
    TimeInForce.IOC: b"3",
    TimeInForce.FOK: b"4",
    TimeInForce.GTD: b"6",
}


def units_text(units: int) -> str:
    return _UNITS.text(units).decode()


def reject_er_body(
    msg_fields: dict[int, str], exec_id: str, ts_us: int, fix42: bool, reason: int, text: str
) -> bytes:
    """ExecutionReport 150=8/39=8 for a NewOrderSingle that never became an order."""
    fields: list[tuple[int, bytes | str | int]] = [
        (ORDER_ID, "NONE"),
        (CL_ORD_ID, msg_fields.get(CL_ORD_ID, "NONE")),
        (EXEC_ID, exec_id),
    ]
    if fix42:
        fields.append((EXEC_TRANS_TYPE, b"0"))
    fields += [(EXEC_TYPE, b"8"), (ORD_STATUS_TAG, b"8")]
    for tag in (ACCOUNT, SYMBOL, SIDE, ORDER_QTY, ORD_TYPE, PRICE):
        if msg_fields.get(tag):
            fields.append((tag, msg_fields[tag]))
    fields += [
        (LEAVES_QTY, b"0"),
        (CUM_QTY, b"0"),
        (AVG_PX, b"0"),
        (ORD_REJ_REASON, reason),
        (TRANSACT_TIME, format_utc_timestamp(ts_us, 6)),
        (TEXT, text),
    ]
    return encode_fields(fields)


def cancel_reject_body(
    order_id: str,
    clordid: str,
    orig_clordid: str,
    status: bytes,
    response_to: bytes,
    reason: int,
    text: str,
    account: str = "",
) -> bytes:
    """OrderCancelReject (9). response_to: b"1" cancel, b"2" replace."""
    fields: list[tuple[int, bytes | str | int]] = [
        (ORDER_ID, order_id or "NONE"),
        (CL_ORD_ID, clordid or "NONE"),
        (ORIG_CL_ORD_ID, orig_clordid or "NONE"),
        (ORD_STATUS_TAG, status),
    ]
    if account:
        fields.append((ACCOUNT, account))
    fields += [(CXL_REJ_RESPONSE_TO, response_to), (CXL_REJ_REASON, reason), (TEXT, text)]
    return encode_fields(fields)


CLOSE_TEXT: Final = {
    CloseReason.USER_CANCEL: "canceled by request",
    CloseReason.MASS_CANCEL: "canceled by mass cancel",
    CloseReason.IOC_REMAINDER: "unfilled remainder of an immediate order",
    CloseReason.FOK_NOT_FILLABLE: "fill-or-kill could not be filled in full",
    CloseReason.GTD_EXPIRED: "good-till-date expiry reached",
    CloseReason.COLLAR_REACHED: "market order reached the price collar",
    CloseReason.NO_LIQUIDITY: "no more liquidity for the market order",
    CloseReason.INSUFFICIENT_BALANCE: "market order ran out of funds",
    CloseReason.STP_EXPIRE_TAKER: "self-trade prevention: taker expired",
    CloseReason.STP_EXPIRE_MAKER: "self-trade prevention: maker expired",
    CloseReason.STP_EXPIRE_BOTH: "self-trade prevention: both expired",
    CloseReason.STP_DECREMENT: "self-trade prevention: decremented",
    CloseReason.TENANT_SUSPENDED: "canceled: the account's tenant is suspended",
    CloseReason.DELISTED: "canceled: the instrument is delisted",
    CloseReason.LIQUIDATION: "canceled: margin released for a liquidation",
    CloseReason.REDUCE_ONLY: "reduce-only order: the position closed or flipped",
}
