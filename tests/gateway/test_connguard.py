"""Connection caps on every edge (FIX, WS, HTTP, admin): over a cap, a connection is closed at
accept and counted; the caps' budget, other sources and /health keep working."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from gateway.app import App
from gateway.connguard import ConnectionGuard
from tests.conftest import MakeGateway
from tests.gateway.edges import (
    closed_by_gateway,
    exchange,
    health_from,
    open_from,
    server,
    until,
)

EDGES = ["fix", "ws", "http", "admin"]


def guard(app: App, edge: str) -> ConnectionGuard:
    return server(app, edge).connection_guard


async def metrics_from(app: App, source: str) -> set[str]:
    reader, writer = await open_from(app, "http", source)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    text = (await asyncio.wait_for(reader.read(), 10)).decode()
    writer.close()
    return set(text.splitlines())


@pytest.mark.parametrize("edge", EDGES)
async def test_per_source_cap(make_gateway: MakeGateway, edge: str) -> None:
    app = await make_gateway(**{edge: {"max_connections_per_source": 2}})
    held = [await open_from(app, edge) for _ in range(2)]
    await until(lambda: guard(app, edge).by_source.get("127.0.0.1") == 2, "two admitted")
    with capture_logs() as logs:
        for _ in range(2):
            reader, writer = await open_from(app, edge)
            assert await closed_by_gateway(reader)
            writer.close()
    refused = [e for e in logs if e["event"] == "connection.refused"]
    assert [(e["source"], e["reason"]) for e in refused] == [("127.0.0.1", "per_source")]
    # another source has its own budget; /health answers (the HTTP cap is per source too)
    await exchange(app, edge, "127.0.0.2")
    assert await health_from(app, "127.0.0.3") == b"HTTP/1.1 200 OK\r\n"
    # a slot freed is a slot to use again, from the same source
    held.pop()[1].close()
    await until(lambda: guard(app, edge).by_source.get("127.0.0.1") == 1, "one released")
    await exchange(app, edge, "127.0.0.1", fix_sender="CLIENT2")
    lines = await metrics_from(app, "127.0.0.4")
    assert f'gw_connections_refused_total{{protocol="{edge}",reason="per_source"}} 2' in lines
    for _, w in held:
        w.close()


@pytest.mark.parametrize("edge", EDGES)
async def test_total_cap(make_gateway: MakeGateway, edge: str) -> None:
    app = await make_gateway(**{edge: {"max_connections": 2, "max_connections_per_source": 0}})
    held = [await open_from(app, edge, f"127.0.0.{n}") for n in (1, 2)]
    await until(lambda: guard(app, edge).total == 2, "two admitted")
    reader, writer = await open_from(app, edge, "127.0.0.3")
    assert await closed_by_gateway(reader)
    writer.close()
    held.pop()[1].close()
    await until(lambda: guard(app, edge).total == 1, "one released")
    await exchange(app, edge, "127.0.0.3")
    await until(lambda: guard(app, edge).total == 1, "the exchange's connection released")
    lines = await metrics_from(app, "127.0.0.4")
    assert f'gw_connections_refused_total{{protocol="{edge}",reason="total"}} 1' in lines
    for _, w in held:
        w.close()


@pytest.mark.parametrize("edge", ["http", "admin"])
async def test_a_refused_http_connection_builds_no_request_handler(
    make_gateway: MakeGateway, edge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp's request handler is the dear part of an HTTP connection: a flood of
    connections refused at accept must not build one each."""
    app = await make_gateway(**{edge: {"max_connections_per_source": 1}})
    built: list[web.Server] = []
    real = web.Server.__call__

    def counting(self: web.Server) -> object:
        built.append(self)
        return real(self)

    monkeypatch.setattr(web.Server, "__call__", counting)
    held = await open_from(app, edge)
    await until(lambda: guard(app, edge).by_source.get("127.0.0.1") == 1, "one admitted")
    assert len(built) == 1
    for _ in range(3):
        reader, writer = await open_from(app, edge)
        assert await closed_by_gateway(reader)
        writer.close()
    assert len(built) == 1
    held[1].close()
