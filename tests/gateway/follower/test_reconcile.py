"""Reconciliation over the store: a faithful store reconciles to the last unit; a ledger
row edited afterwards (its amount, or its running balance) is caught, and the first
diverging seq named is that row's. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.reconcile import Reconciliation, engine_balances, reconcile
from tests.gateway.follower.venue import LiveVenue, random_flow


async def _catch_up(f: Follower) -> None:
    while await f.step(asyncio.Event()):
        pass


@pytest.fixture
async def followed(store_url: str, tmp_path: Path) -> tuple[LiveVenue, Follower]:
    venue = LiveVenue(tmp_path / "journal")
    random_flow(random.Random(5), venue, 500)
    f = Follower(FollowerSettings(tmp_path / "journal", store_url=store_url))
    await f.start(asyncio.Event())
    await _catch_up(f)
    return venue, f


async def _check(f: Follower) -> Reconciliation:
    engine = f.replayer.engine
    return await reconcile(
        f.store, engine_balances(engine), engine.last_seq, f.settings.journal_dir
    )


async def test_a_faithful_store_reconciles(followed: tuple[LiveVenue, Follower]) -> None:
    venue, f = followed
    result = await _check(f)
    assert result.ok, result.to_dict()
    assert result.pairs == len(engine_balances(venue.engine)) > 0
    await f.close()


@pytest.mark.parametrize("column", ["amount", "balance"])
async def test_a_corrupted_ledger_row_is_caught_at_its_seq(
    followed: tuple[LiveVenue, Follower], column: str
) -> None:
    venue, f = followed
    legs = await f.store.fetch(
        "SELECT seq, leg, account, asset FROM ledger WHERE reason = 'trade' "
        "AND account NOT LIKE '@%' ORDER BY seq, leg"
    )
    seq, leg, account, asset = legs[len(legs) // 3]
    await f.store.fetch(
        f"UPDATE ledger SET {column} = {column} + 1 WHERE seq = ? AND leg = ?", seq, leg
    )
    result = await _check(f)
    report = result.to_dict()
    assert not report["ok"]
    assert report["first_diverging_seq"] == seq, report
    (mismatch,) = report["mismatches"]
    assert (mismatch["account"], mismatch["asset"], mismatch["first_seq"]) == (account, asset, seq)
    assert mismatch["engine"] == venue.engine.accounts[account].balances[asset].total
    if column == "amount":
        assert mismatch["ledger_sum"] == mismatch["engine"] + 1
        assert sum(mismatch["flows"].values()) == mismatch["ledger_sum"]
        assert report["unbalanced"] == {asset: 1}  # double entry broken too
    await f.close()


async def test_a_deleted_leg_is_caught_at_its_seq(followed: tuple[LiveVenue, Follower]) -> None:
    _, f = followed
    legs = await f.store.fetch(
        "SELECT seq, leg FROM ledger WHERE account = 'B' AND asset = 'USD' ORDER BY seq, leg"
    )
    seq, leg = legs[len(legs) // 2]
    await f.store.fetch("DELETE FROM ledger WHERE seq = ? AND leg = ?", seq, leg)
    report = (await _check(f)).to_dict()
    assert report["first_diverging_seq"] == seq, report
    await f.close()
