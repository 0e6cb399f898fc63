"""WebSocket benchmarks of issue #4: market-data fan-out and order entry.

::

    python -m loadtest.ws_bench fanout [--subscribers 500] [--rate 250] [--duration 10]
    python -m loadtest.ws_bench orders [--in-flight 1 100] [--orders 5000]

Each run starts a real gateway (:class:`gateway.app.App` under uvloop) in a CHILD
process: temp journal dir, free ports on 127.0.0.1, ``[journal] fsync`` from
``--fsync`` (default ``batch``), log level warning, and ``[ws] max_requests_per_s``
raised to 1,000,000 so the per-connection rate limit is not what gets measured.

**fanout.** ``--subscribers`` connections, spread over ``--client-procs`` client
processes, each subscribe to ``--channel`` (default ``book.BTC-USD.10``). A client
is a bare asyncio protocol (own RFC 6455 framing, no per-message future or task):
per frame it byte-searches ``"ts_us":`` (and ``seq``/``prev_seq``), records
``receipt time - ts_us`` in an HdrHistogram, and checks the ``prev_seq`` chain
(a break is a *gap*; a snapshot after the first is a *conflation*). Histograms are
merged across processes. Meanwhile one order-flow driver (two logged-on accounts,
ACC1 and ACC2) places orders at ``--rate`` per second, open loop: makers inside the
top 10 levels and IOC takers crossing them, alternating sides so balances and book
size stay flat. Every order changes the top 10, so each order is one delta per
subscriber: delivered msgs/s ~= rate x subscribers.

**orders.** One logged-on connection, closed loop with N requests in flight (for each
``--in-flight`` level): as soon as an answer arrives the next ``order.place`` goes
out. Orders alternate buy/sell at the same price (a maker, then a taker that fills
it), so the book stays small. Ack latency = answer receipt - request send, measured
in the client.

Latencies are wall-clock (``time.time_ns``) on one host; the client processes share
the box with the gateway, so client scheduling delay is part of every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import orjson

from loadtest.histogram import LatencyHistogram

__all__ = ["main"]

SYMBOL = "BTC-USD"
MID_TICKS = 5_000_000  # 50,000.00 at tick 0.01
KEYS = {"ACC1": ("demo-acc1", b"demo-secret-acc1"), "ACC2": ("demo-acc2", b"demo-secret-acc2")}


def _now_us() -> int:
    return time.time_ns() // 1000


def _price(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}"


# ====================================================================== gateway child


def _serve(args: argparse.Namespace) -> int:
    """Child process: run an App until SIGTERM; print 'READY <ws_port> <http_port>'."""
    import uvloop

    from gateway.app import App, configure_logging
    from gateway.config import load_config

    base = load_config()
    sections: dict[str, dict[str, Any]] = {
        "journal": {"dir": str(Path(args.dir) / "journal"), "fsync": args.fsync},
        "fix": {"listen": "127.0.0.1:0", "store_dir": str(Path(args.dir) / "fix")},
        # every subscriber comes from loopback: no per-source cap
        "ws": {
            "listen": "127.0.0.1:0",
            "max_requests_per_s": 1_000_000,
            "max_connections_per_source": 0,
        },
        "http": {"listen": "127.0.0.1:0"},
        "admin": {"listen": "127.0.0.1:0"},
    }
    changes = {n: dataclasses.replace(getattr(base, n), **v) for n, v in sections.items()}
    config = dataclasses.replace(base, log_level="warning", **changes)
    configure_logging(config.log_level)

    async def run() -> None:
        app = App(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await app.start()
        assert app.ws is not None and app.http is not None
        print(f"READY {app.ws.port} {app.http.port}", flush=True)
        await stop.wait()
        await app.stop()

    uvloop.run(run())
    return 0


class Gateway:
    """The gateway child process and its temp dir."""

    def __init__(self, fsync: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="ws_bench_")
        cmd = [sys.executable, "-m", "loadtest.ws_bench", "_serve", "--dir", self.dir]
        cmd += ["--fsync", fsync]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.stop()
            raise RuntimeError("gateway child did not start")
        self.ws_port, self.http_port = int(line[1]), int(line[2])
        self.pid = self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Profiler:
    """Optional py-spy recording of the gateway child (raw collapsed stacks)."""

    def __init__(self, pid: int, out: str | None, seconds: float) -> None:
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None
        if out:
            exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            cmd = [exe, "record", "--pid", str(pid), "--format", "raw", "--output", out]
            cmd += ["--duration", str(max(1, int(seconds))), "--rate", "250", "--nonblocking"]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)


# ====================================================================== raw WS client

_HDR_SMALL = [bytes((0x81, 0x80 | n)) for n in range(126)]


def _client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame (RFC 6455 5.3)."""
    n = len(payload)
    head = bytes((0x80 | opcode,))
    if n < 126:
        head += bytes((0x80 | n,))
    elif n < 65536:
        head += bytes((0x80 | 126,)) + struct.pack("!H", n)
    else:
        head += bytes((0x80 | 127,)) + struct.pack("!Q", n)
    mask = os.urandom(4)
    rep = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(rep, "big")).to_bytes(n, "big")
    return head + mask + masked


class RawWs(asyncio.Protocol):
    """Minimal WebSocket client: handshake, unmasked server frames, ping -> pong.

    ``on_message(buf, start, end, now_us)`` is called per text/binary frame with the
    payload's position in the receive buffer (no copy); ``now_us`` is taken once per
    ``data_received`` call, i.e. when the bytes reached the process.
    """

    def __init__(
        self, host: str, port: int, on_message: Callable[[bytearray, int, int, int], None]
    ) -> None:
        self.host, self.port = host, port
        self.on_message = on_message
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._handshaken = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(_client_frame(payload))

    def data_received(self, data: bytes) -> None:
        now = time.time_ns() // 1000
        buf = self.buf
        buf += data
        pos = 0
        if not self._handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.open.set_exception(RuntimeError(bytes(buf[:end]).decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            self._handshaken = True
            pos = end + 4
            self.open.set_result(None)
        size = len(buf)
        on_message = self.on_message
        while size - pos >= 2:
            b0, n = buf[pos], buf[pos + 1] & 0x7F
            off = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                off = pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                off = pos + 10
            end = off + n
            if end > size:
                break
            op = b0 & 0x0F
            if op == 1 or op == 2:
                on_message(buf, off, end, now)
            elif op == 9 and self.transport is not None:  # ping
                self.transport.write(_client_frame(bytes(buf[off:end]), 0xA))
            elif op == 8 and self.transport is not None:  # close
                self.transport.close()
            pos = end
        if pos:
            del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(exc or ConnectionError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):
                self.transport.write(_client_frame(struct.pack("!H", 1000), 0x8))
            self.transport.close()


async def connect(
    host: str, port: int, on_message: Callable[[bytearray, int, int, int], None]
) -> RawWs:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: RawWs(host, port, on_message), host, port)
    await proto.open
    return proto


# ====================================================================== subscribers

_TS = b'"ts_us":'
_SEQ = b'"seq":'
_PREV = b'"prev_seq":'
_SNAP = b'"type":"snapshot"'


def _int_at(buf: bytearray, i: int) -> int:
    j = i
    while 48 <= buf[j] <= 57:
        j += 1
    return int(buf[i:j])


class SubStats:
    """One subscriber process: all its connections record here."""

    def __init__(self) -> None:
        self.hist = LatencyHistogram()
        self.record = self.hist.record_us
        self.window = (1 << 62, 1 << 62)
        self.messages = 0  # inside the window
        self.total = 0
        self.gaps = 0
        self.conflations = 0
        self.snapshots = 0


class Subscriber:
    __slots__ = ("last_seq", "stats", "ws")

    def __init__(self, stats: SubStats) -> None:
        self.stats = stats
        self.last_seq = -1
        self.ws: RawWs | None = None

    def on_message(self, buf: bytearray, start: int, end: int, now: int) -> None:
        if buf[start + 2] != 99:  # not {"channel":...: the subscribe answer
            return
        st = self.stats
        st.total += 1
        i = buf.find(_SEQ, start, end)
        seq = _int_at(buf, i + 6)
        i = buf.find(_PREV, i, end)
        if i < 0:  # a snapshot
            if buf.find(_SNAP, start, end) >= 0:
                st.snapshots += 1
                if self.last_seq >= 0:
                    st.conflations += 1
            i = start
        elif _int_at(buf, i + 11) != self.last_seq:
            st.gaps += 1
        self.last_seq = seq
        i = buf.find(_TS, i, end)
        lo, hi = st.window
        if lo <= now < hi:
            st.messages += 1
            st.record(now - _int_at(buf, i + 8))


def _subscriber_main(port: int, count: int, channel: str, pipe: Connection) -> None:
    import uvloop

    uvloop.run(_subscriber(port, count, channel, pipe))


async def _subscriber(port: int, count: int, channel: str, pipe: Connection) -> None:
    stats = SubStats()
    subs: list[Subscriber] = []
    request = orjson.dumps({"id": 1, "method": "subscribe", "params": {"channels": [channel]}})
    sem = asyncio.Semaphore(32)

    async def one() -> None:
        sub = Subscriber(stats)
        async with sem:
            sub.ws = await connect("127.0.0.1", port, sub.on_message)
        sub.ws.send(request)
        subs.append(sub)

    await asyncio.gather(*(one() for _ in range(count)))
    while stats.snapshots < count:
        await asyncio.sleep(0.01)
    pipe.send(("ready", count))
    loop = asyncio.get_running_loop()
    start, end = await loop.run_in_executor(None, pipe.recv)
    stats.window = (start, end)
    await asyncio.sleep(max(0.0, (end - _now_us()) / 1e6) + 0.5)
    lost = sum(1 for s in subs if s.ws is not None and s.ws.closed.done())
    for s in subs:
        if s.ws is not None:
            s.ws.close()
    pipe.send(
        {
            "messages": stats.messages,
            "total": stats.total,
            "gaps": stats.gaps,
            "conflations": stats.conflations,
            "disconnected": lost,
            "hdr": stats.hist.encode(),
            "clamped": stats.hist.clamped,
        }
    )
    await asyncio.sleep(0.1)


# ====================================================================== order driver


class Trader:
    """A logged-on raw WS connection with request/answer matching by id."""

    def __init__(self) -> None:
        self.ws: RawWs | None = None
        self.next_id = 1
        self.waiters: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.on_answer: Callable[[int, int, int], None] | None = None  # (id, status, now)
        self.answers = 0
        self.errors = 0

    def on_message(self, buf: bytearray, start: int, end: int, now: int) -> None:
        if buf[start + 2] != 105:  # not {"id":...: a push
            return
        self.answers += 1
        if self.waiters:
            msg = orjson.loads(buf[start:end])
            fut = self.waiters.pop(msg["id"], None)
            if fut is not None:
                fut.set_result(msg)
                return
        req_id = _int_at(buf, start + 6)
        status = _int_at(buf, buf.find(b'"status":', start, end) + 9)
        if status != 200:
            self.errors += 1
        if self.on_answer is not None:
            self.on_answer(req_id, status, now)

    @classmethod
    async def open(cls, port: int, account: str) -> Trader:
        self = cls()
        self.ws = await connect("127.0.0.1", port, self.on_message)
        key, secret = KEYS[account]
        ts = int(time.time() * 1000)
        sig = hmac.new(secret, f"{key}\n{ts}".encode(), hashlib.sha256).hexdigest()
        answer = await self.call("session.logon", api_key=key, timestamp_ms=ts, signature=sig)
        if answer["status"] != 200:
            raise RuntimeError(f"logon failed: {answer}")
        return self

    def send(self, method: str, **params: Any) -> int:
        req_id = self.next_id
        self.next_id += 1
        assert self.ws is not None
        self.ws.send(orjson.dumps({"id": req_id, "method": method, "params": params}))
        return req_id

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[self.next_id] = fut
        self.send(method, **params)
        return await asyncio.wait_for(fut, 10)

    def place(self, side: str, ticks: int, qty: str, tif: str = "gtc") -> int:
        return self.send(
            "order.place",
            symbol=SYMBOL,
            side=side,
            type="limit",
            quantity=qty,
            price=_price(ticks),
            time_in_force=tif,
        )


async def _drive(port: int, rate: float, start_us: int, end_us: int) -> dict[str, Any]:
    """Open-loop order flow at `rate`/s between start and end (wall clock, us)."""
    makers = await Trader.open(port, "ACC1")
    takers = await Trader.open(port, "ACC2")
    for trader in (makers, takers):
        await trader.call("orders.cancel_all", symbol=SYMBOL)
    # a standing book: 10 bids and 10 asks 1 tick apart around the mid
    for i in range(10):
        makers.place("buy", MID_TICKS - 1 - i, "1")
        makers.place("sell", MID_TICKS + 1 + i, "1")
    await makers.call("orders.open", symbol=SYMBOL)
    while _now_us() < start_us:
        await asyncio.sleep(0.001)
    sent = 0
    step = 0
    interval_us = 1e6 / rate
    while True:
        now = _now_us()
        if now >= end_us:
            break
        due = int((now - start_us) / interval_us) + 1
        while sent < due:
            phase = step % 4
            level = (step // 4) % 5
            if phase == 0:  # maker adds to a bid inside the top 5
                makers.place("buy", MID_TICKS - 1 - level, "0.01")
            elif phase == 1:  # taker sells into the best bid
                takers.place("sell", MID_TICKS - 10, "0.01", "ioc")
            elif phase == 2:  # maker adds to an ask inside the top 5
                makers.place("sell", MID_TICKS + 1 + level, "0.01")
            else:  # taker buys the best ask
                takers.place("buy", MID_TICKS + 10, "0.01", "ioc")
            sent += 1
            step += 1
        next_us = start_us + sent * interval_us
        await asyncio.sleep(max(0.0, (next_us - _now_us()) / 1e6))
    await asyncio.sleep(0.3)
    out = {
        "orders_sent": sent,
        "answers": makers.answers + takers.answers,
        "errors": makers.errors + takers.errors,
    }
    for trader in (makers, takers):
        assert trader.ws is not None
        trader.ws.close()
    return out


def _metric(http_port: int, name: str) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def run_fanout(args: argparse.Namespace) -> dict[str, Any]:
    gw = Gateway(args.fsync)
    procs: list[tuple[Any, Connection]] = []
    try:
        ctx = mp.get_context("fork")
        nprocs = max(1, min(args.client_procs, args.subscribers))
        for k in range(nprocs):
            count = args.subscribers // nprocs + (1 if k < args.subscribers % nprocs else 0)
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_subscriber_main, args=(gw.ws_port, count, args.channel, child), daemon=True
            )
            proc.start()
            procs.append((proc, parent))
        for _, pipe in procs:
            if not pipe.poll(120):
                raise RuntimeError("subscriber process did not get ready")
            pipe.recv()
        sent_before = _metric(gw.http_port, "gw_ws_messages_sent_total")
        start_us = _now_us() + 1_500_000  # driver warm-up: logon, standing book
        warm_us = start_us + int(args.warmup * 1e6)
        end_us = start_us + int((args.warmup + args.duration) * 1e6)
        for _, pipe in procs:
            pipe.send((warm_us, end_us))
        prof = Profiler(gw.pid, args.profile, args.duration)
        import uvloop

        driver = uvloop.run(_drive(gw.ws_port, args.rate, start_us, end_us))
        results = []
        for _, pipe in procs:
            if not pipe.poll(30):
                raise RuntimeError("subscriber process did not report")
            results.append(pipe.recv())
        prof.wait()
        sent_after = _metric(gw.http_port, "gw_ws_messages_sent_total")
        slow = _metric(gw.http_port, "gw_slow_consumers_total")
    finally:
        for proc, _ in procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
        gw.stop()
    hist = LatencyHistogram()
    for r in results:
        hist.merge(LatencyHistogram.decode(r["hdr"], r["clamped"]))
    messages = sum(r["messages"] for r in results)
    return {
        "scenario": "fanout",
        "subscribers": args.subscribers,
        "client_procs": len(procs),
        "channel": args.channel,
        "rate": args.rate,
        "duration_s": args.duration,
        "fsync": args.fsync,
        "orders_sent": driver["orders_sent"],
        "order_errors": driver["errors"],
        "delivered": messages,
        "delivered_per_s": round(messages / args.duration),
        "gaps": sum(r["gaps"] for r in results),
        "conflations": sum(r["conflations"] for r in results),
        "disconnected": sum(r["disconnected"] for r in results),
        "server_frames_sent": sum(sent_after.values()) - sum(sent_before.values()),
        "server_slow_consumer_actions": slow,
        "latency_us": hist.summary(),
    }


# ====================================================================== orders


async def _orders_level(port: int, in_flight: int, orders: int) -> dict[str, Any]:
    trader = await Trader.open(port, "ACC1")
    await trader.call("orders.cancel_all", symbol=SYMBOL)
    hist = LatencyHistogram()
    record = hist.record_us
    sent_at: dict[int, int] = {}
    done = asyncio.get_running_loop().create_future()
    state = {"sent": 0, "answered": 0}
    qty = "0.01"

    def send_next() -> None:
        n = state["sent"]
        state["sent"] = n + 1
        side = "buy" if n % 2 == 0 else "sell"  # a maker, then the taker that fills it
        req_id = trader.place(side, MID_TICKS - (n // 2) % 20, qty)
        sent_at[req_id] = _now_us()

    def on_answer(req_id: int, status: int, now: int) -> None:
        t0 = sent_at.pop(req_id, None)
        if t0 is None:
            return
        record(now - t0)
        state["answered"] += 1
        if state["sent"] < orders:
            send_next()
        elif state["answered"] >= orders and not done.done():
            done.set_result(None)

    trader.on_answer = on_answer
    # warm-up round (not recorded in the result)
    t_start = time.perf_counter()
    for _ in range(min(in_flight, orders)):
        send_next()
    await asyncio.wait_for(done, 300)
    elapsed = time.perf_counter() - t_start
    assert trader.ws is not None
    await trader.call("orders.cancel_all", symbol=SYMBOL)
    trader.ws.close()
    return {
        "in_flight": in_flight,
        "orders": orders,
        "errors": trader.errors,
        "orders_per_s": round(orders / elapsed),
        "latency_us": hist.summary(),
    }


def run_orders(args: argparse.Namespace) -> dict[str, Any]:
    gw = Gateway(args.fsync)
    import uvloop

    levels = []
    try:
        for n in args.in_flight:
            uvloop.run(_orders_level(gw.ws_port, n, max(100, args.orders // 10)))  # warm-up
            prof = Profiler(gw.pid, f"{args.profile}.{n}" if args.profile else None, 3)
            levels.append(uvloop.run(_orders_level(gw.ws_port, n, args.orders)))
            prof.wait()
    finally:
        gw.stop()
    return {"scenario": "orders", "fsync": args.fsync, "levels": levels}


# ====================================================================== report


def _fmt_lat(lat: dict[str, Any]) -> str:
    return "  ".join(
        f"{k}={lat.get(k, 0) / 1000:.2f}ms" for k in ("p50", "p99", "p99.9", "max_us")
    ).replace("max_us", "max")


def print_table(result: dict[str, Any]) -> None:
    if result["scenario"] == "fanout":
        r = result
        lat = r["latency_us"]
        rows = [
            ("subscribers", f"{r['subscribers']} over {r['client_procs']} client processes"),
            ("channel", r["channel"]),
            (
                "order rate",
                f"{r['rate']:g}/s ({r['orders_sent']} sent, {r['order_errors']} errors)",
            ),
            ("delivered", f"{r['delivered']} msgs in {r['duration_s']:g}s"),
            ("delivered msgs/s", f"{r['delivered_per_s']:,}"),
            ("latency p50", f"{lat['p50'] / 1000:.2f} ms"),
            ("latency p99", f"{lat['p99'] / 1000:.2f} ms"),
            ("latency p99.9", f"{lat['p99.9'] / 1000:.2f} ms"),
            ("latency max", f"{lat['max_us'] / 1000:.2f} ms"),
            ("gaps / conflations", f"{r['gaps']} / {r['conflations']}"),
            ("disconnected", str(r["disconnected"])),
            ("server frames sent", f"{int(r['server_frames_sent']):,}"),
        ]
        width = max(len(k) for k, _ in rows)
        print(f"fan-out (fsync={r['fsync']})")
        for k, v in rows:
            print(f"  {k:<{width}}  {v}")
        return
    print(f"WS order entry (fsync={result['fsync']})")
    print(f"  {'in flight':>9}  {'orders':>7}  {'orders/s':>9}  {'p50 ms':>7}  {'p99 ms':>7}"
          f"  {'p99.9 ms':>8}  {'max ms':>7}  {'errors':>6}")  # fmt: skip
    for lv in result["levels"]:
        lat = lv["latency_us"]
        print(
            f"  {lv['in_flight']:>9}  {lv['orders']:>7}  {lv['orders_per_s']:>9,}"
            f"  {lat['p50'] / 1000:>7.3f}  {lat['p99'] / 1000:>7.3f}"
            f"  {lat['p99.9'] / 1000:>8.3f}  {lat['max_us'] / 1000:>7.3f}  {lv['errors']:>6}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.ws_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--fsync", choices=("batch", "interval", "never"), default="batch")
        p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
        p.add_argument("--profile", metavar="FILE", help="py-spy raw stacks of the gateway")

    fan = sub.add_parser("fanout", help="market-data fan-out to N subscribers")
    fan.add_argument("--subscribers", type=int, default=500)
    fan.add_argument("--rate", type=float, default=250.0, help="orders per second")
    fan.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    fan.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    fan.add_argument("--client-procs", type=int, default=2)
    fan.add_argument("--channel", default=f"book.{SYMBOL}.10")
    common(fan)
    orders = sub.add_parser("orders", help="closed-loop WS order entry")
    orders.add_argument("--in-flight", type=int, nargs="+", default=[1, 100])
    orders.add_argument("--orders", type=int, default=5000, help="orders per level")
    common(orders)
    serve = sub.add_parser("_serve", help=argparse.SUPPRESS)
    serve.add_argument("--dir", required=True)
    serve.add_argument("--fsync", default="batch")
    args = parser.parse_args(argv)
    if args.cmd == "_serve":
        return _serve(args)
    result = run_fanout(args) if args.cmd == "fanout" else run_orders(args)
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
