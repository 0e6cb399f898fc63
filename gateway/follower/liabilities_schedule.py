"""Proofs of liabilities on a schedule: a follower checkpoint that publishes a new tree
once the newest publication in the store is ``every_s`` old.

It runs in the follower process, never in the gateway's. At a checkpoint the
follower's engine stands at exactly the stored seq, so the tree is built from its
balances and positions at that seq, as from a snapshot taken there; the tree is built
on a worker thread. The schedule starts from the store's newest publication, so a
restarted follower neither repeats one nor waits a whole interval again. A seq that
is already published (nothing journaled since) is skipped until there is a newer one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

import structlog

from engine.core import Engine
from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import AlreadyPublished, balances_of, latest, publish
from gateway.follower.store import Store, StoreUnavailable

__all__ = ["ScheduledLiabilities"]

log = structlog.get_logger("gateway.follower.liabilities")

_RETRY_US: Final = 60_000_000  # after the store failed a publication


def _wall_us() -> int:
    return time.time_ns() // 1000


class ScheduledLiabilities:
    """A checkpoint (Follower.checkpoints); ``every_s`` 0 = off. ``clock`` gives wall
    time in µs: the publication's ``published_us``, and what the interval counts."""

    def __init__(
        self, store: Store, engine: Engine, every_s: float, clock: Callable[[], int] = _wall_us
    ) -> None:
        self.store = store
        self.engine = engine
        self.every_us = int(every_s * 1_000_000)
        self.clock = clock
        self.due_us: int | None = None  # unknown until the store's newest is read
        self.published_seq = 0

    async def __call__(self, seq: int) -> None:
        if not self.every_us:
            return
        now = self.clock()
        try:
            if self.due_us is None:
                newest = await latest(self.store)
                if newest is not None:
                    self.published_seq = newest["seq"]
                    self.due_us = newest["published_us"] + self.every_us
                else:
                    self.due_us = now
            if now < self.due_us or seq <= self.published_seq:
                return
            tree = await asyncio.to_thread(build, seq, balances_of(self.engine))
            doc = await publish(self.store, tree, now)
        except StoreUnavailable as exc:
            log.warning("liabilities.store_unavailable", seq=seq, error=str(exc))
            if self.due_us is not None:
                self.due_us = now + _RETRY_US
            return
        except AlreadyPublished:  # by `venue-audit publish-liabilities` meanwhile
            self.published_seq = seq
            return
        self.published_seq = seq
        self.due_us = now + self.every_us
        log.info(
            "liabilities.published",
            seq=seq,
            root=doc["root"],
            totals=doc["totals"],
            accounts=doc["accounts"],
        )
