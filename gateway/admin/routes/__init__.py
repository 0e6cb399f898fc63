"""The admin API's route table: one declaration per route, default deny.

How to add a route
------------------
1. Create ``gateway/admin/routes/<lane>.py`` exporting ``ROUTES: list[Route]``; every
   module of this package is loaded (in name order), nothing else to register.
2. Declare each route::

       Route(
           "POST", "/tenants/{tenant}/suspend", suspend_tenant,
           roles=frozenset({VENUE_ADMIN, OPS, TENANT_ADMIN}),
           tenant=tenant_in_path("tenant"),  # needed whenever TENANT_ADMIN is in roles
           summary="Suspend a tenant",
           request={"type": "object", "properties": {...}, "required": [...],
                    "additionalProperties": False},
           cli="suspend-tenant",  # the venue-admin subcommand: path parameters become
       )                          # positional arguments, body fields --options

   ``roles`` is required and must be non-empty: a route nobody may call cannot be
   declared, and a role not named is denied. ``tenant`` says how to find the tenant of
   the object the request targets (:func:`tenant_in_path`, :func:`tenant_in_body`,
   :func:`tenant_of_account_in_path`, :func:`tenant_of_account_in_body`,
   :func:`own_tenant`, or your own ``(Call) -> str | None``); the framework refuses a
   tenant-admin whose tenant differs (or when it resolves to None), before the handler
   runs. A route naming TENANT_ADMIN without ``tenant`` is refused at declaration.
3. The handler is ``async def handler(call: Call) -> dict | Outcome``:
   - GET: return the JSON body (it must match ``response``, the 200 schema). A GET
     declared with ``media`` streams: it writes and returns a ``web.StreamResponse``
     (gateway/admin/streaming.py), so a large answer never sits in memory.
   - a mutation (POST/PUT/PATCH/DELETE): build one engine command and
     ``return await call.submit(command)``. The framework has already checked the
     Idempotency-Key, the body against ``request``, the role and the tenant; submit wraps
     the command in the attributed envelope, journals it and waits until it is durable.
     An engine reject becomes a problem (404 unknown-object, 409 already-exists, else
     422 command-rejected). ``call.submit(command, extra={...})`` adds fields to the
     first answer only (a retry with the same key gets the remembered answer without
     them: use it for a secret shown once).
   - refuse with ``raise Problem("invalid-request", "why")`` (gateway/admin/problems.py).
4. Tests: the role x route matrix (tests/gateway/admin/test_matrix.py) and the OpenAPI
   checks pick up every declared route by themselves; add tests of your behaviour over
   real HTTP (see tests/gateway/admin/conftest.py ``admin`` fixture).

Duplicate (method, path) pairs and duplicate ``cli`` names are refused when the table
is built.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from gateway.admin.schema import check_schema
from gateway.decimals import ascii_int
from gateway.readstore import READSTORE

if TYPE_CHECKING:
    from aiohttp import web

    from engine.commands import Command
    from engine.venue.operators import Operator
    from gateway.host import EngineHost
    from gateway.readstore import ReadStore

__all__ = [
    "ALL_ROLES",
    "COMPLIANCE",
    "OPS",
    "READ_ONLY",
    "ROLES",
    "STAFF",
    "SUPPORT",
    "TENANT_ADMIN",
    "VENUE_ADMIN",
    "Call",
    "Outcome",
    "Route",
    "TenantScope",
    "all_routes",
    "ascii_int",
    "own_tenant",
    "tenant_in_body",
    "tenant_in_path",
    "tenant_of_account",
    "tenant_of_account_in_body",
    "tenant_of_account_in_path",
    "tenant_of_query_account",
]

VENUE_ADMIN: Final = "venue-admin"
OPS: Final = "ops"
COMPLIANCE: Final = "compliance"
SUPPORT: Final = "support"
READ_ONLY: Final = "read-only"
TENANT_ADMIN: Final = "tenant-admin"
ROLES: Final = (VENUE_ADMIN, OPS, COMPLIANCE, SUPPORT, READ_ONLY, TENANT_ADMIN)
#: every venue-side role (all but tenant-admin): for reads that are not tenant-scoped
STAFF: Final = frozenset({VENUE_ADMIN, OPS, COMPLIANCE, SUPPORT, READ_ONLY})
ALL_ROLES: Final = frozenset(ROLES)

_MUTATIONS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Outcome:
    """What a mutation produced: the envelope's seq and the remembered result."""

    seq: int
    result: dict[str, Any]
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Call:
    """One authenticated, authorized request, as a handler sees it."""

    def __init__(
        self,
        request: web.Request,
        operator: Operator,
        body: Any,
        host: EngineHost,
        submit: Callable[[Command, dict[str, Any] | None], Awaitable[Outcome]],
    ) -> None:
        self.request = request
        self.operator = operator
        self.body = body
        self.host = host
        self._submit = submit

    @property
    def params(self) -> dict[str, str]:
        return dict(self.request.match_info)

    @property
    def readstore(self) -> ReadStore:
        """The follower's store, read-only (gateway/readstore.py: how to query it)."""
        return self.request.app[READSTORE]

    async def submit(self, command: Command, extra: dict[str, Any] | None = None) -> Outcome:
        """Journal command inside the attributed envelope; the outcome once durable."""
        return await self._submit(command, extra)


Handler = Callable[[Call], Awaitable["dict[str, Any] | Outcome | web.StreamResponse"]]
TenantScope = Callable[[Call], "str | None"]


@dataclass(frozen=True)
class Route:
    """One admin route. ``path`` is relative to /admin/v1, in aiohttp/OpenAPI template
    syntax (``/instruments/{symbol}/status``)."""

    method: str
    path: str
    handler: Handler
    roles: frozenset[str]
    summary: str
    tenant: TenantScope | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    description: str = ""
    #: the ``venue-admin`` subcommand (default: from method and path, e.g. put-halt)
    cli: str = ""
    #: query parameters (name: schema), for the document; the handler checks them
    query: dict[str, dict[str, Any]] | None = None
    #: a streamed GET: the media types its 200 may have (the handler writes the
    #: response itself and returns it); the CLI copies such an answer as it comes
    media: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"{self.method} {self.path}"
        if self.method not in {"GET", *_MUTATIONS}:
            raise ValueError(f"{where}: unsupported method")
        if not self.path.startswith("/"):
            raise ValueError(f"{where}: path must start with /")
        if not isinstance(self.roles, frozenset) or not self.roles:
            raise ValueError(f"{where}: an explicit, non-empty role rule is required")
        unknown = self.roles - ALL_ROLES
        if unknown:
            raise ValueError(f"{where}: unknown role(s) {sorted(unknown)}")
        if TENANT_ADMIN in self.roles and self.tenant is None:
            raise ValueError(f"{where}: tenant-admin needs a tenant scope (tenant=...)")
        if self.method == "GET" and self.request is not None:
            raise ValueError(f"{where}: a GET takes no body")
        for name, schema in (("request", self.request), ("response", self.response)):
            if schema is not None:
                check_schema(schema, f"{where} {name}")
        for name, schema in (self.query or {}).items():
            check_schema(schema, f"{where} query {name}")
        if self.media and self.method != "GET":
            raise ValueError(f"{where}: only a GET is streamed")

    @property
    def mutation(self) -> bool:
        return self.method in _MUTATIONS

    def allows(self, role: str) -> bool:
        return role in self.roles


def tenant_in_path(name: str) -> TenantScope:
    """The tenant is the path parameter ``name``."""
    return lambda call: call.request.match_info.get(name)


def tenant_in_body(name: str) -> TenantScope:
    """The tenant is the body field ``name``."""
    return lambda call: _body_str(call, name)


def tenant_of_account_in_path(name: str) -> TenantScope:
    """The tenant of the account named by path parameter ``name``."""
    return lambda call: tenant_of_account(call, call.request.match_info.get(name))


def tenant_of_account_in_body(name: str) -> TenantScope:
    """The tenant of the account named by body field ``name``."""
    return lambda call: tenant_of_account(call, _body_str(call, name))


def tenant_of_query_account(call: Call) -> str | None:
    """For a list: the tenant of the ``?account=`` filter, else the operator's own (the
    handler then keeps only its tenant's records)."""
    account = call.request.query.get("account")
    if account:
        return tenant_of_account(call, account)
    return call.operator.tenant or None


def own_tenant(call: Call) -> str | None:
    """The operator's own tenant: for routes about the caller itself."""
    return call.operator.tenant or None


def _body_str(call: Call, name: str) -> str | None:
    body = call.body
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def tenant_of_account(call: Call, account_id: str | None) -> str | None:
    """The tenant of ``account_id`` (None: no such account, or none)."""
    account = call.host.engine.accounts.get(account_id or "")
    return (account.tenant or None) if account is not None else None


def all_routes() -> list[Route]:
    """Every lane's routes; duplicates of (method, path) are refused."""
    routes: list[Route] = []
    seen: set[tuple[str, str]] = set()
    commands: set[str] = set()
    lanes = sorted(info.name for info in pkgutil.iter_modules(__path__))
    for lane in lanes:
        module = importlib.import_module(f"gateway.admin.routes.{lane}")
        for route in module.ROUTES:
            key = (route.method, route.path)
            if key in seen:
                raise ValueError(f"{route.method} {route.path}: declared twice ({lane})")
            seen.add(key)
            if route.cli and route.cli in commands:
                raise ValueError(f"{route.method} {route.path}: cli name {route.cli!r} taken")
            commands.add(route.cli)
            routes.append(route)
    return routes
