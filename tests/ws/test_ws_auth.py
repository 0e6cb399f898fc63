"""session.logon signatures over real sockets: each signed payload logs on once."""

from __future__ import annotations

from gateway.app import App
from gateway.ws.auth import sign_ed25519, sign_hmac
from tests.ws.helpers import ED25519_SEED, SECRETS, connect_client, fresh_timestamp_ms


async def test_replayed_logon_on_a_second_connection_refused(gateway: App) -> None:
    ts = fresh_timestamp_ms()
    params = {
        "api_key": "demo-acc1",
        "timestamp_ms": ts,
        "signature": sign_hmac(SECRETS["demo-acc1"], "demo-acc1", ts),
    }
    owner = await connect_client(gateway)
    assert (await owner.ok("session.logon", params))["account"] == "ACC1"
    thief = await connect_client(gateway)
    answer = await thief.call("session.logon", params)
    assert answer["status"] == 401, answer
    assert answer["error"]["code"] == 1015
    assert "already used" in answer["error"]["msg"]
    # the other scheme over the same payload is the same logon: refused too
    other = dict(params, signature=sign_ed25519(ED25519_SEED, "demo-acc1", ts))
    assert (await thief.call("session.logon", other))["error"]["code"] == 1015
    # not logged on: trading is refused; a freshly signed logon works
    assert (await thief.call("orders.open", {}))["error"]["code"] == 1010
    assert (await thief.logon("demo-acc1"))["account"] == "ACC1"
    await owner.close()
    await thief.close()


async def test_a_bad_signature_does_not_use_up_the_timestamp(gateway: App) -> None:
    ts = fresh_timestamp_ms()
    c = await connect_client(gateway)
    bad = {"api_key": "demo-acc1", "timestamp_ms": ts, "signature": "00" * 32}
    assert (await c.call("session.logon", bad))["error"]["code"] == 1012
    good = dict(bad, signature=sign_hmac(SECRETS["demo-acc1"], "demo-acc1", ts))
    assert (await c.ok("session.logon", good))["account"] == "ACC1"
    await c.close()
