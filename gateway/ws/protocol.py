"""WebSocket JSON protocol, sans-I/O: one :class:`Session` per connection.

The session parses requests, enforces logon and the rate limit, converts decimal
strings to engine integers (exactly: off-grid is an error, never a rounding), submits
commands to the EngineHost, and writes frames to its :class:`Outbox`. It never
touches a socket; the server feeds it frames and drains the outbox.

Ordering: answers leave in request order, and an answer reflects every earlier
request on the same connection. Commands are submitted at once (pipelining); their
answers are produced by :meth:`Session.on_batch` when the host releases the event
batch after the journal group commit (journal before acknowledge). A read request
(order.status, subscribe, ...) waits in the inbox until every earlier command of the
connection has been answered. A store read (``*.history``) is the one answer that
needs I/O: the session hands its coroutine to the venue (:meth:`Venue.spawn`) and
holds every later request until it has answered.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson

from engine.commands import Cancel, Command, MassCancel, NewOrder, Replace
from engine.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    OrderReplaced,
    RejectCode,
    Trade,
    VenueEvent,
)
from engine.model import (
    ASSET_UNIT,
    GridError,
    Instrument,
    OrdType,
    Side,
    Stp,
    TimeInForce,
    decimal_to_units,
    units_to_decimal,
)
from engine.perp.commands import AdjustIsolatedMargin, SetLeverage, SetMarginMode
from engine.venue.funds import OPEN_WITHDRAWAL, CancelWithdrawal, RequestWithdrawal
from engine.venue.tenancy_commands import Transfer
from gateway.decimals import decimal_text
from gateway.edges import RateLimiter, cancel_on_disconnect
from gateway.follower.history import Query
from gateway.follower.store import StoreUnavailable
from gateway.funds import client_withdrawal
from gateway.orders import OrderView
from gateway.perp_views import positions_of
from gateway.scopes import METHOD_SCOPES, PUBLIC_METHODS, READ
from gateway.ws.errors import (
    CLOSE_CREDENTIAL,
    ApiError,
    ErrorCode,
    close_reason_name,
    engine_error,
    status_name,
)
from gateway.ws.history import HISTORY_METHODS, client_proof, read_page
from gateway.ws.outbox import Outbox
from gateway.ws.perp import PERP_KINDS, PerpFeed, PerpSubscription, parse_perp_channel
from gateway.ws.subscriptions import Subscription, parse_channel

if TYPE_CHECKING:
    from gateway.config import WsConfig
    from gateway.edges import OwnerRegistry
    from gateway.funds import WithdrawalView
    from gateway.host import EngineHost, EventBatch
    from gateway.marketdata import MarketDataPublisher
    from gateway.orders import OrderTracker
    from gateway.readstore import ReadStore
    from gateway.ws.auth import KeyRing, LiveKey
    from gateway.ws.subscriptions import WsMarketData

__all__ = [
    "COMMAND_METHODS",
    "MAX_SUBSCRIPTIONS",
    "METHODS",
    "Pending",
    "Session",
    "Venue",
    "fill_shape",
    "order_shape",
]

MAX_SUBSCRIPTIONS = 64
MAX_CLIENT_ID = 36
MAX_LIST = 1000
_MAX_INT64 = (1 << 63) - 1
_WITHDRAWAL_STATES = (*sorted(OPEN_WITHDRAWAL), "completed", "rejected", "canceled")

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_SIDE_NAMES = {int(v): k for k, v in _SIDES.items()}
_TYPES = {"limit": OrdType.LIMIT, "market": OrdType.MARKET}
_TYPE_NAMES = {int(v): k for k, v in _TYPES.items()}
_TIFS = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK,
         "gtd": TimeInForce.GTD}  # fmt: skip
_TIF_NAMES = {int(v): k for k, v in _TIFS.items()}
_STPS = {m.name.lower(): m for m in Stp}


# ------------------------------------------------------------------- shapes


def _avg_price(inst: Instrument, notional: int, filled: int) -> str | None:
    """notional (quote units) / base quantity, rounded half-even to tick decimals + 4."""
    if not filled:
        return None
    value = Decimal(notional) * ASSET_UNIT / (inst.lot_size * filled)
    exp = min(inst.tick_size.as_tuple().exponent, 0)
    assert isinstance(exp, int)
    text = format(value.quantize(Decimal(1).scaleb(exp - 4)).normalize(), "f")
    return text


def order_shape(view: OrderView, inst: Instrument) -> dict[str, Any]:
    """The one order shape every answer and user update uses."""
    return {
        "id": view.order_id,
        "client_order_id": view.client_order_id,
        "symbol": view.symbol,
        "side": _SIDE_NAMES[view.side],
        "type": _TYPE_NAMES[view.ord_type],
        "time_in_force": _TIF_NAMES.get(view.tif, "gtc"),
        "status": status_name(view.status),
        "price": inst.ticks_to_price(view.price) if view.price else None,
        "quantity": inst.lots_to_qty(view.qty),
        "quote_quantity": units_to_decimal(view.quote_qty) if view.quote_qty else None,
        "filled": inst.lots_to_qty(view.filled),
        "remaining": inst.lots_to_qty(view.leaves),
        "average_price": _avg_price(inst, view.notional, view.filled),
        "fee": units_to_decimal(view.fee),
        "fee_asset": inst.quote,
        "reason": close_reason_name(view.reason),
        "reduce_only": view.reduce_only,
        "ts_us": view.updated_us,
    }


def fill_shape(trade: Trade, inst: Instrument, maker: bool) -> dict[str, Any]:
    side = trade.taker_side if not maker else (3 - trade.taker_side)
    return {
        "trade_id": trade.trade_id,
        "order_id": trade.maker_order_id if maker else trade.taker_order_id,
        "client_order_id": trade.maker_client_order_id if maker else trade.taker_client_order_id,
        "symbol": trade.symbol,
        "side": _SIDE_NAMES[side],
        "price": inst.ticks_to_price(trade.price),
        "quantity": inst.lots_to_qty(trade.qty),
        "fee": units_to_decimal(trade.maker_fee if maker else trade.taker_fee),
        "fee_asset": inst.quote,
        "liquidity": "maker" if maker else "taker",
        "ts_us": trade.ts_us,
    }


def transfer_shape(events: list[Event]) -> dict[str, Any]:
    """A done transfer (its VenueEvent) as the transfer method answers it."""
    (done,) = [e for e in events if type(e) is VenueEvent]
    assert isinstance(done, VenueEvent)
    data = done.data
    amount = data["amount"]
    assert isinstance(amount, int)
    return {
        "transfer_id": data["transfer_id"],
        "from_account": data["from_account"],
        "to_account": data["to_account"],
        "asset": data["asset"],
        "amount": units_to_decimal(amount),
    }


def _answer(req_id: object, result: Any) -> bytes:
    return orjson.dumps({"id": req_id, "status": 200, "result": result})


def _error(req_id: object, err: ApiError) -> bytes:
    body: dict[str, Any] = {"code": err.code, "msg": err.msg, **err.extra}
    return orjson.dumps({"id": req_id, "status": err.status, "error": body})


# ------------------------------------------------------------------- params


class Params:
    """Typed access to a request's params; unknown names are reported by done()."""

    def __init__(self, method: str, raw: dict[str, Any]) -> None:
        self.method = method
        self.raw = raw
        self.used: set[str] = set()

    def _bad(self, msg: str) -> ApiError:
        return ApiError(ErrorCode.INVALID_PARAMS, f"{self.method}: {msg}")

    def get(self, name: str) -> Any:
        self.used.add(name)
        return self.raw.get(name)

    def str_(self, name: str, *, required: bool = False, max_len: int = 64) -> str | None:
        value = self.get(name)
        if value is None:
            if required:
                raise self._bad(f"missing required parameter '{name}'")
            return None
        if not isinstance(value, str):
            raise self._bad(f"'{name}' must be a string, got {type(value).__name__}")
        if required and not value:
            raise self._bad(f"'{name}' must not be empty")
        if len(value) > max_len:
            raise self._bad(f"'{name}' is longer than {max_len} characters")
        return value

    def choice(self, name: str, table: dict[str, Any], default: str | None = None) -> Any:
        value = self.str_(name, required=default is None)
        if value is None:
            value = default
        assert value is not None
        if value not in table:
            raise self._bad(f"'{name}' must be one of {', '.join(table)}; got {value!r}")
        return table[value]

    def int_(self, name: str, *, required: bool = False) -> int | None:
        value = self.get(name)
        if value is None:
            if required:
                raise self._bad(f"missing required parameter '{name}'")
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self._bad(f"'{name}' must be a non-negative integer, got {value!r}")
        return value

    def bool_(self, name: str) -> bool:
        value = self.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(f"'{name}' must be true or false, got {value!r}")
        return value

    def decimal(self, name: str, convert: Callable[[str], int], *, required: bool = False) -> int:
        """A decimal string converted exactly; 0 when absent and not required."""
        value = self.get(name)
        if value is None:
            if required:
                raise self._bad(f"missing required parameter '{name}'")
            return 0
        if not isinstance(value, str):
            raise self._bad(f"'{name}' must be a decimal string such as \"1.25\", got {value!r}")
        try:
            return convert(decimal_text(value))
        except GridError as exc:
            raise ApiError(ErrorCode.INVALID_DECIMAL, f"{self.method}: {name}: {exc}") from None

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise self._bad(f"unknown parameter '{unknown[0]}'")


def _positive_units(text: str) -> int:
    units = decimal_to_units(text)
    if units <= 0:
        raise GridError(f"amount must be positive, got {text}")
    return units


# ------------------------------------------------------------------- session


class Venue(Protocol):
    """What a session needs of the state every WS session shares (the server's Venue
    implements it): the session does not depend on its server."""

    config: WsConfig
    host: EngineHost
    tracker: OrderTracker
    publisher: MarketDataPublisher
    market: WsMarketData
    keys: KeyRing
    #: order -> its session, for the sessions with cancel_on_disconnect
    owners: OwnerRegistry[Session]
    withdrawals: WithdrawalView
    readstore: ReadStore
    perp: PerpFeed
    #: the answers due in the batch being released, given at the WS listener's turn
    answers: list[tuple[Pending, EventBatch]]

    def clock_ms(self) -> int: ...

    def find_instrument(self, symbol: str) -> Instrument | None: ...

    def instrument(self, symbol: str) -> Instrument: ...

    def instrument_list(self) -> list[dict[str, Any]]: ...

    def order_dict(self, order_id: int) -> dict[str, Any] | None: ...

    def balance_list(self, account: str) -> list[dict[str, str]]: ...

    def count_request(self, method: str, status: int) -> None: ...

    def log_exception(self, method: str) -> None: ...

    def add_user(self, session: Session) -> None: ...

    def remove_user(self, session: Session) -> None: ...

    def logged_on(self, session: Session) -> None:
        """``session`` logged on with ``session.key`` (revoking it closes the session)."""

    def logged_off(self, session: Session) -> None: ...

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (a store read) as a task of the venue's loop."""


#: the commands whose acknowledgement latency is measured (gw_order_ack_latency_seconds)
ORDER_METHODS = frozenset({"order.place", "order.cancel", "order.replace", "position.close"})
#: commands answered with the operator-side record their VenueEvent carries
VENUE_METHODS = frozenset({"withdrawal.request", "withdrawal.cancel"})
#: a perpetual position's settings: answered with the position (as account.positions)
POSITION_SETTINGS = frozenset({"position.leverage", "position.margin_mode", "position.margin"})
COMMAND_METHODS = frozenset(
    {
        "order.place",
        "order.cancel",
        "order.replace",
        "orders.cancel_all",
        "position.close",
        "transfer",
        *VENUE_METHODS,
        *POSITION_SETTINGS,
    }
)
METHODS = (
    "session.logon",
    "order.place",
    "order.cancel",
    "order.replace",
    "orders.cancel_all",
    "order.status",
    "orders.open",
    "account.balances",
    "account.positions",
    "position.close",
    "position.leverage",
    "position.margin_mode",
    "position.margin",
    "subaccount.list",
    "transfer",
    "instruments",
    "subscribe",
    "unsubscribe",
    "withdrawal.request",
    "withdrawal.cancel",
    "withdrawal.status",
    "withdrawal.list",
    *HISTORY_METHODS,
    "liabilities.proof",
)
_ENVELOPE = frozenset({"id", "method", "params"})


@dataclass(slots=True)
class Request:
    id: object
    method: str
    params: dict[str, Any]
    #: time.perf_counter_ns() when its frame was handed to the session
    received_ns: int = 0


@dataclass(slots=True)
class Pending:
    """A request of a session that submitted a command: the command's EventBatch
    origin (``gateway.host.Origin``), which hands the session its answer."""

    session: Session
    req_id: object
    method: str
    trailer: list[bytes] | None = None

    def on_batch(self, batch: EventBatch) -> None:
        """Handed the batch before the listeners: the answer waits for the WS
        listener's turn (after the market data, so that a request behind it reads the
        book with the order in it)."""
        self.session.venue.answers.append((self, batch))


class Session:
    """One WebSocket connection's protocol state."""

    def __init__(self, venue: Venue, outbox: Outbox, peer: str = "", peer_ip: str = "") -> None:
        self.venue = venue
        self.outbox = outbox
        self.peer = peer
        #: the peer's IP address, checked against the key's allowlist at logon
        self.peer_ip = peer_ip
        self.account: str | None = None
        self.api_key = ""
        #: the key this session logged on with: its scopes and expiry
        self.key: LiveKey | None = None
        #: closes the connection with (close code, reason); set by the server
        self.closer: Callable[[int, str], None] | None = None
        self.cancel_on_disconnect = False
        self.subs: dict[str, Subscription | PerpSubscription] = {}
        self.user = False
        self.user_seq = 0
        self.unacked = 0
        #: a store read in flight: every later request waits for its answer
        self.reading = False
        #: seq of the last command of this session that was answered
        self.answered_seq = 0
        self.last_pending: Pending | None = None
        self.inbox: deque[Request | bytes] = deque()
        #: received_ns of the orders answered and not yet written (the server times them)
        self.acked: list[int] = []
        self.limiter = RateLimiter(venue.config.max_requests_per_s, time.monotonic())
        self.closed = False
        #: the journaled id of this logon (0 = none), stamped on the orders it sends
        self.origin = 0
        #: why the session ended, for the journal
        self.logout_reason = "connection closed"
        #: since when (us): the connection, then the logon's journal time
        self.since_us = 0
        #: frames read, frames written (counted by the server as it writes them) and
        #: requests refused by the rate limit: plain increments, read by the console and
        #: the admin API, which make rates of them
        self.msgs_in = 0
        self.msgs_out = 0
        self.throttle_hits = 0

    # ---------------------------------------------------------------- input

    def receive(self, data: str | bytes, now: float | None = None) -> None:
        """One client frame. Never raises for client mistakes: they become answers."""
        if self.closed:
            return
        self.msgs_in += 1
        received_ns = time.perf_counter_ns()
        allowed = self.limiter.take(time.monotonic() if now is None else now)
        item: Request | bytes
        try:
            item = self._parse(data)
            item.received_ns = received_ns
        except ApiError as bad:
            item = _error(bad.extra.pop("id", None), bad)
            self.venue.count_request("invalid", bad.status)
        if not allowed:
            req_id = item.id if isinstance(item, Request) else None
            rate = self.venue.config.max_requests_per_s
            limited = ApiError(
                ErrorCode.RATE_LIMITED,
                f"rate limit exceeded: {rate} requests per second per connection",
                limit=rate,
            )
            item = _error(req_id, limited)
            self.venue.count_request("rate_limited", 429)
            self.throttle_hits += 1
        self.inbox.append(item)
        self.pump()

    def _parse(self, data: str | bytes) -> Request:
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ApiError(ErrorCode.MALFORMED_JSON, f"malformed JSON: {exc}") from None
        if not isinstance(msg, dict):
            raise ApiError(ErrorCode.INVALID_REQUEST, "request must be a JSON object")
        req_id = msg.get("id")
        if "id" not in msg or not (
            (isinstance(req_id, str) and len(req_id) <= 64)
            or (isinstance(req_id, int) and not isinstance(req_id, bool))
        ):
            raise ApiError(
                ErrorCode.INVALID_REQUEST, "'id' is required: an integer or a string of <= 64 chars"
            )
        extra = sorted(set(msg) - _ENVELOPE)
        if extra:
            msg_text = f"unknown request field '{extra[0]}'"
            raise ApiError(ErrorCode.INVALID_REQUEST, msg_text, id=req_id)
        method = msg.get("method")
        if not isinstance(method, str):
            raise ApiError(
                ErrorCode.INVALID_REQUEST, "'method' is required and must be a string", id=req_id
            )
        params = msg.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ApiError(
                ErrorCode.INVALID_PARAMS, f"{method}: 'params' must be an object", id=req_id
            )
        return Request(req_id, method, params)

    def pump(self) -> None:
        """Handle inbox items in order; reads wait until earlier commands are answered."""
        inbox = self.inbox
        while inbox and not self.closed and not self.reading:
            item = inbox[0]
            is_command = isinstance(item, Request) and item.method in COMMAND_METHODS
            if self.unacked and not is_command:
                if isinstance(item, bytes) and self.last_pending is not None:
                    inbox.popleft()  # a ready error: send right after the pending answer
                    if self.last_pending.trailer is None:
                        self.last_pending.trailer = []
                    self.last_pending.trailer.append(item)
                    continue
                return
            inbox.popleft()
            if isinstance(item, bytes):
                self._send(item)
            else:
                self._dispatch(item)

    def _dispatch(self, req: Request) -> None:
        try:
            handler = self._HANDLERS.get(req.method)
            if handler is None:
                raise ApiError(
                    ErrorCode.UNKNOWN_METHOD,
                    f"unknown method {req.method!r}; methods are: {', '.join(METHODS)}",
                )
            if req.method not in PUBLIC_METHODS:
                if not self.account:
                    raise ApiError(ErrorCode.NOT_LOGGED_ON, f"{req.method} requires session.logon")
                self._authorize(req.method)
            params = Params(req.method, req.params)
            result = handler(self, params)
        except ApiError as err:
            answer = _error(req.id, err)
            if self.unacked and self.last_pending is not None:
                self.last_pending.trailer = [*(self.last_pending.trailer or []), answer]
            else:
                self._send(answer)
            self.venue.count_request(req.method if req.method in METHODS else "unknown",
                                     err.status)  # fmt: skip
            if err.code == ErrorCode.KEY_EXPIRED and self.key is not None:
                self.close(CLOSE_CREDENTIAL, f"api key {self.api_key} expired")
            return
        except Exception:
            self.venue.log_exception(req.method)
            self._send(_error(req.id, ApiError(ErrorCode.INTERNAL, "internal error")))
            self.venue.count_request(req.method, 500)
            return
        if isinstance(result, _Submit):
            self._submit(req, result.command)
        elif isinstance(result, _Read):
            self.reading = True
            self.venue.spawn(self._read(req, result.run))
        elif isinstance(result, _Subscribe):
            self._send(_answer(req.id, {"subscribed": [*self.subs, *result.new]}))
            self.venue.count_request(req.method, 200)
            for name, (kind, symbol, depth) in result.new.items():
                if kind in PERP_KINDS:
                    key = symbol if kind != "positions" else self.account or ""
                    perp = self.subs[name] = PerpSubscription(name, kind, key, self.outbox)
                    self.venue.perp.add(perp)
                    continue
                sub = Subscription(name, kind, symbol, depth, self.outbox, self.venue.publisher)
                self.subs[name] = sub
                if kind == "user":
                    self.user = True
                    self.venue.add_user(self)
                else:
                    self.venue.market.add(sub)
        else:
            self._send(_answer(req.id, result))
            self.venue.count_request(req.method, 200)

    def _send(self, data: bytes) -> None:
        self.outbox.push(data)

    async def _read(self, req: Request, run: Callable[[], Awaitable[Any]]) -> None:
        """Answer a store read, then let the requests behind it through."""
        try:
            data, status = _answer(req.id, await run()), 200
        except ApiError as err:
            data, status = _error(req.id, err), err.status
        except StoreUnavailable:
            down = ApiError(ErrorCode.STORE_UNAVAILABLE, "history store unavailable: retry later")
            data, status = _error(req.id, down), down.status
        except Exception:
            self.venue.log_exception(req.method)
            data, status = _error(req.id, ApiError(ErrorCode.INTERNAL, "internal error")), 500
        self.reading = False
        if not self.closed:
            self._send(data)
            self.venue.count_request(req.method, status)
            self.pump()

    def _authorize(self, method: str) -> None:
        """The logged-on key may call ``method``: not expired (checked at each request:
        a session whose key expires is closed at its next request), and its scope."""
        key = self.key
        if key is None:
            return
        if key.expires_ms and key.expired(self.venue.clock_ms()):
            raise ApiError(ErrorCode.KEY_EXPIRED, f"api_key {key.key_id!r} expired")
        scope = METHOD_SCOPES.get(method)
        if scope is None:
            raise ApiError(ErrorCode.SCOPE_FORBIDDEN, f"{method}: no key scope allows it")
        if scope not in key.scopes:
            raise ApiError(
                ErrorCode.SCOPE_FORBIDDEN,
                f"{method} needs scope {scope!r}; api_key {key.key_id!r} has"
                f" {', '.join(sorted(key.scopes)) or 'none'}",
            )

    # ---------------------------------------------------------------- commands

    def _submit(self, req: Request, command: Command) -> None:
        pending = Pending(self, req.id, req.method)
        self.unacked += 1
        self.last_pending = pending
        received_ns = req.received_ns if req.method in ORDER_METHODS else 0
        events = self.venue.host.submit(command, pending, received_ns)
        if self.cancel_on_disconnect:  # inspection only: learn the new order's id
            for event in events:
                if type(event) is OrderAccepted:
                    assert isinstance(event, OrderAccepted)
                    self.venue.owners.add(event.order_id, self)

    def answer(self, pending: Pending, batch: EventBatch) -> None:
        """The answer to a command of ours, after the journal commit."""
        self.unacked -= 1
        self.answered_seq = batch.seq
        if self.last_pending is pending:
            self.last_pending = None
        if not self.closed:
            status, answer = self._command_answer(pending, batch.events)
            self.venue.count_request(pending.method, status)
            self._send(answer)
            if batch.received_ns:
                self.acked.append(batch.received_ns)
            if pending.trailer:
                for data in pending.trailer:
                    self._send(data)
        if self.unacked == 0 and self.inbox:
            self.pump()

    def _command_answer(self, pending: Pending, events: list[Event]) -> tuple[int, bytes]:
        venue = self.venue
        if events and type(events[0]) is OrderRejected:
            rej = events[0]
            assert isinstance(rej, OrderRejected)
            err = engine_error(rej.code, rej.text)
            return err.status, _error(pending.req_id, err)
        if pending.method == "transfer":
            return 200, _answer(pending.req_id, transfer_shape(events))
        if pending.method in POSITION_SETTINGS:
            return 200, _answer(pending.req_id, self._position_after(events))
        if pending.method in VENUE_METHODS:
            for event in events:
                if type(event) is VenueEvent:
                    assert isinstance(event, VenueEvent)
                    return 200, _answer(pending.req_id, client_withdrawal(event.data))
            return 500, _error(pending.req_id, ApiError(ErrorCode.INTERNAL, "no answer"))
        if pending.method == "orders.cancel_all":
            canceled = [venue.order_dict(e.order_id) for e in events if type(e) is OrderCanceled]
            return 200, _answer(pending.req_id, {"canceled": [c for c in canceled if c]})
        order_id = 0
        fills: list[dict[str, Any]] = []
        for event in events:
            kind = type(event)
            if kind in (OrderAccepted, OrderCanceled, OrderReplaced) and not order_id:
                assert isinstance(event, (OrderAccepted, OrderCanceled, OrderReplaced))
                order_id = event.order_id
            elif kind is Trade and pending.method != "order.cancel":
                assert isinstance(event, Trade)
                inst = venue.instrument(event.symbol)
                if event.taker_order_id == order_id:
                    fills.append(fill_shape(event, inst, maker=False))
                elif event.maker_order_id == order_id:  # a replaced order that re-traded
                    fills.append(fill_shape(event, inst, maker=True))
        result = venue.order_dict(order_id)
        if result is None:  # pragma: no cover - the tracker saw the same batch first
            return 500, _error(pending.req_id, ApiError(ErrorCode.INTERNAL, "order not tracked"))
        if pending.method != "order.cancel":
            result["fills"] = fills
        return 200, _answer(pending.req_id, result)

    # ---------------------------------------------------------------- handlers

    def _logon(self, p: Params) -> dict[str, Any]:
        if self.account:
            raise ApiError(ErrorCode.ALREADY_LOGGED_ON, f"already logged on as {self.api_key!r}")
        api_key = p.str_("api_key", required=True, max_len=128)
        ts = p.int_("timestamp_ms", required=True)
        sig = p.str_("signature", required=True, max_len=256)
        cod = p.bool_("cancel_on_disconnect")
        p.done()
        assert api_key is not None and ts is not None and sig is not None
        now_ms = self.venue.clock_ms()
        key = self.venue.keys.verify(api_key, ts, sig, now_ms, self.peer_ip)
        account = key.account
        self.account = account
        self.api_key = api_key
        self.key = key
        self.cancel_on_disconnect = cod
        self.venue.logged_on(self)
        return {
            "api_key": api_key,
            "account": account,
            "cancel_on_disconnect": cod,
            "server_time_ms": now_ms,
        }

    def _inst(self, p: Params) -> Instrument:
        symbol = p.str_("symbol", required=True)
        assert symbol is not None
        inst = self.venue.find_instrument(symbol)
        if inst is None:
            raise engine_error(1, f"unknown instrument {symbol!r}")
        return inst

    def _client_id(self, p: Params, name: str) -> str:
        value = p.str_(name, max_len=MAX_CLIENT_ID) or ""
        if value and not value.isprintable():
            raise p._bad(f"'{name}' must be printable")
        return value

    def _place(self, p: Params) -> _Submit:
        inst = self._inst(p)
        side = p.choice("side", _SIDES)
        ord_type = p.choice("type", _TYPES)
        tif = p.choice("time_in_force", _TIFS, "gtc")
        qty = p.decimal("quantity", inst.qty_to_lots)
        quote_qty = p.decimal("quote_quantity", _positive_units)
        price = p.decimal("price", inst.price_to_ticks)
        expire = p.int_("expire_ts_us") or 0
        post_only = p.bool_("post_only")
        reduce_only = p.bool_("reduce_only")
        clid = self._client_id(p, "client_order_id")
        stp_name = p.str_("stp")
        p.done()
        if ord_type == OrdType.LIMIT:
            if not price:
                raise p._bad("'price' is required for limit orders")
            if not qty:
                raise p._bad("'quantity' is required for limit orders")
            if quote_qty:
                raise p._bad("'quote_quantity' is for market orders only")
        elif bool(qty) == bool(quote_qty):
            raise p._bad("market orders need exactly one of 'quantity' or 'quote_quantity'")
        if tif == TimeInForce.GTD and not expire:
            raise p._bad("'expire_ts_us' is required for time_in_force gtd")
        stp = None
        if stp_name is not None:
            if stp_name not in _STPS:
                raise p._bad(f"'stp' must be one of {', '.join(_STPS)}; got {stp_name!r}")
            stp = _STPS[stp_name]
        assert self.account is not None
        return _Submit(
            NewOrder(
                self.account, inst.symbol, side, ord_type, qty, price, tif, clid, quote_qty,
                post_only, stp, expire, self.origin, reduce_only,
            )
        )  # fmt: skip

    def _order_ref(self, p: Params, clid_name: str) -> tuple[int, str]:
        order_id = p.int_("order_id") or 0
        clid = self._client_id(p, clid_name)
        if bool(order_id) == bool(clid):
            raise p._bad(f"give exactly one of 'order_id' or '{clid_name}'")
        return order_id, clid

    def _cancel(self, p: Params) -> _Submit:
        inst = self._inst(p)
        order_id, clid = self._order_ref(p, "client_order_id")
        p.done()
        assert self.account is not None
        return _Submit(Cancel(self.account, inst.symbol, order_id, clid, origin=self.origin))

    def _replace(self, p: Params) -> _Submit:
        inst = self._inst(p)
        order_id, orig = self._order_ref(p, "orig_client_order_id")
        qty = p.decimal("quantity", inst.qty_to_lots, required=True)
        price = p.decimal("price", inst.price_to_ticks)
        clid = self._client_id(p, "client_order_id")
        p.done()
        assert self.account is not None
        return _Submit(
            Replace(self.account, inst.symbol, qty, price, order_id, orig, clid, self.origin)
        )

    def _cancel_all(self, p: Params) -> _Submit:
        symbol = ""
        if p.raw.get("symbol") is not None:
            symbol = self._inst(p).symbol
        p.done()
        assert self.account  # never an empty account: that would cancel every account
        return _Submit(MassCancel(self.account, symbol, origin=self.origin))

    def _status(self, p: Params) -> dict[str, Any]:
        inst = self._inst(p)
        order_id, clid = self._order_ref(p, "client_order_id")
        p.done()
        tracker = self.venue.tracker
        assert self.account is not None
        view = tracker.get(order_id) if order_id else tracker.find(self.account, clid)
        if view is None or view.account != self.account or view.symbol != inst.symbol:
            raise engine_error(20, "unknown order (never existed or no longer kept)")
        return order_shape(view, inst)

    def _open(self, p: Params) -> dict[str, Any]:
        symbol = ""
        if p.raw.get("symbol") is not None:
            symbol = self._inst(p).symbol
        p.done()
        assert self.account is not None
        views = sorted(
            self.venue.tracker.open_orders(self.account, symbol), key=lambda v: v.order_id
        )
        return {"orders": [order_shape(v, self.venue.instrument(v.symbol)) for v in views]}

    def _balances(self, p: Params) -> dict[str, Any]:
        p.done()
        assert self.account is not None
        return {"balances": self.venue.balance_list(self.account)}

    def _positions(self, p: Params) -> dict[str, Any]:
        symbol = p.str_("symbol", max_len=64) or ""
        p.done()
        assert self.account is not None
        perps = self.venue.host.engine.perps
        if symbol and symbol not in perps.markets:
            raise engine_error(1, f"unknown perpetual {symbol!r}")  # UNKNOWN_INSTRUMENT
        held = [p for p in perps.of_account(self.account) if not symbol or p.symbol == symbol]
        return {"positions": positions_of(perps.markets, held)}

    def _perp(self, p: Params) -> str:
        """The ``symbol`` param, which must name a perpetual."""
        symbol = self._inst(p).symbol
        if symbol not in self.venue.host.engine.perps.markets:
            raise engine_error(RejectCode.INVALID_ORDER, f"{symbol} is not a perpetual")
        return symbol

    def _leverage(self, p: Params) -> _Submit:
        symbol = self._perp(p)
        leverage = p.int_("leverage", required=True)
        p.done()
        assert self.account is not None and leverage is not None
        return _Submit(SetLeverage(self.account, symbol, leverage))

    def _margin_mode(self, p: Params) -> _Submit:
        symbol = self._perp(p)
        isolated = p.choice("margin_mode", {"cross": False, "isolated": True})
        p.done()
        assert self.account is not None
        return _Submit(SetMarginMode(self.account, symbol, isolated))

    def _isolated_margin(self, p: Params) -> _Submit:
        """Move quote into (amount > 0) or out of (< 0) an isolated position's margin."""
        symbol = self._perp(p)
        amount = p.decimal("amount", decimal_to_units, required=True)
        p.done()
        assert self.account is not None
        return _Submit(AdjustIsolatedMargin(self.account, symbol, amount))

    def _position_after(self, events: list[Event]) -> dict[str, Any]:
        """The position a settings command changed, as it is now."""
        perps = self.venue.host.engine.perps
        for event in events:
            if type(event) is VenueEvent:
                assert isinstance(event, VenueEvent)
                symbol = str(event.data["symbol"])
                pos = perps.position(event.subject, symbol)
                return positions_of(perps.markets, [pos])[0]
        raise ApiError(ErrorCode.INTERNAL, "no answer")  # pragma: no cover

    def _close_position(self, p: Params) -> _Submit:
        """Close the whole position: a reduce-only market order for its size, on the
        other side (the engine clips a reduce-only order to the position it finds)."""
        symbol = self._perp(p)
        clid = self._client_id(p, "client_order_id")
        p.done()
        assert self.account is not None
        pos = self.venue.host.engine.perps.positions[symbol].get(self.account)
        size = 0 if pos is None else pos.size
        if not size:
            raise engine_error(RejectCode.REDUCE_ONLY, f"no open position on {symbol} to close")
        side = Side.SELL if size > 0 else Side.BUY
        return _Submit(
            NewOrder(
                self.account, symbol, side, OrdType.MARKET, abs(size), 0, TimeInForce.IOC,
                clid, 0, False, None, 0, self.origin, True,
            )
        )  # fmt: skip

    def _sub_accounts(self, p: Params) -> dict[str, Any]:
        p.done()
        assert self.account is not None
        tenancy = self.venue.host.engine.tenancy
        return {
            "sub_accounts": [
                {
                    "account": sub.account_id,
                    "label": sub.label,
                    "status": sub.status.name.lower(),
                    "balances": self.venue.balance_list(sub.account_id),
                }
                for sub in tenancy.sub_accounts(self.account)
            ]
        }

    def _transfer(self, p: Params) -> _Submit:
        """Between the logged-on account and its sub-accounts (either way), or between
        two of its sub-accounts; any other account is unknown to this session."""
        assert self.account is not None
        source = p.str_("from_account") or self.account
        target = p.str_("to_account", required=True)
        asset = p.str_("asset", required=True, max_len=16)
        amount = p.decimal("amount", _positive_units, required=True)
        transfer_id = p.str_("transfer_id") or ""
        p.done()
        assert target is not None and asset is not None
        family = self._family()
        for account in (source, target):
            if account not in family:
                raise engine_error(RejectCode.UNKNOWN_ACCOUNT, f"no account {account!r} of yours")
        return _Submit(Transfer(source, target, asset, amount, transfer_id))

    def _family(self) -> frozenset[str]:
        """The accounts this session may act on and read: its own and its sub-accounts."""
        assert self.account is not None
        children = self.venue.host.engine.tenancy.children.get(self.account, ())
        return frozenset((self.account, *children))

    def _history(self, p: Params) -> _Read:
        """orders.history, fills.history, ledger.history: a page of the store."""
        table = HISTORY_METHODS[p.method]
        family = self._family()
        account = p.str_("account") or self.account
        if account not in family:
            raise engine_error(RejectCode.UNKNOWN_ACCOUNT, f"no account {account!r} of yours")
        by_symbol = table.by_symbol and p.raw.get("symbol") is not None
        symbol = self._inst(p).symbol if by_symbol else ""
        kind = p.str_(table.filter_param, max_len=16) or ""
        if kind and table.values is not None and kind not in table.values:
            raise p._bad(f"'{table.filter_param}' must be one of {', '.join(table.values)}")
        from_us = p.int_("from") or 0
        to_us = p.int_("to") or 0
        cursor = p.str_("cursor") or ""
        limit = p.int_("limit")
        p.done()
        if max(from_us, to_us) > _MAX_INT64:
            raise p._bad("'from' and 'to' are µs since the epoch (at most 2^63 - 1)")
        if to_us and to_us <= from_us:
            raise p._bad("'to' must be after 'from'")
        if limit is not None and not 0 < limit <= MAX_LIST:
            raise p._bad(f"'limit' must be 1..{MAX_LIST}")
        query = Query(account, symbol, kind, from_us, to_us, cursor, limit or 100)
        venue, after = self.venue, self.answered_seq
        return _Read(
            lambda: read_page(
                venue.readstore, table.name, query, family, venue.find_instrument, after
            )
        )

    def _liabilities_proof(self, p: Params) -> _Read:
        """liabilities.proof: the inclusion proof of the caller's account (or one of its
        sub-accounts) in the newest published proof of liabilities, or the one at seq."""
        family = self._family()
        account = p.str_("account") or self.account
        if account not in family:
            raise engine_error(RejectCode.UNKNOWN_ACCOUNT, f"no account {account!r} of yours")
        seq = p.int_("seq") or 0
        p.done()
        if seq > _MAX_INT64:
            raise p._bad("'seq' is a journal seq (at most 2^63 - 1)")
        store = self.venue.readstore
        return _Read(lambda: client_proof(store, account, seq))

    def _instruments(self, p: Params) -> dict[str, Any]:
        p.done()
        return {"instruments": self.venue.instrument_list()}

    def _channels(self, p: Params) -> list[Any]:
        channels = p.get("channels")
        p.done()
        if not isinstance(channels, list) or not channels:
            raise p._bad("'channels' must be a non-empty list of channel names")
        return channels

    def _unsubscribe(self, p: Params) -> dict[str, Any]:
        channels = self._channels(p)
        for name in channels:
            if not isinstance(name, str):
                raise ApiError(ErrorCode.INVALID_CHANNEL, f"channel must be a string, got {name!r}")
        for name in channels:
            self._drop(name)
        return {"subscribed": list(self.subs)}

    def _drop(self, name: str) -> None:
        sub = self.subs.pop(name, None)
        if sub is None:
            return
        if isinstance(sub, PerpSubscription):
            self.venue.perp.remove(sub)
        elif sub.kind == "user":
            self.user = False
            self.venue.remove_user(self)
        else:
            self.venue.market.remove(sub)

    # ---------------------------------------------------------------- withdrawals

    def _actor(self) -> str:
        """Who a client request is attributed to: its API key (maker-checker)."""
        return f"api-key:{self.api_key}"

    def _withdrawal_request(self, p: Params) -> _Submit:
        asset = p.str_("asset", required=True, max_len=16)
        amount = p.decimal("amount", _positive_units, required=True)
        destination = p.str_("destination", required=True, max_len=256)
        client_id = self._client_id(p, "client_id")
        p.done()
        assert self.account is not None and asset is not None and destination is not None
        return _Submit(
            RequestWithdrawal(
                self.account, asset, amount, destination, self._actor(), "", client_id
            )
        )

    def _withdrawal_cancel(self, p: Params) -> _Submit:
        withdrawal_id = p.str_("withdrawal_id", required=True)
        p.done()
        assert self.account is not None and withdrawal_id is not None
        return _Submit(CancelWithdrawal(withdrawal_id, self.account, self._actor()))

    def _withdrawal_status(self, p: Params) -> dict[str, Any]:
        withdrawal_id = p.str_("withdrawal_id") or ""
        client_id = self._client_id(p, "client_id")
        p.done()
        if bool(withdrawal_id) == bool(client_id):
            raise p._bad("give exactly one of 'withdrawal_id' or 'client_id'")
        assert self.account is not None
        record = self.venue.withdrawals.find(self.account, withdrawal_id, client_id)
        if record is None:
            raise engine_error(36, "unknown withdrawal")
        return client_withdrawal(record)

    def _withdrawal_list(self, p: Params) -> dict[str, Any]:
        status = p.str_("status") or ""
        if status and status not in _WITHDRAWAL_STATES:
            raise p._bad(f"'status' must be one of {', '.join(_WITHDRAWAL_STATES)}")
        limit = p.int_("limit")
        p.done()
        if limit is not None and not 0 < limit <= MAX_LIST:
            raise p._bad(f"'limit' must be 1..{MAX_LIST}")
        assert self.account is not None
        records = self.venue.withdrawals.of_account(self.account, status, limit or 100)
        return {"withdrawals": [client_withdrawal(r) for r in records]}

    _HANDLERS: dict[str, Callable[[Session, Params], Any]] = {}

    # ---------------------------------------------------------------- user channel

    def push_user(self, data: bytes) -> None:
        """One user-channel frame: data is the serialized "data" object."""
        self.user_seq += 1
        self.outbox.push(b'{"channel":"user","seq":%d,"data":%b}' % (self.user_seq, data))

    # ---------------------------------------------------------------- teardown

    def close(self, code: int, reason: str) -> None:
        """End the session now (its key was revoked or expired): nothing more is
        processed, and the server closes the connection with ``code`` and ``reason``."""
        self.logout_reason = reason
        self.disconnect()
        if self.closer is not None:
            self.closer(code, reason)

    def disconnect(self) -> None:
        """Connection gone: drop subscriptions, then honour cancel_on_disconnect."""
        if self.closed:
            return
        self.closed = True
        self.inbox.clear()
        for name in list(self.subs):
            self._drop(name)
        owned = self.venue.owners.drop(self)
        if self.cancel_on_disconnect and self.account:
            cancel_on_disconnect(self.venue.host, owned, None, self.origin)
        if self.key is not None:
            self.venue.logged_off(self)


@dataclass(slots=True)
class _Submit:
    command: Command


@dataclass(slots=True)
class _Read:
    """A handler's answer that must be read from the store: ``run`` computes it."""

    run: Callable[[], Awaitable[Any]]


def _subscribe_handler(session: Session, p: Params) -> Any:
    """subscribe: validate every channel first (all or nothing), answer, then snapshots."""
    channels = session._channels(p)
    venue = session.venue
    parsed = [
        (name, _perp_channel(name, venue) or parse_channel(name, venue.publisher.books))
        for name in channels
    ]
    new: dict[str, tuple[str, str, int]] = {}
    for name, spec in parsed:
        if name not in session.subs:
            new[name] = spec
    for name, (kind, _, _) in new.items():
        private = kind in _PRIVATE_CHANNELS
        if private and not session.account:
            raise ApiError(ErrorCode.NOT_LOGGED_ON, f"channel {name!r} requires session.logon")
        if private and session.key is not None and READ not in session.key.scopes:
            raise ApiError(ErrorCode.SCOPE_FORBIDDEN, f"channel {name!r} needs scope 'read'")
    if len(session.subs) + len(new) > MAX_SUBSCRIPTIONS:
        raise ApiError(
            ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection",
        )
    return _Subscribe(new)


#: channels of the logged-on account: they need a logon and the key's ``read`` scope
_PRIVATE_CHANNELS: Final = frozenset({"user", "positions"})


def _perp_channel(name: object, venue: Venue) -> tuple[str, str, int] | None:
    return parse_perp_channel(name, venue.host.engine) if isinstance(name, str) else None


@dataclass(slots=True)
class _Subscribe:
    new: dict[str, tuple[str, str, int]]


Session._HANDLERS = {
    "session.logon": Session._logon,
    "order.place": Session._place,
    "order.cancel": Session._cancel,
    "order.replace": Session._replace,
    "orders.cancel_all": Session._cancel_all,
    "order.status": Session._status,
    "orders.open": Session._open,
    "account.balances": Session._balances,
    "account.positions": Session._positions,
    "position.close": Session._close_position,
    "position.leverage": Session._leverage,
    "position.margin_mode": Session._margin_mode,
    "position.margin": Session._isolated_margin,
    "subaccount.list": Session._sub_accounts,
    "transfer": Session._transfer,
    "instruments": Session._instruments,
    "subscribe": _subscribe_handler,
    "unsubscribe": Session._unsubscribe,
    "withdrawal.request": Session._withdrawal_request,
    "withdrawal.cancel": Session._withdrawal_cancel,
    "withdrawal.status": Session._withdrawal_status,
    "withdrawal.list": Session._withdrawal_list,
    **dict.fromkeys(HISTORY_METHODS, Session._history),
    "liabilities.proof": Session._liabilities_proof,
}
