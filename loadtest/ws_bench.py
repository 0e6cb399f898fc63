"""WebSocket benchmarks of issue #4: market-data fan-out and order entry.

::

    python -m loadtest.ws_bench fanout [--subscribers 500] [--rate 250] [--duration 10]
                                       [--targets gateway null | --self-test]
    python -m loadtest.ws_bench orders [--in-flight 1 100] [--orders 5000]

Each run starts a real gateway (:class:`gateway.app.App` under uvloop) in a CHILD
process: temp journal dir, free ports on 127.0.0.1, ``[journal] fsync`` from
``--fsync`` (default ``batch``), log level warning, and ``[ws] max_requests_per_s``
raised to 1,000,000 so the per-connection rate limit is not what gets measured.

**fanout.** ``--subscribers`` connections, spread over ``--client-procs`` client
processes, each subscribe to ``--channel`` (default ``book.BTC-USD.10``). A client
is a bare asyncio protocol (own RFC 6455 framing, no per-message future or task)
whose every receive goes first to :func:`loadtest.ws_scan.scan` (C in the native
build): per frame it reads ``seq``/``prev_seq``/``ts_us``, keeps
``receipt time - ts_us`` and checks the ``prev_seq`` chain (a break is a *gap*; a
snapshot after the first is a *conflation*). Latencies go into HdrHistograms merged
across processes. Against the gateway, one order-flow driver (two logged-on accounts,
ACC1 and ACC2) places orders at ``--rate`` per second, open loop: makers inside the
top 10 levels and IOC takers crossing them, alternating sides so balances and book
size stay flat. Every order changes the top 10, so each order is one delta per
subscriber: delivered msgs/s ~= rate x subscribers. Against ``null``
(loadtest/ws_null.py, own process) the same subscribers get ``--rate`` deltas/s from
a server that does nothing else: the harness's ceiling. Each target is one row, the
gateway's with its ratios to the null row of the same run; ``client us/msg`` is the
subscriber processes' CPU per message received.

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
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson

from loadtest.histogram import LatencyHistogram
from loadtest.proccpu import proc_cpu_s
from loadtest.ws_scan import COUNTERS, scan
from loadtest.ws_scan import NATIVE as SCAN_NATIVE

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
        await app.start(pace_gc=True)  # as `python -m gateway` runs it
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
    ``data_received`` call, i.e. when the bytes reached the process. ``fast(buf, pos,
    now_us)``, if given, is offered the buffer first at each frame boundary and returns
    the position after the frames it consumed (the subscribers' scanner).
    """

    def __init__(
        self,
        host: str,
        port: int,
        on_message: Callable[[bytearray, int, int, int], None],
        fast: Callable[[bytearray, int, int], int] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.on_message = on_message
        self.fast = fast
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
        on_message, fast = self.on_message, self.fast
        while True:
            if fast is not None:
                pos = fast(buf, pos, now)
            if size - pos < 2:
                break
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
    return await _open(lambda: RawWs(host, port, on_message), host, port)


_W = TypeVar("_W", bound=RawWs)


async def _open(factory: Callable[[], _W], host: str, port: int) -> _W:
    _, proto = await asyncio.get_running_loop().create_connection(factory, host, port)
    await proto.open
    return proto


# ====================================================================== subscribers


def _int_at(buf: bytearray, i: int) -> int:
    j = i
    while 48 <= buf[j] <= 57:
        j += 1
    return int(buf[i:j])


class SubStats:
    """One subscriber process: all its connections record here.

    ``counts`` is what :func:`loadtest.ws_scan.scan` adds to (frames, gaps, snapshots,
    conflations) and the measuring window; ``lats`` gets one int64 per frame received
    inside the window.
    """

    def __init__(self) -> None:
        self.counts = array("q", bytes(8 * len(COUNTERS)))
        self.counts[4] = self.counts[5] = 1 << 62  # no window yet
        self.lats = bytearray()
        self.unread = 0  # pushes the scanner could not read

    def open_window(self, start_us: int, end_us: int) -> None:
        self.counts[4], self.counts[5] = start_us, end_us

    def histogram(self) -> LatencyHistogram:
        values = array("q", bytes(self.lats))
        if sys.byteorder != "little":
            values.byteswap()
        hist = LatencyHistogram()
        for value, count in Counter(values).items():
            hist.record_us(value, count)
        return hist


class Subscriber(RawWs):
    """A subscriber connection. Each receive goes to the scanner first, which reads the
    market-data frames (and the wall clock) itself; what it leaves (the handshake, the
    subscribe answer, a partial frame) takes RawWs's general path."""

    def __init__(self, host: str, port: int, stats: SubStats) -> None:
        super().__init__(host, port, self._other, self._scan)
        self.stats = stats
        self.counts, self.lats = stats.counts, stats.lats
        self.last_seq = -1

    def data_received(self, data: bytes) -> None:
        if self.buf or not self._handshaken:
            super().data_received(data)
            return
        pos, self.last_seq = scan(data, 0, self.last_seq, -1, self.counts, self.lats)
        if pos < len(data):
            super().data_received(data[pos:])

    def _scan(self, buf: bytearray, pos: int, now: int) -> int:
        pos, self.last_seq = scan(buf, pos, self.last_seq, now, self.counts, self.lats)
        return pos

    def _other(self, buf: bytearray, start: int, end: int, now: int) -> None:
        if buf.startswith(b'{"channel":', start, end):  # one the scanner refused
            self.stats.unread += 1


def _subscriber_main(port: int, count: int, channel: str, pipe: Connection) -> None:
    import uvloop

    uvloop.run(_subscriber(port, count, channel, pipe))


async def _subscriber(port: int, count: int, channel: str, pipe: Connection) -> None:
    stats = SubStats()
    subs: list[Subscriber] = []
    request = orjson.dumps({"id": 1, "method": "subscribe", "params": {"channels": [channel]}})
    sem = asyncio.Semaphore(32)

    async def one() -> None:
        async with sem:
            sub = await _open(lambda: Subscriber("127.0.0.1", port, stats), "127.0.0.1", port)
        sub.send(request)
        subs.append(sub)

    await asyncio.gather(*(one() for _ in range(count)))
    while stats.counts[2] < count:
        await asyncio.sleep(0.01)
    pipe.send(("ready", count))
    loop = asyncio.get_running_loop()
    start, end = await loop.run_in_executor(None, pipe.recv)
    stats.open_window(start, end)
    cpu0, frames0 = time.process_time(), stats.counts[0]
    await asyncio.sleep(max(0.0, (end - _now_us()) / 1e6) + 0.5)
    cpu, frames = time.process_time() - cpu0, stats.counts[0] - frames0
    lost = sum(1 for s in subs if s.closed.done())
    for s in subs:
        s.close()
    hist = stats.histogram()
    frames, gaps, _, conflations = stats.counts[:4]
    pipe.send(
        {
            "messages": len(stats.lats) // 8,
            "total": frames,
            "gaps": gaps,
            "conflations": conflations,
            "unread": stats.unread,
            "cpu_s": cpu,
            "cpu_frames": frames,
            "disconnected": lost,
            "hdr": hist.encode(),
            "clamped": hist.clamped,
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


class NullServer:
    """The null fan-out server (loadtest/ws_null.py) in a child process."""

    def __init__(self, rate: float, drop_every: int = 0) -> None:
        cmd = [sys.executable, "-m", "loadtest.ws_null", "--rate", str(rate)]
        cmd += ["--drop-every", str(drop_every)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.stop()
            raise RuntimeError("null server child did not start")
        self.ws_port, self.pid = int(line[1]), int(line[2])
        self.counters: dict[str, int] = {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
                out, _ = self.proc.communicate(timeout=10)
                self.counters = json.loads(out.strip().splitlines()[-1])
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


#: The fan-out targets, in the order they run, and what each row is.
TARGETS = {
    "gateway": "the gateway, an order driver changing the top 10 at --rate orders/s",
    "null": "null server (loadtest/ws_null.py: --rate pre-built deltas/s, the harness ceiling)",
}


class CpuWindow(threading.Thread):
    """CPU seconds a process spends between two wall-clock times (us)."""

    def __init__(self, pid: int, start_us: int, end_us: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.start_us, self.end_us = pid, start_us, end_us
        self.cpu_s = 0.0

    def run(self) -> None:
        time.sleep(max(0.0, (self.start_us - _now_us()) / 1e6))
        before = proc_cpu_s(self.pid)
        time.sleep(max(0.0, (self.end_us - _now_us()) / 1e6))
        self.cpu_s = proc_cpu_s(self.pid) - before


def _start_subscribers(args: argparse.Namespace, port: int) -> list[tuple[Any, Connection]]:
    ctx = mp.get_context("fork")
    procs: list[tuple[Any, Connection]] = []
    nprocs = max(1, min(args.client_procs, args.subscribers))
    for k in range(nprocs):
        count = args.subscribers // nprocs + (1 if k < args.subscribers % nprocs else 0)
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_subscriber_main, args=(port, count, args.channel, child), daemon=True
        )
        proc.start()
        procs.append((proc, parent))
    for _, pipe in procs:
        if not pipe.poll(120):
            raise RuntimeError("subscriber process did not get ready")
        pipe.recv()
    return procs


def _fanout_target(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """One row: the subscribers against the gateway (with the order driver) or null."""
    if target == "gateway":
        server: Gateway | NullServer = Gateway(args.fsync)
    else:
        server = NullServer(args.rate, args.null_drop_every)
    procs: list[tuple[Any, Connection]] = []
    driver: dict[str, Any] = {"orders_sent": 0, "errors": 0}
    try:
        procs = _start_subscribers(args, server.ws_port)
        if isinstance(server, Gateway):
            sent_before = _metric(server.http_port, "gw_ws_messages_sent_total")
        start_us = _now_us() + 1_500_000  # driver warm-up: logon, standing book
        warm_us = start_us + int(args.warmup * 1e6)
        end_us = start_us + int((args.warmup + args.duration) * 1e6)
        for _, pipe in procs:
            pipe.send((warm_us, end_us))
        profile = args.profile if target == "gateway" else None
        prof = Profiler(server.pid, profile, args.duration)
        cpu = CpuWindow(server.pid, warm_us, end_us)
        cpu.start()
        import uvloop

        if isinstance(server, Gateway):
            driver = uvloop.run(_drive(server.ws_port, args.rate, start_us, end_us))
        else:
            time.sleep(max(0.0, (end_us - _now_us()) / 1e6))
        results = []
        for _, pipe in procs:
            if not pipe.poll(60):
                raise RuntimeError("subscriber process did not report")
            results.append(pipe.recv())
        prof.wait()
        cpu.join()
        if isinstance(server, Gateway):
            sent_after = _metric(server.http_port, "gw_ws_messages_sent_total")
            server_sent = sum(sent_after.values()) - sum(sent_before.values())
    finally:
        for proc, _ in procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
        server.stop()
    if isinstance(server, NullServer):
        server_sent = server.counters.get("frames_sent", 0)
    hist = LatencyHistogram()
    for r in results:
        hist.merge(LatencyHistogram.decode(r["hdr"], r["clamped"]))
    messages = sum(r["messages"] for r in results)
    cpu_frames = sum(r["cpu_frames"] for r in results)
    return {
        "target": target,
        "orders_sent": driver["orders_sent"],
        "order_errors": driver["errors"],
        "delivered": messages,
        "delivered_per_s": round(messages / args.duration),
        "gaps": sum(r["gaps"] for r in results),
        "conflations": sum(r["conflations"] for r in results),
        "unread": sum(r["unread"] for r in results),
        "disconnected": sum(r["disconnected"] for r in results),
        "server_frames_sent": server_sent,
        "client_cpu_us_per_msg": 1e6 * sum(r["cpu_s"] for r in results) / max(1, cpu_frames),
        "server_cpu_us_per_msg": 1e6 * cpu.cpu_s / max(1, messages),
        "latency_us": hist.summary(),
    }


def run_fanout(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "scenario": "fanout",
        "subscribers": args.subscribers,
        "client_procs": max(1, min(args.client_procs, args.subscribers)),
        "channel": args.channel,
        "rate": args.rate,
        "duration_s": args.duration,
        "fsync": args.fsync,
        "scanner": "C" if SCAN_NATIVE else "Python",
        "targets": {t: _fanout_target(t, args) for t in dict.fromkeys(args.targets)},
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


def _print_fanout(r: dict[str, Any]) -> None:
    """One row per target; the ratios are the gateway's row over the null row of this
    run (msgs/s: gateway / null, p99: gateway / null)."""
    print(
        f"fan-out: {r['subscribers']} subscribers of {r['channel']} over {r['client_procs']}"
        f" client processes, rate {r['rate']:g}/s, {r['duration_s']:g} s, fsync={r['fsync']},"
        f" {r['scanner']} scanner"
    )
    head = f"{'target':<8} {'msgs/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8}"
    head += f" {'max ms':>7} {'gaps':>5} {'confl':>5} {'unread':>6} {'lost':>5} {'sent':>9}"
    head += f" {'server us/msg':>13} {'client us/msg':>13} {'gw/null msgs/s':>14}"
    head += f" {'gw/null p99':>11}"
    print(head)
    targets = r["targets"]
    null = targets.get("null")
    for name, t in targets.items():
        lat = t["latency_us"]
        rate = p99 = ""
        if (
            null is not None
            and name != "null"
            and null["delivered_per_s"]
            and null["latency_us"]["p99"]
        ):
            rate = f"{t['delivered_per_s'] / null['delivered_per_s']:.2f}x"
            p99 = f"{lat['p99'] / null['latency_us']['p99']:.1f}x"
        print(
            f"{name:<8} {t['delivered_per_s']:>8} {lat['p50'] / 1000:>7.2f}"
            f" {lat['p99'] / 1000:>7.2f} {lat['p99.9'] / 1000:>8.2f} {lat['max_us'] / 1000:>7.2f}"
            f" {t['gaps']:>5} {t['conflations']:>5} {t['unread']:>6} {t['disconnected']:>5}"
            f" {int(t['server_frames_sent']):>9} {t.get('server_cpu_us_per_msg', 0):>13.2f}"
            f" {t['client_cpu_us_per_msg']:>13.2f}"
            f" {rate:>14} {p99:>11}"
        )
        if name == "gateway":
            print(f"         ({t['orders_sent']} orders sent, {t['order_errors']} errors)")
    for name in targets:
        print(f"  {name}: {TARGETS[name]}")


def print_table(result: dict[str, Any]) -> None:
    if result["scenario"] == "fanout":
        _print_fanout(result)
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
    fan.add_argument(
        "--targets",
        nargs="+",
        choices=tuple(TARGETS),
        default=list(TARGETS),
        help="what the subscribers read from, one after the other (default: both)",
    )
    fan.add_argument(
        "--self-test", action="store_true", help="the null server only (--targets null)"
    )
    fan.add_argument(
        "--null-drop-every",
        type=int,
        default=0,
        metavar="N",
        help="the null server leaves out every Nth delta (a planted gap, for tests)",
    )
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
    if args.cmd == "fanout" and args.self_test:
        args.targets = ["null"]
    result = run_fanout(args) if args.cmd == "fanout" else run_orders(args)
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
