"""Admin requests the gateway refused after authenticating their operator, journaled so
the read side's hash-chained audit trail holds every authenticated admin request, not
only those that reached a command. Journal codes 120-124.

The engine records them and nothing else: an :class:`AdminRefused` changes no state
and answers with no event. It says who (operator, role, source address), what (method,
path, Idempotency-Key, the request's digest) and why (HTTP status, problem type, its
text). Requests that no operator signed are not journaled (there is no "who"): the
gateway keeps them in its audit file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.venue import VenueCommand

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = ["COMMANDS", "HANDLERS", "AdminRefused"]


@dataclass(frozen=True, slots=True)
class AdminRefused(VenueCommand):
    """An authenticated admin request the gateway refused without journaling a command."""

    operator: str
    role: str
    source: str
    method: str
    path: str
    idempotency_key: str
    digest: str
    status: int
    problem: str
    text: str


def _refused(engine: Engine, cmd: AdminRefused) -> None:
    """A record only: the journal (and so the audit trail) holds it."""


COMMANDS: dict[int, type[Any]] = {120: AdminRefused}
HANDLERS: dict[type[Any], Handler] = {AdminRefused: _refused}
