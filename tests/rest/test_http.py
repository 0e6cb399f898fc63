"""HTTP surface against a running gateway: health, readiness, metrics, snapshots."""

from __future__ import annotations

from typing import Any

import aiohttp

from gateway.app import App
from tests.prometheus_text import parse_strict
from tests.ws.helpers import connect_client, limit
from tests.ws.test_ws_streams import LocalBook, random_flow

HOSTILE = 'CLI"ENT\\1\n'


def base(app: App) -> str:
    assert app.http is not None
    return f"http://127.0.0.1:{app.http.port}"


async def get(app: App, path: str) -> tuple[int, Any, str]:
    async with aiohttp.ClientSession() as http, http.get(base(app) + path) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json(), resp.content_type
        return resp.status, await resp.text(), resp.content_type


async def test_health_and_ready(gateway: App) -> None:
    seq = gateway.host.engine.last_seq
    assert await get(gateway, "/health") == (200, {"status": "ok", "seq": seq}, "application/json")
    assert await get(gateway, "/ready") == (
        200,
        {"status": "ready", "seq": seq},
        "application/json",
    )
    gateway.ready = False
    assert await get(gateway, "/ready") == (503, {"status": "starting"}, "application/json")
    gateway.ready = True


async def test_metrics_count_what_happened(gateway: App) -> None:
    a, b = await connect_client(gateway), await connect_client(gateway)
    public = await connect_client(gateway)  # market data only: connected, not logged on
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    await a.ok("order.place", limit("BTC-USD", "sell", "1", "100"))
    await b.ok("order.place", limit("BTC-USD", "buy", "0.4", "100"))
    await b.call("order.place", limit("BTC-USD", "buy", "0.4", "100.001"))
    status, text, ctype = await get(gateway, "/metrics")
    assert status == 200 and ctype == "text/plain"
    lines = set(text.splitlines())
    for line in [
        'gw_sessions_connected{protocol="ws"} 2',
        'gw_connections{protocol="ws"} 3',
        'gw_sessions_connected{protocol="fix"} 0',
        'gw_connections{protocol="fix"} 0',
        'gw_ws_requests_total{method="order.place",status="200"} 2',
        'gw_ws_requests_total{method="order.place",status="400"} 1',
        'gw_ws_requests_total{method="session.logon",status="200"} 2',
        'gw_commands_total{result="ok",type="NewOrder"} 2',
        'gw_commands_total{result="ok",type="SessionOpened"} 2',  # each logon is journaled
        "gw_fills_total 1",
        'gw_md_updates_total{kind="trade"} 1',
        'gw_ws_send_queue_depth{stat="max"} 0',
        "gw_engine_command_seconds_count 4",
        "# TYPE gw_journal_flush_seconds histogram",
        'gw_journal_flush_seconds_bucket{le="+Inf"} 4',
    ]:
        assert line in lines, line
    await a.close()
    await b.close()
    await public.close()


async def test_metrics_exposition_is_strict_prometheus_text(gateway: App) -> None:
    """Every family parses (an independent parser, strict checks on top), a hostile
    label value survives the trip, the process metrics are there, in base units."""
    a = await connect_client(gateway)
    await a.logon("demo-acc1")
    await a.ok("order.place", limit("BTC-USD", "sell", "1", "100"))
    gateway.registry.counter("gw_hostile_total", "x").inc(comp_id=HOSTILE)
    async with aiohttp.ClientSession() as http, http.get(base(gateway) + "/metrics") as resp:
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        families = parse_strict(await resp.text())
    await a.close()
    assert families["gw_hostile"].samples[0].labels == {"comp_id": HOSTILE}
    for name in ("process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds",
                 "process_max_fds", "process_start_time_seconds"):  # fmt: skip
        assert name in families, name
    assert families["gw_engine_command_seconds"].type == "histogram"
    assert not [name for name in families if name.endswith(("_us", "_ms"))]


async def test_instruments_book_and_trades(gateway: App) -> None:
    status, body, _ = await get(gateway, "/api/v1/instruments")
    assert status == 200 and [i["symbol"] for i in body["instruments"]] == ["BTC-USD", "ETH-USD"]
    assert body["instruments"][1]["lot_size"] == "0.001"
    a, b = await connect_client(gateway), await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    for price in ("99.5", "99.75", "99"):
        await a.ok("order.place", limit("BTC-USD", "buy", "1", price))
    await a.ok("order.place", limit("BTC-USD", "sell", "2", "101.1"))
    await b.ok("order.place", {"symbol": "BTC-USD", "side": "sell", "type": "market",
                               "quantity": "1.25"})  # fmt: skip
    status, book, _ = await get(gateway, "/api/v1/book/BTC-USD?depth=2")
    assert status == 200
    assert (book["symbol"], book["bids"], book["asks"]) == (
        "BTC-USD", [["99.5", "0.75"], ["99", "1"]], [["101.1", "2"]],
    )  # fmt: skip
    assert book["seq"] == gateway.host.engine.listings["BTC-USD"].book.md_seq
    status, trades, _ = await get(gateway, "/api/v1/trades/BTC-USD?limit=5")
    assert [(t["price"], t["quantity"], t["taker_side"]) for t in trades["trades"]] == [
        ("99.5", "0.25", "sell"), ("99.75", "1", "sell"),
    ]  # fmt: skip
    assert trades["trades"][0]["trade_id"] == trades["trades"][1]["trade_id"] + 1
    _, one, _ = await get(gateway, "/api/v1/trades/BTC-USD?limit=1")
    assert len(one["trades"]) == 1
    assert (await get(gateway, "/api/v1/book/NOPE"))[:2] == (
        404, {"error": {"code": "unknown_symbol", "msg": "unknown symbol 'NOPE'"}},
    )  # fmt: skip
    for bad in ("0", "abc", "1001"):
        status, body, _ = await get(gateway, f"/api/v1/book/BTC-USD?depth={bad}")
        assert status == 400 and body["error"]["msg"] == "depth must be an integer 1..1000"
    await a.close()
    await b.close()


async def test_rest_book_matches_ws_book_at_its_seq(gateway: App) -> None:
    sub = await connect_client(gateway)
    await sub.ok("subscribe", {"channels": ["book.ETH-USD.50"]})
    a, b = await connect_client(gateway), await connect_client(gateway)
    await a.logon("demo-acc1")
    await b.logon("demo-acc2")
    book = LocalBook(50)
    for round_ in range(3):
        await random_flow([a, b], 120, seed=round_, symbol="ETH-USD")
        for msg in [*sub.pushes, *await sub.quiet(0.2)]:
            book.apply(msg)
        sub.pushes.clear()
        status, rest, _ = await get(gateway, "/api/v1/book/ETH-USD?depth=50")
        assert status == 200
        assert rest["seq"] >= (book.seq or 0)
        assert rest["checksum"] == book.checksum()
        assert (rest["bids"], rest["asks"]) == book.sorted()
    await sub.close()
    await a.close()
    await b.close()
