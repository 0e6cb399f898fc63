"""Proof of liabilities: a Merkle sum tree over every account's balances at one seq.

The format (docs/LIABILITIES.md; tools/verify_liabilities.py checks it with the
standard library alone):

- sums are ``[[asset, units], ...]`` sorted by asset, zero amounts left out, units
  integers (asset units);
- leaf = SHA-256 of the JSON ``["leaf", id, sums]`` where id = SHA-256 hex of
  ``salt || account`` (salt: 32 random bytes per account and publication, given only
  to that account with its proof), sums what the account is owed (its balances, and
  its perpetual positions at mark: liabilities_store.balances_of). A negative
  balance never enters a leaf: it counts as 0 (a venue loss, not a liability);
- node = SHA-256 of ``["node", left hash, right hash, sums]``, sums = left + right;
  an odd node at the end of a level moves up unchanged;
- leaves are ordered by their hash, so a position says nothing about an account.

JSON here is compact (``,`` and ``:`` separators, no spaces), ASCII.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["FORMAT", "Sums", "Tree", "build", "leaf_id", "node_hash", "proof_doc", "sums_of"]

FORMAT: Final = "venue-liabilities-1"

#: per-asset sums, sorted by asset, no zero amounts
Sums = list[list[Any]]


def _digest(value: list[Any]) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def sums_of(amounts: Mapping[str, int]) -> Sums:
    """The canonical sums of per-asset amounts (negatives count as 0)."""
    return [[asset, amounts[asset]] for asset in sorted(amounts) if amounts[asset] > 0]


def _add(a: Sums, b: Sums) -> Sums:
    total = dict((asset, int(units)) for asset, units in a)
    for asset, units in b:
        total[asset] = total.get(asset, 0) + int(units)
    return sums_of(total)


def leaf_id(salt: bytes, account: str) -> str:
    return hashlib.sha256(salt + account.encode()).hexdigest()


def node_hash(left: str, right: str, sums: Sums) -> str:
    return _digest(["node", left, right, sums])


@dataclass(frozen=True)
class Tree:
    """levels[0] are the leaves (hash, sums) in order, levels[-1] the root alone;
    accounts maps each account to (leaf position, salt hex)."""

    seq: int
    levels: list[list[tuple[str, Sums]]]
    accounts: dict[str, tuple[int, str]]

    @property
    def root(self) -> tuple[str, Sums]:
        return self.levels[-1][0]

    def published(self) -> dict[str, Any]:
        """What is made public: the root, the per-asset totals and the seq."""
        digest, sums = self.root
        return {
            "format": FORMAT,
            "seq": self.seq,
            "root": digest,
            "totals": dict((asset, units) for asset, units in sums),
            "accounts": len(self.accounts),
        }

    def proof(self, account: str) -> dict[str, Any]:
        """One account's inclusion proof (KeyError if it has no leaf)."""
        position, salt = self.accounts[account]
        digest, sums = self.levels[0][position]
        path = []
        for level in self.levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                other_hash, other_sums = level[sibling]
                side = "left" if sibling < position else "right"
                path.append({"side": side, "hash": other_hash, "sums": other_sums})
            position //= 2
        return proof_doc(self.seq, account, salt, (digest, sums), path, self.root[0])


def proof_doc(
    seq: int, account: str, salt: str, leaf: tuple[str, Sums], path: list[Any], root: str
) -> dict[str, Any]:
    """An inclusion proof as the API serves it and the verifier reads it."""
    return {
        "format": FORMAT,
        "seq": seq,
        "account": account,
        "salt": salt,
        "balances": dict((asset, units) for asset, units in leaf[1]),
        "leaf": leaf[0],
        "path": path,
        "root": root,
    }


def build(
    seq: int, balances: Mapping[str, Mapping[str, int]], salts: Mapping[str, bytes] | None = None
) -> Tree:
    """The tree over {account: {asset: units}} (every account gets a leaf, even empty);
    salts default to fresh random ones."""
    leaves: list[tuple[str, Sums, str, str]] = []
    for account, amounts in balances.items():
        salt = salts[account] if salts is not None else secrets.token_bytes(32)
        sums = sums_of(amounts)
        leaves.append((_digest(["leaf", leaf_id(salt, account), sums]), sums, account, salt.hex()))
    leaves.sort()
    level = [(digest, sums) for digest, sums, _, _ in leaves]
    if not level:
        level = [(_digest(["leaf", "", []]), [])]
    levels = [level]
    while len(level) > 1:
        up = []
        for k in range(0, len(level) - 1, 2):
            (left, a), (right, b) = level[k], level[k + 1]
            sums = _add(a, b)
            up.append((node_hash(left, right, sums), sums))
        if len(level) % 2:
            up.append(level[-1])
        level = up
        levels.append(level)
    accounts = {account: (k, salt) for k, (_, _, account, salt) in enumerate(leaves)}
    return Tree(seq, levels, accounts)
