"""The reports lane's routes: account statements, the trade blotter, fee revenue, the
regulator export (streamed from the follower's store as CSV, JSON or JSON Lines) and
reconciliation on demand. docs/REPORTS.md documents every column."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Final

from aiohttp import web

from engine.core import Engine
from engine.model import Instrument
from gateway.admin.problems import Problem
from gateway.admin.routes import (
    COMPLIANCE,
    OPS,
    STAFF,
    TENANT_ADMIN,
    VENUE_ADMIN,
    Call,
    Route,
    ascii_int,
    tenant_of_account_in_path,
    tenant_of_query_account,
)
from gateway.admin.schema import ID, errors
from gateway.admin.streaming import FORMATS, MEDIA, stream_rows
from gateway.follower.reports import (
    BLOTTER_COLUMNS,
    EXPORT_COLUMNS,
    EXPORT_SCHEMA,
    FEE_COLUMNS,
    STATEMENT_COLUMNS,
    blotter,
    day_range,
    fee_revenue,
    regulator_export,
    statement,
)
from gateway.reconciliation import RECONCILE, ReconcileFailed, run_child

__all__ = ["ROUTES"]

_US: Final = {"type": "string", "pattern": "^[0-9]{1,18}$", "description": "µs since the epoch"}
_RANGE: Final[dict[str, dict[str, Any]]] = {
    "format": {"type": "string", "enum": list(FORMATS), "description": "default json"},
    "day": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "a UTC day; or from/to"},
    "from": {**_US, "description": "µs since the epoch, inclusive"},
    "to": {**_US, "description": "µs since the epoch, exclusive"},
}  # fmt: skip
_FILTERS: Final[dict[str, dict[str, Any]]] = {
    **_RANGE,
    "symbol": ID,
    "account": ID,
    "tenant": {**ID, "description": "staff only: one tenant's accounts"},
}


class _TenantAccounts:
    """The accounts of one tenant, as a container (asked per row, never listed)."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self.engine = engine
        self.tenant = tenant

    def __contains__(self, account: object) -> bool:
        found = self.engine.accounts.get(account) if isinstance(account, str) else None
        return found is not None and found.tenant == self.tenant


class _Only:
    def __init__(self, account: str, within: _TenantAccounts | None) -> None:
        self.account = account
        self.within = within

    def __contains__(self, account: object) -> bool:
        return account == self.account and (self.within is None or account in self.within)


def _range(call: Call, allowed: dict[str, Any]) -> tuple[int, int, str]:
    """(from_us, to_us, label) of the query; to_us 0 = no upper bound."""
    query = call.request.query
    unknown = set(query) - set(allowed)
    if unknown:
        raise Problem("invalid-request", f"unknown query parameter(s): {sorted(unknown)}")
    for name, value in query.items():
        found = errors(allowed[name], value, name)
        if found:
            raise Problem("invalid-request", found[0])
    day = query.get("day", "")
    if day:
        if "from" in query or "to" in query:
            raise Problem("invalid-request", "day or from/to, not both")
        try:
            from_us, to_us = day_range(day)
        except ValueError:
            raise Problem("invalid-request", "day: YYYY-MM-DD") from None
        return from_us, to_us, day
    bounds = []
    for name in ("from", "to"):
        bound = ascii_int(query.get(name, "0"))
        if bound is None:
            raise Problem("invalid-request", f"{name}: µs since the epoch")
        bounds.append(bound)
    from_us, to_us = bounds
    if to_us and to_us <= from_us:
        raise Problem("invalid-request", "to: after from")
    return from_us, to_us, f"{from_us}-{to_us or 'end'}"


def _format(call: Call) -> str:
    fmt = call.request.query.get("format", "json")
    if fmt not in FORMATS:
        raise Problem("invalid-request", f"format: one of {', '.join(FORMATS)}")
    return fmt


def _instruments(engine: Engine) -> dict[str, Instrument]:
    return {symbol: listing.instrument for symbol, listing in engine.listings.items()}


def _tenant_of(engine: Engine) -> Callable[[str], str]:
    def tenant_of(account_id: str) -> str:
        account = engine.accounts.get(account_id)
        return (account.tenant or "") if account is not None else ""

    return tenant_of


def _scope(call: Call) -> _TenantAccounts | _Only | None:
    """Whose rows a list may hold: a tenant-admin's tenant, ?tenant= (staff), ?account=."""
    query = call.request.query
    engine = call.host.engine
    tenant = call.operator.tenant if call.operator.role == TENANT_ADMIN else ""
    if query.get("tenant"):
        if tenant:
            raise Problem("invalid-request", "tenant: a tenant-admin sees its own tenant")
        tenant = query["tenant"]
        if tenant not in engine.tenancy.tenants:
            raise Problem("unknown-object", f"no tenant {tenant!r}")
    within = _TenantAccounts(engine, tenant) if tenant else None
    account = query.get("account", "")
    return _Only(account, within) if account else within


async def _stream(
    call: Call,
    rows: AsyncIterator[dict[str, Any]],
    columns: Sequence[str],
    name: str,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    return await stream_rows(call.request, rows, columns, _format(call), name, headers)


# ---------------------------------------------------------------- handlers


async def get_statement(call: Call) -> web.StreamResponse:
    account = call.params["account"]
    from_us, to_us, label = _range(call, _RANGE)
    if not from_us and not to_us:
        raise Problem("invalid-request", "a statement needs day, or from (and to)")
    rows = statement(call.readstore, account, from_us, to_us)
    return await _stream(call, rows, STATEMENT_COLUMNS, f"statement-{account}-{label}")


async def get_blotter(call: Call) -> web.StreamResponse:
    from_us, to_us, label = _range(call, _FILTERS)
    engine = call.host.engine
    tenant = call.operator.tenant if call.operator.role == TENANT_ADMIN else ""
    rows = blotter(
        call.readstore, _instruments(engine), from_us, to_us,
        call.request.query.get("symbol", ""), _scope(call),
        _TenantAccounts(engine, tenant) if tenant else None,
    )  # fmt: skip
    return await _stream(call, rows, BLOTTER_COLUMNS, f"blotter-{label}")


async def get_fee_revenue(call: Call) -> web.StreamResponse:
    from_us, to_us, label = _range(call, _RANGE)
    engine = call.host.engine
    tenants = {
        tenant_id: tenant.revenue_account
        for tenant_id, tenant in engine.tenancy.tenants.items()
        if tenant.revenue_account
    }
    rows = fee_revenue(
        call.readstore, from_us, to_us, engine.fee_book.revenue_account, tenants,
        _tenant_of(engine),
    )  # fmt: skip
    return await _stream(call, rows, FEE_COLUMNS, f"fee-revenue-{label}")


async def get_regulator_export(call: Call) -> web.StreamResponse:
    from_us, to_us, label = _range(call, _FILTERS)
    engine = call.host.engine
    rows = regulator_export(
        call.readstore, _instruments(engine), from_us, to_us, _tenant_of(engine),
        call.request.query.get("symbol", ""), _scope(call),
    )  # fmt: skip
    return await _stream(
        call, rows, EXPORT_COLUMNS, f"orders-trades-{label}", {"X-Report-Schema": EXPORT_SCHEMA}
    )


async def get_reconciliation(call: Call) -> dict[str, Any]:
    """Reconcile now, in a child process (a replay of the journal: CPU work)."""
    metrics = call.request.app[RECONCILE]
    async with metrics.lock:  # one replay at a time
        try:
            report = await run_child(call.host.config)
        except ReconcileFailed as exc:
            raise Problem("store-unavailable", str(exc)) from None
    metrics.observe(report, "demand")
    return report


_MISMATCH: Final = {
    "type": "object",
    "required": ["account", "asset", "engine", "ledger_sum", "flows", "first_seq"],
    "properties": {
        "account": {"type": "string"},
        "asset": {"type": "string"},
        "engine": {"type": "integer", "description": "the engine's total, asset units"},
        "ledger_sum": {"type": "integer", "description": "the sum of the ledger's legs"},
        "flows": {"type": "object", "description": "ledger_sum by reason"},
        "first_seq": {"type": "integer", "description": "where they first diverge"},
    },
}
_RECONCILIATION: Final = {
    "type": "object",
    "required": ["seq", "ok", "pairs", "mismatch_count", "first_diverging_seq", "mismatches",
                 "unbalanced"],
    "properties": {
        "seq": {"type": "integer", "description": "the store's seq, compared at"},
        "ok": {"type": "boolean"},
        "pairs": {"type": "integer", "description": "account/asset pairs compared"},
        "mismatch_count": {"type": "integer"},
        "first_diverging_seq": {"type": "integer", "description": "0 when it reconciles"},
        "mismatches": {"type": "array", "items": _MISMATCH, "description": "at most 100"},
        "unbalanced": {"type": "object", "description": "asset: sum of all its legs, if not 0"},
    },
}  # fmt: skip
_ROWS: Final = {"type": "array", "items": {"type": "object"}}
_REPORTERS: Final = frozenset({VENUE_ADMIN, OPS, COMPLIANCE})

ROUTES: Final = [
    Route(
        "GET", "/reports/statements/{account}", get_statement,
        roles=STAFF | {TENANT_ADMIN}, tenant=tenant_of_account_in_path("account"),
        summary="An account's statement: opening balance, movements, closing balance per asset",
        query=_RANGE, media=MEDIA, response=_ROWS, cli="statement",
    ),
    Route(
        "GET", "/reports/blotter", get_blotter,
        roles=STAFF | {TENANT_ADMIN}, tenant=tenant_of_query_account,
        summary="The trade blotter: every trade, one row each",
        query=_FILTERS, media=MEDIA, response=_ROWS, cli="blotter",
    ),
    Route(
        "GET", "/reports/fees", get_fee_revenue, roles=STAFF,
        summary="Fee revenue per tenant and venue, per asset",
        query=_RANGE, media=MEDIA, response=_ROWS, cli="fee-revenue",
    ),
    Route(
        "GET", "/reports/regulator", get_regulator_export,
        roles=frozenset({VENUE_ADMIN, COMPLIANCE}),
        summary=f"Every order change and fill for regulators (schema {EXPORT_SCHEMA})",
        query=_FILTERS, media=MEDIA, response=_ROWS, cli="regulator-export",
    ),
    Route(
        "GET", "/reconciliation", get_reconciliation, roles=_REPORTERS,
        summary="Reconcile engine balances, ledger sums and flows at the store's seq, now",
        response=_RECONCILIATION, cli="reconcile",
    ),
]  # fmt: skip
