"""Proof of liabilities: every account's proof verifies against the published root with
the standalone verifier (standard library only, run isolated from the project), the
totals are the sum of what is owed, and a tampered proof is rejected."""

from __future__ import annotations

import ast
import asyncio
import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.follower.audit_cli import main
from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import (
    AlreadyPublished,
    balances_at_snapshot,
    latest,
    proof,
    publish,
)
from gateway.follower.store import open_store
from tests.engine.streams import ACCOUNTS
from tests.gateway.follower.venue import LiveVenue, random_flow
from tests.gateway.follower.verifier import VERIFIER, load_verifier

V = load_verifier()


def _balances(rng: random.Random, count: int) -> dict[str, dict[str, int]]:
    return {
        f"ACC{n}": {
            asset: rng.choice((0, 1, rng.randint(1, 10**12)))
            for asset in rng.sample(["BTC", "ETH", "USD"], rng.randint(0, 3))
        }
        for n in range(count)
    }


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 33])
def test_every_account_is_included_and_the_totals_are_what_is_owed(count: int) -> None:
    balances = _balances(random.Random(count), count)
    balances["ACC0"] = {"BTC": -5, "USD": 7}  # a loss is not a liability
    tree = build(42, balances)
    published = tree.published()
    owed: dict[str, int] = {}
    for amounts in balances.values():
        for asset, units in amounts.items():
            if units > 0:
                owed[asset] = owed.get(asset, 0) + units
    assert published["totals"] == dict(sorted(owed.items()))
    assert published["seq"] == 42 and published["accounts"] == count
    for account in balances:
        proof = tree.proof(account)
        assert V.verify(proof, published) == published["root"]
    assert tree.proof("ACC0")["balances"] == {"USD": 7}


def _tamper(proof: dict[str, Any], published: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(what, proof, published) after one change each."""
    out = []

    def changed(what: str, edit: Any, on_root: bool = False) -> None:
        p, r = copy.deepcopy(proof), copy.deepcopy(published)
        edit(r if on_root else p)
        out.append((what, p, r))

    changed("balance raised", lambda p: p["balances"].update(USD=p["balances"]["USD"] + 1))
    changed("balance lowered", lambda p: p["balances"].update(USD=p["balances"]["USD"] - 1))
    changed("another account", lambda p: p.update(account="ACC1"))
    changed("another salt", lambda p: p.update(salt="00" * 32))
    changed("negative sibling", lambda p: p["path"][0]["sums"].__setitem__(0, ["BTC", -1]))
    changed("sibling sum lowered", lambda p: p["path"][-1]["sums"][0].__setitem__(1, 1))
    changed("sibling hash", lambda p: p["path"][1].update(hash="ff" * 32))
    changed(
        "sides swapped",
        lambda p: p["path"][0].update(side="left" if p["path"][0]["side"] == "right" else "right"),
    )
    changed("step dropped", lambda p: p["path"].pop())
    changed("another seq", lambda p: p.update(seq=p["seq"] + 1))
    changed("totals lowered", lambda r: r["totals"].update(USD=r["totals"]["USD"] - 1), True)
    changed("another root", lambda r: r.update(root="00" * 32), True)
    return out


def test_a_tampered_proof_is_rejected() -> None:
    balances = _balances(random.Random(5), 20)
    for amounts in balances.values():
        amounts.update(BTC=3, USD=10)
    tree = build(7, balances)
    proof, published = tree.proof("ACC3"), tree.published()
    assert V.verify(proof, published)
    for what, bad_proof, bad_root in _tamper(proof, published):
        with pytest.raises(V.Invalid):
            V.verify(bad_proof, bad_root)
            pytest.fail(f"accepted: {what}")


def test_the_verifier_runs_alone_and_imports_only_the_standard_library(tmp_path: Path) -> None:
    tree = build(9, {"A": {"USD": 5}, "B": {"BTC": 2}, "C": {}})
    proof_file, root_file = tmp_path / "proof.json", tmp_path / "root.json"
    root_file.write_text(json.dumps(tree.published()))
    proof_file.write_text(json.dumps(tree.proof("A")))
    run = [sys.executable, "-I", str(VERIFIER), str(proof_file), str(root_file)]
    ok = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK: A (USD 5) is included in root")
    bad = tree.proof("A")
    bad["balances"]["USD"] = 4
    proof_file.write_text(json.dumps(bad))
    refused = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert refused.returncode == 1
    assert refused.stdout.startswith("INVALID: the leaf does not match")
    imported = set()
    for node in ast.walk(ast.parse(VERIFIER.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(str(node.module).split(".")[0])
    assert imported <= sys.stdlib_module_names | {"__future__"}


@pytest.fixture
def snapshotted(tmp_path: Path) -> LiveVenue:
    venue = LiveVenue(tmp_path / "journal")
    random_flow(random.Random(21), venue, 300)
    venue.snapshot()
    random_flow(random.Random(22), venue, 50)  # after the snapshot: not in the proof
    return venue


async def test_a_publication_is_stored_once_and_serves_verifiable_proofs(
    snapshotted: LiveVenue, store_url: str, tmp_path: Path
) -> None:
    seq, balances = balances_at_snapshot(snapshotted.directory)
    assert seq < snapshotted.engine.last_seq
    store = open_store(store_url, tmp_path / "unused")
    await store.open()
    assert await latest(store) is None and await proof(store, ACCOUNTS[0]) is None
    published = await publish(store, build(seq, balances), 1_764_763_200_000_000)
    assert await latest(store) == published
    assert published["accounts"] == len(ACCOUNTS)
    for account in ACCOUNTS:
        found = await proof(store, account)
        assert found is not None
        assert V.verify(found, published) == published["root"]
        assert found["balances"] == {a: u for a, u in sorted(balances[account].items()) if u}
    assert await proof(store, "NOBODY") is None
    with pytest.raises(AlreadyPublished):
        await publish(store, build(seq, balances), 1_764_763_300_000_000)
    await store.close()


async def test_the_command_publishes_and_shows_a_proof(
    snapshotted: LiveVenue,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "venue.toml"
    config.write_text(f'[journal]\ndir = "{snapshotted.directory}"\n')
    monkeypatch.setenv("VENUE_STORE_URL", store_url)
    base = ["--config", str(config)]
    assert await asyncio.to_thread(main, [*base, "liabilities-proof", ACCOUNTS[1]]) == 1
    assert await asyncio.to_thread(main, [*base, "publish-liabilities"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert await asyncio.to_thread(main, [*base, "publish-liabilities"]) == 1
    assert "already published" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*base, "liabilities-proof", ACCOUNTS[1]]) == 0
    assert V.verify(json.loads(capsys.readouterr().out), published)
