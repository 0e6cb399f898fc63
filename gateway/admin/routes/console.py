"""The console lane's reads: what the browser console shows and no other route has.

Account search across every tenant (and accounts outside any tenant; a tenant-admin's
search sees its own tenant's accounts only), the venue's 24 h market figures (market
data: any operator), and the admin audit log, filtered (venue staff only: the log is
not kept by tenant).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from gateway.admin.audit import audit_path, read_tail
from gateway.admin.console.daystats import day_stats, stats_row
from gateway.admin.console.views import MARKET_DATA, account_view
from gateway.admin.problems import Problem
from gateway.admin.routes import ALL_ROLES, STAFF, TENANT_ADMIN, Call, Route, ascii_int, own_tenant
from gateway.admin.schema import obj
from gateway.follower.store import StoreUnavailable

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
    """Accounts whose id, tenant or label contains ``q`` (case-insensitive); of its
    own tenant only for a tenant-admin."""
    query = call.request.query.get("q", "").lower()
    limit = _limit(call, 100)
    engine = call.host.engine
    infos = engine.tenancy.accounts
    scope = call.operator.tenant if call.operator.role == TENANT_ADMIN else None
    found: list[dict[str, Any]] = []
    for account_id, account in engine.accounts.items():
        if scope is not None and account.tenant != scope:
            continue
        info = infos.get(account_id)
        label = info.label if info is not None else ""
        if query and not any(query in t.lower() for t in (account_id, account.tenant, label)):
            continue
        found.append(account_view(engine, account_id))
        if len(found) == limit:
            break
    return {"accounts": found}


async def markets_24h(call: Call) -> dict[str, Any]:
    """Every instrument's figures over the trailing 24 h, read from the follower's
    store now; when it cannot be read, the publisher's recent trades, marked partial
    (the same rows as the console's pushes: daystats.stats_row)."""
    engine = call.host.engine
    instruments = {s: listing.instrument for s, listing in engine.listings.items()}
    now_us = time.time_ns() // 1000
    stored: dict[str, dict[str, Any]] | None
    try:
        stored, _ = await day_stats(call.readstore, instruments, now_us)
        why = ""
    except StoreUnavailable as exc:
        stored, why = None, str(exc)
    publisher = call.request.app[MARKET_DATA]
    return {
        "markets": {
            symbol: stats_row(stored, symbol, instrument, publisher, now_us, why)
            for symbol, instrument in instruments.items()
        }
    }


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
        "GET", "/console/accounts", search_accounts, roles=ALL_ROLES, tenant=own_tenant,
        summary="Search accounts (id, tenant or label): balances, open orders, KYC, limits",
        description=(
            "Query: q=<text>, limit=1..500 (default 100). A tenant-admin finds its own"
            " tenant's accounts only."
        ),
        response=obj(["accounts"], accounts=_LIST),
        cli="search-accounts",
    ),
    Route(
        "GET", "/console/markets/24h", markets_24h, roles=ALL_ROLES, tenant=own_tenant,
        summary="Each instrument's open, high, low, last, volumes and trades over 24 h",
        description=(
            "Read from the follower's store: every trade stored whose journal time is"
            " within 24 h of now. When the store cannot be read, the figures of the"
            " trades the market-data publisher still holds, with complete=false,"
            " source=recent-trades and a note saying why."
        ),
        response=obj(["markets"], markets={"type": "object"}),
        cli="markets-24h",
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
