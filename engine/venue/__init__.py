"""The operator's side of the engine: tenants and KYC, credentials, fees, funds, operators,
the review of surveillance alerts, sessions, and the admin requests refused.

Each module here owns one part of that state and everything that changes it:
- a state object the Engine holds (``engine.tenancy``, ``engine.credentials``,
  ``engine.fee_book``, ``engine.funds``, ``engine.operators``, ``engine.reviews``) with
  ``to_state()`` and ``from_state()``, which snapshots store and ``state_hash()`` digests;
- its commands (frozen dataclasses deriving from :class:`VenueCommand`) under journal
  type codes from its own range (see ``CODE_RANGES``), in ``COMMANDS``;
- a handler per command in ``HANDLERS``: ``handler(engine, command)``, deterministic,
  answering with :class:`~engine.events.VenueEvent` (``emit``) or an admin reject
  (``reject``), and changing nothing when it rejects.

registry.py gathers every module's commands and handlers (``VENUE_COMMANDS``,
``VENUE_HANDLERS``); this package itself imports none of its modules, so that they can
import it without a cycle.

Command fields are plain ``str``, ``int`` and ``bool`` values: a journal record
round-trips them exactly (a tuple would come back a list, an enum an int).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from engine.events import OrderRejected, RejectCode, VenueEvent

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = [
    "CODE_RANGES",
    "Handler",
    "VenueCommand",
    "emit",
    "reject",
]


class VenueCommand:
    """Base of every operator-side command (a marker: the Command union names it)."""

    __slots__ = ()


Handler = Callable[["Engine", Any], None]

#: Journal type codes each module may use: append only, never renumber.
CODE_RANGES: Final = {
    "tenancy": range(20, 40),
    "fees": range(40, 50),
    "funds": range(50, 60),
    "credentials": range(60, 70),
    "operators": range(70, 80),
    "reviews": range(110, 120),
    "sessions": range(100, 110),
    "refusals": range(120, 125),
}


def emit(engine: Engine, kind: str, subject: str, **data: object) -> None:
    """Answer the command being applied with a VenueEvent."""
    out = engine.out
    out.append(VenueEvent(engine.seq, engine.ts_us, len(out), kind, subject, data))


def reject(engine: Engine, subject: str, code: RejectCode, text: str) -> None:
    """Refuse the command being applied (an OrderRejected with request "admin")."""
    out = engine.out
    out.append(
        OrderRejected(
            engine.seq, engine.ts_us, len(out), "admin", subject, "", "", 0, int(code), text
        )
    )
