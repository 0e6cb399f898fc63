"""Publishing proofs of liabilities into the store, and reading them back.

A publication is built from a journal snapshot (the engine's balances at its seq),
once per seq, and written in one transaction: the root row, every node, and each
account's leaf position and salt. The salts are random, so a publication is not
rebuilt from the journal: dropping the store drops the proofs (the published roots
should be kept outside the venue anyway). Proofs are assembled from the stored nodes,
one sibling per level, without loading the tree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.core import Engine
from engine.snapshot import restore_state
from gateway.follower.liabilities import FORMAT, Tree, proof_doc
from gateway.follower.store import Reader, Store
from gateway.follower.tail import load_snapshot, snapshots

__all__ = ["AlreadyPublished", "balances_at_snapshot", "balances_of", "latest", "proof", "publish"]

_LATEST = (
    "SELECT seq, root, totals, accounts, published_us FROM liabilities ORDER BY seq DESC LIMIT 1"
)
_AT = "SELECT seq, root, totals, accounts, published_us FROM liabilities WHERE seq = ?"


class AlreadyPublished(Exception):
    """A publication exists for that seq (each seq is published once)."""


def balances_of(engine: Engine) -> dict[str, dict[str, int]]:
    """{account: {asset: units owed}} of every account: what the tree proves. An asset
    balance is its total (held included). In a perpetual's quote asset the account is
    also owed its positions at mark: the cross wallet (that balance) plus the cross
    positions' unrealized PnL, floored at 0, plus each isolated position's margin plus
    its unrealized PnL, each floored at 0 (an isolated loss stops at its margin)."""
    owed = {
        account_id: {asset: bal.total for asset, bal in account.balances.items()}
        for account_id, account in engine.accounts.items()
    }
    cross: dict[tuple[str, str], int] = {}
    isolated: dict[tuple[str, str], int] = {}
    for symbol, book in engine.perps.positions.items():
        market = engine.perps.markets[symbol]
        instrument = market.spec.instrument
        mark = market.mark or market.index  # as the margin checks value positions
        for account_id, pos in book.items():
            if account_id not in owed:
                continue  # the insurance fund's positions: the venue's own
            upnl = pos.unrealized(mark, instrument.quote_per_tick_lot) if pos.size else 0
            key = (account_id, instrument.quote)
            if pos.isolated:
                isolated[key] = isolated.get(key, 0) + max(0, pos.margin + upnl)
            else:
                cross[key] = cross.get(key, 0) + upnl
    for (account_id, quote), upnl in cross.items():
        wallet = owed[account_id].get(quote, 0)
        owed[account_id][quote] = max(0, wallet + upnl)
    for (account_id, quote), equity in isolated.items():
        wallet = max(0, owed[account_id].get(quote, 0))
        owed[account_id][quote] = wallet + equity
    return owed


def balances_at_snapshot(journal_dir: Path) -> tuple[int, dict[str, dict[str, int]]]:
    """(seq, {account: {asset: total}}) of the newest readable snapshot."""
    for seq, path in reversed(snapshots(journal_dir)):
        doc = load_snapshot(path)
        if doc is None:
            continue
        engine = Engine()
        restore_state(engine, doc["state"])
        return seq, balances_of(engine)
    raise FileNotFoundError(f"{journal_dir}: no snapshot to publish liabilities from")


async def publish(store: Store, tree: Tree, published_us: int) -> dict[str, Any]:
    """Write the tree (refused if its seq is already published); the published document."""
    if await store.fetch(_AT, tree.seq):
        raise AlreadyPublished(f"liabilities at seq {tree.seq} are already published")
    doc = tree.published()
    seq = tree.seq
    nodes = [
        (seq, level, pos, digest, json.dumps(sums, separators=(",", ":")))
        for level, row in enumerate(tree.levels)
        for pos, (digest, sums) in enumerate(row)
    ]
    leaves = [(seq, account, pos, salt) for account, (pos, salt) in tree.accounts.items()]
    root = (
        seq, published_us, doc["root"], json.dumps(doc["totals"], sort_keys=True),
        doc["accounts"], len(tree.levels),
    )  # fmt: skip
    await store.insert(
        [("liabilities", [root]), ("liability_nodes", nodes), ("liability_leaves", leaves)]
    )
    return {**doc, "published_us": published_us}


def _doc(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, root, totals, accounts, published_us = row
    return {
        "format": FORMAT,
        "seq": int(seq),
        "root": root,
        "totals": json.loads(totals),
        "accounts": int(accounts),
        "published_us": int(published_us),
    }


async def latest(reader: Reader, seq: int = 0) -> dict[str, Any] | None:
    """The newest publication (or the one at seq), as published; None if there is none."""
    rows = await (reader.fetch(_AT, seq) if seq else reader.fetch(_LATEST))
    return _doc(rows[0]) if rows else None


async def proof(reader: Reader, account: str, seq: int = 0) -> dict[str, Any] | None:
    """The account's inclusion proof in the newest publication (or the one at seq);
    None if there is no publication or the account has no leaf in it."""
    published = await latest(reader, seq)
    if published is None:
        return None
    seq = published["seq"]
    found = await reader.fetch(
        "SELECT pos, salt FROM liability_leaves WHERE seq = ? AND account = ?", seq, account
    )
    if not found:
        return None
    position, salt = int(found[0][0]), str(found[0][1])
    (levels,) = (await reader.fetch("SELECT levels FROM liabilities WHERE seq = ?", seq))[0]
    node = "SELECT hash, sums FROM liability_nodes WHERE seq = ? AND level = ? AND pos = ?"
    leaf_hash, leaf_sums = (await reader.fetch(node, seq, 0, position))[0]
    path = []
    for level in range(int(levels) - 1):
        sibling = await reader.fetch(node, seq, level, position ^ 1)
        if sibling:
            side = "left" if position & 1 else "right"
            path.append({"side": side, "hash": sibling[0][0], "sums": json.loads(sibling[0][1])})
        position //= 2
    return proof_doc(
        seq, account, salt, (leaf_hash, json.loads(leaf_sums)), path, published["root"]
    )
