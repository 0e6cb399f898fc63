"""An admin client over real HTTP: signs each request as one of the demo operators, and
checks every answer against the gateway's own OpenAPI document."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jsonschema
import orjson
import pytest

from gateway.admin.problems import TYPE_PREFIX
from gateway.admin.signing import sign_request
from gateway.app import App
from tests.conftest import MakeGateway

#: the demo operators by role (gateway/demo.toml)
DEMO = {
    role: f"demo-{role}"
    for role in ("venue-admin", "ops", "compliance", "support", "read-only", "tenant-admin")
}


@dataclass
class Reply:
    status: int
    content_type: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class AdminClient:
    """Signed requests to one gateway's admin listener."""

    def __init__(self, app: App, http: aiohttp.ClientSession) -> None:
        assert app.admin is not None
        self.app = app
        self.base = f"http://127.0.0.1:{app.admin.port}"
        self.http = http
        self.seeds = {op.id: op.demo_seed for op in app.config.admin.operators}
        self.document: dict[str, Any] = orjson.loads(app.admin.openapi)
        self.checked = 0

    def headers(
        self, operator: str, method: str, path: str, body: bytes, **overrides: Any
    ) -> dict[str, str]:
        return sign_request(
            overrides.pop("seed", None) or self.seeds[operator],
            operator,
            method,
            path,
            body,
            **overrides,
        )

    async def raw(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        async with self.http.request(
            method, self.base + path, data=body, headers=headers or {}
        ) as resp:
            data = await resp.read()
            json = resp.content_type.endswith(("/json", "+json"))
            parsed = orjson.loads(data) if data and json else data
            reply = Reply(resp.status, resp.content_type, parsed, dict(resp.headers))
        self.check(method, path, reply)
        return reply

    def check(self, method: str, path: str, reply: Reply) -> None:
        """The reply matches the document's schema for its route and status (a problem
        for an unknown route matches the Problem schema)."""
        doc = self.document
        if path == "/admin/v1/openapi.json":
            return
        bare = path.split("?", 1)[0]
        operation = None
        for template, operations in doc["paths"].items():
            pattern = "^" + re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"{\w+}", "[^/]+", pattern) + "$"
            if re.match(pattern, bare) and method.lower() in operations:
                operation = operations[method.lower()]
        if operation is None:
            schema = doc["components"]["schemas"]["Problem"]
            assert reply.content_type == "application/problem+json", reply
        else:
            response = operation["responses"].get(str(reply.status))
            response = response or operation["responses"]["default"]
            assert reply.content_type in response["content"], (reply, response["content"])
            schema = response["content"][reply.content_type]["schema"]
            if not isinstance(reply.body, dict | list):  # a streamed CSV or JSON Lines
                self.checked += 1
                return
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        jsonschema.validate(reply.body, schema)
        self.checked += 1

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        role: str = "venue-admin",
        key: str | None = "auto",
        **sign: Any,
    ) -> Reply:
        """A signed request as the demo operator of ``role`` (an Idempotency-Key is
        made up for mutations unless ``key`` is given; None sends none)."""
        body = b"" if json is None else orjson.dumps(json)
        operator = DEMO.get(role, role)
        headers = self.headers(operator, method, path, body, **sign)
        if body:
            headers["Content-Type"] = "application/json"
        if method != "GET" and key is not None:
            headers["Idempotency-Key"] = secrets.token_hex(8) if key == "auto" else key
        return await self.raw(method, path, body, headers)


MakeAdmin = Callable[..., Awaitable[AdminClient]]


def commands(app: App) -> int:
    """The journal's seq without the records of refused requests (AdminRefused,
    gateway/admin/refusals.py): what the tests that a refusal journals no command
    compare."""
    assert app.admin is not None
    return app.host.engine.last_seq - int(
        app.admin.refusals.counter.values.get((("kind", "journaled"),), 0)
    )


def refused(reply: Reply, name: str, status: int) -> None:
    """The reply is the problem ``name`` with ``status``."""
    assert reply.content_type == "application/problem+json", reply
    assert (reply.status, reply.body["type"]) == (status, TYPE_PREFIX + name), reply


@pytest.fixture
async def make_admin(make_gateway: MakeGateway) -> AsyncIterator[MakeAdmin]:
    sessions: list[aiohttp.ClientSession] = []

    async def make(**sections: dict[str, Any]) -> AdminClient:
        app = await make_gateway(**sections)
        http = aiohttp.ClientSession()
        sessions.append(http)
        return AdminClient(app, http)

    yield make
    for http in sessions:
        await http.close()


@pytest.fixture
async def admin(make_admin: MakeAdmin) -> AdminClient:
    """A demo gateway and a client signing as its demo operators."""
    return await make_admin()
