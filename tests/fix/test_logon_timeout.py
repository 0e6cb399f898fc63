"""Connections no FIX session takes: one that does not log on within logon_timeout_s
is closed and its place under the connection caps given back; refusals are logged
sparingly."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import MakeGateway
from tests.gateway.edges import closed_by_gateway, open_from, until


async def test_connections_that_never_log_on_are_closed(make_gateway: MakeGateway) -> None:
    app = await make_gateway(fix={"logon_timeout_s": 0.2})
    silent = await open_from(app, "fix")
    partial = await open_from(app, "fix")
    partial[1].write(b"8=FIX.4.4\x019=200\x0135=A\x01")  # a Logon that never ends
    garbled = await open_from(app, "fix")
    garbled[1].write(b"not fix at all\x01" * 10)
    for reader, _ in (silent, partial, garbled):
        assert await closed_by_gateway(reader)
    guard = app.fix.acceptor.connection_guard
    await until(lambda: guard.total == 0 and app.fix.acceptor.connection_count == 0, "released")
    for _, writer in (silent, partial, garbled):
        writer.close()


async def test_refusals_are_logged_once_per_source_and_reason(
    make_gateway: MakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that retries in a loop costs one log line, not one per attempt."""
    app = await make_gateway()
    heartbeat = b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"
    caplog.set_level(logging.WARNING, logger="gateway.fix.acceptor")
    for source in ("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"):
        reader, writer = await open_from(app, "fix", source)
        writer.write(heartbeat.replace(b"10=000", b"10=%03d" % (sum(heartbeat[:-7]) % 256)))
        assert await closed_by_gateway(reader)
        writer.close()
    lines = [r.getMessage() for r in caplog.records if "not a logon" in r.getMessage()]
    assert len(lines) == 2, lines  # one per source address
