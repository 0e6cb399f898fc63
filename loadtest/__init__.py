"""Load-test harness: FIX 4.4 and WebSocket load, HdrHistogram latency, reports.

Run ``python -m loadtest --help``.  Modules: histogram (latency recording), pacing
(closed/open loop), fix_client / ws_client (protocol clients), null_acceptor
(--self-test targets), scenarios, progress, report, cli.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_loop"]

_T = TypeVar("_T")


def run_loop(main: Coroutine[Any, Any, _T], use_uvloop: bool) -> _T:
    """Run ``main`` to completion on uvloop (as the gateway runs) or on asyncio's loop:
    the benchmarks' ``--uvloop`` switch."""
    if use_uvloop:
        import uvloop

        return uvloop.run(main)
    import asyncio

    return asyncio.run(main)
