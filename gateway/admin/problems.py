"""Errors as ``application/problem+json`` (RFC 9457): one registry of problem types.

Every error the admin API sends is a :class:`Problem` with a type from
:data:`PROBLEM_TYPES`; the operator guide's table lists the same registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson
from aiohttp import web

__all__ = ["CONTENT_TYPE", "PROBLEM_TYPES", "TYPE_PREFIX", "Problem", "ProblemType"]

CONTENT_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:venue-gateway:admin:problem:"


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str


PROBLEM_TYPES: Final = {
    "malformed-request": ProblemType(400, "The request is malformed"),
    "malformed-json": ProblemType(400, "The body is not valid JSON"),
    "idempotency-key-missing": ProblemType(400, "A mutation needs an Idempotency-Key header"),
    "credentials-missing": ProblemType(401, "The request is not signed"),
    "credentials-malformed": ProblemType(401, "The signature headers are malformed"),
    "unknown-operator": ProblemType(401, "Unknown operator"),
    "operator-disabled": ProblemType(401, "The operator is disabled"),
    "timestamp-out-of-window": ProblemType(401, "The request timestamp is outside the window"),
    "nonce-reused": ProblemType(401, "The nonce was used already"),
    "bad-signature": ProblemType(401, "The signature does not verify"),
    "role-forbidden": ProblemType(403, "The operator's role may not call this route"),
    "tenant-forbidden": ProblemType(403, "The object is outside the operator's tenant"),
    "not-found": ProblemType(404, "No such route"),
    "unknown-object": ProblemType(404, "The engine knows no such object"),
    "method-not-allowed": ProblemType(405, "Method not allowed on this route"),
    "idempotency-key-reused": ProblemType(
        409, "The Idempotency-Key was used for a different request"
    ),
    "already-exists": ProblemType(409, "The object exists already"),
    "body-too-large": ProblemType(413, "The body is too large"),
    "unsupported-media-type": ProblemType(415, "The body must be application/json"),
    "invalid-request": ProblemType(422, "The body does not match the route's schema"),
    "command-rejected": ProblemType(422, "The engine refused the command"),
    "internal-error": ProblemType(500, "Internal error"),
    "store-unavailable": ProblemType(503, "The follower's store cannot answer now: retry"),
}


class Problem(Exception):
    """Raise to answer with a problem document; ``extra`` adds extension members."""

    def __init__(self, name: str, detail: str, **extra: Any) -> None:
        if name not in PROBLEM_TYPES:
            raise KeyError(f"unregistered problem type {name!r}")
        super().__init__(detail)
        self.name = name
        self.detail = detail
        self.extra = extra

    @property
    def status(self) -> int:
        return PROBLEM_TYPES[self.name].status

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.name

    def document(self, instance: str) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": PROBLEM_TYPES[self.name].title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            **self.extra,
        }

    def response(self, instance: str) -> web.Response:
        headers = {"WWW-Authenticate": "Ed25519-Signed"} if self.status == 401 else None
        return web.Response(
            body=orjson.dumps(self.document(instance)),
            status=self.status,
            content_type=CONTENT_TYPE,
            headers=headers,
        )
