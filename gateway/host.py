"""EngineHost: the engine inside the event loop, with journal-before-acknowledge.

Edges call submit(command, origin). The command is sequenced, journaled (buffered)
and applied at once; its events are held back. At the end of an edge's read
(begin_input/end_input), else once per loop iteration, the host writes every held
command's journal record with one write (group commit); if the
fsync policy wants an fsync, it runs on a journal thread while the loop keeps taking
the next group, and the held events are released when it completes (pipelined group
commit). Only then do listeners see them, in sequence order, each batch first handed
to its origin (the submitting session, an :class:`Origin`), then to every listener. So
nothing an edge sends for a command can leave the process before that command is in
the journal.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final, NoReturn, Protocol

import structlog

import engine as engine_pkg
import gateway as gateway_pkg
from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Command,
    OpenAccount,
    Tick,
)
from engine.core import Engine
from engine.events import Event, OrderRejected, Trade
from engine.journal import JournalWriter, RecoveryReport, recover
from engine.model import Stp, decimal_to_units
from engine.venue.fees import FeeDayTick
from engine.venue.operators import seed_operators
from engine.venue.sessions import SessionClosed
from engine.venue.tenancy_commands import seed_tenancy
from gateway.config import Config
from gateway.credentials import seed_credentials
from gateway.dirlock import lock_dir
from gateway.fees import day_tick_due, seed_fees
from gateway.metrics import Registry
from gateway.snapshots import SnapshotWriter

__all__ = ["EngineHost", "EventBatch", "Listener", "Origin"]


def _fail_stop(error: BaseException, event: str = "journal.fsync_failed") -> NoReturn:
    """Durability is gone: acknowledging anything now would be a lie. Fail stop; the
    journal on disk is still consistent up to the last good fsync."""
    log.critical(event, error=repr(error))
    os._exit(70)


def _fail_stop_on_error(done: Future[None]) -> None:
    error = done.exception()
    if error is not None:
        _fail_stop(error)


def _timed_fsync(journal: JournalWriter) -> int:
    """fsync the journal; returns the nanoseconds it took (runs on the journal thread)."""
    start = time.perf_counter_ns()
    journal.fsync()
    return time.perf_counter_ns() - start


log = structlog.get_logger("gateway.host")


class Origin(Protocol):
    """Who submitted a command and hears its answer: an edge's session (or one of its
    requests). The host hands it its command's batch, after the journal commit and
    before the listeners see it, so that an edge routes its answers without testing
    what an origin is."""

    def on_batch(self, batch: EventBatch) -> None: ...


class EventBatch:
    """One command's events, and its :class:`Origin` (None: no session waits for it);
    received_ns when the edge read the command (time.perf_counter_ns(); 0 = untimed),
    for its acknowledgement latency.

    A plain class, not a dataclass: compiled by mypyc, its __init__ is native (a
    dataclass's generated __init__ stays interpreted), and one is built per command."""

    __slots__ = ("command", "events", "origin", "received_ns", "seq", "ts_us")

    def __init__(
        self,
        seq: int,
        ts_us: int,
        origin: Origin | None,
        command: Command,
        events: list[Event],
        received_ns: int = 0,
    ) -> None:
        self.seq = seq
        self.ts_us = ts_us
        self.origin = origin
        self.command = command
        self.events = events
        self.received_ns = received_ns


Listener = Callable[[EventBatch], None]

_STP: Final = {m.name.lower(): m for m in Stp}


class EngineHost:
    def __init__(self, config: Config, registry: Registry) -> None:
        self.config = config
        self.engine = Engine()
        self.journal_dir = Path(config.journal.dir)
        self.journal: JournalWriter | None = None
        self.listeners: list[Listener] = []
        #: listener -> its end-of-group callback, run right after the listener has seen
        #: the last batch of a group commit: an edge that buffers its output writes it
        #: there, before the listeners after it (market data) handle that batch.
        self.group_end: dict[Listener, Callable[[], object]] = {}
        self._held: list[EventBatch | Callable[[], object]] = []
        #: True while the origin and the listeners handle the last batch of a group
        #: commit (its group_end hooks come right after each listener): an edge may
        #: then leave work for a batch to its hook, knowing no later batch intervenes
        self.last_of_group = False
        self._flush_scheduled = False
        #: the call_soon'd flush, if one is (None while an edge's read is being handled:
        #: end_input flushes then)
        self._flush_handle: asyncio.Handle | None = None
        #: edges' reads being handled (begin_input/end_input nesting)
        self._reading = 0
        self._since_snapshot = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.recovery: RecoveryReport | None = None
        self._m_commands = registry.counter("gw_commands_total", "Commands by type and result")
        self._m_command_keys: dict[tuple[type, bool], tuple[tuple[str, str], ...]] = {}
        self._m_fills = registry.counter("gw_fills_total", "Trades executed")
        self._m_engine_us = registry.duration(
            "gw_engine_command_seconds", "Engine apply time per command"
        )
        self._m_flush_us = registry.duration(
            "gw_journal_flush_seconds", "Journal group write to the OS"
        )
        self._m_fsync_us = registry.duration(
            "gw_journal_fsync_seconds", "Journal fsync, on the journal thread"
        )
        self.snapshots = SnapshotWriter(self.journal_dir, registry)
        self._lock_fd = -1
        self._fsync_thread = ThreadPoolExecutor(1, thread_name_prefix="journal-fsync")
        self._syncing: asyncio.Future[int] | None = None
        self._m_batch = registry.histogram(
            "gw_journal_batch_records", "Commands per journal group commit"
        )
        registry.gauge("gw_engine_seq", "Last sequence number").set_source(
            lambda: self.engine.last_seq
        )
        registry.gauge("gw_open_orders", "Open orders in the book").set_source(
            lambda: len(self.engine.orders)
        )

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> RecoveryReport:
        """Lock the journal directory (DirLocked if another gateway has it), replay the
        journal, then open it for appends and seed the config's venue."""
        self._lock_fd = self.snapshots.keep_fd = lock_dir(self.journal_dir)
        try:
            self.recovery = recover(self.engine, self.journal_dir)
        except BaseException:
            self._unlock()
            raise
        self.journal = JournalWriter(
            self.journal_dir,
            self.config.journal.fsync,
            self.config.journal.fsync_interval_ms,
            next_seq=self.engine.last_seq + 1,
        )
        self.engine.on_command = self.journal.append
        if self.engine.last_seq == 0:
            self._seed_from_config()
        for session in list(self.engine.sessions.open):  # logged on when the gateway died
            self.engine.submit(SessionClosed(session, "gateway restarted"))
        day_tick = self._fee_day_tick()
        if day_tick is not None:  # the day began while we were down (or this is day one)
            self.engine.submit(day_tick)
        self.journal.sync()
        self._loop = asyncio.get_running_loop()
        self._ticker = self._loop.create_task(self._tick_gtd(), name="gtd-ticker")
        log.info(
            "engine.ready",
            native=[*engine_pkg.NATIVE, *gateway_pkg.NATIVE] or "no (pure Python)",
            snapshot_seq=self.recovery.snapshot_seq,
            replayed=self.recovery.replayed,
            last_seq=self.engine.last_seq,
            state_hash=(
                self.recovery.state_hash  # computed by recover(), when nothing came since
                if self.engine.last_seq == self.recovery.last_seq
                else self.engine.state_hash()
            ),
            instruments=list(self.engine.listings),
            accounts=len(self.engine.accounts),
        )
        return self.recovery

    def _seed_from_config(self) -> None:
        """Bootstrap the config's venue into an empty journal (and only then).

        It goes through submit() like any command, so a replay rebuilds it. Once the
        journal holds anything it is the truth: config changes to instruments, accounts
        or balances are not applied at later starts (use the admin API).
        """
        engine = self.engine
        for inst in self.config.instruments:
            if inst.symbol not in engine.listings:
                engine.submit(
                    AddInstrument(
                        inst.symbol, inst.base, inst.quote, inst.tick_size, inst.lot_size,
                        inst.min_qty, inst.min_notional, inst.collar_pct,
                    )
                )  # fmt: skip
        for acct in self.config.accounts:
            if acct.id in engine.accounts:
                continue
            engine.submit(
                OpenAccount(
                    acct.id, _STP[acct.stp], acct.maker_fee_bps, acct.taker_fee_bps,
                    decimal_to_units(acct.max_order_qty),
                    decimal_to_units(acct.max_order_notional), acct.max_open_orders,
                )
            )  # fmt: skip
            for asset, amount in acct.balances.items():
                engine.submit(AdjustBalance(acct.id, asset, decimal_to_units(amount)))
        seed_tenancy(self.config, engine.submit)
        if not engine.operators.by_id:
            seed_operators(self.config, engine.submit)
        seed_credentials(self.config, engine.submit)
        seed_fees(self.config, engine.submit)

    async def stop(self) -> None:
        """Finish the commit in flight, commit what is held (synchronously), close."""
        if self._ticker is not None:
            self._ticker.cancel()
        for _ in range(1000):  # the fsync in flight, then its done-callback
            if self._syncing is None:
                break
            await asyncio.sleep(0.005)
        self._loop = None
        self.flush()
        await self.snapshots.wait()
        self._fsync_thread.shutdown(wait=True)
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = self.snapshots.keep_fd = -1

    # ---------------------------------------------------------------- commands

    def submit(
        self, command: Command, origin: Origin | None = None, received_ns: int = 0
    ) -> list[Event]:
        """Apply a command now; its events reach listeners after the journal flush.

        The returned events are for inspection only (e.g. to learn an order id); an
        edge must not send anything derived from them before its listener sees them.
        ``received_ns`` rides along to the listeners (EventBatch.received_ns).
        """
        engine = self.engine
        start = time.perf_counter_ns()
        events = engine.submit(command)
        self._m_engine_us.observe((time.perf_counter_ns() - start) / 1000)
        self._held.append(
            EventBatch(engine.last_seq, engine.last_ts_us, origin, command, events, received_ns)
        )
        rejected = bool(events) and type(events[0]) is OrderRejected
        # == self._m_commands.inc(type=..., result=...), with the label key cached
        kind = (type(command), rejected)
        key = self._m_command_keys.get(kind)
        if key is None:
            key = self._m_command_keys[kind] = (
                ("result", "rejected" if rejected else "ok"),
                ("type", type(command).__name__),
            )
        values = self._m_commands.values
        values[key] = values.get(key, 0) + 1
        if not self._flush_scheduled:
            self._schedule_flush()
        return events

    def defer(self, callback: Callable[[], object]) -> None:
        """Run callback after the next flush, in order with held batches.

        For answers that are not engine commands (FIX OrderStatusRequest, market-data
        snapshots): they must not overtake the acknowledgements already held. And to
        learn that what was submitted so far is durable (journaled, fsynced if the
        policy wants it): the FIX stores count an inbound MsgSeqNum only then.
        """
        self._held.append(callback)
        if not self._flush_scheduled:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        """A flush on the next loop pass, or, inside an edge's read, at its end_input."""
        self._flush_scheduled = True
        if self._loop is not None and not self._reading:
            self._flush_handle = self._loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        self.flush()

    def begin_input(self) -> None:
        """An edge starts handling what one read brought in: what it submits is flushed
        by the matching :meth:`end_input`, not on the next loop pass."""
        self._reading += 1

    def end_input(self) -> None:
        """The read is handled: commit what it submitted now (one group commit for the
        whole read). An order that came alone (a client with one order in flight) is
        then journaled and answered in the pass that read it, with no loop pass and
        no callback between its read and its acknowledgement."""
        self._reading -= 1
        if not self._reading and self._flush_scheduled:
            self.flush()

    def flush(self) -> None:
        """Group commit: one journal write for every held command, then their events.

        When the fsync policy wants an fsync, it runs on the journal thread and the
        events are released when it completes; meanwhile the loop keeps taking new
        commands, which form the next group (pipelined group commit). Without an
        fsync due, the events are released right after the write.
        """
        self._flush_scheduled = False
        handle, self._flush_handle = self._flush_handle, None
        if handle is not None:
            handle.cancel()  # flushed before its pass came
        if self._syncing is not None:
            return  # the commit in flight flushes again when it completes
        held, self._held = self._held, []
        journal = self.journal
        if journal is None or not journal.pending:
            self._release(held)
            return
        start = time.perf_counter_ns()
        try:
            count = journal.write()
        except OSError as exc:  # disk full: the group is not durable, nor is any later
            _fail_stop(exc, "journal.write_failed")
        write_us = (time.perf_counter_ns() - start) / 1000
        self._since_snapshot += count
        if journal.fsync_due():
            self._m_flush_us.observe(write_us)
            self._m_batch.observe(count)
            if self._loop is None:  # stopping: no loop to come back to
                self._m_fsync_us.observe(_timed_fsync(journal) / 1000)
            else:
                syncing = self._loop.run_in_executor(self._fsync_thread, _timed_fsync, journal)
                syncing.add_done_callback(lambda done: self._synced(done, held))
                self._syncing = syncing
                return
            self._release(held)
            return
        self._release(held)  # the metrics wait for the answers, not the reverse
        self._m_flush_us.observe(write_us)
        self._m_batch.observe(count)

    def _synced(
        self, done: asyncio.Future[int], held: list[EventBatch | Callable[[], object]]
    ) -> None:
        self._syncing = None
        error = done.exception()
        if error is not None:
            _fail_stop(error)
        self._m_fsync_us.observe(done.result() / 1000)
        self._release(held)
        if self._held:
            self.flush()

    def _release(self, held: list[EventBatch | Callable[[], object]]) -> None:
        """Hand durable batches (and deferred answers) to the listeners, in order."""
        last = len(held) - 1  # the group's last EventBatch ends the group
        while last >= 0 and not isinstance(held[last], EventBatch):
            last -= 1
        for i, batch in enumerate(held):
            if not isinstance(batch, EventBatch):
                self.last_of_group = False
                try:
                    batch()
                except Exception:
                    log.exception("deferred.failed", callback=repr(batch))
                continue
            fills = 0
            for event in batch.events:
                if type(event) is Trade:
                    fills += 1
            if fills:
                self._m_fills.add(fills)
            self.last_of_group = i == last
            origin = batch.origin
            if origin is not None:
                try:
                    origin.on_batch(batch)
                except Exception:  # a broken session must not stop the edges
                    log.exception("origin.failed", origin=repr(origin), seq=batch.seq)
            for listener in self.listeners:
                try:
                    listener(batch)
                except Exception:  # one broken edge must not stop the others
                    log.exception("listener.failed", listener=repr(listener), seq=batch.seq)
                if i == last:
                    self._end_group(listener)
        self.last_of_group = False
        every = self.config.journal.snapshot_every
        if every and self._since_snapshot >= every and self.journal is not None:
            self.snapshot()

    def _end_group(self, listener: Listener) -> None:
        hook = self.group_end.get(listener)
        if hook is not None:
            try:
                hook()
            except Exception:
                log.exception("group_end.failed", listener=repr(listener))

    def snapshot(self) -> bool:
        """Start a new journal segment and snapshot the state at the current seq.

        The snapshot is written by a forked child (gateway/snapshots.py): the loop pays
        for the journal roll and the fork only. False if the previous snapshot is
        still being written (this one is taken when the next group completes)."""
        assert self.journal is not None
        if self.snapshots.running:
            return False
        try:
            self.journal.roll(self.engine.last_seq + 1, defer=self._on_journal_thread)
        except OSError as exc:
            _fail_stop(exc, "journal.write_failed")
        self._since_snapshot = 0
        return self.snapshots.start(self.engine)

    def _on_journal_thread(self, job: Callable[[], None]) -> None:
        """Run a journal durability job on the fsync thread, in order with the group
        fsyncs after it; if it fails, fail stop as a failed group fsync does."""
        self._fsync_thread.submit(job).add_done_callback(_fail_stop_on_error)

    async def _tick_gtd(self) -> None:
        """Send a Tick when the earliest GTD order is due, so expiry happens on time,
        and a FeeDayTick when a UTC day begins, so fee tiers roll (both journaled)."""
        while True:
            await asyncio.sleep(0.05)
            now_us = time.time_ns() // 1000
            due = self.engine.next_expiry_us()
            if due is not None and due <= now_us:
                self.submit(Tick())
            day_tick = self._fee_day_tick(now_us)
            if day_tick is not None:
                self.submit(day_tick)

    def _fee_day_tick(self, now_us: int = 0) -> FeeDayTick | None:
        """The FeeDayTick due now, if a UTC day began since the fee book's last one."""
        fee_book = self.engine.fee_book
        return day_tick_due(fee_book.day, bool(fee_book.default), now_us or time.time_ns() // 1000)
