"""The follower's own Engine, positioned where the store left off, and the rows each
replayed command yields.

Imports only engine/ and this package: no gateway state. Replaying the journal
through Engine.apply with each record's (seq, ts_us) yields exactly the events the
live engine produced, so the rows are the live history. This is also what a hot
standby will run. Like recovery, the replay refuses (JournalIncompatible) a record
that another engine semantics version wrote and that would replay differently
(engine.journal.replay_guard): the rows would describe a state the venue never had.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.core import Engine
from engine.events import Event
from engine.snapshot import restore_state
from gateway.follower.audit import audit_row
from gateway.follower.rows import Ledger, Rows, order_rows, origin_of
from gateway.follower.tail import (
    JournalGap,
    JournalTail,
    Record,
    load_snapshot,
    segments,
    snapshots,
)

__all__ = ["Batch", "EventListener", "JournalDiverged", "Replayer"]

#: sees every replayed command's events, in seq order (surveillance, a hot standby)
EventListener = Callable[[Record, list[Event]], None]


class JournalDiverged(Exception):
    """The journal's record at the store's seq is not the one the store applied."""


@dataclass
class Batch:
    """Rows of the commands after_seq+1 .. last_seq, written in one transaction."""

    after_seq: int
    last_seq: int
    last_crc: int
    last_ts_us: int
    rows: Rows


class Replayer:
    """Engine + ledger at the store's position; apply() turns records into a Batch."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.engine = Engine()
        self.tail = JournalTail(self.directory)
        self.ledger = Ledger()
        self.last_crc = 0
        self.audit_head = ""  # the hash of the newest audit row
        #: called with each record and its events, also for the records a restart
        #: replays without writing (the store has them; in-memory listeners do not)
        self.listeners: list[EventListener] = []
        #: called with each Batch's rows once its records are replayed, to add rows the
        #: listeners produced (surveillance alerts); a restart's replay of stored
        #: records gives them rows that are thrown away
        self.row_sources: list[Callable[[Rows], None]] = []

    def start(
        self,
        store_seq: int,
        store_crc: int,
        pseudo: dict[tuple[str, str], int],
        audit_head: str = "",
    ) -> Batch | None:
        """Rebuild the engine at store_seq. An empty store starts at seq 1 if the journal
        still has it, else at the newest snapshot: the Batch returned then holds the
        opening balances (and must be written first). audit_head: the store's newest
        audit hash, where the chain continues."""
        self.audit_head = audit_head
        first = segments(self.directory)
        from_start = not first or first[0][0] == 1
        if store_seq == 0 and not from_start:
            snap = self._restore(None)
            if snap is None:
                raise JournalGap(f"{self.directory}: no segment from seq 1 and no snapshot")
            self.tail.seek(snap)
            self._ledger_from_engine({})
            rows = Rows()
            self.ledger.opening(snap, self.engine.last_ts_us, rows)
            for order in self.engine.orders.values():
                rows.orders.append(
                    (snap, 0, "restored", order.order_id, order.account, order.symbol,
                     order.client_order_id, "", order.side, order.ord_type, order.tif,
                     order.price, order.qty, order.leaves, order.filled, order.notional, 0, "",
                     "", self.engine.last_ts_us, None)
                )  # fmt: skip
            return Batch(0, snap, 0, self.engine.last_ts_us, rows)
        base = 0 if from_start else self._restore(store_seq)
        if base is None:
            raise JournalGap(
                f"{self.directory}: the store is at seq {store_seq} but the journal keeps no "
                "snapshot at or before it and no segment from seq 1; drop the store to rebuild"
            )
        self.tail.seek(base)
        crc = 0
        while self.engine.last_seq < store_seq:
            records = self.tail.read(min(store_seq - self.engine.last_seq, 10_000))
            if not records:
                raise JournalGap(f"{self.directory}: the journal ends before seq {store_seq}")
            guard = self.tail.guard()
            for record in records:
                guard(self.engine, record.seq, record.command)
                events = self.engine.apply(record.seq, record.ts_us, record.command)
                for listener in self.listeners:
                    listener(record, events)
                crc = record.crc
        if store_seq > base and crc != store_crc:
            raise JournalDiverged(
                f"{self.directory}: record {store_seq} is not the one the store applied "
                "(the journal was replaced or lost records after a crash); rebuild the store"
            )
        self.last_crc = store_crc
        self._ledger_from_engine(pseudo)
        stored = Rows()
        for source in self.row_sources:
            source(stored)
        return None

    def _restore(self, at_most: int | None) -> int | None:
        """Restore the newest readable snapshot (at or before at_most); its seq."""
        for seq, path in reversed(snapshots(self.directory)):
            if at_most is not None and seq > at_most:
                continue
            doc = load_snapshot(path)
            if doc is None:
                continue
            restore_state(self.engine, doc["state"])
            return seq
        return None

    def _ledger_from_engine(self, pseudo: dict[tuple[str, str], int]) -> None:
        balances = dict(pseudo)
        for account_id, account in self.engine.accounts.items():
            for asset, bal in account.balances.items():
                balances[(account_id, asset)] = bal.total
        self.ledger = Ledger(balances)

    def apply(self, records: list[Record]) -> Batch:
        """Replay records (the next ones after engine.last_seq) into one Batch.
        JournalIncompatible (nothing of the batch is returned) at a record that another
        engine semantics version wrote and that would not replay the same."""
        engine = self.engine
        rows = Rows()
        after = engine.last_seq
        instruments = {s: listing.instrument for s, listing in engine.listings.items()}
        guard = self.tail.guard()  # the records were read before: the manifest covers them
        for record in records:
            guard(engine, record.seq, record.command)
            events = engine.apply(record.seq, record.ts_us, record.command)
            for listener in self.listeners:
                listener(record, events)
            order_rows(events, rows, origin_of(record.command))
            audited = audit_row(record.seq, record.ts_us, record.command, events, self.audit_head)
            if audited is not None:
                rows.audit.append(audited)
                self.audit_head = audited[-1]
            if len(instruments) != len(engine.listings):
                instruments = {s: lst.instrument for s, lst in engine.listings.items()}
            self.ledger.apply(events, instruments, rows, engine.perps.markets)
            self.last_crc = record.crc
        for source in self.row_sources:
            source(rows)
        return Batch(after, engine.last_seq, self.last_crc, engine.last_ts_us, rows)
