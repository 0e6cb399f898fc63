"""The console's routes on the admin listener: the page, and its live event stream.

``GET /console`` (and ``/console/static/<file>``) serve the shipped assets unsigned:
they hold no data. ``GET /admin/v1/console/stream`` is a signed request like any admin
read (the same headers, checked by the same pipeline, one audit line) whose answer is
an endless ``text/event-stream``. The browser reads it with ``fetch`` (EventSource
cannot send the signature headers). Each ``state`` event is the whole console state
(views.py). A new event goes out when a committed event batch changed something, and
at least every ``HEARTBEAT_S`` (the overview's rates move with time), never more often
than every ``MIN_GAP_S`` per client: a burst of fills costs one push.

With each push go the changes the on-demand views need (each a ``Changes`` log the
stream reads from its own position): ``audit`` events carry the new audit records,
``accounts`` the accounts a committed batch touched (their rows as the accounts view
shows them), ``tenants`` the tenants it touched (their rows as GET /tenants lists
them: created, renamed, suspended, resumed, a limit or tier set, an account opened
under one), and ``alerts``, for the roles that may read the alert queue only, the
queue entries that were raised or moved since, read from the follower's store when
the follower reports that it stored past them (``stored``). Each says ``complete``:
false when the stream fell behind what is kept, and the page then reloads that view.

A tenant-admin's stream is its tenant's console (views.scoped): its own accounts,
tenant row, sessions and funds, the venue's market data, no venue internals, and no
audit or alert events (neither is kept by tenant; the admin API gives a tenant-admin
neither the audit log nor the alert queue).

The stream ends when the operator is disabled, and when the gateway stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson
import structlog
from aiohttp import web

from engine.events import (
    AdminApplied,
    BalanceChanged,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderReplaced,
    Trade,
    VenueEvent,
)
from gateway.admin.console import views
from gateway.admin.console.changes import Changes
from gateway.admin.console.daystats import DayStats
from gateway.admin.problems import Problem
from gateway.admin.routes import ALL_ROLES, TENANT_ADMIN
from gateway.follower.store import StoreUnavailable
from gateway.follower.surveillance.store import SUMMARY_COLUMNS, AlertFilter, list_alerts
from gateway.host import EventBatch

if TYPE_CHECKING:
    from gateway.admin.server import AdminServer
    from gateway.app import App

__all__ = ["HEARTBEAT_S", "MIN_GAP_S", "STATIC", "STREAM_PATH", "ConsoleFeed", "tenants_touched"]

STATIC: Final = Path(__file__).parent / "static"
STREAM_PATH: Final = "/console/stream"
HEARTBEAT_S: Final = 1.0
MIN_GAP_S: Final = 0.1
_FUNDS_KINDS: Final = ("withdrawal.", "deposit.")
#: changes kept for streams that fell behind, and most sent in one push
_KEPT: Final = 2000
_MOST_ACCOUNTS: Final = 200
_ALERT_PAGE: Final = 500
_ORDER_EVENTS: Final = (OrderAccepted, OrderCanceled, OrderExpired, OrderReplaced, BalanceChanged)
#: venue events whose subject is a tenant (engine/venue/tenancy_commands.py), and
#: those whose subject is an account of the tenant named in their data
_TENANT_KINDS: Final = ("tenant.", "tier.", "market.state")
_MEMBER_KINDS: Final = frozenset(
    {"account.opened", "account.assigned", "subaccount.created", "account.status"}
)
log = structlog.get_logger("gateway.admin.console")
_TYPES: Final = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
#: the shipped assets, the only names served
_ASSETS: Final = frozenset(
    p.name for p in STATIC.iterdir() if p.suffix in _TYPES and not p.name.startswith(".")
)
#: the page may load its own script and style only, and talk to this origin only
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
    " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ConsoleFeed:
    """Host listener (it only notes that something changed) and the stream's server."""

    def __init__(self, server: AdminServer) -> None:
        self.server = server
        self.app: App | None = None
        self.version = 0
        self._waiting: set[asyncio.Event] = set()
        self._built: tuple[int, float, bytes, dict[str, Any]] | None = None
        #: the tenant-scoped states, built from the same snapshot: tenant -> built
        self._scoped: dict[str, tuple[int, float, bytes]] = {}
        self._sampler: views.Sampler | None = None
        #: the sessions view and its rate samples (GET /sessions reads it too)
        self.sessions = views.SessionStats()
        #: the funds view scans every withdrawal: rebuilt only after a funds event
        self._funds_version = 0
        self._funds: tuple[int, dict[str, Any]] | None = None
        self._closing = asyncio.Event()
        self.audit: Changes[dict[str, Any]] = Changes(_KEPT)
        self.accounts: Changes[str] = Changes(_KEPT)
        self.tenants: Changes[str] = Changes(_KEPT)
        self.alerts: Changes[dict[str, Any]] = Changes(_KEPT)
        #: the roles of the alert queue's route: only they get alert pushes
        self.analysts = next(
            (
                r.roles
                for r in server.routes
                if (r.method, r.path) == ("GET", "/surveillance/alerts")
            ),
            frozenset(),
        )
        #: the follower's stored position, what the alert pushes have read up to, the
        #: newest alert seen (seq, id), and alerts reviewed since: id -> the step's seq
        self._stored = 0
        self._alerts_read = 0
        self._alerts_after: tuple[int, str] | None = None
        self._reviewed: dict[str, int] = {}
        self._alerts_lock = asyncio.Lock()
        #: the markets view's 24 h figures, read from the store beside the pushes
        self.day_stats = DayStats()
        self._tasks: set[asyncio.Task[None]] = set()
        server.audit.listeners.append(self.audited)

    def attach(self, app: App) -> None:
        """The gateway whose edges the views read (App calls this once it built them)."""
        self.app = app
        self._sampler = views.Sampler(app.registry)
        self.sessions.app = app

    def mount(self, app: web.Application, prefix: str) -> None:
        app.router.add_get("/console", self._page)
        app.router.add_get("/console/", self._page)
        app.router.add_get("/console/static/{name}", self._asset)
        app.router.add_get(prefix + STREAM_PATH, self._stream)

    def __call__(self, batch: EventBatch) -> None:
        self.version += 1
        if not self._waiting:
            return
        funds = venue = False
        touched: dict[str, None] = {}
        accounts = self.server.host.engine.accounts
        for event in batch.events:
            if isinstance(event, Trade):
                touched[event.maker_account] = touched[event.taker_account] = None
            elif isinstance(event, _ORDER_EVENTS):
                touched[event.account] = None
            elif isinstance(event, AdminApplied):  # account commands name the account first
                touched[event.detail.partition(" ")[0]] = None
            elif isinstance(event, VenueEvent):
                venue = True
                funds = funds or event.kind.startswith(_FUNDS_KINDS)
                if event.kind == "alert.reviewed":
                    self._reviewed[event.subject] = event.seq
                touched[event.subject] = None
                touched[str(event.data.get("account", ""))] = None
        if funds:
            self._funds_version += 1
        for account in touched:
            if account in accounts:
                self.accounts.add(account)
        if venue:  # only the operator side's events change a tenant's row
            tenancy = self.server.host.engine.tenancy
            for tenant in tenants_touched(batch.events, tenancy.tenants):
                self.tenants.add(tenant)
        self._wake()

    def audited(self, record: dict[str, Any]) -> None:
        """An admin audit record was written (the audit log calls this)."""
        if self._waiting:
            self.audit.add(record)
            self._wake()

    def stored(self, seq: int) -> None:
        """The follower stored everything up to ``seq`` (its status line says so)."""
        self._stored = seq
        if self._waiting:
            self._wake()

    def _wake(self) -> None:
        for waiting in self._waiting:
            waiting.set()

    @property
    def watching(self) -> int:
        """How many streams are open."""
        return len(self._waiting)

    def close(self) -> None:
        """End every open stream (the admin listener is stopping)."""
        self._closing.set()
        for waiting in self._waiting:
            waiting.set()
        for task in self._tasks:
            task.cancel()

    # ---------------------------------------------------------------- assets

    async def _page(self, request: web.Request) -> web.Response:
        return self._file("index.html")

    async def _asset(self, request: web.Request) -> web.Response:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.Response:
        if name not in _ASSETS:  # never a path built from the request's
            raise web.HTTPNotFound()
        path = STATIC / name
        kind = _TYPES[path.suffix]
        return web.Response(
            body=path.read_bytes(),
            content_type=kind,
            charset="utf-8",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": _CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    # ---------------------------------------------------------------- stream

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        try:
            # venue staff, and a tenant-admin, who gets its tenant's view
            operator = await self.server.authorize(request, ALL_ROLES)
        except Problem as refused:
            return refused.response(request.path)
        # a tenant-admin's stream carries its own tenant's data only (views.scoped)
        tenant = operator.tenant if operator.role == TENANT_ADMIN else None
        if tenant == "":  # a tenant-admin of no tenant may see no tenant's data
            return Problem("tenant-forbidden", "no tenant").response(request.path)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        wake = asyncio.Event()
        if not self._waiting:
            self._funds = None  # funds events are not watched while nobody looks
        self._waiting.add(wake)
        operators = self.server.host.engine.operators
        # the alert queue is not scoped by tenant: never pushed to a tenant's stream
        analyst = operator.role in self.analysts and tenant is None
        if analyst and self._alerts_after is None:
            await self._alerts_start()
        seen = {
            "audit": self.audit.last,
            "accounts": self.accounts.last,
            "tenants": self.tenants.last,
            "alerts": self.alerts.last,
        }
        try:
            await response.write(b"retry: 2000\n\n")
            while not self._closing.is_set():
                current = operators.get(operator.operator_id)
                if current is None or not current.enabled:
                    await response.write(b'event: bye\ndata: {"reason":"operator-disabled"}\n\n')
                    break
                wake.clear()
                await response.write(b"event: state\ndata: " + self.state(tenant) + b"\n\n")
                self._day_stats_due()
                if analyst:
                    await self._alerts_refresh()
                for event in self._changes(seen, analyst, tenant):
                    await response.write(event)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), HEARTBEAT_S)
                await asyncio.sleep(MIN_GAP_S)
        except ConnectionResetError:
            pass  # the browser went away
        finally:
            self._waiting.discard(wake)
        return response

    def _changes(self, seen: dict[str, int], analyst: bool, tenant: str | None) -> list[bytes]:
        """The change events one stream has not had yet (and moves its positions); for
        a tenant's stream (``tenant``) its own accounts and tenant row only, and no
        audit records (the admin audit log is not scoped by tenant)."""
        out: list[bytes] = []
        engine = self.server.host.engine
        records, complete = self.audit.since(seen["audit"])
        seen["audit"] = self.audit.last
        if tenant is None and (records or not complete):
            out.append(_event("audit", {"records": records, "complete": complete}))
        touched, complete = self.accounts.since(seen["accounts"])
        seen["accounts"] = self.accounts.last
        unique = list(dict.fromkeys(touched))
        if tenant is not None:
            unique = [
                a for a in unique if a in engine.accounts and engine.accounts[a].tenant == tenant
            ]
        if len(unique) > _MOST_ACCOUNTS:
            unique, complete = [], False
        if unique or not complete:
            rows = [views.account_view(engine, a) for a in unique if a in engine.accounts]
            out.append(_event("accounts", {"accounts": rows, "complete": complete}))
        changed, complete = self.tenants.since(seen["tenants"])
        seen["tenants"] = self.tenants.last
        tenants = [t for t in dict.fromkeys(changed) if tenant is None or t == tenant]
        if tenants or not complete:
            rows = [views.tenant_row(engine, t) for t in tenants if t in engine.tenancy.tenants]
            out.append(_event("tenants", {"tenants": rows, "complete": complete}))
        if analyst:
            entries, complete = self.alerts.since(seen["alerts"])
            seen["alerts"] = self.alerts.last
            if entries or not complete:
                out.append(_event("alerts", {"alerts": entries, "complete": complete}))
        return out

    async def _alerts_start(self) -> None:
        """Alerts are pushed from the newest one stored when the first analyst looks."""
        async with self._alerts_lock:
            if self._alerts_after is not None or self.app is None:
                return
            try:
                rows = await self.app.readstore.fetch(
                    "SELECT seq, alert_id FROM alerts ORDER BY seq DESC, alert_id DESC LIMIT 1"
                )
            except StoreUnavailable:
                rows = []  # no store yet: every alert it will hold is new
            self._alerts_after = (int(rows[0][0]), str(rows[0][1])) if rows else (0, "")
            self._alerts_read = self._stored

    async def _alerts_refresh(self) -> None:
        """Read what the follower stored since the last read: new alerts, and those
        whose review step it now holds. One read per stored position for every stream."""
        async with self._alerts_lock:
            stored, app, after = self._stored, self.app, self._alerts_after
            if stored <= self._alerts_read or app is None or after is None:
                return
            due = [alert for alert, seq in self._reviewed.items() if seq <= stored]
            try:
                new = await list_alerts(app.readstore, AlertFilter(after=after, limit=_ALERT_PAGE))
                moved = await _alerts_by_id(app.readstore, due)
            except StoreUnavailable as exc:
                log.warning("console.alerts_unreadable", error=str(exc))
                return
            for alert in due:
                self._reviewed.pop(alert, None)
            if new:
                self._alerts_after = (int(new[-1]["seq"]), str(new[-1]["alert_id"]))
            if len(new) < _ALERT_PAGE:  # else the next push reads on
                self._alerts_read = stored
            for entry in [*moved, *new]:
                self.alerts.add(entry)

    def _day_stats_due(self) -> None:
        """Start a read of the 24 h figures if they are stale; the push after it ends
        carries them (a read never holds a push back)."""
        app = self.app
        if app is None or self._tasks or not self.day_stats.due(self._stored):
            return
        instruments = {s: lst.instrument for s, lst in app.host.engine.listings.items()}

        async def read() -> None:
            await self.day_stats.read(app.readstore, instruments, self._stored)
            self.version += 1
            self._wake()

        task = asyncio.get_running_loop().create_task(read())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def state(self, tenant: str | None = None) -> bytes:
        """The current state as JSON: built once per change (or gap) for every client,
        and once more per tenant whose tenant-admin watches (its scoped copy)."""
        now = time.monotonic()
        built = self._built
        if built is None or built[0] != self.version or now - built[1] >= MIN_GAP_S:
            snapshot = self.snapshot()
            built = self._built = (self.version, now, orjson.dumps(snapshot), snapshot)
            self._scoped.clear()
        if tenant is None:
            return built[2]
        scoped = self._scoped.get(tenant)
        if scoped is None:
            engine = self.server.host.engine
            body = orjson.dumps(views.scoped(built[3], engine, tenant))
            scoped = self._scoped[tenant] = (built[0], built[1], body)
        return scoped[2]

    def snapshot(self) -> dict[str, Any]:
        app = self.app
        if app is None or self._sampler is None:
            return {"seq": self.server.host.engine.last_seq}
        return {
            "seq": app.host.engine.last_seq,
            "ts_ms": time.time_ns() // 1_000_000,
            "overview": views.overview(app, self._sampler),
            "markets": views.markets(app, self.day_stats),
            "funds": self._funds_view(app),
            "sessions": self.sessions.rows(),
        }

    def _funds_view(self, app: App) -> dict[str, Any]:
        cached = self._funds
        if cached is None or cached[0] != self._funds_version:
            cached = self._funds = (self._funds_version, views.funds(app))
        return cached[1]


def tenants_touched(events: Iterable[Event], tenants: Collection[str]) -> list[str]:
    """The tenants whose row (status, account count, limits) these committed events may
    have changed, each once, in order: a tenant's own steps name it as their subject,
    an account's opening or status names the account's tenant in its data."""
    touched: dict[str, None] = {}
    for event in events:
        if not isinstance(event, VenueEvent):
            continue
        if event.kind.startswith(_TENANT_KINDS):
            touched[event.subject] = None
        elif event.kind in _MEMBER_KINDS:
            touched[str(event.data.get("tenant", ""))] = None
    return [tenant for tenant in touched if tenant in tenants]


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _alerts_by_id(reader: Any, ids: list[str]) -> list[dict[str, Any]]:
    """The queue entries of these alerts, as the queue lists them."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    sql = f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM alerts WHERE alert_id IN ({marks})"
    rows = await reader.fetch(sql, *ids)
    return [dict(zip(SUMMARY_COLUMNS, row, strict=True)) for row in rows]
