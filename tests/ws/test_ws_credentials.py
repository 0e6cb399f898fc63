"""API keys live over a real WebSocket: revoke while connected, expiry, the IP
allowlist, scopes, and an issued HMAC secret that is never kept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from engine.venue.credentials import RevokeApiKey
from gateway.app import App
from gateway.ws.auth import sign_hmac
from tests.conftest import submit_applied
from tests.conftest import test_config as demo_config
from tests.ws.helpers import Client, connect_client, fresh_timestamp_ms, limit
from tests.ws.helpers import issue_key as issue

PATIENCE_S = 10.0


async def logon(c: Client, key_id: str, secret: str, ts: int | None = None) -> dict[str, Any]:
    ts = fresh_timestamp_ms() if ts is None else ts
    params = {"api_key": key_id, "timestamp_ms": ts, "signature": sign_hmac(secret, key_id, ts)}
    return await c.call("session.logon", params)


def error_code(answer: dict[str, Any]) -> int:
    assert "error" in answer, answer
    code: int = answer["error"]["code"]
    return code


async def closed_with(c: Client) -> tuple[int | None, str | None]:
    """Read until the gateway closes the connection: its close code and reason."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(c.ws.recv(), PATIENCE_S)
    return c.ws.close_code, c.ws.close_reason


async def test_revoking_a_key_closes_its_live_sessions_at_once(gateway: App) -> None:
    secret = await issue(gateway, "bot-1")
    first, second, other = [await connect_client(gateway) for _ in range(3)]
    assert (await logon(first, "bot-1", secret))["result"]["account"] == "ACC1"
    assert (await logon(second, "bot-1", secret))["status"] == 200
    await other.logon("demo-acc1")
    await first.ok("subscribe", {"channels": ["user"]})

    await submit_applied(gateway, RevokeApiKey("bot-1", "leaked"))
    for client in (first, second):
        assert await closed_with(client) == (4003, "api key bot-1 revoked")
    # another key's session is untouched; the revoked key cannot log on again
    assert (await other.ok("orders.open", {}))["orders"] == []
    again = await connect_client(gateway)
    answer = await logon(again, "bot-1", secret)
    assert (answer["status"], error_code(answer)) == (401, 1016)
    assert "revoked" in answer["error"]["msg"]
    await other.close()
    await again.close()


async def test_an_expired_key_is_refused_at_logon_and_closed_at_the_next_request(
    gateway: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    venue = gateway.ws.venue  # type: ignore[union-attr]
    expires_ms = int(time.time() * 1000) + 60_000
    secret = await issue(gateway, "short", expires_us=expires_ms * 1000)
    live = await connect_client(gateway)
    assert (await logon(live, "short", secret))["status"] == 200
    assert (await live.ok("orders.open", {}))["orders"] == []

    later = expires_ms + 1
    monkeypatch.setattr(venue, "clock_ms", lambda: later)
    answer = await live.call("orders.open", {})
    assert (answer["status"], error_code(answer)) == (401, 1017)
    assert await closed_with(live) == (4003, "api key short expired")
    fresh = await connect_client(gateway)
    answer = await logon(fresh, "short", secret, ts=later)
    assert (answer["status"], error_code(answer)) == (401, 1017)
    await fresh.close()


async def test_the_ip_allowlist_is_checked_against_the_peer_address(gateway: App) -> None:
    secret = await issue(gateway, "pinned", ip_allowlist="127.0.0.2/32, 10.0.0.0/8")
    outside = await connect_client(gateway, local_addr=("127.0.0.3", 0))
    answer = await logon(outside, "pinned", secret)
    assert (answer["status"], error_code(answer)) == (403, 1018)
    assert "not allowed from 127.0.0.3" in answer["error"]["msg"]
    inside = await connect_client(gateway, local_addr=("127.0.0.2", 0))
    assert (await logon(inside, "pinned", secret))["status"] == 200
    await outside.close()
    await inside.close()


async def test_a_method_outside_the_keys_scopes_is_refused(gateway: App) -> None:
    reader = await connect_client(gateway)
    assert (await logon(reader, "reader", await issue(gateway, "reader", "read")))["status"] == 200
    answer = await reader.call("order.place", limit("BTC-USD", "buy", "0.01", "100"))
    assert (answer["status"], error_code(answer)) == (403, 1019)
    assert answer["error"]["msg"] == "order.place needs scope 'trade'; api_key 'reader' has read"
    assert (await reader.ok("account.balances", {}))["balances"]
    await reader.ok("subscribe", {"channels": ["user"]})

    trader = await connect_client(gateway)
    assert (await logon(trader, "trader", await issue(gateway, "trader", "trade")))["status"] == 200
    assert error_code(await trader.call("account.balances", {})) == 1019
    assert error_code(await trader.call("subscribe", {"channels": ["user"]})) == 1019
    placed = await trader.ok("order.place", limit("BTC-USD", "buy", "0.01", "100"))
    assert placed["status"] == "new"
    await reader.close()
    await trader.close()


async def test_an_issued_hmac_secret_verifies_and_is_kept_nowhere(
    gateway: App, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = await issue(gateway, "fresh")
    assert len(secret) == 64
    c = await connect_client(gateway)
    answer = await logon(c, "fresh", secret)
    assert answer["status"] == 200 and secret not in str(answer)
    wrong = await connect_client(gateway)
    assert error_code(await logon(wrong, "fresh", "0" * 64)) == 1012
    await c.close()
    await wrong.close()

    await submit_applied(gateway, RevokeApiKey("fresh"))
    assert gateway.host.snapshot()
    await gateway.host.snapshots.wait()
    journal = Path(gateway.config.journal.dir)
    files = [p for p in journal.iterdir() if p.is_file()]
    assert any(p.name.startswith("snapshot") for p in files)
    for path in files:
        assert secret.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert "ws.disconnected" in out + err  # the logs were captured
    assert secret not in out + err


async def test_withdrawals_need_the_withdraw_scope(gateway: App) -> None:
    c = await connect_client(gateway)
    assert (await logon(c, "no-wd", await issue(gateway, "no-wd", "read,trade")))["status"] == 200
    request = {"asset": "BTC", "amount": "1", "destination": "bc1q-test"}
    answer = await c.call("withdrawal.request", request)
    assert (answer["status"], error_code(answer)) == (403, 1019)
    assert "needs scope 'withdraw'" in answer["error"]["msg"]
    assert not gateway.host.engine.funds.withdrawals
    assert (await c.ok("withdrawal.list", {}))["withdrawals"] == []
    await c.close()


async def test_keys_issued_live_survive_a_restart(tmp_path: Path) -> None:
    """After a restart the key ring comes from the journal: an issued key's secret is
    derived again and verifies; a revoked key stays revoked."""
    app = App(demo_config(tmp_path))
    await app.start()
    try:
        secret = await issue(app, "kept")
        dropped = await issue(app, "dropped")
        await submit_applied(app, RevokeApiKey("dropped"))
    finally:
        await app.stop()
    again = App(demo_config(tmp_path))
    await again.start()
    try:
        c = await connect_client(again)
        assert (await logon(c, "kept", secret))["result"]["account"] == "ACC1"
        d = await connect_client(again)
        assert error_code(await logon(d, "dropped", dropped)) == 1016
        assert again.host.engine.credentials.api_keys["dropped"].status == "revoked"
        await c.close()
        await d.close()
    finally:
        await again.stop()
