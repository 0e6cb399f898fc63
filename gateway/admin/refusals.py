"""Refused admin requests into the journal, so that the store's hash-chained audit trail
holds every authenticated admin request (docs/READ_SIDE.md, Audit trail).

A request refused after its operator was authenticated (role, schema, tenant,
Idempotency-Key, an unknown object, a gateway error) is journaled as an
:class:`AdminRefused` record. A request that nobody signed (missing or bad
credentials, an unknown operator, a reused nonce, no such route) names nobody: it
stays in the audit file only, and is counted. An authenticated operator could flood
the journal with refusals, so each operator's are journaled at most
``[admin] journal_refusals_per_min`` a minute (a burst of as many); beyond that they
are counted and stay in the audit file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from engine.venue.operators import Operator
from engine.venue.refusals import AdminRefused
from gateway.host import EngineHost
from gateway.metrics import Registry

__all__ = ["RefusalJournal"]

_MAX_PATH: Final = 512
_MAX_TEXT: Final = 512


class RefusalJournal:
    """Journals refusals, a token bucket per operator; ``clock`` in seconds."""

    def __init__(
        self,
        host: EngineHost,
        registry: Registry,
        per_min: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.per_min = per_min
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # operator -> (tokens, at)
        self.counter = registry.counter(
            "gw_admin_refused_total",
            "Admin requests refused: journaled, rate_limited (audit file only), "
            "unauthenticated (audit file only: nobody signed)",
        )

    def unauthenticated(self) -> None:
        self.counter.inc(kind="unauthenticated")

    def _allowed(self, operator: str) -> bool:
        if self.per_min <= 0:
            return False
        now = self.clock()
        tokens, at = self.buckets.get(operator, (float(self.per_min), now))
        tokens = min(float(self.per_min), tokens + (now - at) * self.per_min / 60.0)
        if tokens < 1.0:
            self.buckets[operator] = (tokens, now)
            return False
        self.buckets[operator] = (tokens - 1.0, now)
        return True

    def journal(
        self,
        operator: Operator,
        source: str,
        method: str,
        path: str,
        key: str,
        digest: str,
        status: int,
        problem: str,
        text: str,
    ) -> int | None:
        """Journal one refusal: its seq, or None when the operator is over its rate."""
        if not self._allowed(operator.operator_id):
            self.counter.inc(kind="rate_limited")
            return None
        self.host.submit(
            AdminRefused(
                operator.operator_id, operator.role, source, method, path[:_MAX_PATH], key,
                digest, status, problem, text[:_MAX_TEXT],
            )
        )  # fmt: skip
        self.counter.inc(kind="journaled")
        return self.host.engine.last_seq
