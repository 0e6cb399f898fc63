"""App: config -> engine host -> servers; graceful shutdown on SIGINT/SIGTERM.

Servers are Components: anything with async start() and async stop(). They are
started after the journal is replayed and stopped in reverse order, before the
journal is closed, so every acknowledged command is on disk at exit. The host's
listeners see each event batch in the order of their :class:`Priority`.
"""

from __future__ import annotations

import asyncio
import signal
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog

from gateway.busypoll import BusyPoll
from gateway.config import Config
from gateway.credentials import CredentialListener
from gateway.fdlimit import needed_descriptors, raise_fd_limit
from gateway.gcpacer import GcPacer
from gateway.host import EngineHost, Listener
from gateway.logs import configure_logging
from gateway.loopwatch import LoopWatch
from gateway.marketdata import MarketDataPublisher
from gateway.metrics import Registry
from gateway.orders import OrderTracker
from gateway.procmetrics import register_process_metrics
from gateway.readstore import ReadStore
from gateway.reconciliation import ReconcileMetrics

if TYPE_CHECKING:
    from gateway.admin.server import AdminServer
    from gateway.rest.server import HttpServer
    from gateway.ws.server import WsServer

__all__ = ["App", "Component", "Priority", "configure_logging"]

log = structlog.get_logger("gateway.app")


class Component(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Priority(IntEnum):
    """When a host listener sees each event batch: lower first, ties in the order added."""

    #: the order tracker: the edges render the views the batch updated
    VIEWS = 10
    #: the FIX edge: a batch's ExecutionReports leave before its market data
    FIX = 20
    #: the market-data publisher, whose sinks are the FIX and WS market data
    MARKET_DATA = 30
    #: the WS edge answers after the publisher: a client that gets an ack finds its
    #: order in the published book (REST, WS)
    WS = 40
    #: busy polling (gateway/busypoll.py) only extends its window: last
    BUSY_POLL = 90


class App:
    """The whole gateway in one object; tests build it with a temp-dir config."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.registry = Registry()
        register_process_metrics(self.registry)
        #: one per gateway: the follower's scheduled results and the admin API's
        self.reconciled = ReconcileMetrics(self.registry)
        self.host = EngineHost(config, self.registry)
        self.tracker = OrderTracker()
        self.loopwatch = LoopWatch(self.registry)
        self.gcpacer = GcPacer(lambda: self.host.engine.last_seq)
        #: the follower's store, read-only, shared by the REST, WS and admin edges
        self.readstore = ReadStore.from_config(config)
        self._listening: list[tuple[Priority, Listener]] = []
        self.listen(Priority.VIEWS, self.tracker)
        if config.busy_poll_us:
            self.listen(Priority.BUSY_POLL, BusyPoll(config.busy_poll_us))
        self.publisher: MarketDataPublisher | None = None
        self.http: HttpServer | None = None
        self.ws: WsServer | None = None
        self.admin: AdminServer | None = None
        self.credentials: CredentialListener | None = None
        self.components: list[Component] = []
        self.ready = False
        self._stopped = asyncio.Event()

    def _build_components(self) -> list[Component]:
        """The protocol servers configured for this gateway, in start order."""
        from gateway.fix.application import FixGateway
        from gateway.rest.client import ClientApi
        from gateway.rest.server import HttpServer
        from gateway.rest.sessions import RestSessions
        from gateway.ws.server import WsServer

        # The publisher exists first: FIX market data is one of its sinks.
        publisher = self.publisher = MarketDataPublisher(self.host.engine, self.registry)
        self.fix = FixGateway(self.config, self.host, self.tracker, self.publisher, self.registry)
        self.ws = WsServer(
            self.config, self.host, self.tracker, self.publisher, self.registry, self.readstore
        )
        #: the live credential view: key ring and FIX sessions follow the engine
        #: the pseudo-sessions that name the API key behind each REST order
        self.rest_sessions = RestSessions(self.host)
        self.credentials = CredentialListener([self.fix, self.ws.venue, self.rest_sessions])
        for priority, listener in (
            (Priority.VIEWS, self.credentials),
            (Priority.FIX, self.fix.on_batch),
            (Priority.MARKET_DATA, self.publisher),
            (Priority.WS, self.ws.listener),
            (Priority.WS, self.ws.venue.perp),
            (Priority.VIEWS, self.ws.venue.withdrawals),
        ):
            self.listen(priority, listener)
        self.fix.listen()  # its end-of-group flush
        # HTTP first: /health answers while the rest starts; /ready waits for App.ready.
        self.http = HttpServer(
            self.config,
            self.host,
            self.publisher,
            self.registry,
            lambda: self.ready,
            self.readstore,
        )
        # the signed client routes: the WS methods, keys and scopes, over REST
        ws = self.config.ws
        ClientApi(
            self.ws.venue, ws.logon_window_ms, ws.max_requests_per_s, self.rest_sessions
        ).install(self.http.app)
        from gateway.perp_ticks import PerpTicker

        self.perp_ticker = PerpTicker(self.host, self.config.perp.tick_ms)
        # the REST sessions stop after HTTP, which would otherwise open new ones
        components: list[Component] = [self.rest_sessions, self.http, self.perp_ticker]
        if self.config.admin.listen:
            from gateway.admin.server import AdminServer

            self.admin = AdminServer(
                self.config, self.host, self.registry, self.readstore, publisher, self.reconciled
            )
            self.admin.console.attach(self)
            self.listen(Priority.WS, self.admin.console)
            components.append(self.admin)
        return [*components, self.fix, self.ws]

    def listen(self, priority: Priority, listener: Listener) -> None:
        """Add a host listener at its place in the priority order."""
        self._listening.append((priority, listener))
        self._listening.sort(key=lambda entry: entry[0])  # stable: ties keep their order
        self.host.listeners[:] = [listener for _, listener in self._listening]

    async def start(self, pace_gc: bool = False) -> None:
        """Replay, then start the servers. ``pace_gc`` hands garbage collection to the
        GcPacer: what a real gateway wants, but not tests that share one process.
        The loop watch starts last: start-up work (replay, the initial full GC) holds
        the loop by design and is no stall."""
        raise_fd_limit(needed_descriptors(self.config))
        self.host.start()
        self.tracker.seed(self.host.engine)
        self.components = self._build_components()
        for component in self.components:
            await component.start()
            log.info("component.started", component=component.name)
        if pace_gc:
            await self.gcpacer.start()
        await self.loopwatch.start()
        self.ready = True

    async def start_demo_lp(self) -> None:
        """Start the demo liquidity provider; stopped first, before the edges."""
        from gateway.demo_lp import DemoLiquidityProvider

        lp = DemoLiquidityProvider(self.config.demo_lp, self.host)
        await lp.start()
        self.components.append(lp)
        log.info("component.started", component=lp.name)

    async def stop(self) -> None:
        self.ready = False
        for component in reversed(self.components):
            try:
                await component.stop()
            except Exception:
                log.exception("component.stop_failed", component=component.name)
        await self.host.stop()
        await self.readstore.close()
        await self.gcpacer.stop()
        await self.loopwatch.stop()
        self._stopped.set()
        log.info("gateway.stopped", last_seq=self.host.engine.last_seq)

    async def run_forever(self) -> None:
        """Start, wait for SIGINT/SIGTERM, stop."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start(pace_gc=True)
        if self.config.demo_lp.enabled:
            await self.start_demo_lp()
        follower = None
        if self.config.store.follower:
            from gateway.follower.supervisor import FollowerSupervisor

            follower = FollowerSupervisor(
                self.config,
                self.registry,
                lambda: self.host.engine.last_seq,
                self.reconciled,
                self.admin.console.stored if self.admin is not None else None,
            )
            self.host.snapshots.retain = follower.retention
            await follower.start()
        _log_demo_banner(self.config)
        await stop.wait()
        if follower is not None:
            await follower.stop()
        await self.stop()


def _store_text(config: Config) -> str:
    """Where the follower writes (the URL without its password), or that it is off."""
    from gateway.follower.follower import default_sqlite_path
    from gateway.follower.store import redact

    if not config.store.follower:
        return "off ([store] follower = false)"
    url = config.store.url or str(default_sqlite_path(Path(config.journal.dir)))
    return f"{redact(url)} (journal follower)"


def _log_demo_banner(config: Config) -> None:
    """Where to connect and with what: the first thing a new user needs. A log event
    like any other (stderr carries JSON only), one banner line per list item."""
    lines = [
        "venue gateway ready",
        f"  FIX acceptor   {config.fix.listen}  (SenderCompID {config.fix.sender_comp_id})",
        f"  WebSocket      ws://{config.ws.listen}{config.ws.path}",
        f"  HTTP health    http://{config.http.listen}/health",
        f"  admin API      http://{config.admin.listen}/admin/v1"
        "  (OpenAPI: /admin/v1/openapi.json)",
        f"  console        http://{config.admin.listen}/console"
        "  (sign in with an admin operator's id and key)",
        f"  journal        {config.journal.dir} (fsync={config.journal.fsync})",
        f"  history store  {_store_text(config)}",
        "  instruments    " + ", ".join(i.symbol for i in config.instruments),
    ]
    for sess in config.fix.sessions:
        ours = sess.sender_comp_id or config.fix.sender_comp_id
        accounts = ",".join(sess.account) or "-"
        version = sess.begin_string
        if version == "FIXT.1.1":  # the application version matters to the client
            version += f" (ApplVerID {sess.default_appl_ver_id} = FIX50SP2)"
        lines.append(
            f"  FIX session    {sess.target_comp_id} -> {ours} {version}"
            f" role={sess.role} auth={sess.auth} accounts={accounts}"
        )
    for key in config.ws.api_keys:
        lines.append(f"  WS api key     {key.key} account={key.account}")
    for op in config.admin.operators:
        tenant = f" tenant={op.tenant}" if op.tenant else ""
        seed = f" DEMO seed={op.demo_seed}" if op.demo_seed else ""
        lines.append(f"  admin operator {op.id} role={op.role}{tenant}{seed}")
    log.info("gateway.ready", banner=lines)
