"""Replay a journal through surveillance: the analyst's way to reproduce alerts.

The journal is replayed through a fresh Engine from its first record, or from the
newest snapshot when the first segments are gone (the rules then start with no
history before it), and each command's events go through Surveillance, exactly as
the follower does live.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from engine.core import Engine
from engine.journal import read_records, replay_guard
from engine.snapshot import restore_state
from gateway.follower.surveillance.alerts import Alert
from gateway.follower.surveillance.listener import watching
from gateway.follower.surveillance.settings import SurveillanceSettings

__all__ = ["replay_journal"]


def _start(engine: Engine, directory: Path) -> int:
    """Restore the newest snapshot when the journal no longer starts at seq 1."""
    first = next(read_records(directory), None)
    if first is None or first[0] == 1:
        return 0
    for path in sorted(directory.glob("snapshot-*.json"), reverse=True):
        doc = orjson.loads(path.read_bytes())
        restore_state(engine, doc["state"])
        return engine.last_seq
    raise ValueError(f"{directory}: the journal starts at seq {first[0]} and has no snapshot")


def replay_journal(
    directory: str | Path, settings: SurveillanceSettings, *, to_seq: int = 0
) -> Iterator[Alert]:
    """Every alert the journal raises, in order (up to to_seq when given)."""
    directory = Path(directory)
    engine = Engine()
    after = _start(engine, directory)
    surv = watching(engine, settings)
    guard = replay_guard(directory)  # the rules must be the ones the records were written by
    for seq, ts_us, command in read_records(directory, after):
        if to_seq and seq > to_seq:
            break
        guard(engine, seq, command)
        events = engine.apply(seq, ts_us, command)
        yield from surv.advance(ts_us)
        yield from surv.feed(events)
