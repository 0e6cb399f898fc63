"""The signed client routes of the HTTP server: history, balances, sub-accounts,
transfers and withdrawals over REST, answered by the WebSocket session's methods.

Each route is one WS method (:data:`ROUTES`). A request is authenticated by its
signature (gateway/rest/signing.py) against the WS key ring, so keys, scopes,
revocation, expiry and IP allowlists are the same on both edges, then handed to a
one-request :class:`~gateway.ws.protocol.Session` logged on with that key: parameter
checks, account scoping, the scope rule, the command and its answer are the WS
method's, not a copy. The HTTP status is the WS answer's status; the body is its
``result``, or ``{"error": {"code", "msg"}}`` with the WS error codes.

Query parameters (GET) and path parameters become the method's params; a POST
takes a JSON object body. ``limit``, ``from``, ``to`` and ``order_id`` are integers
(ASCII digits). Requests are rate limited per key at ``[ws] max_requests_per_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web

from gateway.edges import RateLimiter
from gateway.rest.sessions import ORDER_METHODS, RestSessions
from gateway.rest.signing import (
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_PATTERN,
    request_payload,
)
from gateway.single_use import SingleUse
from gateway.ws.errors import ApiError, ErrorCode
from gateway.ws.outbox import Outbox
from gateway.ws.protocol import Session

if TYPE_CHECKING:
    from gateway.ws.auth import LiveKey
    from gateway.ws.server import Venue

__all__ = ["ROUTES", "ClientApi"]

#: (HTTP method, path, WS method): the signed client routes
ROUTES: Final = (
    ("GET", "/api/v1/balances", "account.balances"),
    ("GET", "/api/v1/positions", "account.positions"),
    ("POST", "/api/v1/positions/close", "position.close"),
    ("POST", "/api/v1/positions/leverage", "position.leverage"),
    ("POST", "/api/v1/positions/margin-mode", "position.margin_mode"),
    ("POST", "/api/v1/positions/margin", "position.margin"),
    ("GET", "/api/v1/orders", "orders.history"),
    ("POST", "/api/v1/orders", "order.place"),
    ("GET", "/api/v1/fills", "fills.history"),
    ("GET", "/api/v1/ledger", "ledger.history"),
    ("GET", "/api/v1/liabilities/proof", "liabilities.proof"),
    ("GET", "/api/v1/sub-accounts", "subaccount.list"),
    ("POST", "/api/v1/transfers", "transfer"),
    ("GET", "/api/v1/withdrawals", "withdrawal.list"),
    ("POST", "/api/v1/withdrawals", "withdrawal.request"),
    ("GET", "/api/v1/withdrawals/{withdrawal_id}", "withdrawal.status"),
    ("DELETE", "/api/v1/withdrawals/{withdrawal_id}", "withdrawal.cancel"),
)
_INTEGERS: Final = frozenset({"limit", "from", "to", "order_id", "seq"})
_DIGITS: Final = re.compile(r"[0-9]{1,18}")
#: signed requests remembered within the window; beyond it, requests are refused
_MAX_REMEMBERED: Final = 200_000
_MAX_BODY: Final = 64 * 1024


def _answer(status: int, body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _refuse(err: ApiError) -> web.Response:
    return _answer(err.status, {"error": {"code": err.code, "msg": err.msg}})


class ClientApi:
    """The signed client routes, served with the WS venue's keys and methods."""

    def __init__(
        self,
        venue: Venue,
        window_ms: int,
        max_requests_per_s: int,
        sessions: RestSessions | None = None,
    ) -> None:
        self.venue = venue
        #: the origin of REST orders (None: orders go without one, as in unit tests)
        self.sessions = sessions
        self.window_ms = window_ms
        self.rate = max_requests_per_s
        self.used = SingleUse(_MAX_REMEMBERED)
        self.limiters: dict[str, RateLimiter] = {}

    def install(self, app: web.Application) -> None:
        for http_method, path, method in ROUTES:
            app.router.add_route(http_method, path, self._endpoint(method))

    def _endpoint(self, method: str) -> Any:
        async def endpoint(request: web.Request) -> web.Response:
            try:
                body = await _read_body(request)
                key = self.authenticate(request, body)
                params = _params(request, body)
            except ApiError as err:
                return _refuse(err)
            return await self.call(key, request.remote or "", method, params)

        endpoint.__name__ = method.replace(".", "_")
        return endpoint

    def authenticate(self, request: web.Request, body: bytes) -> LiveKey:
        """The key that signed this request, or the ApiError refusing it."""
        headers = request.headers
        key_id = headers.get(HEADER_KEY, "")
        ts_text = headers.get(HEADER_TIMESTAMP, "")
        nonce = headers.get(HEADER_NONCE, "")
        signature = headers.get(HEADER_SIGNATURE, "")
        if not (key_id and ts_text and nonce and signature):
            raise ApiError(
                ErrorCode.NOT_LOGGED_ON,
                f"a signed request is required: headers {HEADER_KEY}, {HEADER_TIMESTAMP},"
                f" {HEADER_NONCE}, {HEADER_SIGNATURE}",
            )
        if not _DIGITS.fullmatch(ts_text):
            raise ApiError(ErrorCode.INVALID_REQUEST, f"{HEADER_TIMESTAMP}: ms since the epoch")
        if not NONCE_PATTERN.fullmatch(nonce):
            raise ApiError(
                ErrorCode.INVALID_REQUEST, f"{HEADER_NONCE}: 16-64 characters of A-Z a-z 0-9 _ -"
            )
        ts = int(ts_text)
        payload = request_payload(key_id, request.method, request.raw_path, ts, nonce, body)
        now_ms = self.venue.clock_ms()
        key = self.venue.keys.check(
            key_id, ts, signature[:256], payload, now_ms, request.remote or ""
        )
        # the payload's digest: a fixed 32 bytes per remembered request, whatever its path
        digest = hashlib.sha256(payload).digest()
        if not self.used.claim(digest, ts + self.window_ms, now_ms):
            raise ApiError(
                ErrorCode.LOGON_REPLAYED,
                "this signed request was already used (or too many are in the window):"
                " sign it again with a new nonce",
            )
        limiter = self.limiters.get(key_id)
        if limiter is None:
            limiter = self.limiters[key_id] = RateLimiter(self.rate, time.monotonic())
        if not limiter.take(time.monotonic()):
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                f"rate limit exceeded: {self.rate} requests per second per key",
                limit=self.rate,
            )
        return key

    async def call(
        self, key: LiveKey, peer_ip: str, method: str, params: dict[str, Any]
    ) -> web.Response:
        """Answer one request with a session logged on with ``key``."""
        answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def deliver() -> None:
            if outbox.queue and not answered.done():
                answered.set_result(outbox.queue.popleft())

        outbox = Outbox(4, lambda _reason: None, deliver)
        session = Session(self.venue, outbox, f"rest:{peer_ip}", peer_ip)
        session.account, session.api_key, session.key = key.account, key.key_id, key
        if self.sessions is not None and method in ORDER_METHODS:
            session.origin = self.sessions.origin(key.key_id, key.account, peer_ip)
        session.receive(orjson.dumps({"id": 0, "method": method, "params": params}))
        try:
            frame = orjson.loads(await answered)
        finally:
            outbox.detach()
        if "error" in frame:
            return _answer(frame["status"], {"error": frame["error"]})
        return _answer(frame["status"], frame["result"])


async def _read_body(request: web.Request) -> bytes:
    """All of the body, however it arrives, or the ApiError past 64 KiB (aiohttp's own
    limit answers a chunked body past 1 MiB in plain text, not with the JSON error)."""
    if (request.content_length or 0) > _MAX_BODY:
        raise ApiError(ErrorCode.INVALID_REQUEST, "body larger than 64 KiB")
    body = bytearray()
    while chunk := await request.content.read(_MAX_BODY + 1 - len(body)):
        body += chunk
        if len(body) > _MAX_BODY:
            raise ApiError(ErrorCode.INVALID_REQUEST, "body larger than 64 KiB")
    return bytes(body)


def _params(request: web.Request, body: bytes) -> dict[str, Any]:
    """The method's params: path parameters, then the query (GET, DELETE) or the JSON
    object body (POST)."""
    params: dict[str, Any] = dict(request.match_info)
    if request.method == "POST":
        try:
            parsed = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise ApiError(ErrorCode.MALFORMED_JSON, f"malformed JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ApiError(ErrorCode.INVALID_REQUEST, "the body must be a JSON object")
        return {**parsed, **params}
    for name in request.query:
        values = request.query.getall(name)
        if len(values) > 1:
            raise ApiError(ErrorCode.INVALID_PARAMS, f"'{name}' given more than once")
        value = values[0]
        if name in _INTEGERS:
            if not _DIGITS.fullmatch(value):
                raise ApiError(ErrorCode.INVALID_PARAMS, f"'{name}' must be an integer")
            params[name] = int(value)
        else:
            params[name] = value
    return params
