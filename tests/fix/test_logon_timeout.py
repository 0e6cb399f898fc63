"""A FIX connection that does not log on within logon_timeout_s is closed, and its
place under the connection caps is given back."""

from __future__ import annotations

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
