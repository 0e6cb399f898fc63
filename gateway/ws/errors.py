"""WebSocket API error codes, order statuses and close codes: the tables docs/WS_API.md
documents. Numbers are stable; clients key on them.

Gateway errors (found before the engine sees a command) are 1xxx. Engine rejects are
2000 + :class:`engine.events.RejectCode` (so INSUFFICIENT_BALANCE = 15 is 2015), with
the status of their row in the edges' reject table (:data:`gateway.edges.REJECTS`).
"""

from __future__ import annotations

from enum import IntEnum

from engine.events import CloseReason
from engine.model import OrderStatus
from gateway.edges import ENGINE_CODE_BASE, REJECTS, reject_rule

__all__ = [
    "CLOSE_CREDENTIAL",
    "CLOSE_GOING_AWAY",
    "CLOSE_IDLE",
    "CLOSE_LOGGED_OUT",
    "CLOSE_SLOW_CONSUMER",
    "ENGINE_CODE_BASE",
    "ApiError",
    "ErrorCode",
    "close_reason",
    "close_reason_name",
    "engine_error",
    "status_name",
]


class ErrorCode(IntEnum):
    MALFORMED_JSON = 1001
    INVALID_REQUEST = 1002
    UNKNOWN_METHOD = 1003
    INVALID_PARAMS = 1004
    INVALID_DECIMAL = 1005
    NOT_LOGGED_ON = 1010
    UNKNOWN_API_KEY = 1011
    BAD_SIGNATURE = 1012
    STALE_TIMESTAMP = 1013
    ALREADY_LOGGED_ON = 1014
    LOGON_REPLAYED = 1015
    KEY_REVOKED = 1016
    KEY_EXPIRED = 1017
    IP_NOT_ALLOWED = 1018
    SCOPE_FORBIDDEN = 1019
    INVALID_CHANNEL = 1020
    TOO_MANY_SUBSCRIPTIONS = 1021
    RATE_LIMITED = 1029
    STORE_UNAVAILABLE = 1030
    NOT_PUBLISHED = 1031
    INTERNAL = 1500


_HTTP_STATUS: dict[int, int] = {
    ErrorCode.NOT_LOGGED_ON: 401,
    ErrorCode.UNKNOWN_API_KEY: 401,
    ErrorCode.BAD_SIGNATURE: 401,
    ErrorCode.STALE_TIMESTAMP: 401,
    ErrorCode.LOGON_REPLAYED: 401,
    ErrorCode.KEY_REVOKED: 401,
    ErrorCode.KEY_EXPIRED: 401,
    ErrorCode.IP_NOT_ALLOWED: 403,
    ErrorCode.SCOPE_FORBIDDEN: 403,
    ErrorCode.ALREADY_LOGGED_ON: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.STORE_UNAVAILABLE: 503,
    ErrorCode.NOT_PUBLISHED: 404,
    ErrorCode.INTERNAL: 500,
    **{rule.ws_code: rule.ws_status for rule in REJECTS.values()},
}

CLOSE_SLOW_CONSUMER = 4008
"""Close code when a non-conflatable stream (responses, user, trades) overflows."""
CLOSE_GOING_AWAY = 1001
CLOSE_IDLE = 4001
"""Close code for a connection neither logged on nor subscribed for ``idle_timeout_s``."""
CLOSE_CREDENTIAL = 4003
"""Close code when the session's API key is revoked or has expired."""
CLOSE_LOGGED_OUT = 4004
"""Close code when an operator logged the session out (its key stays valid)."""
_MAX_CLOSE_REASON = 123  # bytes: a close frame's payload is at most 125


def close_reason(text: str) -> str:
    """``text`` cut to what a close frame carries, never inside a UTF-8 sequence."""
    return text.encode()[:_MAX_CLOSE_REASON].decode(errors="ignore")


class ApiError(Exception):
    """A request-level error: becomes {"status", "error": {"code", "msg"}}."""

    def __init__(self, code: int, msg: str, **extra: object) -> None:
        super().__init__(msg)
        self.code = int(code)
        self.msg = msg
        self.extra = extra

    @property
    def status(self) -> int:
        return _HTTP_STATUS.get(self.code, 400)


def engine_error(code: int, text: str) -> ApiError:
    """The error answering engine reject ``code``: its row's WS code, the engine's text."""
    return ApiError(reject_rule(code).ws_code, text)


_STATUS_NAMES = {
    OrderStatus.NEW: "new",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.REPLACED: "new",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.EXPIRED: "expired",
}


def status_name(status: OrderStatus) -> str:
    return _STATUS_NAMES[status]


_CLOSE_NAMES = {int(r): r.name.lower() for r in CloseReason}


def close_reason_name(reason: int) -> str | None:
    """CloseReason -> "user_cancel", "ioc_remainder", ...; None while the order lives."""
    return _CLOSE_NAMES.get(reason) if reason else None
