"""Alerts in the follower's store: written with the batch that raised them, read back
as the analysts' queue.

The follower writes each alert in the same transaction as the rows of the command
whose replay raised it (``alerts`` table, migration 5), so the store holds an alert
exactly when it holds that command. Review steps are engine commands
(engine/venue/reviews.py): their ``alert.reviewed`` events are stored as venue events
(the notes) and move the alert's ``state`` column. A store rebuilt from the journal
therefore holds the same alerts, states and notes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson

from engine.core import Engine
from engine.venue.reviews import AlertState
from gateway.follower.replay import Replayer
from gateway.follower.rows import AlertRow, Rows
from gateway.follower.surveillance.alerts import Alert
from gateway.follower.surveillance.listener import SurveillanceListener
from gateway.follower.surveillance.settings import SurveillanceSettings
from gateway.follower.surveillance.workflow import AlertCase, Note

__all__ = [
    "SUMMARY_COLUMNS",
    "AlertFilter",
    "AlertRecorder",
    "Reader",
    "alert_case",
    "alert_row",
    "list_alerts",
    "record_alerts",
]


class Reader(Protocol):
    """What the queue reads through: the follower's Store or the gateway's ReadStore."""

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...


#: the columns of a queue entry (the body, with the evidence, is read one at a time)
SUMMARY_COLUMNS: Final = (
    "alert_id", "seq", "rule", "kind", "severity", "owner", "instrument", "ts_us",
    "first_seq", "last_seq", "summary", "state",
)  # fmt: skip


def alert_row(alert: Alert, seq: int) -> AlertRow:
    """The alerts row of an alert raised while replaying command seq."""
    return (
        alert.alert_id, seq, alert.rule, str(alert.kind), str(alert.severity), alert.owner,
        alert.instrument, alert.ts_us, alert.first_seq, alert.last_seq, alert.summary,
        str(AlertState.NEW), orjson.dumps(alert.to_dict()).decode(),
    )  # fmt: skip


class AlertRecorder:
    """Collects the alerts a SurveillanceListener raises and hands them to the batch
    being built (``drain`` is one of ``Replayer.row_sources``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: list[AlertRow] = []

    def raised(self, alert: Alert) -> None:
        self.pending.append(alert_row(alert, self.engine.last_seq))

    def drain(self, rows: Rows) -> None:
        rows.alerts.extend(self.pending)
        self.pending.clear()


def record_alerts(
    replayer: Replayer,
    settings: SurveillanceSettings,
    on_alert: Callable[[Alert], None] | None = None,
) -> AlertRecorder:
    """Run surveillance on the follower's replay and store its alerts with the batches
    (on_alert also sees each alert raised, a restart's replayed ones included)."""
    recorder = AlertRecorder(replayer.engine)

    def raised(alert: Alert) -> None:
        recorder.raised(alert)
        if on_alert is not None:
            on_alert(alert)

    replayer.listeners.append(SurveillanceListener(replayer.engine, settings, raised))
    replayer.row_sources.append(recorder.drain)
    return recorder


@dataclass(frozen=True)
class AlertFilter:
    """What the queue shows: every field set must match; ``after`` pages on."""

    state: str = ""
    rule: str = ""
    kind: str = ""
    severity: str = ""
    instrument: str = ""
    owner: str = ""
    after: tuple[int, str] = (0, "")  # (seq, alert_id) of the last entry seen
    limit: int = 100


async def list_alerts(reader: Reader, where: AlertFilter) -> list[dict[str, Any]]:
    """Queue entries in the order they were raised (seq, then id)."""
    clauses = ["(seq > ? OR (seq = ? AND alert_id > ?))"]
    seq, last_id = where.after
    params: list[Any] = [seq, seq, last_id]
    for column in ("state", "rule", "kind", "severity", "instrument", "owner"):
        value = getattr(where, column)
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    sql = (
        f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM alerts WHERE {' AND '.join(clauses)}"
        f" ORDER BY seq, alert_id LIMIT {int(where.limit)}"
    )
    rows = await reader.fetch(sql, *params)
    return [dict(zip(SUMMARY_COLUMNS, row, strict=True)) for row in rows]


async def alert_case(reader: Reader, alert_id: str) -> AlertCase | None:
    """The alert with its state and every review step, or None when it is not stored."""
    found = await reader.fetch("SELECT state, body FROM alerts WHERE alert_id = ?", alert_id)
    if not found:
        return None
    state, body = found[0]
    notes = await reader.fetch(
        "SELECT data, ts_us FROM venue_events WHERE subject = ? AND kind = ? ORDER BY seq, idx",
        alert_id,
        "alert.reviewed",
    )
    return AlertCase(
        Alert.from_dict(orjson.loads(body)), AlertState(state), [_note(*n) for n in notes]
    )


def _note(data: str, ts_us: int) -> Note:
    step = orjson.loads(data)
    return Note(
        step["actor"],
        int(ts_us),
        AlertState(step["from_state"]),
        AlertState(step["to_state"]),
        step["note"],
        step["reason"],
    )
