"""Engine semantics versions: a journal records which rules wrote its records, and a
record that another version wrote replays only where both versions agree."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from engine.commands import Command
from engine.core import Engine
from engine.events import Trade
from engine.journal import (
    ENGINE_SEMANTICS,
    MANIFEST,
    JournalCorrupt,
    JournalIncompatible,
    JournalWriter,
    recover,
    write_snapshot,
)
from engine.model import Side
from engine.perp.commands import ClosePosition, PerpTick, SetIndexPrice
from engine.sequencer import Sequencer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import SYMBOL, USDT, open_trader, order, perp_command
from tests.engine.streams import setup_commands

PX = 500_000


def _journaled(directory: Path, *, with_position: bool) -> Engine:
    """A perp journal: two traders, a position if asked, then ticks."""
    clock = Clock(1_000_000)
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(directory, fsync="never")
    eng.on_command = writer.append
    eng.submit(perp_command())
    for account in ("A", "B"):
        open_trader(eng, account, 10_000 * USDT)
    eng.submit(SetIndexPrice(SYMBOL, PX))
    eng.submit(PerpTick(SYMBOL))
    if with_position:
        eng.submit(order("B", Side.SELL, PX, 1_000))
        eng.submit(order("A", Side.BUY, PX, 1_000))
    clock.now += 1_000_000
    eng.submit(PerpTick(SYMBOL))
    writer.close()
    return eng


def _manifest(directory: Path) -> dict[str, object]:
    doc = orjson.loads((directory / MANIFEST).read_bytes())
    assert isinstance(doc, dict)
    return doc


def _as_legacy(directory: Path) -> None:
    """What a gateway from before the versions left: a manifest without them."""
    doc = _manifest(directory)
    del doc["semantics"]
    (directory / MANIFEST).write_bytes(orjson.dumps(doc))


def test_a_new_journal_and_its_snapshots_record_the_semantics(tmp_path: Path) -> None:
    eng = _journaled(tmp_path, with_position=True)
    assert _manifest(tmp_path)["semantics"] == [[1, ENGINE_SEMANTICS]]
    snap = orjson.loads(write_snapshot(eng, tmp_path).read_bytes())
    assert snap["semantics"] == ENGINE_SEMANTICS
    report = recover(Engine(), tmp_path)  # our own records replay
    assert report.state_hash == eng.state_hash()


def test_an_old_perp_journal_with_positions_refuses_to_replay(tmp_path: Path) -> None:
    _journaled(tmp_path, with_position=True)
    _as_legacy(tmp_path)
    with pytest.raises(JournalIncompatible) as err:
        recover(Engine(), tmp_path)
    text = str(err.value)
    assert "PerpTick" in text and "semantics 1" in text and f"semantics {ENGINE_SEMANTICS}" in text
    assert "liquidation" in text and "snapshot" in text
    assert isinstance(err.value, JournalCorrupt)  # the gateway's start_refused path


def test_an_old_journal_replays_where_the_versions_agree(tmp_path: Path) -> None:
    """Ticks with no open position liquidate nothing under any version: they replay,
    and the writer then records where today's records begin."""
    eng = _journaled(tmp_path, with_position=False)
    _as_legacy(tmp_path)
    again = Engine()
    assert recover(again, tmp_path).state_hash == eng.state_hash()
    writer = JournalWriter(tmp_path, next_seq=again.last_seq + 1)
    writer.close()
    assert _manifest(tmp_path)["semantics"] == [[1, 1], [again.last_seq + 1, ENGINE_SEMANTICS]]
    assert recover(Engine(), tmp_path).last_seq == again.last_seq


def test_a_snapshot_at_the_end_of_an_old_journal_is_the_upgrade_path(tmp_path: Path) -> None:
    eng = _journaled(tmp_path, with_position=True)
    write_snapshot(eng, tmp_path, keep=0)  # the old version's last snapshot
    _as_legacy(tmp_path)
    again = Engine()
    report = recover(again, tmp_path)
    assert (report.replayed, report.state_hash) == (0, eng.state_hash())
    writer = JournalWriter(tmp_path, next_seq=again.last_seq + 1)
    again.on_command = writer.append
    again.submit(PerpTick(SYMBOL))  # today's records after the snapshot replay
    writer.close()
    assert recover(Engine(), tmp_path).state_hash == again.state_hash()


def test_records_of_a_newer_version_refuse(tmp_path: Path) -> None:
    _journaled(tmp_path, with_position=False)
    doc = _manifest(tmp_path)
    doc["semantics"] = [[1, ENGINE_SEMANTICS + 1]]
    (tmp_path / MANIFEST).write_bytes(orjson.dumps(doc))
    with pytest.raises(JournalIncompatible, match="does not know"):
        recover(Engine(), tmp_path)


def test_an_unreadable_semantics_entry_is_corruption(tmp_path: Path) -> None:
    _journaled(tmp_path, with_position=False)
    doc = _manifest(tmp_path)
    doc["semantics"] = [[1, "2"]]
    (tmp_path / MANIFEST).write_bytes(orjson.dumps(doc))
    with pytest.raises(JournalCorrupt, match="semantics"):
        recover(Engine(), tmp_path)


def test_spot_only_records_of_version_1_replay(tmp_path: Path) -> None:
    clock = Clock(1_000_000)
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(tmp_path, fsync="never")
    eng.on_command = writer.append
    commands: list[Command] = setup_commands()
    for command in commands:
        eng.submit(command)
    writer.close()
    _as_legacy(tmp_path)
    assert recover(Engine(), tmp_path).state_hash == eng.state_hash()


def _as_version(directory: Path, version: int) -> None:
    """What a gateway of that version left: its records, its entry in the manifest."""
    doc = _manifest(directory)
    doc["semantics"] = [[1, version]]
    (directory / MANIFEST).write_bytes(orjson.dumps(doc))


def _closing(directory: Path, *, with_position: bool) -> Engine:
    """A perp journal ending in a ClosePosition (a fee-paying taker closes, or is
    refused on a flat position)."""
    clock = Clock(1_000_000)
    eng = Engine(Sequencer(clock))
    writer = JournalWriter(directory, fsync="never")
    eng.on_command = writer.append
    eng.submit(perp_command())
    open_trader(eng, "A", 10_000 * USDT, taker_bps="5")
    open_trader(eng, "B", 10_000 * USDT)
    eng.submit(SetIndexPrice(SYMBOL, PX))
    eng.submit(PerpTick(SYMBOL))
    if with_position:
        eng.submit(order("B", Side.SELL, PX, 1_000))
        eng.submit(order("A", Side.BUY, PX, 1_000))
        eng.submit(order("B", Side.BUY, PX, 1_000))
    events = eng.submit(ClosePosition("A", SYMBOL))
    assert any(isinstance(e, Trade) for e in events) == with_position
    writer.close()
    return eng


@pytest.mark.parametrize(("version", "why"), [(2, "taker fee"), (3, "kill switch")])
def test_an_older_close_refuses_to_replay(tmp_path: Path, version: int, why: str) -> None:
    """Version 2 closed without the taker fee, version 3 past the kill switches:
    replaying a ClosePosition that traded under today's rules could build another
    state."""
    _closing(tmp_path, with_position=True)
    _as_version(tmp_path, version)
    with pytest.raises(JournalIncompatible) as err:
        recover(Engine(), tmp_path)
    text = str(err.value)
    assert "ClosePosition" in text and f"semantics {version}" in text and why in text


@pytest.mark.parametrize("version", [2, 3])
def test_an_older_refused_close_replays(tmp_path: Path, version: int) -> None:
    eng = _closing(tmp_path, with_position=False)
    _as_version(tmp_path, version)
    assert recover(Engine(), tmp_path).state_hash == eng.state_hash()


def test_a_version_1_close_refuses_too(tmp_path: Path) -> None:
    _closing(tmp_path, with_position=True)
    _as_legacy(tmp_path)
    with pytest.raises(JournalIncompatible, match="ClosePosition"):
        recover(Engine(), tmp_path)
