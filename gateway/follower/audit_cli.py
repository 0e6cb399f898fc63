"""`venue-audit`: check the store's audit chain, export its daily anchors, publish proofs
of liabilities.

- ``venue-audit verify``: walks the chain in seq order; exit 0 and the row count if it
  holds, else exit 1 naming the first broken link (its seq and what is wrong). With
  ``--anchors FILE`` (an earlier ``anchors`` output, kept elsewhere) it also checks
  that the chain still passes through every anchored head: a forger who rewrote the
  hashes after an edit is caught there.
- ``venue-audit anchors``: the head hash at the end of each UTC day, as JSON
  (``{"YYYY-MM-DD": {"seq": N, "hash": "..."}}``): what the daily report carries.
- ``venue-audit publish-liabilities``: builds the proof of liabilities at the newest
  journal snapshot, stores it and prints what to publish (seq, root, totals); exit 1
  if that seq is already published.
- ``venue-audit liabilities-proof ACCOUNT``: that account's proof in the newest
  publication (what the API serves it), as JSON; exit 1 if there is none.

The store is the follower's: [store] url of ``--config`` (or VENUE_STORE_URL). Exit 2
on a config error or a store that cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import orjson

from gateway.config import ConfigError, load_config
from gateway.follower.audit import HASHED, Break, daily_anchors, verify
from gateway.follower.follower import default_sqlite_path
from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import (
    AlreadyPublished,
    balances_at_snapshot,
    proof,
    publish,
)
from gateway.follower.store import Reader, Store, StoreUnavailable, open_store

__all__ = ["anchor_doc", "anchors", "main", "verify_store"]

_PAGE: Final = 5000
_ROWS: Final = f"SELECT {', '.join(HASHED)}, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"
_HEADS: Final = "SELECT seq, ts_us, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"


async def _pages(store: Reader, sql: str) -> AsyncIterator[list[tuple[Any, ...]]]:
    after = 0
    while True:
        rows = await store.fetch(sql, after, _PAGE)
        if not rows:
            return
        yield rows
        after = int(rows[-1][0])


async def verify_store(
    store: Reader, anchored: dict[str, tuple[int, str]] | None = None
) -> tuple[int, Break | None]:
    """(rows that hold, the first break or None), a page at a time, hashed on a worker
    thread. ``anchored`` names (seq, hash) heads the chain must still pass through."""
    wanted = {seq: digest for seq, digest in (anchored or {}).values()}
    held = 0
    prev = ""
    async for page in _pages(store, _ROWS):
        count, broken = await asyncio.to_thread(verify, page, prev)
        held += count
        if broken is not None:
            return held, broken
        for row in page:
            digest = wanted.pop(int(row[0]), None)
            if digest is not None and digest != row[-1]:
                return held, Break(int(row[0]), "hash differs from the anchored head")
        prev = str(page[-1][-1])
    if wanted:
        return held, Break(min(wanted), "the anchored row is missing")
    return held, None


async def anchors(store: Reader) -> dict[str, tuple[int, str]]:
    """The chain's head at the end of each UTC day: {day: (seq, hash)}."""
    out: dict[str, tuple[int, str]] = {}
    async for page in _pages(store, _HEADS):
        out.update(daily_anchors(page))
    return out


def anchor_doc(found: dict[str, tuple[int, str]]) -> dict[str, dict[str, Any]]:
    return {day: {"seq": seq, "hash": digest} for day, (seq, digest) in found.items()}


def _read_anchors(path: Path) -> dict[str, tuple[int, str]]:
    doc = orjson.loads(path.read_bytes())
    return {day: (int(v["seq"]), str(v["hash"])) for day, v in doc.items()}


def _print(doc: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


async def _liabilities(args: argparse.Namespace, store: Store, journal: Path) -> int:
    if args.command == "liabilities-proof":
        found = await proof(store, args.account)
        if found is None:
            print(f"venue-audit: no published proof for {args.account!r}", file=sys.stderr)
            return 1
        _print(found)
        return 0
    seq, balances = await asyncio.to_thread(balances_at_snapshot, journal)
    tree = await asyncio.to_thread(build, seq, balances)
    try:
        _print(await publish(store, tree, time.time_ns() // 1000))
    except AlreadyPublished as exc:
        print(f"venue-audit: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(args: argparse.Namespace, store: Store, journal: Path) -> int:
    try:
        await store.open()
    except StoreUnavailable as exc:
        print(f"venue-audit: store unavailable: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "anchors":
            _print(anchor_doc(await anchors(store)))
            return 0
        if args.command != "verify":
            return await _liabilities(args, store, journal)
        anchored = _read_anchors(Path(args.anchors)) if args.anchors else None
        held, broken = await verify_store(store, anchored)
    finally:
        await store.close()
    if broken is None:
        print(f"audit chain holds: {held} rows")
        return 0
    print(f"audit chain broken at seq {broken.seq}: {broken.reason} ({held} rows hold before it)")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="venue-audit", description=__doc__)
    parser.add_argument("--config", help="the gateway's TOML file (laid over the demo config)")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("verify", help="check the chain; name the first broken link")
    check.add_argument("--anchors", help="a JSON file of daily heads the chain must match")
    sub.add_parser("anchors", help="the head hash at the end of each UTC day (JSON)")
    sub.add_parser("publish-liabilities", help="prove liabilities at the newest snapshot")
    show = sub.add_parser("liabilities-proof", help="an account's inclusion proof (JSON)")
    show.add_argument("account")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        url = os.environ.get("VENUE_STORE_URL", config.store.url)
        journal = Path(config.journal.dir)
        store = open_store(url, default_sqlite_path(journal))
    except (ConfigError, ValueError) as exc:
        print(f"venue-audit: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, store, journal))


if __name__ == "__main__":
    sys.exit(main())
