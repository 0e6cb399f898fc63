"""The follower's rows are the live engine's events: replay, segment rolls, snapshots,
restarts, and the journals it must refuse. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.commands import OpenAccount
from engine.venue.fees import ConfigureFees, DefineFeeSchedule, SetDefaultFeeSchedule
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.replay import JournalDiverged
from gateway.follower.tail import JournalGap
from tests.engine.streams import setup_commands
from tests.gateway.follower.checks import assert_store_matches, dump
from tests.gateway.follower.pg import PgCluster
from tests.gateway.follower.venue import LiveVenue, random_flow


def follower(journal: Path, url: str, batch: int = 1000) -> Follower:
    return Follower(FollowerSettings(journal, store_url=url, batch=batch, retry_max_s=0.2))


async def catch_up(f: Follower, steps: int = 1 << 30) -> None:
    stop = asyncio.Event()
    for _ in range(steps):
        if not await f.step(stop):
            return


async def _replay_equals_live(
    url: str, journal: Path, rng: random.Random, chunks: list[int], batch: int
) -> None:
    venue = LiveVenue(journal)
    f = follower(journal, url, batch)
    await f.start(asyncio.Event())
    try:  # hypothesis may end an example anywhere (its random runs out of data)
        for i, count in enumerate(chunks):
            random_flow(rng, venue, count)
            if i % 3 == 1:
                venue.roll()  # the follower crosses segment boundaries, live
            await catch_up(f, steps=rng.randint(1, 4))  # it lags behind, then catches up
        await catch_up(f)
        await assert_store_matches(f.store, venue.events, venue.engine)
    finally:
        await f.close()
        venue.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rng=st.randoms(use_true_random=False),
    chunks=st.lists(st.integers(0, 60), min_size=1, max_size=8),
    batch=st.integers(1, 40),
)
def test_replay_equals_the_live_event_stream(
    backend: str, rng: random.Random, chunks: list[int], batch: int, request: pytest.FixtureRequest
) -> None:
    """Hypothesis-generated order flow, followed while it is journaled: every order
    state change, fill, venue event and balance is in the store exactly as the live
    engine produced it."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal"

        async def run() -> None:
            if backend == "sqlite":
                url = f"sqlite:{Path(tmp) / 'store.sqlite3'}"
            else:
                cluster: PgCluster = request.getfixturevalue("pg_cluster")
                url = await cluster.new_database()
            await _replay_equals_live(url, journal, rng, chunks, batch)

        asyncio.run(run())


async def test_an_empty_store_starts_from_the_latest_snapshot(
    store_url: str, tmp_path: Path
) -> None:
    """Old segments are gone: the store opens with the snapshot's balances and open
    orders, then holds everything after it."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    rng = random.Random(7)
    random_flow(rng, venue, 300)
    venue.snapshot()
    random_flow(rng, venue, 50)
    venue.snapshot()  # prunes the segments before the first snapshot
    snap_seq = venue.engine.last_seq
    open_orders = len(venue.engine.orders)
    random_flow(rng, venue, 300)
    f = follower(journal, store_url, batch=50)
    await f.start(asyncio.Event())
    await catch_up(f)
    await assert_store_matches(f.store, venue.events, venue.engine, after=snap_seq)
    restored = await f.store.fetch("SELECT COUNT(*) FROM orders WHERE event = 'restored'")
    assert restored == [(open_orders,)]
    await f.close()
    venue.close()


async def test_a_restart_resumes_exactly(store_url: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    rng = random.Random(3)
    random_flow(rng, venue, 400)
    first = follower(journal, store_url, batch=37)
    await first.start(asyncio.Event())
    await catch_up(first, steps=5)
    await first.close()
    random_flow(rng, venue, 200)
    second = follower(journal, store_url, batch=37)
    await second.start(asyncio.Event())
    await catch_up(second)
    await assert_store_matches(second.store, venue.events, venue.engine)
    await second.close()
    venue.close()


async def test_a_store_older_than_the_journal_retains_is_refused(
    store_url: str, tmp_path: Path
) -> None:
    """Segments the store still needed were pruned: refuse (drop the store to rebuild)
    rather than skip history."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    rng = random.Random(5)
    random_flow(rng, venue, 50)
    f = follower(journal, store_url)
    await f.start(asyncio.Event())
    await catch_up(f)
    await f.close()
    for _ in range(3):
        random_flow(rng, venue, 20)
        venue.snapshot()
    again = follower(journal, store_url)
    with pytest.raises(JournalGap):
        await again.start(asyncio.Event())
    await again.close()
    venue.close()


async def test_a_journal_that_is_not_the_one_stored_is_refused(
    store_url: str, tmp_path: Path
) -> None:
    """The record at the store's seq differs (a journal replaced, or records lost to a
    crash and written anew): the store no longer describes it."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(1), venue, 100)
    venue.close()
    f = follower(journal, store_url)
    await f.start(asyncio.Event())
    await catch_up(f)
    await f.close()
    journal.rename(tmp_path / "old")
    other = LiveVenue(journal)
    random_flow(random.Random(2), other, 100)
    other.close()
    again = follower(journal, store_url)
    with pytest.raises(JournalDiverged):
        await again.start(asyncio.Event())
    await again.close()


async def test_a_rebuild_gives_the_same_store(store_url: str, tmp_path: Path) -> None:
    """The store is derived: a second store built from the same journal is identical."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(11), venue, 300)
    venue.close()
    f = follower(journal, store_url, batch=13)
    await f.start(asyncio.Event())
    await catch_up(f)
    rebuilt = follower(journal, f"sqlite:{tmp_path / 'rebuilt.sqlite3'}", batch=1000)
    await rebuilt.start(asyncio.Event())
    await catch_up(rebuilt)
    assert await dump(f.store) == await dump(rebuilt.store)
    await f.close()
    await rebuilt.close()


def test_the_replay_path_imports_no_gateway_state() -> None:
    """The follower (seed of a hot standby) runs without the gateway's process state."""
    code = (
        "import sys, gateway.follower.follower\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('gateway')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "gateway.follower.replay" in out
    assert [m for m in out if not m.startswith("gateway.follower")] == ["gateway"]


async def test_listeners_see_every_event_once_across_a_restart(
    store_url: str, tmp_path: Path
) -> None:
    """What surveillance or a standby plugs in: the live events, in order, including the
    commands a restarted follower replays without writing."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    random_flow(random.Random(4), venue, 200)
    first = follower(journal, store_url, batch=50)
    await first.start(asyncio.Event())
    await catch_up(first, steps=2)
    await first.close()
    seen: list[object] = []
    again = follower(journal, store_url, batch=50)
    again.replayer.listeners.append(lambda _record, events: seen.extend(events))
    await again.start(asyncio.Event())
    await catch_up(again)
    assert seen == venue.events
    await again.close()
    venue.close()


async def test_fees_credited_to_a_revenue_account_balance_the_ledger(
    store_url: str, tmp_path: Path
) -> None:
    """With a revenue account (and maker rebates) every fee unit leaves ``@fees`` again:
    payers -> @fees -> revenue account, rebates @fees -> maker."""
    journal = tmp_path / "journal"
    venue = LiveVenue(journal)
    venue.submit(
        [
            *setup_commands(),
            OpenAccount("REV"),
            ConfigureFees("REV", "USD", max_rebate_bps="1"),
            DefineFeeSchedule("std", "0:-0.5:2"),
            SetDefaultFeeSchedule("std"),
        ]
    )
    random_flow(random.Random(6), venue, 400)
    f = follower(journal, store_url, batch=64)
    await f.start(asyncio.Event())
    await catch_up(f)
    await assert_store_matches(f.store, venue.events, venue.engine)
    reasons = await f.store.fetch(
        "SELECT reason, contra, SUM(amount) FROM ledger WHERE account = 'REV' GROUP BY 1, 2"
    )
    assert [(r, c) for r, c, _ in reasons] == [("fee", "@fees")]
    assert reasons[0][2] == venue.engine.accounts["REV"].balances["USD"].total > 0
    ((pool,),) = await f.store.fetch("SELECT SUM(amount) FROM ledger WHERE account = '@fees'")
    assert pool == 0
    ((rebates,),) = await f.store.fetch("SELECT COUNT(*) FROM ledger WHERE reason = 'rebate'")
    assert rebates > 0
    await f.close()
    venue.close()
