"""Role x route matrix, generated from the route table, over real HTTP: every pair is
allowed or denied exactly as the route declares."""

from __future__ import annotations

import re

from gateway.admin.problems import TYPE_PREFIX
from gateway.admin.routes import ROLES, all_routes
from tests.gateway.admin.conftest import AdminClient

FORBIDDEN = TYPE_PREFIX + "role-forbidden"


async def test_every_role_route_pair_is_allowed_or_denied_as_declared(admin: AdminClient) -> None:
    routes = all_routes()
    seen: dict[tuple[str, str, str], bool] = {}
    for route in routes:
        # unknown objects and an empty body: an allowed call is refused past the role
        # check (422 or 404 or tenant-forbidden), so the matrix changes nothing
        path = "/admin/v1" + re.sub(r"{\w+}", "matrix-unknown", route.path)
        body = {} if route.request is not None else None
        for role in ROLES:
            reply = await admin.call(route.method, path, body, role=role)
            denied = isinstance(reply.body, dict) and reply.body.get("type") == FORBIDDEN
            seen[(route.method, route.path, role)] = not denied
            assert reply.status != 401, reply
    expected = {(r.method, r.path, role): r.allows(role) for r in routes for role in ROLES}
    mismatched = {pair: allowed for pair, allowed in seen.items() if expected[pair] != allowed}
    assert not mismatched, mismatched
    assert len(seen) == len(routes) * len(ROLES)
    assert True in seen.values() and False in seen.values()
    assert not admin.app.host.engine.halted
