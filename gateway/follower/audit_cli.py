"""`venue-audit`: check the store's audit chain and export its daily anchors.

- ``venue-audit verify``: walks the chain in seq order; exit 0 and the row count if it
  holds, else exit 1 naming the first broken link (its seq and what is wrong). With
  ``--anchors FILE`` (an earlier ``anchors`` output, kept elsewhere) it also checks
  that the chain still passes through every anchored head: a forger who rewrote the
  hashes after an edit is caught there.
- ``venue-audit anchors``: the head hash at the end of each UTC day, as JSON
  (``{"YYYY-MM-DD": {"seq": N, "hash": "..."}}``): what the daily report carries.

The store is the follower's: [store] url of ``--config`` (or VENUE_STORE_URL). Exit 2
on a config error or a store that cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import orjson

from gateway.config import ConfigError, load_config
from gateway.follower.audit import HASHED, Break, daily_anchors, verify
from gateway.follower.follower import default_sqlite_path
from gateway.follower.store import Store, StoreUnavailable, open_store

__all__ = ["anchors", "main", "verify_store"]

_PAGE: Final = 5000
_ROWS: Final = f"SELECT {', '.join(HASHED)}, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"
_HEADS: Final = "SELECT seq, ts_us, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"


async def _pages(store: Store, sql: str) -> AsyncIterator[list[tuple[Any, ...]]]:
    after = 0
    while True:
        rows = await store.fetch(sql, after, _PAGE)
        if not rows:
            return
        yield rows
        after = int(rows[-1][0])


async def verify_store(
    store: Store, anchored: dict[str, tuple[int, str]] | None = None
) -> tuple[int, Break | None]:
    """(rows that hold, the first break or None), a page at a time. ``anchored`` names
    (seq, hash) heads the chain must still pass through."""
    wanted = {seq: digest for seq, digest in (anchored or {}).values()}
    held = 0
    prev = ""
    async for page in _pages(store, _ROWS):
        count, broken = verify(page, prev)
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


async def anchors(store: Store) -> dict[str, tuple[int, str]]:
    """The chain's head at the end of each UTC day: {day: (seq, hash)}."""
    out: dict[str, tuple[int, str]] = {}
    async for page in _pages(store, _HEADS):
        out.update(daily_anchors(page))
    return out


def _anchor_doc(found: dict[str, tuple[int, str]]) -> dict[str, dict[str, Any]]:
    return {day: {"seq": seq, "hash": digest} for day, (seq, digest) in found.items()}


def _read_anchors(path: Path) -> dict[str, tuple[int, str]]:
    doc = orjson.loads(path.read_bytes())
    return {day: (int(v["seq"]), str(v["hash"])) for day, v in doc.items()}


async def _run(args: argparse.Namespace, store: Store) -> int:
    try:
        await store.open()
    except StoreUnavailable as exc:
        print(f"venue-audit: store unavailable: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "anchors":
            sys.stdout.buffer.write(
                orjson.dumps(_anchor_doc(await anchors(store)), option=orjson.OPT_INDENT_2) + b"\n"
            )
            return 0
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
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        url = os.environ.get("VENUE_STORE_URL", config.store.url)
        store = open_store(url, default_sqlite_path(Path(config.journal.dir)))
    except (ConfigError, ValueError) as exc:
        print(f"venue-audit: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, store))


if __name__ == "__main__":
    sys.exit(main())
