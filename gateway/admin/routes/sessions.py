"""Live client sessions: the open ones, and logging one out without disabling it.

A session's id is the seq of its journaled logon (engine/venue/sessions.py), so a
logout names exactly one logon: once it ended, the same id is no session any more
(404), and a session that logged on again has a new id. The logout is an engine
command like every mutation (journaled, attributed, audited, idempotent); the edge
holding the session ends it when the command is committed (FIX: Logout with the
reason, then disconnect; WS: close 4004; REST: the pseudo-session ends, and the key's
next order opens a new one). Its credentials are untouched: it may log
on again at once. Disabling is the FIX session and API key routes' business.

The list joins the engine's open sessions with what the edge holding each one counts
(the console's sessions view, views.SessionStats): messages in and out and throttle
refusals of the connection, and the rates of the last window of about a second, made
from two samples of those counters when a view is read, never on the message path.
"""

from __future__ import annotations

from typing import Any, Final

from engine.venue.sessions import LogoutSession
from gateway.admin.console.views import SESSION_STATS
from gateway.admin.problems import Problem
from gateway.admin.routes import OPS, STAFF, VENUE_ADMIN, Call, Outcome, Route, ascii_int
from gateway.admin.schema import DECIMAL, obj

__all__ = ["ROUTES"]

_REASON: Final = {"type": "string", "minLength": 3, "maxLength": 256}
_COUNT: Final = {"type": "integer", "minimum": 0}
#: what the edge counts of a live session (0 when no edge of this gateway holds it)
_LIVE: Final = {
    "since_ms": {"type": ["integer", "null"]}, "msgs_in": _COUNT, "msgs_out": _COUNT,
    "throttle_hits": _COUNT, "in_per_s": DECIMAL, "out_per_s": DECIMAL,
}  # fmt: skip
_SESSION: Final = obj(
    ["session_id", "protocol", "name", "account", "source", *_LIVE],
    session_id={"type": "integer"}, protocol={"type": "string", "enum": ["fix", "ws", "rest"]},
    name={"type": "string"}, account={"type": "string"}, source={"type": "string"},
    **_LIVE,
)  # fmt: skip
_IDLE: Final[dict[str, Any]] = {"since_ms": None, "msgs_in": 0, "msgs_out": 0,
                                "throttle_hits": 0, "in_per_s": 0.0, "out_per_s": 0.0}  # fmt: skip


def _live(row: dict[str, Any]) -> dict[str, Any]:
    """The counters of a session's view row; rates as decimals, like every non-integer
    figure of the admin API."""
    found = {k: row[k] for k in _IDLE}
    found["in_per_s"] = format(row["in_per_s"], ".1f")
    found["out_per_s"] = format(row["out_per_s"], ".1f")
    return found


async def list_sessions(call: Call) -> dict[str, Any]:
    live = call.request.app[SESSION_STATS].by_session_id()
    return {
        "sessions": [
            {
                "session_id": session_id,
                "protocol": protocol,
                "name": name,
                "account": account,
                "source": source,
                **_live(live.get(session_id, _IDLE)),
            }
            for session_id, (protocol, name, account, source) in sorted(
                call.host.engine.sessions.open.items()
            )
        ]
    }


async def logout_session(call: Call) -> Outcome:
    session_id = ascii_int(call.params["session_id"])
    if session_id is None:
        raise Problem("invalid-request", "session_id: the session's id (digits)")
    return await call.submit(LogoutSession(session_id, call.body["reason"]))


ROUTES: Final = [
    Route(
        "GET", "/sessions", list_sessions, roles=STAFF, cli="sessions",
        summary=(
            "Open FIX, WS and REST sessions: id (the seq of the logon), who, from where,"
            " since when, messages in and out and throttle refusals, and their rates"
        ),
        description=(
            "`since_ms`: the logon's journal time. `msgs_in`, `msgs_out`: messages read"
            " and written on the session's connection (FIX: resends included; WS:"
            " frames); `throttle_hits`: messages refused by its rate limit (FIX:"
            " BusinessMessageReject `Throttle limit exceeded`; WS: error 1029, status"
            " 429). `in_per_s`, `out_per_s`: messages per second (decimals) over the"
            " last window of at least a second, from two samples of those counters."
            " A REST pseudo-session holds no connection and counts nothing: zeros."
        ),
        response=obj(["sessions"], sessions={"type": "array", "items": _SESSION}),
    ),
    Route(
        "POST", "/sessions/{session_id}/logout", logout_session,
        roles=frozenset({VENUE_ADMIN, OPS}), cli="logout-session",
        summary="Log one live session out with a reason; its credentials stay enabled",
        description=(
            "FIX: a Logout whose Text(58) is `Logged out by the venue: <reason>`, then"
            " the disconnect (after the client's Logout, or the session's logout"
            " timeout); application messages sent meanwhile get a BusinessMessageReject."
            " WS: the connection is closed with code 4004 and reason"
            " `logged out by the venue: <reason>` (cut to the close frame's 123 bytes)."
            " The session may log on again at once (it gets a new id). 404 when the"
            " REST (gateway/rest/sessions.py): the session ends at once; the key's next"
            " order opens a new one."
            " 404 when the session is not open (any more)."
        ),
        request=obj(["reason"], reason=_REASON),
    ),
]  # fmt: skip
