"""The follower's loop: tail the journal, replay, write batches, survive the database.

The database may be down at start or go away at any time: the follower keeps the batch
it could not write, retries with backoff (reconnecting), and logs how many commands it
is behind the journal (``follower.lag``). Trading is unaffected: the gateway never
waits for the follower, and the journal is the truth the follower catches up from.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from gateway.follower.audit import AUDIT_HEAD
from gateway.follower.replay import Batch, Replayer
from gateway.follower.store import Store, StoreUnavailable, open_store

__all__ = ["Follower", "FollowerSettings", "Status", "default_sqlite_path"]

#: what the follower reports to its supervisor: applied_seq, journal_seq, store_up
Status = Callable[[int, int, bool], None]
_STATUS_EVERY_S = 0.1
_CHECKPOINT_EVERY_S = 1.0

log = structlog.get_logger("gateway.follower")


@dataclass(frozen=True)
class FollowerSettings:
    journal_dir: Path
    store_url: str = ""  # "" = SQLite at store_path
    store_path: Path | None = None  # default: store.sqlite3 beside the journal dir
    batch: int = 1000  # commands per transaction at most
    poll_s: float = 0.05  # how often an idle follower looks for new records
    lag_log_s: float = 10.0  # how often the lag is logged
    retry_min_s: float = 0.1
    retry_max_s: float = 5.0
    reconcile_every_s: float = 0.0  # 0 = no scheduled reconciliation
    liabilities_every_s: float = 0.0  # 0 = no scheduled proof of liabilities

    def sqlite_path(self) -> Path:
        return self.store_path or default_sqlite_path(self.journal_dir)


def default_sqlite_path(journal_dir: Path) -> Path:
    """The SQLite store when [store] url is empty: beside the journal directory."""
    return journal_dir.parent / "store.sqlite3"


class Follower:
    def __init__(
        self, settings: FollowerSettings, store: Store | None = None, status: Status | None = None
    ) -> None:
        self.settings = settings
        self.status = status
        self._last_status = (-1, -1, True, 0.0)
        self.store = store or open_store(settings.store_url, settings.sqlite_path())
        self.replayer = Replayer(settings.journal_dir)
        self.applied_seq = 0  # in the store
        self.lag = 0
        self.retries = 0
        self._last_lag_log = 0.0
        #: the write of the last batch replayed: one at a time, in seq order, while the
        #: next batch is replayed (the engine runs at most one batch ahead of the store)
        self._writing: asyncio.Task[bool] | None = None
        self._last_checkpoints = 0.0
        self._closing = False
        #: awaited with the stored seq after every step, busy or idle, while the
        #: engine stands at that seq (the scheduled reconciliation)
        self.checkpoints: list[Callable[[int], Awaitable[None]]] = []

    async def start(self, stop: asyncio.Event) -> bool:
        """Connect (retrying), rebuild the engine at the store's position; False if stopped."""
        while not stop.is_set():
            try:
                await self.store.open()
                seq, crc = await self.store.position()
                pseudo = await self.store.pseudo_balances()
                head = await self.store.fetch(AUDIT_HEAD)
                break
            except StoreUnavailable as exc:
                await self._backoff(stop, exc)
        else:
            return False
        self.retries = 0
        self.applied_seq = seq
        # told before the replay to that seq (which can take long): the gateway's journal
        # pruning keeps what this position needs (gateway/retention.py)
        self._report(store_up=True)
        opening = self.replayer.start(seq, crc, pseudo, str(head[0][0]) if head else "")
        log.info("follower.started", seq=seq, journal=str(self.settings.journal_dir))
        if opening is not None:
            log.info("follower.from_snapshot", seq=opening.last_seq)
            return await self._write(opening, stop)
        return True

    async def step(self, stop: asyncio.Event) -> int:
        """Replay what the journal has now (one batch) while the batch before it is being
        written, then start writing it; commands replayed. 0 once the journal has nothing
        new and everything replayed is stored (or stop is set)."""
        records = self.replayer.tail.read(self.settings.batch)
        if not records:
            await self.flush(stop)
            return 0
        batch = self.replayer.apply(records)
        if not await self.flush(stop):
            return 0
        self._writing = asyncio.create_task(self._write(batch, stop))
        return len(records)

    async def flush(self, stop: asyncio.Event) -> bool:
        """Wait for the batch being written; False if stop came first (it is not stored)."""
        writing, self._writing = self._writing, None
        return True if writing is None else await writing

    async def run(self, stop: asyncio.Event) -> None:
        """Start, then follow until stop is set."""
        if await self.start(stop):
            await self.follow(stop)

    async def follow(self, stop: asyncio.Event) -> None:
        """Follow (once started) until stop is set."""
        while not stop.is_set():
            if not await self.step(stop):
                self._report(store_up=True, idle=True)
                self._report_lag(idle=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.poll_s)
            else:
                self._report_lag(idle=False)
            await self._checkpoints(stop)

    async def _checkpoints(self, stop: asyncio.Event) -> None:
        """Call the checkpoints while the engine stands at the stored seq: when idle, and
        at least every _CHECKPOINT_EVERY_S under sustained flow (waiting for the write)."""
        if not self.checkpoints:
            return
        now = time.monotonic()
        if now - self._last_checkpoints >= _CHECKPOINT_EVERY_S:
            await self.flush(stop)
        if self.replayer.engine.last_seq != self.applied_seq:
            return
        self._last_checkpoints = now
        for checkpoint in self.checkpoints:
            await checkpoint(self.applied_seq)

    async def _write(self, batch: Batch, stop: asyncio.Event) -> bool:
        """Write the batch, retrying until it is stored; False if stopped first."""
        while True:
            try:
                await self.store.write(batch)
            except StoreUnavailable as exc:
                if stop.is_set() or self._closing:
                    return False
                await self._backoff(stop, exc)
                if stop.is_set():
                    return False
                with contextlib.suppress(StoreUnavailable):
                    await self.store.open()
                continue
            if self.retries:
                log.info("store.available", after_retries=self.retries, seq=batch.last_seq)
                self.retries = 0
            self.applied_seq = batch.last_seq
            self._report(store_up=True)
            return True

    async def _backoff(self, stop: asyncio.Event, exc: Exception) -> None:
        self.retries += 1
        delay = min(
            self.settings.retry_max_s, self.settings.retry_min_s * 2 ** min(self.retries, 16)
        )
        self.lag = self.replayer.tail.probe_head() - self.applied_seq
        log.warning(
            "store.unavailable",
            error=str(exc),
            attempt=self.retries,
            retry_in_s=round(delay, 3),
            applied_seq=self.applied_seq,
            lag=self.lag,
        )
        self._report(store_up=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    def _report(self, store_up: bool, idle: bool = False) -> None:
        """Tell the supervisor: at most every tenth of a second while writing (the lag on
        /metrics is no staler than that), at once when the store comes or goes or when
        the follower goes idle (so the last seq is told)."""
        if self.status is None:
            return
        seq, head, was_up, at = self._last_status
        now = time.monotonic()
        if store_up == was_up and (
            seq == self.applied_seq or (now - at < _STATUS_EVERY_S and not idle)
        ):
            return
        head = max(self.replayer.tail.head_seq, self.applied_seq)
        self._last_status = (self.applied_seq, head, store_up, now)
        self.status(self.applied_seq, head, store_up)

    def _report_lag(self, idle: bool) -> None:
        now = time.monotonic()
        if now - self._last_lag_log < self.settings.lag_log_s:
            return
        self._last_lag_log = now
        head = self.replayer.tail.probe_head()
        self.lag = max(0, head - self.applied_seq)
        log.info(
            "follower.lag", applied_seq=self.applied_seq, journal_seq=head, lag=self.lag, idle=idle
        )

    async def close(self) -> None:
        """Let the batch being written finish, unless the store is failing (no more
        retries then: the next start replays what is not stored), and close the store."""
        writing, self._writing = self._writing, None
        if writing is not None:
            self._closing = True
            if self.retries:
                writing.cancel()
            await asyncio.wait({writing})
            if not writing.cancelled():
                writing.exception()  # retrieved: the store's position tells the next start
        await self.store.close()
