"""A snapshot written before the engine was split into stages still restores.

data/snapshot_before_stages.json was written by the engine of commit a4c69d9 (the
last one before the split): the state after a seeded random stream (tests/engine/
streams.py) with live orders on both books, GTD ones among them, its state hash, the
next 500 commands as journal records with their stamps, and the hash after them.
Restoring through Engine.restore must give the same hash, and replaying the tail must
end in the same state as the old engine did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.commands import command_from_record
from engine.core import Engine
from engine.snapshot import restore_state

DATA = Path(__file__).parent / "data" / "snapshot_before_stages.json"


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DATA.read_text())
    return doc


def test_old_snapshot_restores_to_the_same_hash(golden: dict[str, Any]) -> None:
    engine = Engine()
    engine.restore(golden["state"])
    assert engine.state_hash() == golden["state_hash"]
    assert engine.next_expiry_us() is not None  # the GTD orders are scheduled again


def test_old_snapshot_then_its_journal_tail_replay_identically(golden: dict[str, Any]) -> None:
    engine = Engine()
    restore_state(engine, golden["state"])  # the old entry point calls the hook
    for seq, ts_us, record in golden["tail"]:
        engine.apply(seq, ts_us, command_from_record(record))
    assert engine.state_hash() == golden["final_hash"]
