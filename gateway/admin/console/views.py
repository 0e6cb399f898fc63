"""What the console's event stream pushes: plain JSON views of the live gateway.

Built on the event loop from in-memory state only (the engine, the market-data
publisher's books, the metrics registry, the edges' session tables), bounded in size,
so one build costs about what one depth snapshot does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from engine.model import units_to_decimal
from engine.venue.credentials import fix_session_key
from gateway.admin.console.daystats import DayStats
from gateway.admin.routes.funds import deposit_view, withdrawal_view
from gateway.admin.routes.tenancy import tenant_view
from gateway.marketdata import MarketDataPublisher, levels_as_strings
from gateway.metrics import (
    ACK_LATENCY,
    Counter,
    Gauge,
    Histogram,
    HistogramFamily,
    Labels,
    Registry,
)

if TYPE_CHECKING:
    from engine.core import Engine
    from gateway.app import App

__all__ = [
    "MARKET_DATA",
    "SESSION_STATS",
    "Sampler",
    "SessionRates",
    "SessionStats",
    "account_view",
    "funds",
    "markets",
    "overview",
    "sessions",
]

#: price levels per side and trades per instrument in a markets view
DEPTH: Final = 10
TRADES: Final = 20
#: withdrawals still waiting for a step, and recent deposits, in a funds view
OPEN_WITHDRAWALS: Final = ("held", "approved", "sent")
MAX_FUNDS: Final = 100
_ORDER_COMMANDS: Final = frozenset({"NewOrder"})


def _gauge(registry: Registry, name: str) -> dict[str, float]:
    """A gauge's values by their label values joined ("" when it has no labels)."""
    metric = registry.metrics.get(name)
    if not isinstance(metric, Gauge):
        return {}
    return {",".join(v for _, v in key): source() for key, source in metric.sources.items()}


def _commands(registry: Registry) -> tuple[float, float]:
    """(all commands, new orders) counted so far."""
    metric = registry.metrics.get("gw_commands_total")
    if not isinstance(metric, Counter):
        return 0.0, 0.0
    total = orders = 0.0
    for key, value in metric.values.items():
        total += value
        if dict(key).get("type") in _ORDER_COMMANDS:
            orders += value
    return total, orders


_LATENCIES: Final[dict[str, tuple[str, Labels]]] = {
    "ack_fix": (ACK_LATENCY, (("protocol", "fix"),)),
    "ack_ws": (ACK_LATENCY, (("protocol", "ws"),)),
    "engine_command": ("gw_engine_command_seconds", ()),
    "journal_flush": ("gw_journal_flush_seconds", ()),
    "journal_fsync": ("gw_journal_fsync_seconds", ()),
    "loop_lag": ("gw_loop_lag_seconds", ()),
}


def _histogram(registry: Registry, name: str, labels: Labels) -> Histogram | None:
    """A histogram, or one label set's of a family; None if the gateway has none."""
    metric = registry.metrics.get(name)
    if isinstance(metric, HistogramFamily):
        return metric.children.get(labels)
    return metric if isinstance(metric, Histogram) and not labels else None


_QUANTILES: Final = (("p50", 0.5), ("p99", 0.99), ("p999", 0.999))


@dataclass
class _Sample:
    at: float
    commands: float = 0.0
    orders: float = 0.0
    buckets: dict[str, list[int]] = field(default_factory=dict)


def _quantile_us(bounds: tuple[float, ...], counts: list[int], q: float) -> float | None:
    """The upper bucket bound (microseconds) under which a fraction q of the samples
    fall; None without samples, -1 when above the highest bound."""
    total = sum(counts)
    if total == 0:
        return None
    wanted, running = q * total, 0
    for bound, n in zip(bounds, counts, strict=False):
        running += n
        if running >= wanted:
            return bound
    return -1


class Sampler:
    """Rates and latency quantiles over the last window of at least ``window_s``: the
    difference of two registry samples, so the figures describe now, not since start."""

    def __init__(self, registry: Registry, window_s: float = 1.0) -> None:
        self.registry = registry
        self.window_s = window_s
        self._prev = self._take(time.monotonic())
        self._last = self._prev

    def _take(self, now: float) -> _Sample:
        commands, orders = _commands(self.registry)
        sample = _Sample(now, commands, orders)
        for label, (name, labels) in _LATENCIES.items():
            metric = _histogram(self.registry, name, labels)
            if metric is not None:
                sample.buckets[label] = list(metric.counts)
        return sample

    def figures(self) -> dict[str, Any]:
        now = time.monotonic()
        if now - self._last.at >= self.window_s:
            self._prev, self._last = self._last, self._take(now)
        prev, last = self._prev, self._last
        span = last.at - prev.at
        latency: dict[str, dict[str, float | None]] = {}
        for label, (name, labels) in _LATENCIES.items():
            metric = _histogram(self.registry, name, labels)
            if metric is None or label not in last.buckets:
                continue
            old = prev.buckets.get(label, [0] * len(metric.counts))
            window = [b - a for a, b in zip(old, last.buckets[label], strict=True)]
            latency[label] = {
                "samples": sum(window),
                **{k: _quantile_us(metric.buckets, window, q) for k, q in _QUANTILES},
            }
        return {
            "window_s": round(span, 3),
            "commands_per_s": round((last.commands - prev.commands) / span, 1) if span else 0,
            "orders_per_s": round((last.orders - prev.orders) / span, 1) if span else 0,
            "latency_us": latency,
        }


def overview(app: App, sampler: Sampler) -> dict[str, Any]:
    engine = app.host.engine
    registry = app.registry
    lag = _gauge(registry, "gw_follower_lag_commands")
    return {
        "ready": app.ready,
        "halted": engine.halted,
        "seq": engine.last_seq,
        "open_orders": len(engine.orders),
        "sessions": _gauge(registry, "gw_sessions_connected"),
        "connections": _gauge(registry, "gw_connections"),
        "follower_lag_commands": lag.get("") if lag else None,
        "follower_up": _gauge(registry, "gw_follower_up").get(""),
        **sampler.figures(),
    }


def markets(app: App, day: DayStats) -> list[dict[str, Any]]:
    """Every instrument's status, book, recent trades and 24 h figures: those ``day``
    last read from the follower's store, or when it could not, the publisher's recent
    trades (marked incomplete, with why: daystats.stats_row)."""
    engine = app.host.engine
    publisher = app.publisher
    found: list[dict[str, Any]] = []
    for symbol, listing in engine.listings.items():
        book = publisher.book(symbol) if publisher is not None else None
        view: dict[str, Any] = {"symbol": symbol, "status": listing.status.name.lower()}
        if book is not None:
            instrument = book.instrument
            trades = list(book.trades)
            view["bids"] = levels_as_strings(instrument, book.bids.top(DEPTH))
            view["asks"] = levels_as_strings(instrument, book.asks.top(DEPTH))
            view["trades"] = [
                {
                    "trade_id": t.trade_id,
                    "price": instrument.ticks_to_price(t.price),
                    "qty": instrument.lots_to_qty(t.qty),
                    "taker_side": "buy" if t.taker_side == 1 else "sell",
                    "ts_us": t.ts_us,
                }
                for t in reversed(trades[-TRADES:])
            ]
            view["stats_24h"] = day.row(symbol, instrument, publisher)
            perp = engine.perps.markets.get(symbol)
            if perp is not None:  # 0 ticks: not set yet
                view["perp"] = {
                    name: instrument.ticks_to_price(ticks) if ticks else None
                    for name, ticks in (("mark", perp.mark), ("index", perp.index))
                }
        found.append(view)
    return found


def funds(app: App) -> dict[str, Any]:
    state = app.host.engine.funds
    pending = [w for w in state.withdrawals.values() if w.status in OPEN_WITHDRAWALS]
    deposits = list(state.deposits.values())[-MAX_FUNDS:]
    return {
        "withdrawals": [withdrawal_view(w) for w in reversed(pending[-MAX_FUNDS:])],
        "deposits": [deposit_view(d) for d in reversed(deposits)],
    }


_Counts = tuple[float, dict[tuple[str, str], tuple[int, int]]]


class SessionRates:
    """Messages per second of each live session over the last window of at least
    ``window_s``: the difference of two samples of the edges' counters, taken when a
    view is built, so the message path only increments integers. A counter that went
    down (a FIX session's next connection starts again from 0) counts from 0."""

    def __init__(self, window_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        #: the two samples (time, (messages in, out) by session); None before the first
        self._prev: _Counts | None = None
        self._last: _Counts | None = None

    def rates(
        self, counts: dict[tuple[str, str], tuple[int, int]]
    ) -> dict[tuple[str, str], tuple[float, float]]:
        """(in/s, out/s) by session from ``counts``, (messages in, out) by session now."""
        now = self._clock()
        if self._last is None:
            self._prev = self._last = (now, counts)
        elif now - self._last[0] >= self.window_s:
            self._prev, self._last = self._last, (now, counts)
        assert self._prev is not None and self._last is not None
        (before, old), (after, new) = self._prev, self._last
        span = after - before
        found: dict[tuple[str, str], tuple[float, float]] = {}
        if not span:
            return found
        for key, (msgs_in, msgs_out) in new.items():
            was_in, was_out = old.get(key, (0, 0))
            found[key] = (
                round((msgs_in - (was_in if was_in <= msgs_in else 0)) / span, 1),
                round((msgs_out - (was_out if was_out <= msgs_out else 0)) / span, 1),
            )
        return found


def _since_ms(since_us: int) -> int | None:
    return since_us // 1000 if since_us else None


def sessions(app: App, rates: SessionRates) -> list[dict[str, Any]]:
    """Every FIX session the venue has (live or not), every WS connection and every
    open REST pseudo-session, with their message counters and rates (``rates`` keeps
    the samples; a REST session holds no connection and counts nothing)."""
    fix = getattr(app, "fix", None)
    live = {}
    if fix is not None:
        for session in list(fix.acceptor.sessions.values()):
            settings = session.settings
            live[fix_session_key(settings.sender_comp_id, settings.target_comp_id)] = session
    found: list[dict[str, Any]] = []
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for key, record in app.host.engine.credentials.fix_sessions.items():
        session = live.get(key)
        logged_on = session is not None and session.is_logged_on
        connected = session is not None and session.is_connected
        row: dict[str, Any] = {
            "protocol": "fix",
            "id": key,
            "session_id": session.origin if logged_on and session is not None else 0,
            "sender": record.sender_comp_id,
            "target": record.target_comp_id,
            "who": record.target_comp_id,
            "account": ",".join(record.accounts),
            "enabled": record.enabled,
            "status_reason": record.status_reason,
            "logged_on": logged_on,
            "connected": connected,
            "since_ms": _since_ms(session.since_us) if logged_on and session is not None else None,
            "next_in": session.next_target_seq if session is not None else None,
            "next_out": session.next_sender_seq if session is not None else None,
            "msgs_in": 0,
            "msgs_out": 0,
            "throttle_hits": 0,
        }
        if connected and session is not None:
            row["msgs_in"], row["msgs_out"] = counts["fix", key] = (
                session.msgs_in,
                session.msgs_out,
            )
            row["throttle_hits"] = session.throttle_hits
        found.append(row)
    if app.ws is not None:
        for connection in list(app.ws.connections):
            s = connection.session
            counts["ws", s.peer] = (s.msgs_in, s.msgs_out)
            found.append(
                {
                    "protocol": "ws",
                    "id": s.peer,
                    "session_id": s.origin,
                    "who": s.api_key,
                    "account": s.account or "",
                    "enabled": True,
                    "status_reason": "",
                    "logged_on": bool(s.account),
                    "connected": not s.closed,
                    "since_ms": _since_ms(s.since_us),
                    "next_in": None,
                    "next_out": s.user_seq,
                    "msgs_in": s.msgs_in,
                    "msgs_out": s.msgs_out,
                    "throttle_hits": s.throttle_hits,
                }
            )
    rest = getattr(app, "rest_sessions", None)
    if rest is not None:
        opened = app.host.engine.sessions.open
        for (key_id, source), entry in list(rest.open.items()):
            info = opened.get(entry.session)
            found.append(
                {
                    "protocol": "rest",
                    "id": f"{key_id}@{source}",
                    "session_id": entry.session,
                    "who": key_id,
                    "account": info[2] if info else "",
                    "enabled": True,
                    "status_reason": "",
                    "logged_on": True,
                    "connected": False,  # no connection: nothing counted per session
                    "since_ms": _since_ms(entry.since_us),
                    "next_in": None,
                    "next_out": None,
                    "msgs_in": 0,
                    "msgs_out": 0,
                    "throttle_hits": 0,
                }
            )
    per_s = rates.rates(counts)
    for row in found:
        row["in_per_s"], row["out_per_s"] = per_s.get((row["protocol"], row["id"]), (0.0, 0.0))
    return found


class SessionStats:
    """The sessions view for the console's pushes and for ``GET /admin/v1/sessions``:
    one holder of the rate samples, so that both read the same window."""

    def __init__(self, window_s: float = 1.0) -> None:
        #: the gateway whose edges it reads (set once App built them)
        self.app: App | None = None
        self.rates = SessionRates(window_s)

    def rows(self) -> list[dict[str, Any]]:
        return [] if self.app is None else sessions(self.app, self.rates)

    def by_session_id(self) -> dict[int, dict[str, Any]]:
        """The logged-on sessions' rows by session id (the seq of their logon)."""
        return {row["session_id"]: row for row in self.rows() if row["session_id"]}


#: the admin listener's SessionStats (the console's), for the sessions route
SESSION_STATS: Final = web.AppKey("session_stats", SessionStats)
#: the gateway's market-data publisher, for the console's 24 h read (its fallback)
MARKET_DATA: Final = web.AppKey("market_data", MarketDataPublisher)


def account_view(engine: Engine, account_id: str) -> dict[str, Any]:
    """One account as the accounts view shows it (the search's rows and the pushes)."""
    account = engine.accounts[account_id]
    info = engine.tenancy.accounts.get(account_id)
    return {
        "account": account_id,
        "tenant": account.tenant,
        "label": info.label if info is not None else "",
        "enabled": account.enabled,
        "status": info.status.name.lower() if info is not None else "",
        "kyc": info.kyc_status.name.lower() if info is not None else "",
        "open_orders": account.open_orders,
        "limits": {  # "0": none
            "max_open_orders": str(account.max_open_orders),
            "max_order_qty": units_to_decimal(account.max_order_qty),
            "max_order_notional": units_to_decimal(account.max_order_notional),
        },
        "balances": {
            asset: {"total": units_to_decimal(b.total), "held": units_to_decimal(b.held)}
            for asset, b in account.balances.items()
        },
    }


def tenant_row(engine: Engine, tenant_id: str) -> dict[str, Any]:
    """One tenant as the tenants view shows it: GET /tenants's row, so a push and a
    read of the list draw the same thing."""
    tenancy = engine.tenancy
    return tenant_view(tenancy.tenants[tenant_id], len(tenancy.members.get(tenant_id, ())))


#: the overview's figures a tenant-admin sees: whether the venue trades, not how its
#: machinery runs (the admin API gives a tenant-admin no venue health or metrics read)
_TENANT_OVERVIEW: Final = ("ready", "halted")


def scoped(snapshot: dict[str, Any], engine: Engine, tenant: str) -> dict[str, Any]:
    """The console state as a tenant-admin of ``tenant`` may see it: the venue's market
    data as it is, and of everything else only its own tenant's rows (sessions whose
    accounts are all its own, funds of its own accounts) and its own totals. Built by
    keeping, never by removing, so a field added to a view later is not leaked."""

    def ours(account: str) -> bool:
        found = engine.accounts.get(account)
        return found is not None and found.tenant == tenant

    out: dict[str, Any] = {"seq": snapshot.get("seq"), "tenant": tenant}
    if "ts_ms" in snapshot:
        out["ts_ms"] = snapshot["ts_ms"]
    if "markets" in snapshot:
        out["markets"] = snapshot["markets"]
    if "sessions" in snapshot:
        out["sessions"] = [
            row
            for row in snapshot["sessions"]
            if row["account"] and all(ours(a) for a in row["account"].split(","))
        ]
    if "funds" in snapshot:
        out["funds"] = {
            kind: [item for item in snapshot["funds"][kind] if ours(item["account"])]
            for kind in ("withdrawals", "deposits")
        }
    if "overview" in snapshot:
        members = engine.tenancy.members.get(tenant, ())
        overview = {name: snapshot["overview"][name] for name in _TENANT_OVERVIEW}
        overview["scope"] = "tenant"
        overview["open_orders"] = sum(
            engine.accounts[a].open_orders for a in members if a in engine.accounts
        )
        overview["sessions"] = sum(1 for row in out.get("sessions", ()) if row["logged_on"])
        out["overview"] = overview
    return out
