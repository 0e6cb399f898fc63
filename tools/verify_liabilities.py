#!/usr/bin/env python3
"""Check a proof of liabilities against a published root. Standard library only.

    python3 verify_liabilities.py PROOF.json PUBLISHED.json

PROOF.json is the account's inclusion proof (fetched over the venue's API),
PUBLISHED.json the root the venue published (seq, root, totals). Exit 0 when the
account's balances are included in that root, 1 (with the reason) when they are not.
The format is described in docs/LIABILITIES.md of the venue's source.
"""

from __future__ import annotations

import hashlib
import json
import sys

FORMAT = "venue-liabilities-1"


class Invalid(Exception):
    """The proof does not hold."""


def _digest(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _sums(value: object, what: str) -> list[list[object]]:
    """Canonical sums: [[asset, units], ...] sorted by asset, units positive integers."""
    if not isinstance(value, list):
        raise Invalid(f"{what}: sums must be a list")
    assets = []
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise Invalid(f"{what}: each sum is [asset, units]")
        units = entry[1]
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise Invalid(f"{what}: {entry[0]} is not a positive integer amount")
        assets.append(entry[0])
    if assets != sorted(set(assets)):
        raise Invalid(f"{what}: assets must be sorted and unique")
    return value


def _add(a: list[list[object]], b: list[list[object]]) -> list[list[object]]:
    total: dict[str, int] = {}
    for asset, units in a + b:
        total[str(asset)] = total.get(str(asset), 0) + int(str(units))
    return [[asset, total[asset]] for asset in sorted(total)]


def verify(proof: dict[str, object], published: dict[str, object]) -> str:
    """The root the proof reaches if it holds and matches published; raises Invalid."""
    for doc, name in ((proof, "proof"), (published, "published root")):
        if doc.get("format") != FORMAT:
            raise Invalid(f"{name}: format is not {FORMAT}")
    if proof.get("seq") != published.get("seq"):
        raise Invalid(
            f"the proof is for seq {proof.get('seq')}, the root for {published.get('seq')}"
        )
    account, salt = proof.get("account"), proof.get("salt")
    if not isinstance(account, str) or not isinstance(salt, str):
        raise Invalid("proof: account and salt are strings")
    balances = proof.get("balances")
    if not isinstance(balances, dict):
        raise Invalid("proof: balances must be an object")
    sums = _sums([[a, balances[a]] for a in sorted(balances)], "balances")
    leaf_id = hashlib.sha256(bytes.fromhex(salt) + account.encode()).hexdigest()
    digest = _digest(["leaf", leaf_id, sums])
    if digest != proof.get("leaf"):
        raise Invalid("the leaf does not match the account, salt and balances")
    path = proof.get("path")
    if not isinstance(path, list):
        raise Invalid("proof: path must be a list")
    for step, node in enumerate(path):
        if not isinstance(node, dict) or node.get("side") not in ("left", "right"):
            raise Invalid(f"path[{step}]: side is left or right")
        other = node.get("hash")
        if not isinstance(other, str):
            raise Invalid(f"path[{step}]: hash is a string")
        other_sums = _sums(node.get("sums"), f"path[{step}]")
        sums = _add(sums, other_sums)
        if node["side"] == "left":
            digest = _digest(["node", other, digest, sums])
        else:
            digest = _digest(["node", digest, other, sums])
    if digest != published.get("root") or digest != proof.get("root"):
        raise Invalid("the path does not lead to the published root")
    totals = published.get("totals")
    if not isinstance(totals, dict) or sums != _sums(
        [[a, totals[a]] for a in sorted(totals)], "published totals"
    ):
        raise Invalid("the root's sums differ from the published totals")
    return digest


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as fh:
            proof = json.load(fh)
        with open(argv[1], encoding="utf-8") as fh:
            published = json.load(fh)
        root = verify(proof, published)
    except (Invalid, ValueError, TypeError, AttributeError, KeyError) as exc:
        print(f"INVALID: {exc}")
        return 1
    held = ", ".join(f"{asset} {units}" for asset, units in sorted(proof["balances"].items()))
    account, seq = proof["account"], proof["seq"]
    print(f"OK: {account} ({held or 'nothing'}) is included in root {root} at seq {seq}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
