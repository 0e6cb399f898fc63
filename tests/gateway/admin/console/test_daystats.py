"""The markets view's 24 h figures from the follower's store, on SQLite and PostgreSQL:
every trade of the trailing 24 h counts (and none older), the figures survive a
restart, and a store that cannot be read falls back to the publisher's recent trades,
saying so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.commands import NewOrder
from engine.events import Trade
from engine.model import OrdType, Side
from gateway.admin.console.daystats import DAY_US, DayStats, day_stats, window_start
from gateway.app import App
from gateway.follower.store import StoreUnavailable
from tests.conftest import catch_up, submit_applied
from tests.gateway.admin.conftest import AdminClient, MakeAdmin


async def trade(app: App, sells: list[tuple[int, int]], buy: tuple[int, int]) -> list[Trade]:
    """ACC1 rests the sells (lots, ticks) on BTC-USD and ACC2's limit buy takes them."""
    for qty, price in sells:
        await submit_applied(app, NewOrder("ACC1", "BTC-USD", Side.SELL, OrdType.LIMIT, qty, price))
    events = await submit_applied(
        app, NewOrder("ACC2", "BTC-USD", Side.BUY, OrdType.LIMIT, buy[0], buy[1])
    )
    return [e for e in events if isinstance(e, Trade)]


async def three_trades(app: App) -> list[Trade]:
    """One trade at 40000, then (later) one taker sweeping 40100 and 40200."""
    first = await trade(app, [(10, 4_000_000)], (10, 4_000_000))
    await asyncio.sleep(0.01)  # the sweep's journal time is later than the first trade's
    sweep = await trade(app, [(20, 4_010_000), (30, 4_020_000)], (50, 4_020_000))
    assert len(first) == 1 and len(sweep) == 2
    assert first[0].ts_us < sweep[0].ts_us == sweep[1].ts_us
    return first + sweep


def instruments(app: App) -> dict[str, Any]:
    return {s: listing.instrument for s, listing in app.host.engine.listings.items()}


ALL_THREE = {
    "trades": 3,
    "open": "40000",
    "high": "40200",
    "low": "40000",
    "last": "40200",
    "volume": "0.006",
    "quote_volume": "240.8",
    "source": "store",
    "complete": True,
}


async def figures(admin: AdminClient) -> dict[str, Any]:
    reply = await admin.call("GET", "/admin/v1/console/markets/24h", role="read-only")
    assert reply.status == 200, reply
    found: dict[str, Any] = reply.body["markets"]
    return found


async def test_the_24h_window_counts_every_stored_trade_and_none_older(
    make_admin: MakeAdmin, store_url: str
) -> None:
    admin = await make_admin(store={"url": store_url})
    app = admin.app
    first, sweep, _ = await three_trades(app)
    await catch_up(Path(app.config.journal.dir), store_url)
    store = app.readstore

    # 24 h after the sweep: the first trade is older than 24 h and does not count
    now = sweep.ts_us + DAY_US
    # the window starts after the first trade's seq, at or before the sweep's (the
    # seqs between them hold no fill)
    start = await window_start(store, now - DAY_US)
    assert first.seq < start <= sweep.seq
    found, low = await day_stats(store, instruments(app), now)
    assert low == start
    assert found["BTC-USD"] == {
        "trades": 2,
        "open": "40100",
        "high": "40200",
        "low": "40100",
        "last": "40200",
        "volume": "0.005",
        "quote_volume": "200.8",
        "source": "store",
        "complete": True,
        "since_us": sweep.ts_us,
        "stored_seq": app.host.engine.last_seq,
    }
    # an instrument that did not trade: a row of no trades, read from the store alike
    read = {"since_us": sweep.ts_us, "stored_seq": app.host.engine.last_seq}
    assert found["ETH-USD"] == {"trades": 0, "source": "store", "complete": True, **read}
    # one microsecond later the sweep is older than 24 h too
    later, _ = await day_stats(store, instruments(app), now + 1, start)
    assert {s: f["trades"] for s, f in later.items()} == dict.fromkeys(instruments(app), 0)

    # now: all three, through the route the console's markets view documents
    now_figures = await figures(admin)
    assert {k: now_figures["BTC-USD"][k] for k in ALL_THREE} == ALL_THREE
    assert now_figures["ETH-USD"]["trades"] == 0

    # a restart: the publisher's memory is gone, the store's figures are not
    await app.stop()
    again = await make_admin(store={"url": store_url})
    after = await figures(again)
    assert {k: after["BTC-USD"][k] for k in ALL_THREE} == ALL_THREE
    assert first.trade_id < sweep.trade_id


async def test_an_unreadable_store_falls_back_to_recent_trades_and_says_so(
    make_admin: MakeAdmin, tmp_path: Path
) -> None:
    admin = await make_admin(store={"url": f"sqlite:{tmp_path / 'nowhere' / 'store.sqlite3'}"})
    await three_trades(admin.app)
    btc = (await figures(admin))["BTC-USD"]
    assert btc["source"] == "recent-trades"
    assert btc["complete"] is False
    assert "store.sqlite3" in btc["note"]
    assert (btc["trades"], btc["volume"], btc["quote_volume"]) == (3, "0.006", "240.8")


async def test_the_console_reads_its_figures_again_when_more_is_stored(
    make_admin: MakeAdmin, store_url: str
) -> None:
    admin = await make_admin(store={"url": store_url})
    app = admin.app
    now = [0.0]
    day = DayStats(clock=lambda: now[0])
    btc = instruments(app)["BTC-USD"]

    def row(symbol: str) -> dict[str, Any]:
        return day.row(symbol, instruments(app)[symbol], app.publisher)

    assert day.due(0) and row("BTC-USD")["note"] == "store not read yet"  # the view falls back
    await day.read(app.readstore, instruments(app), 0)
    assert day.error and row("BTC-USD")["note"] == day.error  # no store yet
    assert day.row("BTC-USD", btc, None)["source"] == "recent-trades"
    await three_trades(app)
    stored = await catch_up(Path(app.config.journal.dir), store_url)
    assert not day.due(0)
    assert not day.due(stored)  # the follower stored more, but the last read was just now
    now[0] += 1.0
    assert day.due(stored)
    await day.read(app.readstore, instruments(app), stored)
    assert day.error == ""
    assert {k: row("BTC-USD")[k] for k in ALL_THREE} == ALL_THREE
    assert {k: row("ETH-USD")[k] for k in ("trades", "source", "complete")} == {
        "trades": 0, "source": "store", "complete": True,
    }  # fmt: skip
    now[0] += 5.0
    assert not day.due(stored)
    now[0] += 5.0  # the window slides: read again even though nothing was stored
    assert day.due(stored)


async def test_a_long_read_spaces_the_next_ones(make_admin: MakeAdmin) -> None:
    admin = await make_admin()
    now = [100.0]
    day = DayStats(clock=lambda: now[0])

    class SlowStore:
        """A store whose every query takes 0.5 s of the clock, then fails."""

        async def position(self) -> tuple[int, int]:
            now[0] += 0.5
            raise StoreUnavailable("down")

    await day.read(SlowStore(), instruments(admin.app), 1)  # type: ignore[arg-type]
    assert day.last_read_s == 0.5
    now[0] += 4.9
    assert not day.due(2)  # ten times the last read: 5 s
    now[0] += 0.1
    assert day.due(2)


async def console_rows(admin: AdminClient) -> dict[str, dict[str, Any]]:
    """The 24 h rows the console's stream pushes, once its cache read the store."""
    app = admin.app
    assert app.admin is not None
    feed = app.admin.console
    await feed.day_stats.read(app.readstore, instruments(app), 0)
    return {m["symbol"]: m["stats_24h"] for m in feed.snapshot()["markets"]}


def same_rows(route: dict[str, dict[str, Any]], pushed: dict[str, dict[str, Any]]) -> None:
    """Each instrument's row is the same in both, but for the window's start: each is
    read at its own time."""
    assert set(route) == set(pushed) and {"BTC-USD", "ETH-USD"} <= set(route)
    for symbol, row in route.items():
        assert set(row) == set(pushed[symbol]), (symbol, row, pushed[symbol])
        timeless = {k: v for k, v in row.items() if k != "since_us"}
        assert timeless == {k: v for k, v in pushed[symbol].items() if k != "since_us"}


async def test_the_route_and_the_pushes_give_the_same_rows_from_the_store(
    make_admin: MakeAdmin, store_url: str
) -> None:
    admin = await make_admin(store={"url": store_url})
    await three_trades(admin.app)
    await catch_up(Path(admin.app.config.journal.dir), store_url)
    route, pushed = await figures(admin), await console_rows(admin)
    assert route["BTC-USD"]["source"] == "store" and route["ETH-USD"]["trades"] == 0
    same_rows(route, pushed)


async def test_the_route_and_the_pushes_fall_back_to_the_same_rows(
    make_admin: MakeAdmin, tmp_path: Path
) -> None:
    admin = await make_admin(store={"url": f"sqlite:{tmp_path / 'nowhere' / 'store.sqlite3'}"})
    await three_trades(admin.app)
    route, pushed = await figures(admin), await console_rows(admin)
    assert route["BTC-USD"]["source"] == "recent-trades" and route["BTC-USD"]["trades"] == 3
    same_rows(route, pushed)
