"""Fuzzing the WebSocket API over a real socket against a real App.

Two connections: one logged on (demo-acc1, account ACC1) and one not. Each example
sends one frame: a request for a documented method (or an unknown one) whose params
are random JSON (wrong types, missing and extra keys, nulls, huge numbers, floats for
decimal strings, negatives, long strings, nested values), a request with a broken
envelope, a text frame that is not JSON, a binary frame, JSON that is not an object,
or a frame over the 64 KiB limit. Invariants (docs/WS_API.md):

* exactly one answer, with the request's id (null when the frame could not be read
  that far), and either status 200 with a result of the method's shape or the status
  the Errors table gives for an error code the method can produce; 1500 (a server
  bug) never;
* the connection stays open: the next ``instruments`` request is answered; only an
  over-limit frame closes it, with close code 1009;
* the ``user`` channel's seq has no gaps; no ERROR log record; the engine stays
  consistent and the journal replays to its state.

A deterministic sweep tries every parameter of every method with every adversarial
value class, one at a time; regression tests pin the bugs the fuzzing found.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from engine.venue.tenancy_commands import CreateSubAccount
from gateway.app import App
from gateway.ws.auth import sign_hmac
from gateway.ws.protocol import METHODS
from tests.gateway.fuzz_checks import (
    LogWatch,
    check_engine,
    check_journal_replays,
    fuzz_settings,
)
from tests.ws.helpers import SECRETS, Client, connect_client, fresh_timestamp_ms

MAX_FRAME = 64 * 1024

#: docs/WS_API.md, Errors: code -> HTTP status
STATUS = {
    1001: 400, 1002: 400, 1003: 400, 1004: 400, 1005: 400, 1010: 401, 1011: 401,
    1012: 401, 1013: 401, 1014: 409, 1015: 401, 1020: 400, 1021: 400, 1029: 429, 1030: 503,
    1500: 500,
    2001: 404, 2020: 404, 2016: 409,
    **{2000 + n: 400 for n in range(2, 26) if n not in (16, 20)},
    2027: 409, 2028: 403, 2029: 403, 2030: 409, 2031: 400, 2036: 404, 2037: 403, 2039: 400,
}  # fmt: skip
ENGINE_CODES = frozenset(range(2001, 2026))
#: error codes each method can produce once dispatched (besides 1004, any method)
METHOD_CODES: dict[str, frozenset[int]] = {
    "session.logon": frozenset({1011, 1012, 1013, 1015}),
    "order.place": frozenset({1005}) | ENGINE_CODES,
    "order.cancel": ENGINE_CODES,
    "order.replace": frozenset({1005}) | ENGINE_CODES,
    "orders.cancel_all": ENGINE_CODES,
    "order.status": frozenset({2001, 2020}),
    "orders.open": frozenset({2001}),
    "account.balances": frozenset(),
    "account.positions": frozenset({2001}),
    "position.close": frozenset({1005, 2039}) | ENGINE_CODES,
    **dict.fromkeys(("position.leverage", "position.margin_mode", "position.margin"),
                    frozenset({1005, 2030}) | ENGINE_CODES),
    "subaccount.list": frozenset(),
    "transfer": frozenset({1005, 2028, 2037}) | ENGINE_CODES,
    "instruments": frozenset(),
    "subscribe": frozenset({1010, 1020, 1021}),
    "unsubscribe": frozenset({1020}),
    "withdrawal.request": frozenset({1005, 2002, 2003, 2015, 2023, 2024, 2025, 2028, 2029, 2031,
                                     2037}),
    "withdrawal.cancel": frozenset({2025, 2027, 2036}),
    "withdrawal.status": frozenset({2036}),
    "withdrawal.list": frozenset(),
    # a store that is not there (yet) is 1030
    **dict.fromkeys(("orders.history", "fills.history", "ledger.history"),
                    frozenset({1030, 2001, 2002})),
    "liabilities.proof": frozenset({1030, 1031, 2002}),
}  # fmt: skip
PUBLIC = frozenset({"instruments", "subscribe", "unsubscribe"})
ORDER_KEYS = {"id", "client_order_id", "symbol", "side", "type", "time_in_force", "status",
              "price", "quantity", "quote_quantity", "filled", "remaining", "average_price",
              "fee", "fee_asset", "reason", "reduce_only", "ts_us"}  # fmt: skip
WITHDRAWAL_KEYS = {"withdrawal_id", "client_id", "asset", "amount", "destination", "status",
                   "custody_reference", "created_us", "updated_us"}  # fmt: skip
RESULT_KEYS: dict[str, set[str]] = {
    "session.logon": {"api_key", "account", "cancel_on_disconnect", "server_time_ms"},
    "order.place": ORDER_KEYS | {"fills"},
    "order.cancel": ORDER_KEYS,
    "order.replace": ORDER_KEYS | {"fills"},
    "orders.cancel_all": {"canceled"},
    "order.status": ORDER_KEYS,
    "orders.open": {"orders"},
    "account.balances": {"balances"},
    "account.positions": {"positions"},
    "subaccount.list": {"sub_accounts"},
    "transfer": {"transfer_id", "from_account", "to_account", "asset", "amount"},
    "instruments": {"instruments"},
    "subscribe": {"subscribed"},
    "unsubscribe": {"subscribed"},
    "withdrawal.request": WITHDRAWAL_KEYS,
    "withdrawal.cancel": WITHDRAWAL_KEYS,
    "withdrawal.status": WITHDRAWAL_KEYS,
    "withdrawal.list": {"withdrawals"},
    "orders.history": {"orders", "next_cursor", "as_of_seq"},
    "fills.history": {"fills", "next_cursor", "as_of_seq"},
    "ledger.history": {"ledger", "next_cursor", "as_of_seq"},
    "liabilities.proof": {"format", "seq", "account", "salt", "balances", "leaf", "path", "root"},
}

# ------------------------------------------------------------------ values

#: Adversarial JSON values by class; "decimal" strings are decimal-looking but wrong.
ADVERSARIAL: dict[str, tuple[Any, ...]] = {
    "null": (None,),
    "wrong type": (True, [], {}, 1, "x", ["BTC-USD"], {"a": 1}),
    "float": (0.5, 50000.0, 1e300, -0.0),
    "negative": (-1, "-1", "-0.0001", -(2**63)),
    "zero": (0, "0", "0.0"),
    "huge": (10**30, 2**64 - 1, 2**63, "1" + "0" * 30, "9" * 5000, "1e999999999"),
    "decimals": ("1." + "0" * 30 + "1", "50000.123456789", "0.00000000001"),
    "decimal-ish": ("", " 1", "1e5", "NaN", "Infinity", "0x10", "1_000", "\u0661\u0662", "1.2.3"),
    "long": ("x" * 10_000, "é" * 300, ["x"] * 1000),
    "nested": ({"a": {"b": [1, {"c": None}]}}, [[[[[]]]]]),
    "odd text": ("\x00", "\u2028", "🚀", "a\nb", "book.BTC-USD.²"),
}
ALL_ADVERSARIAL = tuple(v for values in ADVERSARIAL.values() for v in values)
SWEEP_VALUES = (*(values[0] for values in ADVERSARIAL.values()), "9" * 5000, 10**30)

CHANNELS = ("book.BTC-USD.10", "book.ETH-USD.500", "trades.BTC-USD", "bbo.ETH-USD", "user")
BAD_CHANNELS = ("book.BTC-USD.7", "book.BTC-USD.²", "book.BTC-USD.\u0661\u0660", "book.BTC-USD.010",
                "book.BTC-USD." + "9" * 5000, "bbo.NOPE", "ticker.BTC-USD", "", "book..10",
                "user.x", "trades.BTC-USD.10")  # fmt: skip

#: param -> valid values (the fuzz picks one; "@..." names live state)
VALID: dict[str, tuple[Any, ...]] = {
    "symbol": ("BTC-USD", "ETH-USD"),
    "side": ("buy", "sell"),
    "type": ("limit", "limit", "market"),
    "quantity": ("0.5", "1", "0.0001", "2.5"),
    "quote_quantity": ("100", "10.5"),
    "price": ("50000", "49999.99", "50000.01", "50100"),
    "time_in_force": ("gtc", "ioc", "fok", "gtd"),
    "expire_ts_us": ("@future",),
    "post_only": (True, False),
    "client_order_id": ("@new",),
    "orig_client_order_id": ("@known_clid",),
    "order_id": ("@known_id",),
    "stp": ("none", "expire_taker", "expire_maker", "expire_both", "decrement"),
    "channels": ("@channels",),
    "api_key": ("demo-acc2",),
    "timestamp_ms": ("@now_ms",),
    "signature": ("@signature",),
    "cancel_on_disconnect": (False, True),
    "asset": ("BTC", "ETH", "USD"),
    "amount": ("0.001", "1", "0.5"),
    "destination": ("bc1qfuzz", "0xfuzz"),
    "withdrawal_id": ("@known_withdrawal",),
    "withdrawal_status": ("held", "canceled"),
    "limit": (1, 10),
    "account": ("ACC2", "ACC2.sub", "ACC1"),
    "transfer_id": ("t-1",),
    "transfer_asset": ("USD", "BTC", "XYZ"),
    "transfer_amount": ("1", "0.5", "1000000000000"),
    "order_event": ("accepted", "canceled"),
    "liquidity": ("maker", "taker"),
    "ts_us": (1, 2**40),
    "cursor": ("1.0", "7.1.maker"),
}

#: method -> (param, in the base request, kind of valid value); the others are extras
SPECS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "session.logon": (("api_key", True, "api_key"), ("timestamp_ms", True, "timestamp_ms"),
                      ("signature", True, "signature"),
                      ("cancel_on_disconnect", False, "cancel_on_disconnect")),
    "order.place": (("symbol", True, "symbol"), ("side", True, "side"), ("type", True, "type"),
                    ("quantity", True, "quantity"), ("price", True, "price"),
                    ("client_order_id", True, "client_order_id"),
                    ("time_in_force", False, "time_in_force"),
                    ("expire_ts_us", False, "expire_ts_us"), ("post_only", False, "post_only"),
                    ("stp", False, "stp"), ("quote_quantity", False, "quote_quantity")),
    "order.cancel": (("symbol", True, "symbol"), ("order_id", True, "order_id"),
                     ("client_order_id", False, "orig_client_order_id")),
    "order.replace": (("symbol", True, "symbol"), ("order_id", True, "order_id"),
                      ("quantity", True, "quantity"), ("price", False, "price"),
                      ("client_order_id", False, "client_order_id"),
                      ("orig_client_order_id", False, "orig_client_order_id")),
    "orders.cancel_all": (("symbol", False, "symbol"),),
    "order.status": (("symbol", True, "symbol"),
                     ("client_order_id", True, "orig_client_order_id"),
                     ("order_id", False, "order_id")),
    "orders.open": (("symbol", False, "symbol"),),
    "account.balances": (),
    "account.positions": (("symbol", False, "symbol"),),
    "subaccount.list": (),
    "transfer": (("to_account", True, "account"), ("asset", True, "transfer_asset"),
                 ("amount", True, "transfer_amount"), ("from_account", False, "account"),
                 ("transfer_id", False, "transfer_id")),
    "instruments": (),
    "subscribe": (("channels", True, "channels"),),
    "unsubscribe": (("channels", True, "channels"),),
    "withdrawal.request": (("asset", True, "asset"), ("amount", True, "amount"),
                           ("destination", True, "destination"),
                           ("client_id", False, "client_order_id")),
    "withdrawal.cancel": (("withdrawal_id", True, "withdrawal_id"),),
    "withdrawal.status": (("withdrawal_id", True, "withdrawal_id"),
                          ("client_id", False, "client_order_id")),
    "withdrawal.list": (("status", False, "withdrawal_status"), ("limit", False, "limit")),
    "orders.history": (("symbol", False, "symbol"), ("status", False, "order_event"),
                       ("account", False, "account"), ("from", False, "ts_us"),
                       ("to", False, "ts_us"), ("cursor", False, "cursor"),
                       ("limit", False, "limit")),
    "fills.history": (("symbol", False, "symbol"), ("liquidity", False, "liquidity"),
                      ("account", False, "account"), ("from", False, "ts_us"),
                      ("cursor", False, "cursor"), ("limit", False, "limit")),
    "ledger.history": (("asset", False, "asset"), ("account", False, "account"),
                       ("to", False, "ts_us"), ("cursor", False, "cursor"),
                       ("limit", False, "limit")),
    "liabilities.proof": (("account", False, "account"), ("seq", False, "ts_us")),
}  # fmt: skip
#: the methods with the most params more often; "?": an unknown method
WEIGHTED_METHODS = (*METHODS, *["order.place"] * 3, *["order.replace"] * 2, "order.cancel", "?")
UNKNOWN_METHODS = ("order.fly", "", "ORDER.PLACE", "order.place ", "session.logoff", "__init__")
EXTRA_PARAMS = ("colour", "", "Symbol", "params", "id", "x" * 100)


# ------------------------------------------------------------------ the connections


@dataclass
class Conn:
    client: Client
    logged_on: bool
    user_seq: int = 0  # last seq seen on the user channel


@dataclass
class WsFuzz:
    app: App
    logs: LogWatch
    conns: dict[str, Conn] = field(default_factory=dict)
    # request ids, apart from the ids the helper Client gives its own requests
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_000))
    clids: list[str] = field(default_factory=list)  # of orders placed
    order_ids: list[int] = field(default_factory=list)
    withdrawal_ids: list[str] = field(default_factory=list)
    frames: int = 0
    logon_ts: int = 0
    broken: str | None = None  # the first failure

    async def connect(self, name: str, logon: bool) -> None:
        client = await connect_client(self.app)
        if logon:
            await client.logon("demo-acc1")
        self.conns[name] = Conn(client, logon)

    def valid(self, kind: str, pick: int) -> Any:
        value = VALID[kind][pick % len(VALID[kind])]
        if value == "@new":
            return f"w{next(self.ids)}"
        if value == "@known_clid":
            return self.clids[-1 - pick % len(self.clids)] if self.clids else "unknown"
        if value == "@known_id":
            return self.order_ids[-1 - pick % len(self.order_ids)] if self.order_ids else 999
        if value == "@known_withdrawal":
            known = self.withdrawal_ids
            return known[-1 - pick % len(known)] if known else "W999"
        if value == "@future":
            return time.time_ns() // 1000 + 3_600_000_000
        if value == "@channels":
            return [CHANNELS[(pick + i) % len(CHANNELS)] for i in range(1 + pick % 3)]
        if value == "@now_ms":
            self.logon_ts = fresh_timestamp_ms()
            return self.logon_ts
        if value == "@signature":  # of api_key demo-acc2 and the timestamp_ms just made
            return sign_hmac(SECRETS["demo-acc2"], "demo-acc2", self.logon_ts)
        return value

    async def exchange(self, name: str, frame: str | bytes) -> dict[str, Any] | None:
        """Send one frame; its answer (None if the server closed the connection: then
        the close code must be 1009 and the frame over the limit; we reconnect)."""
        conn = self.conns[name]
        client = conn.client
        errors_before = len(self.logs.errors())
        expect_id, _ = envelope(frame)
        await client.ws.send(frame)
        self.frames += 1
        try:
            answer = await client.answer(expect_id, timeout=3.0)
        except TimeoutError:
            raise AssertionError(f"no answer to {frame!r:.300}: got {client.log[-5:]}") from None
        except ConnectionClosed:
            assert len(frame) > MAX_FRAME, f"closed by {frame!r:.300}"
            assert client.ws.close_code == 1009, client.ws.close_code
            await self.connect(name, conn.logged_on)
            answer = None
        else:
            assert len(frame) <= MAX_FRAME, "a frame over 64 KiB was read"
            # alive: a valid request is still answered, in order
            try:
                probe = await client.call("instruments")
            except ConnectionClosed:
                code = client.ws.close_code
                raise AssertionError(f"closed ({code}) after {frame!r:.300}") from None
            assert probe["status"] == 200, probe
        self.check_pushes(self.conns[name])
        new_errors = self.logs.errors()[errors_before:]
        assert not new_errors, f"{frame!r:.300} logged errors:\n" + "\n".join(new_errors)
        return answer

    def check_pushes(self, conn: Conn) -> None:
        """The user channel's seq counts 1, 2, 3, ... per connection."""
        while conn.client.pushes:
            push = conn.client.pushes.popleft()
            if push["channel"] == "user":
                assert push["seq"] == conn.user_seq + 1, (push, conn.user_seq)
                conn.user_seq = push["seq"]

    def note(self, method: str, answer: dict[str, Any]) -> None:
        """Remember placed orders (to cancel, replace and query later)."""
        result = answer.get("result")
        if answer["status"] != 200 or not isinstance(result, dict):
            return
        if method == "withdrawal.request":
            self.withdrawal_ids.append(result["withdrawal_id"])
        if method == "order.place":
            self.order_ids.append(result["id"])
            if result["client_order_id"]:
                self.clids.append(result["client_order_id"])


@pytest.fixture
async def fuzz(gateway: App) -> AsyncIterator[WsFuzz]:
    gateway.host.submit(CreateSubAccount("ACC2.sub", "ACC2"))  # transfers can succeed
    with LogWatch() as logs:
        state = WsFuzz(gateway, logs)
        await state.connect("trader", logon=True)
        await state.connect("anon", logon=False)
        yield state
        if state.broken is not None:
            return  # already reported
        for conn in state.conns.values():
            assert conn.client.ws.close_code is None, conn.client.ws.close_code
            await conn.client.close()
        check_engine(gateway)
        check_journal_replays(gateway)
        assert not logs.errors()


# ------------------------------------------------------------------ the oracle


def envelope(frame: str | bytes) -> tuple[object, int | None]:
    """(the id the answer must carry, the error code the envelope forces, or None when
    the request reaches its method): docs/WS_API.md, Messages and Errors."""
    try:
        msg = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None, 1001
    if not isinstance(msg, dict):
        return None, 1002
    req_id = msg.get("id")
    valid_id = (isinstance(req_id, str) and len(req_id) <= 64) or (
        isinstance(req_id, int) and not isinstance(req_id, bool)
    )
    if not valid_id:
        return None, 1002
    if set(msg) - {"id", "method", "params"} or not isinstance(msg.get("method"), str):
        return req_id, 1002
    if not isinstance(msg.get("params"), dict | None):
        return req_id, 1004
    return req_id, None


def check_answer(conn: Conn, frame: str | bytes, answer: dict[str, Any]) -> str | None:
    """One answer as the docs allow; returns the method if the request was dispatched."""
    what = f"{frame!r:.300} -> {answer}"
    req_id, forced = envelope(frame)
    assert answer["id"] == req_id, what
    status = answer["status"]
    if status == 200:
        assert set(answer) == {"id", "status", "result"}, what
    else:
        assert set(answer) == {"id", "status", "error"}, what
        error = answer["error"]
        assert set(error) == {"code", "msg"} and isinstance(error["msg"], str), what
        assert error["msg"] and STATUS.get(error["code"]) == status, what
        assert error["code"] != 1500, f"server bug: {what}"
    if forced is not None:
        assert status != 200 and answer["error"]["code"] == forced, what
        return None
    msg = orjson.loads(frame)
    method = msg["method"]
    if method not in METHODS:
        expected: int | None = 1003
    elif not conn.logged_on and method != "session.logon" and method not in PUBLIC:
        expected = 1010
    elif conn.logged_on and method == "session.logon":
        expected = 1014
    else:
        expected = None
    if expected is not None:
        assert status != 200 and answer["error"]["code"] == expected, what
        return None
    if status == 200:
        result = answer["result"]
        assert isinstance(result, dict) and set(result) == RESULT_KEYS[method], what
    else:
        assert answer["error"]["code"] in METHOD_CODES[method] | {1004}, what
    return str(method)


async def send_and_check(fuzz: WsFuzz, name: str, frame: str | bytes) -> None:
    # Hypothesis replays a failing example to report it; the state is broken by then,
    # so the replay reports the first failure.
    assert fuzz.broken is None, f"an earlier frame broke the gateway: {fuzz.broken}"
    conn = fuzz.conns[name]
    try:
        answer = await fuzz.exchange(name, frame)
        if answer is not None:
            method = check_answer(conn, frame, answer)
            if method is not None:
                fuzz.note(method, answer)
                if method == "session.logon" and answer["status"] == 200:
                    conn.logged_on = True
        check_engine(fuzz.app)
    except (AssertionError, ConnectionClosed) as exc:
        fuzz.broken = f"{type(exc).__name__}: {exc}"[:3000]
        raise


def request(
    req_id: object, method: object, params: object, extra: dict[str, object] | None = None
) -> str:
    """A request as text (params ``...``: none); stdlib json, so that any int (even
    beyond 64 bits) and NaN can be sent, which orjson refuses to encode."""
    msg: dict[str, object] = {"id": req_id, "method": method}
    if params is not ...:
        msg["params"] = params
    msg.update(extra or {})
    return json.dumps(msg, ensure_ascii=False)


# ------------------------------------------------------------------ Hypothesis

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                          inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
adversarial = st.sampled_from(ALL_ADVERSARIAL) | json_values
channel_lists = st.lists(st.sampled_from(CHANNELS + BAD_CHANNELS) | adversarial, max_size=4) | (
    st.just([f"book.BTC-USD.{d}" for d in (10, 50, 100, 500)] * 20)  # 80 > 64 channels
)
frame_kinds = st.sampled_from(("request",) * 8 + ("envelope", "raw", "binary", "oversize"))
bad_ids = (
    st.none()
    | st.booleans()
    | st.floats()
    | st.just("x" * 65)
    | st.just(2**64)
    | (st.lists(st.integers(), max_size=2))
)
raw_frames = st.sampled_from(("", "{", "{not json", "[1, 2]", "null", "42", '"id"', "true",
                              "[" * 2000, '{"id": 1, "method": "instruments"', "{}",
                              '{"id": NaN, "method": "instruments"}', "\x00"),
                             ) | st.text(max_size=20)  # fmt: skip


#: Values of the right JSON type that the method must still refuse (or take), by the
#: JSON type of the param's kind: the "deep" mutations, which get past type checks.
DECIMAL_KINDS = frozenset({"quantity", "quote_quantity", "price", "amount"})
INT_KINDS = frozenset({"order_id", "expire_ts_us", "timestamp_ms", "limit"})
BOOL_KINDS = frozenset({"post_only", "cancel_on_disconnect"})
TYPED_BAD: dict[str, tuple[Any, ...]] = {  # roughly the most troublesome first
    "decimal": ("9" * 5000, "x" * 10_000, "1E+999999999", "1" + "0" * 30, "1" + "0" * 20,
                "0." + "0" * 30 + "1", "", "0", "-0", "-1", "1e5", "NaN", "Infinity", " 1",
                "1_000", "\u0661\u0662", "50000.123456789", "0.00001"),
    "int": (10**30, 2**64 - 1, 2**63, 2**63 - 1, -(2**63), 0, -1),
    "bool": (None, 0, 1, "true"),
    "str": ("x" * 10_000, "é" * 300, "", "\x00", "BUY", "Limit", "btc-usd", "🚀", "a" * 36,
            "a" * 37, "a" * 65, "\u2028", "0" * 64, "zz" * 32, "0" * 128),
}  # fmt: skip


def typed_bad(kind: str) -> st.SearchStrategy[Any]:
    if kind == "channels":
        return channel_lists
    group = (
        "decimal" if kind in DECIMAL_KINDS else
        "int" if kind in INT_KINDS else
        "bool" if kind in BOOL_KINDS else
        "str"
    )  # fmt: skip
    return st.sampled_from(TYPED_BAD[group])


def draw_frame(fuzz: WsFuzz, draw: Callable[..., Any]) -> tuple[str, str | bytes]:
    """(connection, frame): a request mutated either "deep" (values of the right type)
    or anyhow (any JSON, missing and extra params, a broken envelope), or a frame that
    is no request at all."""
    name = draw(st.sampled_from(("trader", "trader", "trader", "anon")))
    kind = draw(frame_kinds)
    req_id: object = next(fuzz.ids) if draw(st.booleans()) else f"r{next(fuzz.ids)}"
    if kind == "raw":
        return name, draw(raw_frames)
    if kind == "oversize":
        return name, request(req_id, "instruments", {"pad": "x" * MAX_FRAME})
    method: object = draw(st.sampled_from(WEIGHTED_METHODS))
    if method == "?":
        method = draw(st.sampled_from(UNKNOWN_METHODS))
    spec = SPECS.get(str(method), (("symbol", False, "symbol"),))
    params: dict[str, Any] = {}
    for param, base, kind_ in spec:
        if base or draw(st.integers(0, 3)) == 0:
            params[param] = fuzz.valid(kind_, draw(st.integers(0, 7)))
    if params and draw(st.booleans()):  # deep: one or two params, the others valid
        kinds = {param: kind_ for param, _, kind_ in spec}
        for _ in range(draw(st.integers(1, 2))):
            param = draw(st.sampled_from(sorted(params)))
            params[param] = draw(typed_bad(kinds[param]))
        return name, request(req_id, method, params)
    names = [p for p, _, _ in spec]
    for _ in range(draw(st.integers(0, 2)) if names else 0):
        param = draw(st.sampled_from(names))
        params[param] = draw(channel_lists if param == "channels" else adversarial)
    for param in draw(st.lists(st.sampled_from(names), max_size=1)) if names else ():
        params.pop(param, None)  # missing
    if draw(st.integers(0, 9)) == 0:
        params[draw(st.sampled_from(EXTRA_PARAMS))] = draw(adversarial)
    sent_params: object = params
    extra: dict[str, object] = {}
    if kind == "envelope":
        broken = draw(st.sampled_from(("id", "method", "params", "no params", "extra")))
        if broken == "id":
            req_id = draw(bad_ids)
        elif broken == "method":
            method = draw(adversarial)
        elif broken == "params":
            sent_params = draw(adversarial)
        elif broken == "no params":
            sent_params = ...
        else:
            extra = {draw(st.text(max_size=5)): 1}
    frame: str | bytes = request(req_id, method, sent_params, extra)
    if kind == "binary":
        frame = frame.encode() if draw(st.booleans()) else draw(st.binary(max_size=30))
    return name, frame


@fuzz_settings
@given(data=st.data())
async def test_fuzzed_frames(fuzz: WsFuzz, data: st.DataObject) -> None:
    if fuzz.conns["anon"].logged_on and fuzz.broken is None:  # keep one not logged on
        await fuzz.conns["anon"].client.close()
        await fuzz.connect("anon", logon=False)
    # A few frames in a row per example, all drawn before any is sent: a replay of a
    # failing example then draws the same data even though the state moved on.
    count = data.draw(st.integers(1, 4))
    frames = [draw_frame(fuzz, data.draw) for _ in range(count)]
    for name, frame in frames:
        await send_and_check(fuzz, name, frame)


# ------------------------------------------------------------------ the sweep


async def test_every_param_with_every_adversarial_class(fuzz: WsFuzz) -> None:
    """Deterministic: each parameter of each method (base params plus the one tested),
    one adversarial value at a time, on the connection that can use the method."""
    pick = itertools.count()
    for method, spec in SPECS.items():
        name = "anon" if method == "session.logon" else "trader"
        for target, _, _ in spec:
            extra = tuple([c] for c in BAD_CHANNELS) if target == "channels" else ()
            for bad in SWEEP_VALUES + extra:
                params = {
                    param: bad if param == target else fuzz.valid(kind, next(pick))
                    for param, base, kind in spec
                    if base or param == target
                }
                await send_and_check(fuzz, name, request(next(fuzz.ids), method, params))
                if fuzz.conns["anon"].logged_on:  # e.g. cancel_on_disconnect null: default
                    await fuzz.conns["anon"].client.close()
                    await fuzz.connect("anon", logon=False)
    swept = sum(len(spec) for spec in SPECS.values()) * len(SWEEP_VALUES)
    assert fuzz.frames == swept + 2 * len(BAD_CHANNELS)


# ------------------------------------------------------------------ regressions
# Bugs the fuzzing found; each test fails without its fix.


async def call(fuzz: WsFuzz, method: str, params: dict[str, Any]) -> dict[str, Any]:
    frame = request(next(fuzz.ids), method, params)
    answer = await fuzz.exchange("trader", frame)
    assert answer is not None
    check_answer(fuzz.conns["trader"], frame, answer)
    return answer


def limit(**changes: Any) -> dict[str, Any]:
    return {"symbol": "BTC-USD", "side": "buy", "type": "limit", "quantity": "0.5",
            "price": "50000", **changes}  # fmt: skip


async def test_decimals_beyond_precision_or_64_bits_are_invalid_decimals(fuzz: WsFuzz) -> None:
    """A price or quantity whose grid count has more than 28 digits made Decimal's
    divmod raise InvalidOperation: 1500 and an ERROR log. One of more than 64 bits
    (quantity 1e20 = 1e24 lots) could not be journaled after the sequencer stamped it:
    the connection handler died (close 1011) and every later command of every
    connection failed with a sequence gap. Fix: engine/model.py, GridError "too large"."""
    cases = [
        limit(quantity="1" + "0" * 30),
        limit(price="9" * 40),
        limit(quantity="1" + "0" * 20),
        {"symbol": "BTC-USD", "side": "buy", "type": "market", "quote_quantity": "1" + "0" * 20},
    ]
    for params in cases:
        answer = await call(fuzz, "order.place", params)
        assert answer["error"]["code"] == 1005 and "is too large" in answer["error"]["msg"]
    # an exponent is outside the one decimal grammar (gateway/decimals.py)
    answer = await call(fuzz, "order.place", limit(price="1e999999999"))
    assert answer["error"]["code"] == 1005 and "not a decimal" in answer["error"]["msg"]
    assert (await call(fuzz, "order.place", limit()))["status"] == 200
    check_journal_replays(fuzz.app)


async def test_book_depth_is_exactly_one_of_the_documented(fuzz: WsFuzz) -> None:
    """book.<SYMBOL>.<DEPTH> took any str.isdigit() depth: "²" and 5000 digits made int()
    raise (1500 and an ERROR log); "010" or Arabic-Indic "10" subscribed under a name no push
    carries (pushes say book.BTC-USD.10). Fix: gateway/ws/subscriptions.py accepts the
    documented depths exactly."""
    for depth in ("²", "9" * 5000, "010", "\u0661\u0660"):
        answer = await call(fuzz, "subscribe", {"channels": [f"book.BTC-USD.{depth}"]})
        assert answer["error"]["code"] == 1020, answer
        assert "depth must be one of 10, 50, 100, 500" in answer["error"]["msg"]
    answer = await call(fuzz, "subscribe", {"channels": ["book.BTC-USD.10"]})
    assert answer["result"] == {"subscribed": ["book.BTC-USD.10"]}
