"""How long the console's 24 h figures take to read from a store holding a busy day.

Builds a store (SQLite file, or a database of a throwaway PostgreSQL cluster) with
``--trades`` trades (a maker and a taker fills row each) spread evenly over 48 h on
the demo's two instruments, then times ``day_stats`` over the last 24 h (half of
them) a few times through the gateway's read-only ReadStore::

    python -m loadtest.daystats_bench --trades 2000000 --backend sqlite
    python -m loadtest.daystats_bench --trades 2000000 --backend postgresql

The console waits ten times a read's duration before the next one
(gateway/admin/console/daystats.py), so the figure printed, times ten, is how stale
the markets view's 24 h figures may get on such a venue.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.model import Instrument
from gateway.admin.console.daystats import DAY_US, day_stats
from gateway.config import load_config
from gateway.follower.store.schema import INSERTS, TABLE_COLUMNS
from gateway.readstore import ReadStore
from loadtest.pg_cluster import PgCluster, pg_bin

_T0 = 1_800_000_000_000_000


def _rows(trades: int) -> Iterator[tuple[Any, ...]]:
    step = 2 * DAY_US // trades
    for i in range(trades):
        symbol = "ETH-USD" if i % 3 == 0 else "BTC-USD"
        price = 4_000_000 + i % 500
        for liquidity in ("maker", "taker"):
            yield (i + 1, 1, i, liquidity, symbol, i, "ACC1", "", 1, price, 10, 0, "", 0, 0, 0,
                   _T0 + i * step)  # fmt: skip


async def _sqlite(trades: int, directory: Path) -> str:
    from gateway.follower.store.sqlite import SqliteStore

    path = directory / "store.sqlite3"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    db = sqlite3.connect(path)
    db.executemany(INSERTS["fills"], _rows(trades))
    db.execute("UPDATE follower_state SET seq = ?", (trades,))
    db.commit()
    db.close()
    return f"sqlite:{path}"


async def _postgres(trades: int, cluster: PgCluster) -> str:
    import asyncpg

    from gateway.follower.store.postgres import PostgresStore

    url = await cluster.new_database()
    store = PostgresStore(url)
    await store.open()
    await store.close()
    db = await asyncpg.connect(url)
    columns = list(TABLE_COLUMNS["fills"])
    await db.copy_records_to_table("fills", records=_rows(trades), columns=columns)
    await db.execute("UPDATE follower_state SET seq = $1", trades)
    await db.execute("ANALYZE fills")
    await db.close()
    return url


async def _time(url: str, trades: int, rounds: int) -> None:
    config = load_config()
    instruments = {
        i.symbol: Instrument.from_decimals(i.symbol, i.base, i.quote, i.tick_size, i.lot_size)
        for i in config.instruments
    }
    now = _T0 + (trades - 1) * (2 * DAY_US // trades)
    store = ReadStore(url, Path("/nonexistent"))
    try:
        for n in range(rounds):
            began = time.perf_counter()
            found, _ = await day_stats(store, instruments, now)
            took = time.perf_counter() - began
            counted = sum(f["trades"] for f in found.values())
            print(f"{store.backend} read {n}: {took * 1000:.0f} ms, {counted} trades in the window")
    finally:
        await store.close()


async def main_async(trades: int, backend: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        if backend == "sqlite":
            await _time(await _sqlite(trades, Path(directory)), trades, rounds)
            return
        bin_dir = pg_bin()
        if bin_dir is None:
            raise SystemExit("no PostgreSQL binaries")
        cluster = PgCluster(bin_dir)
        cluster.start()
        try:
            await _time(await _postgres(trades, cluster), trades, rounds)
        finally:
            cluster.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=2_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main_async(args.trades, args.backend, args.rounds))


if __name__ == "__main__":
    main()
