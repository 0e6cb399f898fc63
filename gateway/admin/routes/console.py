"""The console lane's reads: what the browser console shows and no other route has.

Account search across every tenant (and accounts outside any tenant), and the admin
audit log, filtered. Both are venue-staff reads.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from gateway.admin.audit import audit_path, read_tail
from gateway.admin.console.views import account_view
from gateway.admin.problems import Problem
from gateway.admin.routes import STAFF, Call, Route, ascii_int
from gateway.admin.schema import obj

__all__ = ["ROUTES"]

_MAX_LIMIT: Final = 500
#: how much of the audit log's end a query reads (its newest records)
AUDIT_WINDOW_BYTES: Final = 4 * 1024 * 1024


def _limit(call: Call, default: int) -> int:
    limit = ascii_int(call.request.query.get("limit", str(default)))
    if limit is None or not 0 < limit <= _MAX_LIMIT:
        raise Problem("invalid-request", f"limit must be 1..{_MAX_LIMIT}")
    return limit


async def search_accounts(call: Call) -> dict[str, Any]:
    """Accounts whose id, tenant or label contains ``q`` (case-insensitive)."""
    query = call.request.query.get("q", "").lower()
    limit = _limit(call, 100)
    engine = call.host.engine
    infos = engine.tenancy.accounts
    found: list[dict[str, Any]] = []
    for account_id, account in engine.accounts.items():
        info = infos.get(account_id)
        label = info.label if info is not None else ""
        if query and not any(query in t.lower() for t in (account_id, account.tenant, label)):
            continue
        found.append(account_view(engine, account_id))
        if len(found) == limit:
            break
    return {"accounts": found}


def _matches(record: dict[str, Any], actor: str, path: str, status: str) -> bool:
    if actor and record.get("actor") != actor:
        return False
    if path and path not in str(record.get("path", "")).split("?", 1)[0]:
        return False
    code = str(record.get("status", ""))
    if status.endswith("xx"):
        return code[:1] == status[:1]
    return not status or code == status


async def audit_log(call: Call) -> dict[str, Any]:
    """The newest audit records, filtered by actor, path substring (of the path without
    its query) and status."""
    query = call.request.query
    actor, path, status = query.get("actor", ""), query.get("path", ""), query.get("status", "")
    limit = _limit(call, 200)
    records = await asyncio.to_thread(read_tail, audit_path(call.host.config), AUDIT_WINDOW_BYTES)
    found = [r for r in reversed(records) if _matches(r, actor, path, status)][:limit]
    return {"records": found}


_LIST: Final = {"type": "array", "items": {"type": "object"}}

ROUTES: Final = [
    Route(
        "GET", "/console/accounts", search_accounts, roles=STAFF,
        summary="Search accounts (id, tenant or label): balances, open orders, KYC, limits",
        description="Query: q=<text>, limit=1..500 (default 100).",
        response=obj(["accounts"], accounts=_LIST),
        cli="search-accounts",
    ),
    Route(
        "GET", "/console/audit", audit_log, roles=STAFF,
        summary="The admin audit log, newest first",
        description=(
            "Query: actor=<operator>, path=<substring of the path, query left out>,"
            " status=<code or 2xx/4xx/5xx>, limit=1..500 (default 200)."
            " Reads the newest 4 MiB of the log."
        ),
        response=obj(["records"], records=_LIST),
        cli="audit-log",
    ),
]  # fmt: skip
