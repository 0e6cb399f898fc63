"""Reconciliation: at one seq, per account and asset, the engine's balance equals the
ledger's running balance and the sum of the ledger's movements by reason (opening +
deposits - withdrawals + trades - fees + rebates +- transfers and adjustments), to the
last unit; and per asset every leg, pseudo accounts included, sums to zero.

A mismatch names the first seq where the ledger and the engine part: the journal is
replayed through an engine of its own, and the engine's balance after each command is
compared with the ledger's up to that command. The store may have been edited, the
journal cannot have been (its records carry CRCs and the store's position names one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import structlog

from engine.core import Engine
from engine.events import BalanceChanged
from engine.snapshot import restore_state
from gateway.follower.reports import Reader
from gateway.follower.store import StoreUnavailable
from gateway.follower.surveillance.alerts import Alert, Kind, Severity, alert_id
from gateway.follower.surveillance.store import AlertRecorder
from gateway.follower.tail import JournalTail, load_snapshot, segments, snapshots

__all__ = [
    "MAX_LOCATED",
    "Mismatch",
    "ReconcileAlerts",
    "Reconciliation",
    "Scheduled",
    "alert_of",
    "engine_balances",
    "reconcile",
]

log = structlog.get_logger("gateway.follower")

Pair = tuple[str, str]
#: mismatched pairs whose first diverging seq is looked for (the rest are counted)
MAX_LOCATED: Final = 100


@dataclass(frozen=True)
class Mismatch:
    account: str
    asset: str
    engine: int  # the engine's total at the seq (0 for a pseudo account)
    ledger_sum: int  # the sum of the pair's legs' amounts up to the seq
    flows: dict[str, int]  # that sum by reason
    #: where the ledger first differs from the engine, or a running balance from the
    #: sum of the amounts before it (0: not located)
    first_seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "asset": self.asset,
            "engine": self.engine,
            "ledger_sum": self.ledger_sum,
            "flows": dict(sorted(self.flows.items())),
            "first_seq": self.first_seq,
        }


@dataclass(frozen=True)
class Reconciliation:
    seq: int
    pairs: int  # (account, asset) pairs compared
    mismatches: tuple[Mismatch, ...] = ()  # the first MAX_LOCATED, located
    mismatch_count: int = 0
    unbalanced: dict[str, int] = field(default_factory=dict)  # asset: sum of all its legs

    @property
    def ok(self) -> bool:
        return not self.mismatch_count and not self.unbalanced

    @property
    def first_seq(self) -> int:
        """The first seq where ledger and engine diverge (0: none, or not located)."""
        located = [m.first_seq for m in self.mismatches if m.first_seq]
        return min(located, default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ok": self.ok,
            "pairs": self.pairs,
            "mismatch_count": self.mismatch_count,
            "first_diverging_seq": self.first_seq,
            "mismatches": [m.to_dict() for m in self.mismatches],
            "unbalanced": self.unbalanced,
        }


def engine_balances(engine: Engine) -> dict[Pair, int]:
    """Every real account's total per asset."""
    return {
        (account_id, asset): bal.total
        for account_id, account in engine.accounts.items()
        for asset, bal in account.balances.items()
    }


async def reconcile(
    store: Reader, engine: Mapping[Pair, int], seq: int, journal_dir: Path
) -> Reconciliation:
    """Compare ``engine`` (the balances at ``seq``) with the store's ledger up to seq;
    locate where mismatched pairs diverge by replaying ``journal_dir``."""
    flows: dict[Pair, dict[str, int]] = {}
    unbalanced: dict[str, int] = {}
    for account, asset, reason, total in await store.fetch(
        "SELECT account, asset, reason, SUM(amount) FROM ledger WHERE seq <= ? "
        "GROUP BY account, asset, reason",
        seq,
    ):
        unbalanced[asset] = unbalanced.get(asset, 0) + int(total)
        if not account.startswith("@"):
            flows.setdefault((account, asset), {})[reason] = int(total)
    # The first leg of each pair whose running balance is not the sum of the amounts
    # up to it (pseudo accounts included: their balances run on across restarts too).
    inconsistent: dict[Pair, int] = {
        (account, asset): int(first)
        for account, asset, first in await store.fetch(
            "SELECT account, asset, MIN(seq) FROM (SELECT account, asset, seq, balance, "
            "SUM(amount) OVER (PARTITION BY account, asset ORDER BY seq, leg "
            "ROWS UNBOUNDED PRECEDING) AS running FROM ledger WHERE seq <= ?) legs "
            "WHERE running <> balance GROUP BY account, asset",
            seq,
        )
    }
    pairs = set(engine) | set(flows)
    found: list[Mismatch] = []
    for pair in sorted(pairs | set(inconsistent)):
        by_reason = flows.get(pair, {})
        total = sum(by_reason.values())
        held = engine.get(pair, 0)
        if pair in inconsistent or (held != total and not pair[0].startswith("@")):
            found.append(Mismatch(*pair, held, total, by_reason, inconsistent.get(pair, 0)))
    located = found[:MAX_LOCATED]
    real = [m for m in located if not m.account.startswith("@")]
    if real:
        legs = {(m.account, m.asset): await _legs(store, m.account, m.asset, seq) for m in real}
        first = await asyncio.to_thread(first_divergence, journal_dir, legs, seq)
        located = [
            Mismatch(m.account, m.asset, m.engine, m.ledger_sum, m.flows,
                     _earliest(m.first_seq, first.get((m.account, m.asset), 0)))
            for m in located
        ]  # fmt: skip
    return Reconciliation(
        seq,
        len(pairs),
        tuple(located),
        len(found),
        {asset: total for asset, total in sorted(unbalanced.items()) if total},
    )


def _earliest(a: int, b: int) -> int:
    return min(a, b) if a and b else a or b


async def _legs(store: Reader, account: str, asset: str, seq: int) -> list[tuple[int, int, int]]:
    rows = await store.fetch(
        "SELECT seq, amount, balance FROM ledger WHERE account = ? AND asset = ? AND seq <= ? "
        "ORDER BY seq, leg",
        account,
        asset,
        seq,
    )
    return [(int(s), int(amount), int(balance)) for s, amount, balance in rows]


def first_divergence(
    journal_dir: Path, legs: Mapping[Pair, list[tuple[int, int, int]]], until: int
) -> dict[Pair, int]:
    """Per pair, the first seq (<= until) after which the ledger's sum of amounts or its
    running balance differs from the engine's total, replaying the journal from seq 1
    (or from its oldest snapshot). CPU work: run it off the event loop."""
    engine = Engine()
    base = 0
    found = segments(journal_dir)
    if not found or found[0][0] != 1:
        for snap_seq, path in snapshots(journal_dir):
            doc = load_snapshot(path)
            if doc is not None and snap_seq <= until:
                restore_state(engine, doc["state"])
                base = snap_seq
                break
    held = {pair: engine_balances(engine).get(pair, 0) for pair in legs} if base else {}
    ledger = {pair: _LedgerCursor(rows) for pair, rows in legs.items()}
    first: dict[Pair, int] = {}

    def check(seq: int, pairs: set[Pair]) -> None:
        for pair in pairs:
            if pair not in first and not ledger[pair].agrees(seq, held.get(pair, 0)):
                first[pair] = seq

    check(base, set(legs))
    tail = JournalTail(journal_dir)
    tail.seek(base)
    while engine.last_seq < until and len(first) < len(legs):
        records = tail.read(min(until - engine.last_seq, 10_000))
        if not records:
            break
        guard = tail.guard()
        for record in records:
            guard(engine, record.seq, record.command)
            touched = {p for p, cursor in ledger.items() if cursor.next_seq == record.seq}
            for ev in engine.apply(record.seq, record.ts_us, record.command):
                if type(ev) is BalanceChanged and (ev.account, ev.asset) in ledger:
                    held[(ev.account, ev.asset)] = ev.total
                    touched.add((ev.account, ev.asset))
            check(record.seq, touched)
    return first


class _LedgerCursor:
    """A pair's legs in seq order: the ledger's sum and running balance at any seq."""

    def __init__(self, rows: list[tuple[int, int, int]]) -> None:
        self.rows = rows
        self.at = 0
        self.total = 0
        self.balance = 0

    @property
    def next_seq(self) -> int:
        return self.rows[self.at][0] if self.at < len(self.rows) else -1

    def agrees(self, seq: int, engine_total: int) -> bool:
        """Take in the legs up to seq; whether both of the ledger's figures equal the
        engine's."""
        while self.at < len(self.rows) and self.rows[self.at][0] <= seq:
            _, amount, balance = self.rows[self.at]
            self.total += amount
            self.balance = balance
            self.at += 1
        return self.total == engine_total == self.balance


class Scheduled:
    """The follower's scheduled reconciliation: a checkpoint (Follower.checkpoints) that,
    once ``every_s`` has passed, compares the follower's own engine, which stands at
    exactly the stored seq, with the store. The result goes to ``on_result``."""

    def __init__(
        self,
        store: Reader,
        engine: Engine,
        journal_dir: Path,
        every_s: float,
        on_result: Callable[[Reconciliation], Awaitable[None]],
    ) -> None:
        self.store = store
        self.engine = engine
        self.journal_dir = journal_dir
        self.every_s = every_s
        self.on_result = on_result
        self.last = -every_s  # the first checkpoint reconciles

    async def __call__(self, seq: int) -> None:
        now = time.monotonic()
        if not self.every_s or now - self.last < self.every_s:
            return
        self.last = now
        try:
            result = await reconcile(
                self.store, engine_balances(self.engine), seq, self.journal_dir
            )
        except StoreUnavailable as exc:
            log.warning("reconcile.store_unavailable", seq=seq, error=str(exc))
            return
        await self.on_result(result)


def alert_of(result: Reconciliation, ts_us: int) -> Alert:
    """A failed reconciliation as an alert for the analysts' queue (control, high)."""
    first = result.first_seq or result.seq
    accounts = tuple(sorted({m.account for m in result.mismatches}))
    summary = (
        f"ledger and engine diverge from seq {result.first_seq or 'unknown'}: "
        f"{result.mismatch_count} account/asset pair(s) at seq {result.seq}"
        + (f", unbalanced {sorted(result.unbalanced)}" if result.unbalanced else "")
    )
    facts: list[tuple[str, int | str]] = [
        ("seq", result.seq),
        ("first_diverging_seq", result.first_seq),
        ("mismatch_count", result.mismatch_count),
    ]
    facts += [(f"{m.account}/{m.asset}", f"engine {m.engine} ledger {m.ledger_sum}")
              for m in result.mismatches[:10]]  # fmt: skip
    return Alert(
        alert_id=alert_id("reconciliation", "", "venue", first, result.seq, (), ()),
        rule="reconciliation",
        kind=Kind.CONTROL,
        severity=Severity.HIGH,
        owner="venue",
        accounts=accounts,
        instrument="",
        ts_us=ts_us,
        first_seq=first,
        last_seq=result.seq,
        orders=(),
        trades=(),
        summary=summary,
        facts=tuple(facts),
    )


class ReconcileAlerts:
    """What the follower does with a scheduled result: a mismatch is logged and raised
    once as an alert into the store's queue (with the next batch); every result goes
    to the supervisor's status pipe (``report``), for the gateway's metrics."""

    def __init__(
        self,
        store: Reader,
        engine: Engine,
        recorder: AlertRecorder,
        report: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.recorder = recorder
        self.report = report
        self.raised: set[str] = set()

    async def __call__(self, result: Reconciliation) -> None:
        body = result.to_dict()
        if self.report is not None:
            self.report({"reconciliation": body})
        if result.ok:
            log.info("reconcile.ok", seq=result.seq, pairs=result.pairs)
            return
        log.error("reconcile.mismatch", **{k: v for k, v in body.items() if k != "mismatches"})
        alert = alert_of(result, self.engine.last_ts_us)
        if alert.alert_id in self.raised:
            return
        self.raised.add(alert.alert_id)
        stored = await self.store.fetch("SELECT 1 FROM alerts WHERE alert_id = ?", alert.alert_id)
        if not stored:
            self.recorder.raised(alert)
