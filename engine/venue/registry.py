"""Every operator-side module's commands and handlers, checked against CODE_RANGES."""

from __future__ import annotations

from typing import Any

from engine.venue import (
    CODE_RANGES,
    Handler,
    credentials,
    fees,
    funds,
    operators,
    refusals,
    reviews,
    sessions,
    tenancy_commands,
)

__all__ = ["VENUE_COMMANDS", "VENUE_HANDLERS"]


def _collect() -> tuple[dict[int, type[Any]], dict[type[Any], Handler]]:
    commands: dict[int, type[Any]] = {}
    handlers: dict[type[Any], Handler] = {}
    for name, module in (
        ("tenancy", tenancy_commands),
        ("fees", fees),
        ("funds", funds),
        ("credentials", credentials),
        ("operators", operators),
        ("reviews", reviews),
        ("sessions", sessions),
        ("refusals", refusals),
    ):
        for code, cls in module.COMMANDS.items():
            if code not in CODE_RANGES[name] or code in commands:
                raise RuntimeError(
                    f"journal code {code} of {cls.__name__} is outside {name}'s range or taken"
                )
            commands[code] = cls
        handlers.update(module.HANDLERS)
    return commands, handlers


VENUE_COMMANDS, VENUE_HANDLERS = _collect()
