"""What every protocol edge shares, so that a new edge (admin API, console) reuses the
policies instead of copying them: the order-owner registry, cancel-on-disconnect, the
rate limiter, the reject table (one row per engine reject code, with what each edge
answers) and the instrument list the JSON edges (WS, REST) publish.

On the per-order path (the owner registry, the reject table), so `make native`
compiles it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Generic, TypeVar

from engine.commands import Cancel
from engine.events import OrderRejected, RejectCode
from engine.model import TradingStatus, units_to_decimal
from engine.venue.sessions import SessionClosed, SessionOpened
from gateway.host import EngineHost, Origin

__all__ = [
    "COD_REQUEST_ID",
    "ENGINE_CODE_BASE",
    "REJECTS",
    "OwnerRegistry",
    "RateLimiter",
    "RejectRule",
    "cancel_on_disconnect",
    "close_session",
    "fix_reject_text",
    "instrument_list",
    "open_session",
    "reject_rule",
]

# ------------------------------------------------------------------- reject table

#: WS error code of engine reject ``code``: ENGINE_CODE_BASE + code (docs/WS_API.md).
ENGINE_CODE_BASE: Final = 2000
#: FIX OrdRejReason (103) / CxlRejReason (102) "Other".
_OTHER: Final = 99


class RejectRule:
    """What each edge answers for one engine reject code.

    ``ord_rej_reason``: FIX OrdRejReason (103) of a rejected NewOrderSingle;
    ``cxl_rej_reason``: FIX CxlRejReason (102) of a rejected cancel or replace;
    ``ws_code`` and ``ws_status``: the WS error's code and status. The texts: FIX
    Text (58) is :func:`fix_reject_text`, the WS message is the engine's text.
    """

    __slots__ = ("cxl_rej_reason", "ord_rej_reason", "ws_code", "ws_status")

    def __init__(
        self, code: int, ord_rej_reason: int, *, cxl_rej_reason: int = _OTHER, ws_status: int = 400
    ) -> None:
        self.ord_rej_reason = ord_rej_reason
        self.cxl_rej_reason = cxl_rej_reason
        self.ws_code = ENGINE_CODE_BASE + code
        self.ws_status = ws_status

    def __repr__(self) -> str:
        return (
            f"RejectRule(ord={self.ord_rej_reason}, cxl={self.cxl_rej_reason},"
            f" ws={self.ws_code}/{self.ws_status})"
        )


def _rule(code: RejectCode, ord_rej_reason: int, **kw: int) -> tuple[int, RejectRule]:
    return int(code), RejectRule(int(code), ord_rej_reason, **kw)


#: engine reject code -> what the edges answer. Every RejectCode has a row (a test
#: enumerates the enum): a new code must decide its FIX reasons and WS status here.
REJECTS: Final[dict[int, RejectRule]] = dict(
    [
        _rule(RejectCode.UNKNOWN_INSTRUMENT, 1, ws_status=404),
        _rule(RejectCode.UNKNOWN_ACCOUNT, 15),
        _rule(RejectCode.ACCOUNT_DISABLED, 15),
        _rule(RejectCode.TRADING_HALTED, 2),
        _rule(RejectCode.INSTRUMENT_HALTED, 2),
        _rule(RejectCode.INSTRUMENT_CANCEL_ONLY, 2),
        _rule(RejectCode.INVALID_QUANTITY, 13),
        _rule(RejectCode.INVALID_PRICE, _OTHER),
        _rule(RejectCode.BELOW_MIN_QTY, 13),
        _rule(RejectCode.BELOW_MIN_NOTIONAL, _OTHER),
        _rule(RejectCode.PRICE_OUTSIDE_COLLAR, _OTHER),
        _rule(RejectCode.MAX_ORDER_QTY, 3),
        _rule(RejectCode.MAX_ORDER_NOTIONAL, 3),
        _rule(RejectCode.MAX_OPEN_ORDERS, 3),
        _rule(RejectCode.INSUFFICIENT_BALANCE, 3),
        _rule(RejectCode.DUPLICATE_CLIENT_ORDER_ID, 6, ws_status=409),
        _rule(RejectCode.POST_ONLY_WOULD_TAKE, 11),
        _rule(RejectCode.INVALID_TIME_IN_FORCE, 11),
        _rule(RejectCode.INVALID_EXPIRE_TIME, 11),
        _rule(RejectCode.UNKNOWN_ORDER, 5, cxl_rej_reason=1, ws_status=404),
        _rule(RejectCode.REPLACE_BELOW_FILLED, _OTHER),
        _rule(RejectCode.INVALID_ORDER, 11),
        _rule(RejectCode.ALREADY_EXISTS, _OTHER),
        _rule(RejectCode.INVALID_AMOUNT, _OTHER),
        _rule(RejectCode.INVALID_COMMAND, _OTHER),
        _rule(RejectCode.UNKNOWN_TENANT, 15, ws_status=404),
        _rule(RejectCode.INVALID_TRANSITION, _OTHER, ws_status=409),
        _rule(RejectCode.TENANT_SUSPENDED, 0, ws_status=403),
        _rule(RejectCode.KYC_FORBIDS, 0, ws_status=403),
        _rule(RejectCode.NOT_FLAT, _OTHER, ws_status=409),
        _rule(RejectCode.LIMIT_EXCEEDED, 3),
        _rule(RejectCode.NOT_LISTED, 1, ws_status=404),  # as unknown: hidden stays hidden
        _rule(RejectCode.UNKNOWN_CREDENTIAL, _OTHER, ws_status=404),
        _rule(RejectCode.UNKNOWN_OPERATOR, _OTHER, ws_status=404),
        _rule(RejectCode.SAME_ACTOR, _OTHER, ws_status=403),
        _rule(RejectCode.UNKNOWN_REQUEST, _OTHER, ws_status=404),
        _rule(RejectCode.ACCOUNT_CLOSED, 15, ws_status=403),
        _rule(RejectCode.INSTRUMENT_DELISTED, 2),
        _rule(RejectCode.REDUCE_ONLY, _OTHER),  # would open/increase where only reductions go
    ]
)


def reject_rule(code: int) -> RejectRule:
    """The row of ``code``; a code this build does not know (a newer journal) gets
    "Other" on FIX and status 400 on WS."""
    rule = REJECTS.get(code)
    return rule if rule is not None else RejectRule(code, _OTHER)


def fix_reject_text(code: int, text: str) -> str:
    """FIX Text (58) of an engine reject: the engine's code, then its text."""
    return f"E{code}: {text}"


# ------------------------------------------------------------------- rate limiter


class RateLimiter:
    """Token bucket: ``rate`` messages per second, bursts up to ``rate``. The caller
    passes the (monotonic) time, so a session reads the clock once per message."""

    __slots__ = ("last", "rate", "tokens")

    def __init__(self, rate: int, now: float) -> None:
        self.rate = float(rate)
        self.tokens = float(rate)
        self.last = now

    def take(self, now: float) -> bool:
        """One message at ``now``: True if it is within the rate."""
        tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


# ------------------------------------------------------------------- order owners

S = TypeVar("S")


class OwnerRegistry(Generic[S]):
    """Which session placed each live order, and each session's live orders: reports
    go to the owner, and cancel-on-disconnect cancels what a session owns. An edge
    adds an order when it learns its id and releases it when the order is done."""

    __slots__ = ("_owned", "_owner")

    def __init__(self) -> None:
        self._owner: dict[int, S] = {}
        self._owned: dict[S, dict[int, None]] = {}

    def __len__(self) -> int:
        return len(self._owner)

    def add(self, order_id: int, session: S) -> None:
        self._owner[order_id] = session
        owned = self._owned.get(session)
        if owned is None:
            owned = self._owned[session] = {}
        owned[order_id] = None

    def owner(self, order_id: int) -> S | None:
        return self._owner.get(order_id)

    def release(self, order_id: int) -> None:
        """The order is done (filled, canceled, expired): forget its owner."""
        session = self._owner.pop(order_id, None)
        if session is not None:
            owned = self._owned.get(session)
            if owned is not None:
                owned.pop(order_id, None)

    def orders_of(self, session: S) -> list[int]:
        """The live orders ``session`` placed, in order id order."""
        return sorted(self._owned.get(session, ()))

    def drop(self, session: S) -> list[int]:
        """Forget ``session`` and its orders (it is gone); the order ids it owned."""
        owned = self._owned.pop(session, None)
        if owned is None:
            return []
        for order_id in owned:
            if self._owner.get(order_id) is session:
                del self._owner[order_id]
        return sorted(owned)


# ------------------------------------------------------------------- cancel-on-disconnect

#: Cancel.request_id of the cancels cancel-on-disconnect submits: no client's request,
#: so an edge's report carries no ClOrdID/request id for them.
COD_REQUEST_ID: Final = "cancel-on-disconnect"


def cancel_on_disconnect(
    host: EngineHost, order_ids: Iterable[int], origin: Origin | None, session: int = 0
) -> int:
    """Cancel each of ``order_ids`` still live in the engine, in the given order, as
    ``origin`` (journaled as sent by ``session``); the number of cancels submitted."""
    live = host.engine.orders
    submitted = 0
    for order_id in order_ids:
        order = live.get(order_id)
        if order is not None:
            host.submit(
                Cancel(
                    order.account, order.symbol, order_id, request_id=COD_REQUEST_ID,
                    origin=session,
                ),
                origin,
            )  # fmt: skip
            submitted += 1
    return submitted


# ------------------------------------------------------------------- sessions


def open_session(host: EngineHost, protocol: str, name: str, account: str, source: str) -> int:
    """Journal a logon; the session's id (the seq of its SessionOpened), 0 if refused."""
    events = host.submit(SessionOpened(protocol, name, account, source))
    if events and type(events[0]) is OrderRejected:
        return 0
    return host.engine.last_seq


def close_session(host: EngineHost, session: int, reason: str) -> None:
    """Journal the end of session ``session`` (nothing for 0: it was never opened)."""
    if session:
        host.submit(SessionClosed(session, reason))


# ------------------------------------------------------------------- instruments


def instrument_list(host: EngineHost) -> list[dict[str, Any]]:
    """The instruments as published by `instruments` and GET /api/v1/instruments."""
    out = []
    for symbol, listing in host.engine.listings.items():
        inst = listing.instrument
        out.append(
            {
                "symbol": symbol,
                "base": inst.base,
                "quote": inst.quote,
                "tick_size": format(inst.tick_size, "f"),
                "lot_size": format(inst.lot_size, "f"),
                "min_qty": inst.lots_to_qty(inst.min_qty),
                "min_notional": units_to_decimal(inst.min_notional),
                "status": TradingStatus(listing.status).name.lower(),
            }
        )
    return out
