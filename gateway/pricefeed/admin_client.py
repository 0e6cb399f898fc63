"""The feeder's way into the venue: signed admin API requests, as venue-admin sends.

The feeder holds an operator's Ed25519 seed (an ``ops`` operator is enough) and never
logs it. Each index is its own mutation with a fresh Idempotency-Key: the admin API
journals it as a ``SetIndexPrice`` command, so replay reproduces the index exactly.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from gateway.admin.signing import sign_request

__all__ = ["AdminClient", "AdminError"]

PREFIX = "/admin/v1"


class AdminError(Exception):
    """The admin API refused a request: its status and problem body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class AdminClient:
    def __init__(self, url: str, operator: str, seed_hex: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._base = urlsplit(self.url).path
        self.operator = operator
        self._seed = seed_hex
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # the seed stays out of every log line
        return f"AdminClient({self.url!r}, operator={self.operator!r})"

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one signed request; the JSON answer, or AdminError."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        data = json.dumps(body).encode() if body is not None else b""
        full = self._base + PREFIX + path
        headers = sign_request(self._seed, self.operator, method, full, data)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if method != "GET":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        async with self._http.request(method, self.url + PREFIX + path, data=data,
                                      headers=headers) as response:  # fmt: skip
            answer = await response.json(content_type=None)
            if not 200 <= response.status < 300:
                raise AdminError(response.status, answer)
            return answer
