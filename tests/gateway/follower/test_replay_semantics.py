"""The follower applies the journal's engine semantics versions as recovery does: a
record another version wrote that would replay differently stops it (at start, and in
the records it tails, also after another version's writer took the journal over)
instead of storing a history the venue never had."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from engine.core import Engine
from engine.journal import ENGINE_SEMANTICS, MANIFEST, JournalIncompatible, JournalWriter, recover
from engine.model import Side
from engine.perp.commands import PerpTick, SetIndexPrice
from engine.sequencer import Sequencer
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.replay import Replayer
from tests.engine.helpers import Clock
from tests.engine.perp.perp_setup import SYMBOL, USDT, open_trader, order, perp_command

PX = 500_000


class Gateway:
    """An engine journaling into a directory, as the gateway does."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.clock = Clock(1_000_000)
        self.engine = Engine(Sequencer(self.clock))
        self.writer = JournalWriter(journal, fsync="never")
        self.engine.on_command = self.writer.append

    def setup(self) -> None:
        self.engine.submit(perp_command())
        for account in ("A", "B"):
            open_trader(self.engine, account, 10_000 * USDT)
        self.engine.submit(SetIndexPrice(SYMBOL, PX))
        self.engine.submit(PerpTick(SYMBOL))
        self.writer.flush()

    def trade_and_tick(self) -> None:
        """A position opens, then a tick liquidation-checks it."""
        self.engine.submit(order("B", Side.SELL, PX, 1_000))
        self.engine.submit(order("A", Side.BUY, PX, 1_000))
        self.tick()

    def tick(self) -> None:
        self.clock.now += 1_000_000
        self.engine.submit(PerpTick(SYMBOL))
        self.writer.flush()

    def restart(self, *, legacy: bool) -> None:
        """Close and start again on the same journal: as a version from before the
        semantics were recorded (its manifest has none) or as this one."""
        self.writer.close()
        if legacy:
            _as_legacy(self.journal)
        self.writer = JournalWriter(self.journal, fsync="never", next_seq=self.engine.last_seq + 1)
        if legacy:  # the old writer's manifest carried no semantics either
            _as_legacy(self.journal)
        self.engine.on_command = self.writer.append

    def close(self) -> None:
        self.writer.close()


def _as_legacy(journal: Path) -> None:
    doc = orjson.loads((journal / MANIFEST).read_bytes())
    doc.pop("semantics", None)
    (journal / MANIFEST).write_bytes(orjson.dumps(doc))


def follower(tmp_path: Path) -> Follower:
    url = f"sqlite:{tmp_path / 'store.sqlite3'}"
    return Follower(FollowerSettings(tmp_path / "journal", store_url=url, retry_max_s=0.2))


async def catch_up(f: Follower) -> None:
    stop = asyncio.Event()
    while await f.step(stop):
        pass


async def test_an_old_journal_with_positions_stops_the_follower(tmp_path: Path) -> None:
    gw = Gateway(tmp_path / "journal")
    gw.setup()
    gw.trade_and_tick()
    gw.close()
    _as_legacy(gw.journal)
    f = follower(tmp_path)
    await f.start(asyncio.Event())
    with pytest.raises(JournalIncompatible) as err:
        await catch_up(f)
    assert "PerpTick" in str(err.value) and "semantics 1" in str(err.value)
    assert f"semantics {ENGINE_SEMANTICS}" in str(err.value)
    assert f.applied_seq < gw.engine.last_seq  # the tick's rows were never stored
    await f.close()


async def test_a_restart_past_such_a_record_is_refused_too(tmp_path: Path) -> None:
    """A store built before the journal was known to be old: the rebuild at start
    replays the record again and refuses it."""
    gw = Gateway(tmp_path / "journal")
    gw.setup()
    gw.trade_and_tick()
    gw.close()
    f = follower(tmp_path)
    await f.start(asyncio.Event())
    await catch_up(f)
    await f.flush(asyncio.Event())
    assert f.applied_seq == gw.engine.last_seq
    await f.close()
    _as_legacy(gw.journal)
    again = follower(tmp_path)
    with pytest.raises(JournalIncompatible):
        await again.start(asyncio.Event())
    await again.close()


async def test_an_old_version_taking_over_the_journal_stops_the_tail(tmp_path: Path) -> None:
    """The follower tails today's records, then a gateway of the old version restarts on
    the journal and appends to the same segment: its first tick over a position stops
    the follower, though today's records before it were stored."""
    gw = Gateway(tmp_path / "journal")
    gw.setup()
    f = follower(tmp_path)
    await f.start(asyncio.Event())
    gw.trade_and_tick()
    await catch_up(f)
    assert f.replayer.engine.state_hash() == gw.engine.state_hash()
    gw.restart(legacy=True)
    gw.tick()
    with pytest.raises(JournalIncompatible, match="semantics 1"):
        await catch_up(f)
    gw.close()
    await f.close()


async def test_today_s_version_taking_over_an_old_journal_is_followed(tmp_path: Path) -> None:
    """The reverse: an old journal without positions (it replays), then today's gateway
    takes it over and trades. The follower sees where today's records begin and
    follows them, positions and ticks included."""
    gw = Gateway(tmp_path / "journal")
    gw.setup()
    gw.close()
    _as_legacy(gw.journal)
    f = follower(tmp_path)
    await f.start(asyncio.Event())
    await catch_up(f)
    gw.restart(legacy=False)
    gw.trade_and_tick()
    gw.tick()
    await catch_up(f)
    assert f.replayer.engine.state_hash() == gw.engine.state_hash()
    assert recover(Engine(), gw.journal).state_hash == gw.engine.state_hash()
    gw.close()
    await f.close()


def test_the_replayer_refuses_from_a_snapshot_on(tmp_path: Path) -> None:
    """The records after the snapshot an empty store starts from are guarded too."""
    from engine.journal import write_snapshot

    gw = Gateway(tmp_path / "journal")
    gw.setup()
    gw.trade_and_tick()
    write_snapshot(gw.engine, gw.journal, keep=0)
    gw.writer.roll(gw.engine.last_seq + 1)
    gw.tick()
    gw.close()
    for old in sorted(gw.journal.glob("journal-*.log"))[:-1]:
        old.unlink()  # pruned: the follower must start from the snapshot
    _as_legacy(gw.journal)
    replayer = Replayer(gw.journal)
    assert replayer.start(0, 0, {}) is not None
    with pytest.raises(JournalIncompatible):
        replayer.apply(replayer.tail.read(100))


def test_the_follower_process_exits_1_and_says_why(tmp_path: Path) -> None:
    gw = Gateway(tmp_path / "journal")
    gw.setup()
    gw.trade_and_tick()
    gw.close()
    _as_legacy(gw.journal)
    done = subprocess.run(
        [sys.executable, "-m", "gateway.follower", "--journal-dir", str(gw.journal)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VENUE_STORE_URL": "", "PYTHONPATH": str(Path.cwd())},
    )
    assert done.returncode == 1, done.stderr + done.stdout
    lines = [json.loads(x) for x in (done.stdout + done.stderr).splitlines() if x.startswith("{")]
    (critical,) = [x for x in lines if x.get("event") == "follower.cannot_follow"]
    assert "semantics 1" in str(critical["error"])


def test_the_surveillance_replay_refuses_too(tmp_path: Path) -> None:
    from gateway.follower.surveillance.replay import replay_journal
    from gateway.follower.surveillance.settings import load_settings

    gw = Gateway(tmp_path / "journal")
    gw.setup()
    gw.trade_and_tick()
    gw.close()
    _as_legacy(gw.journal)
    with pytest.raises(JournalIncompatible):
        list(replay_journal(gw.journal, load_settings({})))
