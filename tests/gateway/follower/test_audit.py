"""The audit trail in the store: every admin request once, attributed, with its result,
hash chained across batches and restarts; the check names the first broken link of an
edited, deleted or re-hashed trail. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import orjson
import pytest

from engine.commands import Command, SetGlobalHalt, command_to_record
from engine.venue.operators import AdminRequest, CreateOperator
from gateway.follower.audit import HASHED, row_hash
from gateway.follower.audit_cli import anchors, main, verify_store
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.store import Store
from tests.gateway.follower.venue import LiveVenue, random_flow

_KEY = "ab" * 32


def _admin(operator: str, key: str, command: Command) -> AdminRequest:
    record = orjson.dumps(command_to_record(command)).decode()
    return AdminRequest(operator, "venue-admin", "10.0.0.7", key, "d-" + key, record)


def _admin_day(venue: LiveVenue, rng: random.Random, requests: int) -> None:
    """Trading interleaved with admin requests (one in three refused: a reused key)."""
    random_flow(rng, venue, 0)  # the venue's setup
    venue.submit([CreateOperator("alice", "venue-admin", _KEY)])
    for n in range(requests):
        random_flow(rng, venue, 20)
        key = f"k{n - 1 if n % 3 == 2 else n}"
        venue.submit([_admin("alice", key, SetGlobalHalt(n % 2 == 0))])


async def _follow(store_url: str, journal: Path, batch: int = 1000) -> Follower:
    f = Follower(FollowerSettings(journal, store_url=store_url, batch=batch))
    await f.start(asyncio.Event())
    while await f.step(asyncio.Event()):
        pass
    return f


async def _audit(store: Store) -> list[tuple[object, ...]]:
    return await store.fetch(f"SELECT {', '.join(HASHED)}, hash FROM audit ORDER BY seq")


async def test_each_admin_request_is_audited_once_with_its_result(
    store_url: str, tmp_path: Path
) -> None:
    venue = LiveVenue(tmp_path / "journal")
    _admin_day(venue, random.Random(7), 9)
    f = await _follow(store_url, venue.directory, batch=37)  # chained across batches
    rows = await f.store.fetch(
        "SELECT operator, role, source, idempotency_key, action, result FROM audit "
        "WHERE operator = 'alice' ORDER BY seq"
    )
    assert len(rows) == 9
    assert rows[0] == ("alice", "venue-admin", "10.0.0.7", "k0", "SetGlobalHalt", "applied")
    assert [r[5] for r in rows] == ["applied", "applied", "rejected"] * 3
    seeded = await f.store.fetch("SELECT action FROM audit WHERE role = 'gateway'")
    assert {"AddInstrument", "OpenAccount", "AdjustBalance", "CreateOperator"} <= {
        a for (a,) in seeded
    }
    assert not await f.store.fetch(
        "SELECT seq FROM audit WHERE action IN ('NewOrder', 'Cancel', 'Replace', 'Tick')"
    )
    assert await verify_store(f.store) == (len(await _audit(f.store)), None)
    await f.close()


async def test_the_chain_continues_across_a_restart_as_a_rebuild_makes_it(
    store_url: str, tmp_path: Path
) -> None:
    venue = LiveVenue(tmp_path / "journal")
    rng = random.Random(3)
    _admin_day(venue, rng, 4)
    first = await _follow(store_url, venue.directory)
    await first.close()
    for n in range(4, 8):
        venue.submit([_admin("alice", f"k{n}", SetGlobalHalt(False))])
    again = await _follow(store_url, venue.directory)
    rebuilt = await _follow(f"sqlite:{tmp_path / 'rebuilt.sqlite3'}", venue.directory)
    stored = await _audit(again.store)
    assert stored == await _audit(rebuilt.store)
    assert (await verify_store(again.store))[1] is None
    await again.close()
    await rebuilt.close()


@pytest.fixture
async def trail(store_url: str, tmp_path: Path) -> Follower:
    venue = LiveVenue(tmp_path / "journal")
    _admin_day(venue, random.Random(11), 6)
    return await _follow(store_url, venue.directory)


async def _alice(store: Store) -> list[int]:
    return [int(s) for (s,) in await store.fetch("SELECT seq FROM audit WHERE operator = 'alice'")]


async def test_an_edited_row_is_named(trail: Follower) -> None:
    store = trail.store
    edited = (await _alice(store))[2]
    await store.fetch("UPDATE audit SET result = 'applied' WHERE seq = ?", edited)
    held, broken = await verify_store(store)
    assert broken is not None and broken.seq == edited
    assert broken.reason == "hash does not match the row's content"
    assert held == len([r for r in await _audit(store) if int(str(r[0])) < edited])
    await trail.close()


async def test_a_deleted_row_breaks_the_link_of_the_next(trail: Follower) -> None:
    store = trail.store
    deleted = (await _alice(store))[1]
    (after,) = (await store.fetch("SELECT MIN(seq) FROM audit WHERE seq > ?", deleted))[0]
    await store.fetch("DELETE FROM audit WHERE seq = ?", deleted)
    _, broken = await verify_store(store)
    assert broken is not None and broken.seq == after
    assert broken.reason == "prev does not match the hash of the row before it"
    await trail.close()


async def test_a_rehashed_trail_is_caught_by_the_anchors(trail: Follower) -> None:
    """A forger who edits a row and recomputes every hash after it passes the chain
    check, but no longer passes through the day's anchored head."""
    store = trail.store
    anchored = await anchors(store)
    assert len(anchored) == 1
    ((day_seq, day_hash),) = anchored.values()
    rows = await _audit(store)
    assert (day_seq, day_hash) == (rows[-1][0], rows[-1][-1])
    edited = (await _alice(store))[2]
    prev = ""
    for row in rows:
        fields = list(row[:-1])
        if fields[0] == edited:
            fields[HASHED.index("result")] = "applied"
        fields[-1] = prev
        prev = row_hash(fields)
        await store.fetch(
            "UPDATE audit SET result = ?, prev = ?, hash = ? WHERE seq = ?",
            fields[HASHED.index("result")], fields[-1], prev, fields[0],
        )  # fmt: skip
    assert (await verify_store(store))[1] is None  # the chain alone holds
    _, broken = await verify_store(store, anchored)
    assert broken is not None and broken.seq == day_seq
    assert broken.reason == "hash differs from the anchored head"
    await trail.close()


async def test_the_command_names_the_first_broken_link(
    trail: Follower,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = trail.store
    edited = (await _alice(store))[0]
    config = tmp_path / "venue.toml"
    config.write_text(f'[journal]\ndir = "{tmp_path / "journal"}"\n')
    monkeypatch.setenv("VENUE_STORE_URL", trail.settings.store_url)
    anchors_file = tmp_path / "anchors.json"
    assert await asyncio.to_thread(main, ["--config", str(config), "anchors"]) == 0
    anchors_file.write_text(capsys.readouterr().out)
    args = ["--config", str(config), "verify", "--anchors", str(anchors_file)]
    assert await asyncio.to_thread(main, args) == 0
    assert "audit chain holds" in capsys.readouterr().out
    await store.fetch("UPDATE audit SET source = '192.0.2.1' WHERE seq = ?", edited)
    assert await asyncio.to_thread(main, args) == 1
    assert f"audit chain broken at seq {edited}: hash does not match" in capsys.readouterr().out
    await trail.close()
