"""Raw connections to a gateway's edges (and its admin listener) from a chosen loopback
source address (Linux routes all of 127.0.0.0/8 to lo), and one real exchange per edge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.asyncio.client import connect

from gateway.admin.server import AdminServer
from gateway.app import App
from gateway.fix.acceptor import FixAcceptor
from gateway.rest.server import HttpServer
from gateway.ws.server import WsServer
from tests.fix.conftest import FixClient
from tests.gateway.conftest import password

#: A bound on waits for what must happen at once; not a timing assertion.
PATIENCE_S = 10.0


def server(app: App, edge: str) -> FixAcceptor | WsServer | HttpServer | AdminServer:
    """The component listening for ``edge`` (each has ``port`` and ``connection_guard``)."""
    if edge == "fix":
        return app.fix.acceptor
    if edge == "admin":
        assert app.admin is not None
        return app.admin
    component = app.ws if edge == "ws" else app.http
    assert component is not None
    return component


def port(app: App, edge: str) -> int:
    return server(app, edge).port


async def open_from(
    app: App, edge: str, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port(app, edge), local_addr=(source, 0))


async def closed_by_gateway(reader: asyncio.StreamReader) -> bool:
    """True once the gateway closes the connection without answering (EOF or reset)."""
    try:
        data = await asyncio.wait_for(reader.read(1), PATIENCE_S)
    except ConnectionResetError:
        return True
    return data == b""


async def health_from(app: App, source: str) -> bytes:
    """GET /health over a new connection from ``source``: the status line."""
    reader, writer = await open_from(app, "http", source)
    writer.write(b"GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    line = await asyncio.wait_for(reader.readline(), PATIENCE_S)
    writer.close()
    return line


async def exchange(app: App, edge: str, source: str, fix_sender: str = "CLIENT1") -> None:
    """One real exchange over a new connection from ``source``: a FIX Logon answered,
    a WebSocket handshake and a request, GET /health, or GET /admin/v1/openapi.json;
    asserts it worked."""
    if edge == "http":
        assert await health_from(app, source) == b"HTTP/1.1 200 OK\r\n"
    elif edge == "admin":
        reader, writer = await open_from(app, "admin", source)
        writer.write(
            b"GET /admin/v1/openapi.json HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
        )
        line = await asyncio.wait_for(reader.readline(), PATIENCE_S)
        writer.close()
        assert line == b"HTTP/1.1 200 OK\r\n"
    elif edge == "ws":
        assert app.ws is not None
        url = f"ws://127.0.0.1:{app.ws.port}{app.config.ws.path}"
        async with connect(url, local_addr=(source, 0), open_timeout=PATIENCE_S) as ws:
            await ws.send('{"id": 1, "method": "instruments"}')
            assert b'"id":1' in await asyncio.wait_for(ws.recv(decode=False), PATIENCE_S)
    else:
        reader, writer = await open_from(app, "fix", source)
        client = FixClient(reader, writer, sender=fix_sender)
        await client.send(
            "A", [(98, 0), (108, 30), (141, "Y"), (553, fix_sender), (554, password(fix_sender))]
        )
        await client.expect("A", PATIENCE_S)
        writer.close()


async def until(condition_met: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for a condition that the gateway meets asynchronously."""
    for _ in range(int(PATIENCE_S * 100)):
        if condition_met():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not met in time: {what}")
