"""Scenarios: which connections a run opens and how their order flow is paced.

* ``fix-orders``: N FIX sessions, each sending a mix of makers (passive limit GTC),
  takers (crossing limit IOC), cancels and replaces of its own resting orders.
* ``ws-orders``: the same mix over N WebSocket connections.
* ``md-fanout``: K WebSocket book subscribers while FIX order flow runs.
* ``mixed``: all of the above at once.
* ``soak``: FIX order flow at a fixed rate (open loop) for a duration, sampling the
  target's memory (``/proc/<pid>`` or a Prometheus ``/metrics`` URL) and the
  latency per time bucket, to show drift.

:func:`run_proc` runs this process's share of a scenario (sessions, rate, count
and subscribers are split across ``--procs`` processes) and returns the JSON-able
figures that the parent merges.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loadtest.fix_client import FixClient, FixSessionConfig
from loadtest.histogram import LatencyHistogram
from loadtest.keys import load_ed25519_private_key
from loadtest.pacing import PaceResult, run_closed_loop, run_open_loop
from loadtest.stats import RunStats, SessionStats
from loadtest.ws_client import WsClient, WsConfig

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "SCENARIOS",
    "Instrument",
    "OrderMix",
    "RunConfig",
    "proc_roles",
    "run_proc",
]

SCENARIOS = ("fix-orders", "ws-orders", "md-fanout", "mixed", "soak")


@dataclass(frozen=True)
class Instrument:
    """Symbol with its price grid: ``mid`` and ``tick`` / ``lot`` as decimal strings."""

    symbol: str
    mid: str
    tick: str
    lot: str

    @staticmethod
    def _scale(s: str) -> tuple[int, int]:
        whole, _, frac = s.partition(".")
        return int(whole + frac), len(frac)

    def price(self, ticks_from_mid: int) -> str:
        """Decimal price ``mid + ticks_from_mid * tick`` (exact, on the tick grid)."""
        tick_i, tdec = self._scale(self.tick)
        mid_i, mdec = self._scale(self.mid)
        dec = max(tdec, mdec)
        v = mid_i * 10 ** (dec - mdec) + ticks_from_mid * tick_i * 10 ** (dec - tdec)
        return _fmt(v, dec)

    def qty(self, lots: int) -> str:
        lot_i, dec = self._scale(self.lot)
        return _fmt(lots * lot_i, dec)


def _fmt(v: int, dec: int) -> str:
    if dec == 0:
        return str(v)
    s = str(abs(v)).rjust(dec + 1, "0")
    return ("-" if v < 0 else "") + s[:-dec] + "." + s[-dec:]


DEFAULT_INSTRUMENTS = {
    "BTC-USD": Instrument("BTC-USD", "50000.00", "0.01", "0.0001"),
    "ETH-USD": Instrument("ETH-USD", "3000.00", "0.01", "0.001"),
}


@dataclass
class OrderMix:
    """Relative weights of the request kinds of an order-flow session."""

    maker: float = 50.0
    taker: float = 20.0
    cancel: float = 20.0
    replace: float = 10.0

    @classmethod
    def parse(cls, text: str) -> OrderMix:
        """``maker=50,taker=20,cancel=20,replace=10`` (missing kinds are 0)."""
        vals = dict.fromkeys(("maker", "taker", "cancel", "replace"), 0.0)
        for part in text.split(","):
            k, _, v = part.partition("=")
            k = k.strip()
            if k not in vals:
                raise ValueError(f"unknown order kind {k!r} in mix (maker/taker/cancel/replace)")
            vals[k] = float(v)
        if sum(vals.values()) <= 0:
            raise ValueError("order mix weights sum to 0")
        return cls(**vals)

    def __str__(self) -> str:
        return (
            f"maker={self.maker:g},taker={self.taker:g},"
            f"cancel={self.cancel:g},replace={self.replace:g}"
        )


@dataclass
class RunConfig:
    """Everything a process needs to run its share of a scenario (picklable)."""

    scenario: str = "fix-orders"
    host: str = "127.0.0.1"
    fix_port: int = 9878
    ws_url: str = "ws://127.0.0.1:8765/ws"
    sender: str = "CLIENT{n}"
    target: str = "GATEWAY"
    begin_string: str = "FIX.4.4"
    username: str | None = None
    password: str | None = None
    ed25519_key: str | None = None
    key_id: str | None = None
    sig_encoding: str = "base64"
    account: str | None = None
    stp: str | None = None
    heartbeat_s: int = 30
    reset_on_logon: bool = True
    ws_api_key: str | None = None
    ws_hmac_secret: str | None = None
    ws_ed25519_key: str | None = None
    sessions: int = 1
    ws_sessions: int = 1
    subscribers: int = 10
    md_channels: list[str] = field(default_factory=lambda: ["book.{symbol}.10"])
    in_flight: int = 1
    rate: float | None = None
    duration_s: float | None = None
    count: int | None = None
    mix: str = "maker=50,taker=20,cancel=20,replace=10"
    symbols: list[str] = field(default_factory=lambda: ["BTC-USD"])
    instruments: dict[str, Instrument] = field(default_factory=lambda: dict(DEFAULT_INSTRUMENTS))
    max_open_per_session: int = 200
    seed: int = 1
    bucket_s: float = 1.0
    drain_timeout_s: float = 5.0
    #: --procs: how long a process waits for the others to connect before it starts anyway
    setup_timeout_s: float = 60.0
    #: SO_RCVBUF of each md subscriber socket in bytes (0: kernel autotuning)
    md_recv_buffer: int = 0
    gateway_pid: int | None = None
    metrics_url: str | None = None
    progress: bool = True
    self_test: bool = False
    #: md scenarios under --procs: processes given to order flow (None = nprocs // 4, >= 1)
    order_procs: int | None = None


def _sender(pattern: str, n: int) -> str:
    return pattern.replace("{n}", str(n))


def _split(total: int, proc: int, nprocs: int) -> list[int]:
    """Indices 0..total-1 that belong to ``proc``."""
    return [i for i in range(total) if i % nprocs == proc]


class _Flow:
    """Order-mix generator for one session, over FIX or WS."""

    def __init__(self, cfg: RunConfig, seed: int, send: _Sender) -> None:
        self.rng = random.Random(seed)
        self.send = send
        mix = OrderMix.parse(cfg.mix)
        total = mix.maker + mix.taker + mix.cancel + mix.replace
        self.cum = (
            mix.maker / total,
            (mix.maker + mix.taker) / total,
            (mix.maker + mix.taker + mix.cancel) / total,
        )
        self.instruments = [cfg.instruments[s] for s in cfg.symbols]
        self.max_open = cfg.max_open_per_session
        # Pre-rendered price and quantity strings: only table lookups in the hot path.
        self.passive = {
            i.symbol: ([i.price(-k) for k in range(1, 51)], [i.price(k) for k in range(1, 51)])
            for i in self.instruments
        }
        self.cross = {i.symbol: (i.price(100), i.price(-100)) for i in self.instruments}
        self.qtys = {i.symbol: [i.qty(n) for n in range(1, 11)] for i in self.instruments}

    def op(self, start_ns: int) -> asyncio.Future[Any]:
        rng = self.rng
        r = rng.random()
        inst = self.instruments[int(rng.random() * len(self.instruments))]
        sym = inst.symbol
        buy = rng.random() < 0.5
        qty = self.qtys[sym][int(rng.random() * 10)]
        n_open = self.send.n_open()
        if r < self.cum[0] and n_open >= self.max_open:
            r = self.cum[1]  # too many resting: cancel instead of adding
        if r >= self.cum[1] and n_open == 0:
            r = 0.0  # nothing to cancel or replace: add a maker
        if r < self.cum[0]:
            prices = self.passive[sym][0 if buy else 1]
            px = prices[int(rng.random() * len(prices))]
            return self.send.new(sym, buy, px, qty, start_ns, False)
        if r < self.cum[1]:
            px = self.cross[sym][0 if buy else 1]
            return self.send.new(sym, buy, px, self.qtys[sym][0], start_ns, True)
        if r < self.cum[2]:
            return self.send.cancel(start_ns)
        return self.send.replace(self.passive, qty, start_ns)


class _Sender:
    def n_open(self) -> int:
        raise NotImplementedError

    def new(
        self, sym: str, buy: bool, px: str, qty: str, start_ns: int, taker: bool
    ) -> asyncio.Future[Any]:
        raise NotImplementedError

    def cancel(self, start_ns: int) -> asyncio.Future[Any]:
        raise NotImplementedError

    def replace(
        self, passive: dict[str, tuple[list[str], list[str]]], qty: str, start_ns: int
    ) -> asyncio.Future[Any]:
        raise NotImplementedError


class _FixSender(_Sender):
    def __init__(self, client: FixClient) -> None:
        self.c = client
        self._b: dict[str, bytes] = {}

    def _bytes(self, s: str) -> bytes:
        b = self._b.get(s)
        if b is None:
            b = self._b[s] = s.encode()
        return b

    def n_open(self) -> int:
        return len(self.c.open_orders)

    def new(
        self, sym: str, buy: bool, px: str, qty: str, start_ns: int, taker: bool
    ) -> asyncio.Future[Any]:
        b = self._bytes
        return self.c.send_new(
            b(sym), b"1" if buy else b"2", b(px), b(qty), start_ns, b"3" if taker else b"1", taker
        )

    def cancel(self, start_ns: int) -> asyncio.Future[Any]:
        clid, (sym, side) = self.c.open_orders.popitem()
        return self.c.send_cancel(clid, sym, side, start_ns)

    def replace(
        self, passive: dict[str, tuple[list[str], list[str]]], qty: str, start_ns: int
    ) -> asyncio.Future[Any]:
        clid, (sym, side) = self.c.open_orders.popitem()
        prices = passive[sym.decode()][0 if side == b"1" else 1]
        px = prices[len(clid) % len(prices)]
        return self.c.send_replace(clid, sym, side, self._bytes(px), self._bytes(qty), start_ns)


class _WsSender(_Sender):
    def __init__(self, client: WsClient) -> None:
        self.c = client

    def n_open(self) -> int:
        return len(self.c.open_orders)

    def new(
        self, sym: str, buy: bool, px: str, qty: str, start_ns: int, taker: bool
    ) -> asyncio.Future[Any]:
        side = "buy" if buy else "sell"
        return self.c.place(sym, side, px, qty, start_ns, "IOC" if taker else "GTC", taker)

    def cancel(self, start_ns: int) -> asyncio.Future[Any]:
        clid, (sym, _side) = self.c.open_orders.popitem()
        return self.c.cancel(sym, clid, start_ns)

    def replace(
        self, passive: dict[str, tuple[list[str], list[str]]], qty: str, start_ns: int
    ) -> asyncio.Future[Any]:
        clid, (sym, side) = self.c.open_orders.popitem()
        prices = passive[sym][0 if side == "buy" else 1]
        return self.c.replace(sym, clid, prices[len(clid) % len(prices)], qty, start_ns)


def _fix_config(cfg: RunConfig, n: int) -> FixSessionConfig:
    return FixSessionConfig(
        host=cfg.host,
        port=cfg.fix_port,
        sender=_sender(cfg.sender, n),
        target=cfg.target,
        begin_string=cfg.begin_string,
        heartbeat_s=cfg.heartbeat_s,
        reset_on_logon=cfg.reset_on_logon,
        username=_sender(cfg.username, n) if cfg.username else None,
        password=cfg.password,
        ed25519_key=load_ed25519_private_key(cfg.ed25519_key) if cfg.ed25519_key else None,
        key_id=_sender(cfg.key_id, n) if cfg.key_id else None,
        sig_encoding=cfg.sig_encoding,
        account=_sender(cfg.account, n) if cfg.account else None,
        stp=cfg.stp,
    )


def _ws_config(cfg: RunConfig, with_auth: bool) -> WsConfig:
    return WsConfig(
        url=cfg.ws_url,
        api_key=cfg.ws_api_key if with_auth else None,
        hmac_secret=cfg.ws_hmac_secret,
        ed25519_key=(load_ed25519_private_key(cfg.ws_ed25519_key) if cfg.ws_ed25519_key else None),
    )


def _components(scenario: str) -> tuple[bool, bool, bool]:
    """(fix order flow, ws order flow, md subscribers) of a scenario."""
    return {
        "fix-orders": (True, False, False),
        "ws-orders": (False, True, False),
        "md-fanout": (True, False, True),
        "mixed": (True, True, True),
        "soak": (True, False, False),
    }[scenario]


ProgressCb = Callable[[dict[str, Any]], None]


def proc_roles(cfg: RunConfig, nprocs: int) -> list[str]:
    """The role of each load process: ``orders``, ``md`` or ``all``.

    A scenario with both order flow and market-data subscribers, run with
    ``--procs >= 2``, separates them: order flow in its own process(es), subscribers
    in the others, so a flood of book pushes cannot starve the order flow's event
    loop (and so its latency figures).  Otherwise every process does its share of
    everything.
    """
    do_fix, do_ws, do_md = _components(cfg.scenario)
    if nprocs >= 2 and do_md and (do_fix or do_ws):
        k = cfg.order_procs if cfg.order_procs else max(1, nprocs // 4)
        k = min(max(1, k), nprocs - 1)
        return ["orders"] * k + ["md"] * (nprocs - k)
    return ["all"] * nprocs


def _role_share(roles: list[str], proc: int, wanted: str) -> tuple[int, int]:
    """(rank of ``proc`` among the processes doing ``wanted``, how many do it)."""
    members = [i for i, r in enumerate(roles) if r in (wanted, "all")]
    if proc not in members:
        return -1, len(members)
    return members.index(proc), len(members)


def _ids(total: int, roles: list[str], proc: int, wanted: str) -> list[int]:
    rank, n = _role_share(roles, proc, wanted)
    return _split(total, rank, n) if rank >= 0 else []


async def run_proc(
    cfg: RunConfig,
    proc: int = 0,
    nprocs: int = 1,
    progress: ProgressCb | None = None,
    start_barrier: Callable[[], None] | None = None,
    flows_done: Callable[[float], bool] | None = None,
) -> dict[str, Any]:
    """Run this process's share of the scenario; return its figures (JSON-able).

    ``start_barrier`` (several processes) is called once this process's connections
    are up, so every process starts its load at the same moment; ``flows_done(t)``
    lets a subscriber-only process of a count-bounded run wait (at most ``t`` s)
    for the order-flow processes to finish.
    """
    do_fix, do_ws, do_md = _components(cfg.scenario)
    stats = RunStats(bucket_s=cfg.bucket_s)
    wall0 = time.time()
    cpu0 = time.process_time()
    roles = proc_roles(cfg, nprocs)
    role = roles[proc]

    fix_ids = _ids(cfg.sessions, roles, proc, "orders") if do_fix else []
    ws_ids = _ids(cfg.ws_sessions, roles, proc, "orders") if do_ws else []
    md_ids = _ids(cfg.subscribers, roles, proc, "md") if do_md else []
    n_flows = (cfg.sessions if do_fix else 0) + (cfg.ws_sessions if do_ws else 0)

    fix_clients: list[FixClient] = []
    ws_clients: list[WsClient] = []
    md_clients: list[WsClient] = []
    flows: list[tuple[SessionStats, _Flow]] = []
    pace: dict[str, dict[str, Any]] = {}
    setup_errors: list[str] = []

    async def open_fix(i: int) -> None:
        fc = _fix_config(cfg, i + 1)
        st = stats.session(f"fix:{fc.sender}", "fix-orders", "order_ack")
        c = FixClient(fc, st)
        try:
            await c.connect()
        except Exception as exc:
            st.error(f"connect/logon failed: {exc}"[:120])
            setup_errors.append(f"{st.name}: {exc}")
            return
        fix_clients.append(c)
        flows.append((st, _Flow(cfg, cfg.seed * 1000 + i, _FixSender(c))))

    async def open_ws(i: int) -> None:
        st = stats.session(f"ws:{i + 1}", "ws-orders", "order_ack")
        c = WsClient(_ws_config(cfg, True), st)
        try:
            await c.connect()
            await c.logon()
        except Exception as exc:
            st.error(f"connect/logon failed: {exc}"[:120])
            setup_errors.append(f"{st.name}: {exc}")
            with contextlib.suppress(Exception):
                await c.close()
            return
        ws_clients.append(c)
        flows.append((st, _Flow(cfg, cfg.seed * 1000 + 500 + i, _WsSender(c))))

    md_conns: list[tuple[WsClient, SessionStats]] = []
    md_chans = [ch.replace("{symbol}", s) for ch in cfg.md_channels for s in cfg.symbols]

    async def open_md(i: int) -> None:
        st = stats.session(f"md:{i + 1}", "md-fanout", "md_delivery")
        wcfg = _ws_config(cfg, False)
        wcfg.recv_buffer_bytes = cfg.md_recv_buffer or None
        c = WsClient(wcfg, st)
        try:
            await c.connect()
        except Exception as exc:
            st.error(f"connect failed: {exc}"[:120])
            setup_errors.append(f"{st.name}: {exc}")
            with contextlib.suppress(Exception):
                await c.abort()
            return
        md_conns.append((c, st))

    async def subscribe_md(c: WsClient, st: SessionStats) -> None:
        try:
            ans = await asyncio.wait_for(c.subscribe(md_chans), 10)
            if ans.status != 200:
                st.error(f"subscribe refused: {ans.reason}"[:120])
        except Exception as exc:
            st.error(f"subscribe failed: {type(exc).__name__}: {exc}"[:120])
            setup_errors.append(f"{st.name}: subscribe: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                await c.abort()
            return
        md_clients.append(c)

    # Connect in small waves so a few hundred connections do not time out together.
    # Subscribers subscribe only once all of them are connected: a subscribed one is
    # flooded with pushes at once, and a flooded process would connect the rest late
    # (or not at all: open/subscribe timeouts).
    for opener, ids in ((open_md, md_ids), (open_fix, fix_ids), (open_ws, ws_ids)):
        for k in range(0, len(ids), 50):
            await asyncio.gather(*(opener(i) for i in ids[k : k + 50]))
    await asyncio.gather(*(subscribe_md(c, st) for c, st in md_conns))

    if start_barrier is not None:
        await asyncio.get_running_loop().run_in_executor(None, start_barrier)
    stats.start_s = time.time()
    for tl in stats.timelines.values():
        tl.start_s = stats.start_s
    for _c, st in md_conns:
        # Deltas received while the other processes were still connecting are not
        # part of the measurement (snapshots, their checks and the book state stay).
        pre = st.counts["md.msgs"]
        if pre:
            st.counts["md.checksum_ok"] -= min(pre, st.counts["md.checksum_ok"])
        st.discard(("md.msgs", "md.bytes"), ("md_delivery",))
    if md_conns and "md-fanout" in stats.timelines:
        stats.timelines["md-fanout"].clear(("md.msgs", "md.bytes"))

    per_flow_rate = cfg.rate / max(1, n_flows) if cfg.rate else None
    per_flow_count = -(-cfg.count // max(1, n_flows)) if cfg.count is not None else None
    stop = asyncio.Event()

    async def drive(st: SessionStats, flow: _Flow) -> None:
        res: PaceResult
        if per_flow_rate:
            res = await run_open_loop(
                flow.op,
                rate=per_flow_rate,
                count=per_flow_count,
                duration_s=cfg.duration_s,
                drain_timeout_s=cfg.drain_timeout_s,
                stop=stop,
            )
        else:
            res = await run_closed_loop(
                flow.op,
                in_flight=cfg.in_flight,
                count=per_flow_count,
                duration_s=cfg.duration_s,
                drain_timeout_s=cfg.drain_timeout_s,
                stop=stop,
            )
        pace[st.name] = res.to_dict()

    prog_task = asyncio.ensure_future(_progress_loop(stats, proc, progress)) if progress else None
    mem_task = (
        asyncio.ensure_future(_memory_loop(cfg, stats))
        if cfg.scenario == "soak" and proc == 0
        else None
    )
    backlog = _Backlog(md_clients)
    backlog_task = asyncio.ensure_future(backlog.run()) if md_clients else None
    t0 = time.perf_counter()
    # Subscribers flooded beyond what this process can read can starve the event
    # loop, and with it every timer; a thread stops them at the deadline so the run
    # still ends on time (their backlog is then discarded, not measured).
    md_guard: threading.Timer | None = None
    if md_clients and cfg.duration_s:

        def stop_all() -> None:
            for c in md_clients:
                c.stop_reading()

        md_guard = threading.Timer(cfg.duration_s + 1.0, stop_all)
        md_guard.daemon = True
        md_guard.start()
    if flows:
        await asyncio.gather(*(drive(st, fl) for st, fl in flows))
    elif md_clients and cfg.duration_s:
        await asyncio.sleep(cfg.duration_s)
    elif md_clients and flows_done is not None:
        # Count-bounded run: subscribe until the order-flow processes are done (bounded).
        await asyncio.get_running_loop().run_in_executor(None, flows_done, 600.0)
    elapsed = time.perf_counter() - t0
    if md_clients:
        backlog.sample(final=True)
        await asyncio.sleep(0.2)  # let the last updates arrive
        for c in md_clients:
            c.stop_reading()
    if md_guard is not None:
        md_guard.cancel()
    for t in (prog_task, mem_task, backlog_task):
        if t is not None:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
    if progress:
        _emit_progress(stats, proc, progress, final=True)

    await asyncio.gather(*(c.logout() for c in fix_clients), return_exceptions=True)
    await asyncio.gather(*(c.abort() for c in md_clients), return_exceptions=True)
    await asyncio.gather(*(c.close() for c in ws_clients), return_exceptions=True)

    wall = time.time() - wall0
    cpu = time.process_time() - cpu0
    out = stats.to_dict()
    for s in out["sessions"]:
        if s["name"] in pace:
            s["pacing"] = pace[s["name"]]
    out["proc"] = {
        "index": proc,
        "role": role,
        "elapsed_s": round(elapsed, 3),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_util": round(cpu / wall, 3) if wall > 0 else 0.0,
        "setup_errors": setup_errors[:20],
    }
    if md_clients:
        md_bytes = sum(s.counts["md.bytes"] for s in stats.sessions)
        out["proc"]["md_backlog"] = backlog.figures(md_bytes, elapsed)
    return out


class _Backlog:
    """Unread bytes in this process's subscriber sockets (client-side lag).

    Sampled every 0.5 s and once at the end of the measurement. ``end_s`` converts the
    final backlog into seconds of this process's own reading rate: pushes that wait
    there are late because the subscribers could not keep up, whatever the target did.
    """

    def __init__(self, clients: list[WsClient]) -> None:
        self.clients = clients
        self.peak = 0
        self.end = 0
        self.end_max = 0

    def sample(self, final: bool = False) -> None:
        sizes = [c.unread_bytes() for c in self.clients]
        total = sum(sizes)
        self.peak = max(self.peak, total)
        if final:
            self.end, self.end_max = total, max(sizes, default=0)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.sample()

    def figures(self, md_bytes: int, elapsed_s: float) -> dict[str, Any]:
        rate = md_bytes / elapsed_s if elapsed_s > 0 else 0.0
        return {
            "peak_bytes": self.peak,
            "end_bytes": self.end,
            "end_max_per_conn_bytes": self.end_max,
            "read_bytes_per_s": round(rate, 1),
            "end_s": round(self.end / rate, 3) if rate > 0 else None,
        }


def _emit_progress(stats: RunStats, proc: int, cb: ProgressCb, final: bool = False) -> None:
    answers, errors, rejects = stats.totals()
    md = sum(s.counts["md.msgs"] for s in stats.sessions)
    merged = LatencyHistogram()
    for s in stats.sessions:
        h = s.hists.get(s.primary)
        if h is not None:
            merged.merge(h)
    cb(
        {
            "proc": proc,
            "t": time.time(),
            "start_s": stats.start_s,
            "answers": answers,
            "errors": errors,
            "rejects": rejects,
            "md": md,
            "hist": merged.encode() if merged.count else "",
            "final": final,
        }
    )


async def _progress_loop(stats: RunStats, proc: int, cb: ProgressCb) -> None:
    while True:
        await asyncio.sleep(1.0)
        _emit_progress(stats, proc, cb)


_RSS_RE = re.compile(rb"^process_resident_memory_bytes(?:\{[^}]*\})?\s+([0-9.e+]+)", re.M)


def sample_memory(pid: int | None, metrics_url: str | None) -> int | None:
    """Resident memory of the target in bytes, from /proc or Prometheus metrics."""
    if pid is not None:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    if metrics_url is not None:
        try:
            with urllib.request.urlopen(metrics_url, timeout=2) as r:
                m = _RSS_RE.search(r.read())
                return int(float(m.group(1))) if m else None
        except OSError:
            return None
    return None


async def _memory_loop(cfg: RunConfig, stats: RunStats) -> None:
    samples: list[list[float]] = []
    stats.extra["memory"] = samples
    loop = asyncio.get_running_loop()
    while True:
        rss = await loop.run_in_executor(None, sample_memory, cfg.gateway_pid, cfg.metrics_url)
        if rss is not None:
            samples.append([round(time.time() - stats.start_s, 2), rss])
        await asyncio.sleep(max(1.0, cfg.bucket_s))
