"""The OpenAPI 3.1 document: served without auth, generated from the route table."""

from __future__ import annotations

import jsonschema
import pytest

from gateway.admin.openapi import build_document
from gateway.admin.routes import Route, all_routes
from gateway.admin.server import PREFIX
from tests.gateway.admin.conftest import AdminClient


async def test_the_document_is_served_without_auth(admin: AdminClient) -> None:
    reply = await admin.raw("GET", "/admin/v1/openapi.json")
    assert reply.status == 200 and reply.content_type == "application/json"
    assert reply.body == admin.document
    assert reply.body["openapi"] == "3.1.0"


def test_every_registered_route_is_in_the_document() -> None:
    routes = all_routes()
    doc = build_document(routes, PREFIX)
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert documented == {(r.method, PREFIX + r.path) for r in routes}
    for route in routes:
        operation = doc["paths"][PREFIX + route.path][route.method.lower()]
        assert operation["x-roles"] == sorted(route.roles)
        assert {"200", "default"} <= set(operation["responses"])
        if route.mutation:
            assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]


def test_every_schema_in_the_document_is_valid_json_schema() -> None:
    doc = build_document(all_routes(), PREFIX)
    schemas = list(doc["components"]["schemas"].values())
    for ops in doc["paths"].values():
        for operation in ops.values():
            for response in operation["responses"].values():
                schemas += [m["schema"] for m in response["content"].values()]
            if "requestBody" in operation:
                schemas += [m["schema"] for m in operation["requestBody"]["content"].values()]
    for schema in schemas:
        jsonschema.Draft202012Validator.check_schema(schema)


async def test_responses_seen_match_the_document(admin: AdminClient) -> None:
    """The client checks every reply against the document: exercise each kind once."""
    await admin.call("GET", "/admin/v1/halt", role="ops")
    await admin.call("PUT", "/admin/v1/halt", {"halted": True}, role="ops")
    await admin.call("PUT", "/admin/v1/halt", {"halted": 1}, role="ops")
    await admin.call("GET", "/admin/v1/accounts/ACC1", role="support")
    await admin.call("GET", "/admin/v1/nowhere")
    assert admin.checked == 5


def _noop_route(**kw: object) -> Route:
    async def handler(call: object) -> dict[str, object]:
        return {}

    return Route("GET", "/x", handler, summary="x", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"roles": frozenset()}, "explicit, non-empty role rule"),
        ({"roles": frozenset({"root"})}, "unknown role"),
        ({"roles": frozenset({"tenant-admin"})}, "needs a tenant scope"),
        ({"roles": frozenset({"ops"}), "response": {"oneOf": []}}, "unsupported schema keyword"),
    ],
)
def test_a_route_without_a_sound_rule_cannot_be_declared(
    kw: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _noop_route(**kw)
    with pytest.raises(TypeError):
        Route("GET", "/x", _noop_route.__call__, summary="x")  # type: ignore[call-arg]
