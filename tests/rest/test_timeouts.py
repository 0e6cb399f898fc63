"""HTTP connections that never finish a request header are closed after header_timeout_s."""

from __future__ import annotations

from tests.conftest import MakeGateway
from tests.gateway.edges import closed_by_gateway, open_from, until


async def test_header_timeout_closes_silent_and_slow_connections(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway(http={"header_timeout_s": 0.2})
    assert app.http is not None
    silent = await open_from(app, "http")
    slow = await open_from(app, "http")
    slow[1].write(b"GET /health HTTP/1.1\r\nHost: gw\r\n")  # no blank line, ever
    assert await closed_by_gateway(silent[0])
    assert await closed_by_gateway(slow[0])
    # a keep-alive connection is answered, then closed once idle as long
    reader, writer = await open_from(app, "http")
    writer.write(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
    head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
    assert head.startswith("http/1.1 200 ok\r\n") and "connection: close" not in head
    length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
    await reader.readexactly(length)
    assert await closed_by_gateway(reader)
    guard = app.http.connection_guard
    await until(lambda: guard.total == 0, "closed connections released")
    for _, w in (silent, slow, (reader, writer)):
        w.close()
