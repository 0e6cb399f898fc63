"""Client sessions (FIX and WebSocket logons), journaled so the read side knows who sent
what. Journal codes 100-109.

A session that logs on is journaled as :class:`SessionOpened`; its seq is the session
id, which the edge then stamps on every order command the session sends (the
``origin`` field of NewOrder, Cancel, Replace and MassCancel). Its end is a
:class:`SessionClosed` with the reason. The engine keeps the open sessions (so a
gateway that restarts after a crash closes those it left open) and decides nothing
else from them: origin is never read on the order path.

An operator may end one live session without touching its credentials
(:class:`LogoutSession`): the engine only checks that the session is open and answers
a ``session.logout_requested`` event; the edge holding the session ends it with the
reason (FIX Logout, WS close) and journals its SessionClosed as for any logout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from engine.events import RejectCode
from engine.venue import VenueCommand, emit, reject

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = ["COMMANDS", "HANDLERS", "LogoutSession", "SessionClosed", "SessionOpened", "Sessions"]

_MAX_TEXT: Final = 256


@dataclass(frozen=True, slots=True)
class SessionOpened(VenueCommand):
    """A session logged on: protocol ``fix`` or ``ws``, its name (FIX: the session's
    comp ids; WS: the API key id), the account it logged on for ("" if several) and
    the peer's address."""

    protocol: str
    name: str
    account: str
    source: str


@dataclass(frozen=True, slots=True)
class SessionClosed(VenueCommand):
    """Session ``session`` (its SessionOpened seq) ended, and why."""

    session: int
    reason: str


@dataclass(frozen=True, slots=True)
class LogoutSession(VenueCommand):
    """An operator ends open session ``session`` with ``reason``; it may log on again."""

    session: int
    reason: str


class Sessions:
    """The open sessions: id -> [protocol, name, account, source]."""

    def __init__(self) -> None:
        self.open: dict[int, list[str]] = {}

    def to_state(self) -> dict[str, Any]:
        return {str(sid): list(info) for sid, info in self.open.items()}

    def from_state(self, state: dict[str, Any]) -> None:
        self.open = {int(sid): list(info) for sid, info in state.items()}


def _fields(protocol: str, name: str, account: str, source: str) -> dict[str, object]:
    return {"protocol": protocol, "name": name, "account": account, "source": source}


def _opened(engine: Engine, cmd: SessionOpened) -> None:
    texts = (cmd.protocol, cmd.name, cmd.account, cmd.source)
    if not cmd.protocol or any(len(text) > _MAX_TEXT for text in texts):
        reject(engine, cmd.name, RejectCode.INVALID_COMMAND, "session: protocol, short texts")
        return
    engine.sessions.open[engine.seq] = list(texts)
    emit(engine, "session.logon", str(engine.seq), **_fields(*texts))


def _closed(engine: Engine, cmd: SessionClosed) -> None:
    info = engine.sessions.open.pop(cmd.session, None)
    if info is None:
        reject(engine, str(cmd.session), RejectCode.UNKNOWN_REQUEST, "no such open session")
        return
    emit(
        engine, "session.logout", str(cmd.session), reason=cmd.reason[:_MAX_TEXT], **_fields(*info)
    )


def _logout(engine: Engine, cmd: LogoutSession) -> None:
    info = engine.sessions.open.get(cmd.session)
    if info is None:
        reject(engine, str(cmd.session), RejectCode.UNKNOWN_REQUEST, "no such open session")
        return
    emit(
        engine,
        "session.logout_requested",
        str(cmd.session),
        reason=cmd.reason[:_MAX_TEXT],
        **_fields(*info),
    )


COMMANDS: dict[int, type[Any]] = {100: SessionOpened, 101: SessionClosed, 102: LogoutSession}
HANDLERS: dict[type[Any], Handler] = {
    SessionOpened: _opened,
    SessionClosed: _closed,
    LogoutSession: _logout,
}
