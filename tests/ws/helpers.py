"""A small WebSocket test client for the gateway's JSON API."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from gateway.app import App
from gateway.credentials import issue_hmac_key
from gateway.ws.auth import sign_hmac
from tests.conftest import submit_applied

SECRETS = {"demo-acc1": "demo-secret-acc1", "demo-acc2": "demo-secret-acc2",
           "demo-acc3": "demo-secret-acc3"}  # fmt: skip
ED25519_SEED = bytes(range(32)).hex()  # the demo key pair of demo-acc1


_last_ts = 0


def fresh_timestamp_ms() -> int:
    """Now in ms, but after every timestamp this process used: the gateway accepts
    each (api_key, timestamp_ms) once."""
    global _last_ts
    _last_ts = max(int(time.time() * 1000), _last_ts + 1)
    return _last_ts


def url(app: App) -> str:
    assert app.ws is not None
    return f"ws://127.0.0.1:{app.ws.port}{app.config.ws.path}"


class Client:
    """Requests get answers by id; pushed messages are buffered in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.answers: dict[object, dict[str, Any]] = {}
        self.pushes: deque[dict[str, Any]] = deque()
        self.log: list[dict[str, Any]] = []  # every message, in order

    async def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        await self.ws.send(orjson.dumps(msg).decode())
        return self.next_id

    async def _read(self, timeout: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        msg: dict[str, Any] = orjson.loads(raw)
        self.log.append(msg)
        if "channel" in msg:
            self.pushes.append(msg)
        else:
            self.answers[msg.get("id")] = msg
        return msg

    async def answer(self, req_id: object, timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while req_id not in self.answers:
            await self._read(max(0.001, deadline - time.monotonic()))
        return self.answers.pop(req_id)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 3.0
    ) -> dict[str, Any]:
        return await self.answer(await self.send(method, params), timeout)

    async def ok(self, method: str, params: dict[str, Any] | None = None) -> Any:
        msg = await self.call(method, params)
        assert msg["status"] == 200, msg
        return msg["result"]

    async def push(self, channel: str | None = None, timeout: float = 3.0) -> dict[str, Any]:
        """The next pushed message (of that channel, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.pushes:
                msg = self.pushes.popleft()
                if channel is None or msg["channel"] == channel:
                    return msg
            await self._read(max(0.001, deadline - time.monotonic()))

    async def quiet(self, timeout: float = 0.2) -> list[dict[str, Any]]:
        """Read until nothing arrives for `timeout`; returns what arrived (pushes included,
        and taken out of the push buffer)."""
        got: list[dict[str, Any]] = []
        while True:
            try:
                msg = await self._read(timeout)
            except TimeoutError:
                return got
            got.append(msg)
            if "channel" in msg:
                self.pushes.pop()

    async def logon(
        self, key: str = "demo-acc1", secret: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Log on with a demo key, or any HMAC key whose secret is given."""
        ts = fresh_timestamp_ms()
        secret = SECRETS[key] if secret is None else secret
        params = {"api_key": key, "timestamp_ms": ts, "signature": sign_hmac(secret, key, ts)}
        params.update(extra)
        result: dict[str, Any] = await self.ok("session.logon", params)
        return result

    async def close(self) -> None:
        await self.ws.close()


async def connect_client(app: App, **kw: Any) -> Client:
    ws = await connect(url(app), compression=None, max_size=None, **kw)
    return Client(ws)


def limit(symbol: str, side: str, qty: str, price: str, **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "side": side, "type": "limit", "quantity": qty, "price": price,
            **extra}  # fmt: skip


async def issue_key(
    app: App, key_id: str, scopes: str = "read,trade", account: str = "ACC1", **kw: Any
) -> str:
    """Create an HMAC key as the admin API does; its secret."""
    command, secret = issue_hmac_key(
        app.config.ws.key_derivation_secret, key_id, account, scopes, **kw
    )
    events = await submit_applied(app, command)
    assert type(events[0]).__name__ == "VenueEvent", events
    return secret
