"""The gateway: FIX and WebSocket edges around the engine, in one asyncio process.

`make native` compiles the FIX hot path (codec, dictionary, session, store,
translate, application), the order tracker, the market-data publisher, the metrics
they update, the WS edge's host listener (ws/router) and the journal follower's
replay path (follower/tail, rows, replay, and the surveillance rules in
follower/surveillance) with mypyc, like the engine;
their shared mypyc runtime lives in engine/, so the engine package is imported first.
A compiled module older than its source refuses to import.
"""

from __future__ import annotations

from pathlib import Path

from engine import native_modules

__all__ = ["NATIVE"]

_HERE = Path(__file__).parent

NATIVE: tuple[str, ...] = native_modules(_HERE) + tuple(
    f"{package.replace('/', '.')}.{name}"
    for package in ("fix", "ws", "follower", "follower/surveillance")
    for name in native_modules(_HERE / package)
)
"""Gateway modules running as mypyc-compiled extensions (empty = pure Python)."""
