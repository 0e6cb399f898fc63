"""Helpers for tests of a real `python -m gateway` and the follower it supervises."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from loadtest.gateway_runner import GatewayProcess

__all__ = ["events", "spawned", "until"]

HANG_GUARD_S = 60.0
T = TypeVar("T")


def until(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        found = probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"hang guard: still waiting for {what}"
        time.sleep(0.02)


def events(gateway: GatewayProcess, name: str) -> list[dict[str, Any]]:
    """The gateway log's events of that name (the follower logs to the same stream)."""
    out = []
    for line in gateway.log_tail(1 << 20).splitlines():
        if f'"{name}"' in line:
            out.append(orjson.loads(line))
    return out


def spawned(gateway: GatewayProcess, count: int) -> int | None:
    """The pid of the count-th follower the gateway spawned, once it has."""
    found = events(gateway, "follower.spawned")
    return int(found[count - 1]["pid"]) if len(found) >= count else None
