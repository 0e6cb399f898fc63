"""Connection caps on every edge (FIX, WS, HTTP, admin): over a cap, a connection is closed at
accept and counted; the caps' budget, other sources and /health keep working."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Sized
from pathlib import Path

import pytest
from aiohttp import web
from structlog.testing import capture_logs
from websockets.asyncio.server import ServerConnection

from gateway.app import App
from gateway.connguard import ACCEPT_BATCH, LISTEN_BACKLOG, ConnectionGuard, GuardedServer
from gateway.fix.acceptor import _Connection as FixConnection
from tests.conftest import MakeGateway
from tests.gateway.edges import (
    closed_by_gateway,
    exchange,
    health_from,
    open_from,
    port,
    server,
    until,
)

EDGES = ["fix", "ws", "http", "admin"]
SOMAXCONN = int(Path("/proc/sys/net/core/somaxconn").read_text())


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


async def _three_refused_build_nothing(app: App, edge: str, built: Sized) -> None:
    """One connection is admitted (one object built); three more from the same source,
    over its cap of one, are closed by the gateway and build nothing."""
    held = await open_from(app, edge)
    await until(lambda: guard(app, edge).by_source.get("127.0.0.1") == 1, "one admitted")
    assert len(built) == 1
    for _ in range(3):
        reader, writer = await open_from(app, edge)
        assert await closed_by_gateway(reader)
        writer.close()
    assert len(built) == 1
    held[1].close()


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
    await _three_refused_build_nothing(app, edge, built)


@pytest.mark.parametrize("edge", ["fix", "ws"])
async def test_a_refused_connection_builds_no_protocol(
    make_gateway: MakeGateway, edge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FIX and WebSocket protocol objects (a frame reader and timers; websockets'
    handshake machinery) are not built for a connection refused at accept: a flood of
    refused connections costs an accept and a close each."""
    app = await make_gateway(**{edge: {"max_connections_per_source": 1}})
    cls: type = FixConnection if edge == "fix" else ServerConnection
    built: list[object] = []
    real = cls.__init__

    def counting(self: object, *args: object, **kwargs: object) -> None:
        built.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", counting)
    await _three_refused_build_nothing(app, edge, built)
    await until(lambda: guard(app, edge).total == 0, "released")


async def test_accepts_a_batch_per_loop_pass() -> None:
    """A wave of pending connections is taken ACCEPT_BATCH per pass of the loop, the
    refused ones closed, the admitted ones handed to their protocol (and released when
    they close): the rest wait in the listen backlog while other sockets are served."""
    caps = ConnectionGuard("test", 0, 1)
    made: list[asyncio.Transport] = []

    class Held(asyncio.Protocol):
        def __init__(self, source: str) -> None:
            self.source = source

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            made.append(transport)  # type: ignore[arg-type]

        def connection_lost(self, exc: Exception | None) -> None:
            caps.release(self.source)

    gate = await GuardedServer.listen(caps, Held, "127.0.0.1", 0)
    listening = gate.sockets[0]
    gate._stop_reading()  # drive the passes by hand
    clients = []
    for _ in range(2 * ACCEPT_BATCH + 3):
        client = socket.create_connection(listening.getsockname())  # completes in backlog
        client.setblocking(False)
        clients.append(client)
    taken = []
    for _ in range(3):
        gate._accept(listening)
        taken.append(caps.total + gate.refused)
    assert taken == [ACCEPT_BATCH, 2 * ACCEPT_BATCH, 2 * ACCEPT_BATCH + 3]
    assert (caps.total, gate.refused) == (1, 2 * ACCEPT_BATCH + 2)
    await until(lambda: len(made) == 1, "the admitted one has its protocol")
    assert caps.by_source == {"127.0.0.1": 1}
    made[0].close()
    await until(lambda: caps.total == 0, "released at close")
    for client in clients:
        client.close()
    gate.close()
    await gate.wait_closed()
    assert not gate.is_serving()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
async def test_listeners_queue_a_wave_of_connections(make_gateway: MakeGateway) -> None:
    """Every listener asks the kernel for a backlog of LISTEN_BACKLOG: a wave of
    connections (a flood re-opening what was refused, and a monitor's probe among them)
    waits there to be accepted in batches, instead of having its SYNs dropped past 100
    (the loop's default) and retried a second later."""
    app = await make_gateway()
    for edge in EDGES:
        listing = subprocess.run(
            ["ss", "-Hltn", f"sport = :{port(app, edge)}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert listing[0] == "LISTEN"
        assert int(listing[2]) == min(LISTEN_BACKLOG, SOMAXCONN), edge
