"""The OpenAPI 3.1 document, generated from the route table (never written by hand).

Served unauthenticated at /admin/v1/openapi.json: it describes the API, not the venue,
and a client needs it before it can sign anything.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from gateway.admin.problems import PROBLEM_TYPES, TYPE_PREFIX
from gateway.admin.signing import (
    HEADER_NONCE,
    HEADER_OPERATOR,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)

if TYPE_CHECKING:
    from gateway.admin.routes import Route

__all__ = ["PROBLEM_SCHEMA", "build_document", "operation_id"]

PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "enum": [TYPE_PREFIX + name for name in PROBLEM_TYPES]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "seq": {"type": "integer"},
        "code": {"type": "string"},
        "replayed": {"type": "boolean"},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
}
MUTATION_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["seq", "replayed", "events", "orders_canceled"],
    "properties": {
        "seq": {"type": "integer", "description": "the journal seq of the admin envelope"},
        "replayed": {"type": "boolean", "description": "answered from the idempotency memory"},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "subject", "data"],
                "properties": {
                    "kind": {"type": "string"},
                    "subject": {"type": "string"},
                    "data": {"type": "object"},
                },
            },
        },
        "orders_canceled": {"type": "integer"},
    },
}
_AUTH = (
    "Every route but this document needs a signed request: headers "
    f"{HEADER_OPERATOR}, {HEADER_TIMESTAMP} (Unix ms), {HEADER_NONCE} (16..64 of "
    f"[A-Za-z0-9_-]) and {HEADER_SIGNATURE}: hex Ed25519 over METHOD\\nPATH?QUERY\\n"
    "TIMESTAMP\\nNONCE\\nhex(sha256(body)). See docs/OPERATOR_GUIDE.md."
)


def operation_id(route: Route) -> str:
    words = re.sub(r"[{}]", "", route.path).strip("/").replace("-", "_").split("/")
    return "_".join([route.method.lower(), *words])


def _operation(route: Route) -> dict[str, Any]:
    ok = route.response if route.response is not None else MUTATION_SCHEMA
    if route.mutation and route.response is not None:
        ok = {**MUTATION_SCHEMA, "properties": {**MUTATION_SCHEMA["properties"], **ok.get(
            "properties", {})}}  # fmt: skip
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in (route.query or {}).items()
    ]
    if route.mutation:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            }
        )
    operation: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": route.summary,
        "security": [{"operatorSignature": []}],
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK", "content": _content(route, ok)},
            "default": {"description": "A problem (RFC 9457)", "content": problem},
        },
        "x-roles": sorted(route.roles),
        "x-tenant-scoped": route.tenant is not None,
    }
    if route.description:
        operation["description"] = route.description
    if route.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.request}},
        }
    return operation


def _content(route: Route, ok: dict[str, Any]) -> dict[str, Any]:
    if not route.media:
        return {"application/json": {"schema": ok}}
    streamed = {"type": "string", "description": "streamed rows (docs/REPORTS.md)"}
    return {media: {"schema": ok if media == "application/json" else streamed}
            for media in route.media}  # fmt: skip


def build_document(routes: list[Route], prefix: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(prefix + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Venue gateway admin API", "version": "1", "description": _AUTH},
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA, "MutationResult": MUTATION_SCHEMA},
            "securitySchemes": {
                "operatorSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": HEADER_SIGNATURE,
                    "description": _AUTH,
                }
            },
        },
    }
