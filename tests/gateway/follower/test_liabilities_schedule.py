"""Proofs of liabilities published on a schedule by the follower ([store]
liabilities_every_s): at the seq its own engine stands at, from the store's newest
publication on, so a restart neither skips nor repeats one; on both backends."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gateway.follower.follower import Follower
from gateway.follower.liabilities_schedule import ScheduledLiabilities
from gateway.follower.liabilities_store import balances_of, latest, proof
from loadtest.gateway_runner import GatewayProcess
from tests.engine.streams import ACCOUNTS
from tests.gateway.follower.supervised import events, until
from tests.gateway.follower.venue import catch_up, follow_flow, random_flow
from tests.gateway.follower.verifier import load_verifier

V = load_verifier()
DAY_US = 86_400 * 1_000_000


class Clock:
    def __init__(self) -> None:
        self.us = 1_764_763_200_000_000

    def __call__(self) -> int:
        return self.us


async def _count(f: Follower) -> int:
    return int((await f.store.fetch("SELECT COUNT(*) FROM liabilities"))[0][0])


async def test_the_follower_publishes_at_its_seq_once_per_interval(
    tmp_path: Path, store_url: str
) -> None:
    venue, f = await follow_flow(tmp_path / "journal", store_url, 31, 200)
    clock = Clock()
    f.checkpoints.append(ScheduledLiabilities(f.store, f.replayer.engine, 86_400, clock))
    try:
        await f.checkpoints[0](f.applied_seq)
        published = await latest(f.store)
        assert published is not None
        assert published["seq"] == venue.engine.last_seq == f.applied_seq
        assert published["published_us"] == clock.us
        owed = balances_of(venue.engine)
        for account in ACCOUNTS:
            found = await proof(f.store, account)
            assert found is not None and V.verify(found, published) == published["root"]
            assert found["balances"] == {a: u for a, u in sorted(owed[account].items()) if u > 0}

        random_flow(random.Random(32), venue, 50)
        await catch_up(f)
        clock.us += DAY_US - 1
        await f.checkpoints[0](f.applied_seq)  # not due yet
        assert await _count(f) == 1
        clock.us += 1
        await f.checkpoints[0](f.applied_seq)
        newest = await latest(f.store)
        assert newest is not None and newest["seq"] == venue.engine.last_seq > published["seq"]

        clock.us += 2 * DAY_US
        await f.checkpoints[0](f.applied_seq)  # due, but nothing happened since: no new seq
        assert await _count(f) == 2

        # a restarted follower goes on from the store's newest publication
        again = ScheduledLiabilities(f.store, f.replayer.engine, 86_400, clock)
        random_flow(random.Random(33), venue, 10)
        await catch_up(f)
        clock.us = newest["published_us"] + DAY_US - 1
        await again(f.applied_seq)
        assert await _count(f) == 2
        clock.us += 1
        await again(f.applied_seq)
        assert await _count(f) == 3
    finally:
        venue.close()
        await f.close()


async def test_zero_publishes_nothing(tmp_path: Path, store_url: str) -> None:
    venue, f = await follow_flow(tmp_path / "journal", store_url, 34, 20)
    try:
        await ScheduledLiabilities(f.store, f.replayer.engine, 0, Clock())(f.applied_seq)
        assert await _count(f) == 0
    finally:
        venue.close()
        await f.close()


def _published(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "/api/v1/liabilities", timeout=5) as answer:
            return dict(json.load(answer))
    except urllib.error.HTTPError as refused:
        assert refused.code in (404, 503)  # not published yet, or no store file yet
        return None


def test_the_supervised_follower_publishes_what_the_public_endpoint_serves(
    tmp_path: Path,
) -> None:
    gateway = GatewayProcess(
        tmp_path,
        load_sessions=0,
        log_level="info",
        overrides={"store": {"follower": True, "liabilities_every_s": 3600}},
    ).start()
    try:
        published = until(lambda: _published(gateway.http_url), "a publication")
        (logged,) = events(gateway, "liabilities.published")
    finally:
        assert gateway.stop() == 0, gateway.log_tail()
    assert published["seq"] == logged["seq"] > 0
    assert published["root"] == logged["root"]
    assert published["totals"] == logged["totals"] and published["totals"]
