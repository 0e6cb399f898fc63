"""Operators of the admin API: their public keys and roles.

Journal codes 70-79.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.venue import Handler

__all__ = ["COMMANDS", "HANDLERS", "Operators"]


class Operators:
    def to_state(self) -> dict[str, Any]:
        return {}

    def from_state(self, state: dict[str, Any]) -> None:
        pass


COMMANDS: dict[int, type[Any]] = {}
HANDLERS: dict[type[Any], Handler] = {}
