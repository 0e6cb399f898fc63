"""A signed REST client for the gateway's client routes (gateway/rest/client.py)."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from yarl import URL

from gateway.app import App
from gateway.rest.signing import sign_request
from tests.ws.helpers import SECRETS, fresh_timestamp_ms


class RestClient:
    """Requests signed with one API key: its HMAC secret (the demo keys' by default) or
    an Ed25519 seed. ``signed`` gives the headers, to tamper with before sending."""

    def __init__(self, app: App, key: str, secret: str = "", seed: str = "") -> None:
        assert app.http is not None
        self.base = f"http://127.0.0.1:{app.http.port}"
        self.key = key
        self.secret = secret or ("" if seed else SECRETS[key])
        self.seed = seed

    def signed(self, method: str, path_qs: str, body: bytes = b"") -> dict[str, str]:
        return sign_request(
            self.key, method, path_qs, body, hmac_secret=self.secret,
            ed25519_seed=self.seed, timestamp_ms=fresh_timestamp_ms(),
        )  # fmt: skip

    async def send(
        self, method: str, path_qs: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send as given (``headers``: as signed for this request unless given)."""
        if headers is None:
            headers = self.signed(method, path_qs, body)
        url = URL(self.base + path_qs, encoded=True)
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, url, data=body, headers=headers) as resp,
        ):
            return resp.status, orjson.loads(await resp.read())

    async def get(self, path_qs: str) -> tuple[int, Any]:
        return await self.send("GET", path_qs)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.send("POST", path, orjson.dumps(body))

    async def ok(self, method: str, path_qs: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = await self.send(method, path_qs, orjson.dumps(body) if body else b"")
        assert status == 200, (method, path_qs, status, answer)
        return answer
