"""FIX order-entry benchmark: one real gateway process, crossing limit orders.

``python -m loadtest.fix_bench [--in-flight 1 100] [--orders N] [--fsync never|batch]
[--uvloop] [--json FILE]``

A real :class:`~gateway.app.App` runs in a child process (temp journal and FIX store
directories, ports on 127.0.0.1, journal fsync per ``--fsync``). This process drives
it over TCP with two FIX 4.4 sessions: CLIENT1 (ACC1) buys and CLIENT2 (ACC2) sells at
the same price, alternately, so every sell trades against a resting buy and the book
stays near empty. NewOrderSingles are pre-encoded: only MsgSeqNum, SendingTime,
ClOrdID, BodyLength and CheckSum are patched per order.

Latency is send -> ExecutionReport 150=0 for that ClOrdID (the ack the gateway sends
after the journal append). At each in-flight level the client keeps exactly that many
orders unacknowledged; an order's slot frees on its ack (or a reject, counted as an
error). Each level is bounded by ``--orders`` and ``--max-seconds``; the first
``--warmup`` orders of a level are not measured.

The client is deliberately cheap (it shares the machine's cores with the gateway):
one asyncio Protocol class, and the only parsing is a search for ``150=`` and ``11=``
in each frame.

``--profile FILE`` runs the gateway under cProfile and writes the stats to FILE on
exit; ``--print-pid`` prints the gateway's pid (for ``py-spy record --pid``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from loadtest import run_loop
from loadtest.proccpu import proc_cpu_s

__all__ = ["main"]

SOH = b"\x01"
#: the demo config's passwords of the two sessions the benchmark uses
PASSWORDS = {"CLIENT1": "demo-client1", "CLIENT2": "demo-client2"}
SYMBOL = "BTC-USD"
PRICE = b"100.00"
QTY = b"0.1000"
CLORDID_WIDTH = 10


# --------------------------------------------------------------------------- server


def _serve(args: argparse.Namespace) -> int:
    """Child process: run an App on ephemeral ports; print its FIX port; stop on SIGTERM."""
    import dataclasses

    from gateway.app import App, configure_logging
    from gateway.config import load_config

    configure_logging("warning")
    tmp = args.serve
    cfg = load_config()
    cfg = dataclasses.replace(
        cfg,
        log_level="warning",
        busy_poll_us=args.busy_poll_us,
        journal=dataclasses.replace(
            cfg.journal, dir=os.path.join(tmp, "journal"), fsync=args.fsync
        ),
        fix=dataclasses.replace(
            cfg.fix,
            listen="127.0.0.1:0",
            store_dir=os.path.join(tmp, "fix"),
            adaptive_spin_us=(
                cfg.fix.adaptive_spin_us if args.adaptive_spin_us is None else args.adaptive_spin_us
            ),
        ),
        ws=dataclasses.replace(cfg.ws, listen="127.0.0.1:0"),
        http=dataclasses.replace(cfg.http, listen="127.0.0.1:0"),
        admin=dataclasses.replace(cfg.admin, listen="127.0.0.1:0"),
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        app = App(cfg)
        await app.start(pace_gc=True)  # as `python -m gateway` runs it
        admin_port = app.admin.port if app.admin is not None else 0
        ready = {"fix_port": app.fix.port, "admin_port": admin_port, "pid": os.getpid()}
        print(json.dumps(ready), flush=True)
        await stop.wait()
        await app.stop()

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        run_loop(run(), args.uvloop)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    return 0


class _EchoAcceptor(asyncio.Protocol):
    """The floor: answers a Logon with a Logon and each NewOrderSingle with a minimal
    ExecutionReport 150=0 for its ClOrdID, doing nothing else. The same client against
    it measures what the machine (loopback, scheduler, two asyncio processes) costs."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        import socket

        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        out = []
        while True:
            end = buf.find(b"\x0110=")
            if end == -1 or end + 8 > len(buf):
                break
            msg, buf = buf[: end + 8], buf[end + 8 :]
            msg_type = msg[msg.find(b"\x0135=") + 4]
            if msg_type == 0x41:  # A
                out.append(_frame(b"35=A\x0149=GATEWAY\x0156=X\x0134=1\x0198=0\x01108=30\x01"))
            elif msg_type == 0x44:  # D
                c = msg.find(b"\x0111=")
                clordid = msg[c + 4 : msg.index(SOH, c + 4)]
                out.append(_frame(b"35=8\x0134=2\x0111=" + clordid + b"\x01150=0\x0139=0\x01"))
        self.buf = buf
        if out:
            self.transport.write(b"".join(out))


def _serve_echo(args: argparse.Namespace) -> int:
    """Child process for --echo-floor: the echo acceptor on an ephemeral port."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        server = await loop.create_server(_EchoAcceptor, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"fix_port": port, "pid": os.getpid()}), flush=True)
        await stop.wait()
        server.close()

    run_loop(run(), args.uvloop)
    return 0


# --------------------------------------------------------------------------- encoding


def _frame(body: bytes) -> bytes:
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    msg = head + body
    return msg + b"10=%03d\x01" % (sum(msg) & 0xFF)


def _utc_ms() -> bytes:
    t = time.time()
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(t)).encode() + b".%03d" % (
        int(t * 1000) % 1000
    )


class OrderTemplate:
    """A NewOrderSingle with MsgSeqNum, SendingTime and ClOrdID patched in.

    BodyLength and CheckSum are computed from precomputed sums of the constant
    parts, so encoding an order touches only the few variable bytes.
    """

    def __init__(self, sender: str, side: bytes, account: str) -> None:
        self.p1 = b"35=D\x0149=" + sender.encode() + b"\x0156=GATEWAY\x0134="
        self.p2 = b"\x0152="
        self.p3 = b"\x0111="
        self.p4 = (
            b"\x011=" + account.encode() + b"\x0155=" + SYMBOL.encode() + b"\x0154=" + side
            + b"\x0160=%s\x0138=" + QTY + b"\x0140=2\x0144=" + PRICE + b"\x0159=1\x01"
        )  # fmt: skip
        self._const_sum = sum(self.p1) + sum(self.p2) + sum(self.p3)
        self._const_len = len(self.p1) + len(self.p2) + len(self.p3)

    def encode(self, seq: int, now: bytes, clordid: bytes) -> bytes:
        seqb = b"%d" % seq
        tail = self.p4 % now
        blen = self._const_len + len(seqb) + len(now) + len(clordid) + len(tail)
        head = b"8=FIX.4.4\x019=%d\x01" % blen
        cs = (sum(head) + self._const_sum + sum(seqb) + sum(now) + sum(clordid) + sum(tail)) & 0xFF
        return b"".join(
            (head, self.p1, seqb, self.p2, now, self.p3, clordid, tail, b"10=%03d\x01" % cs)
        )


# --------------------------------------------------------------------------- client


@dataclass
class Level:
    in_flight: int
    orders: int
    warmup: int
    max_seconds: float
    sent: int = 0
    acked: int = 0
    errors: int = 0
    outstanding: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    t_first_ns: int = 0
    t_last_ns: int = 0
    deadline: float = 0.0
    done: asyncio.Future[None] | None = None
    cpu_s: float = 0.0  # gateway process CPU (user + system) over the measured part


class Conn(asyncio.Protocol):
    """One FIX session's connection: logon, then NewOrderSingles and ER scanning."""

    def __init__(self, bench: Bench, sender: str, side: bytes, account: str) -> None:
        self.bench = bench
        self.sender = sender
        self.template = OrderTemplate(sender, side, account)
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.seq = 1
        self.out: list[bytes] = []
        self.out_ids: list[int] = []
        self.logged_on: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.other_msgs = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket

            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = (
            b"35=A\x0149=%s\x0156=GATEWAY\x0134=1\x0152=%s\x0198=0\x01108=30\x01141=Y\x01"
            b"553=%s\x01554=%s\x01"
        ) % (self.sender.encode(), _utc_ms(), self.sender.encode(), PASSWORDS[self.sender].encode())
        self.seq = 2
        transport.write(_frame(body))  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.bench.lost(self, exc)

    def queue_order(self, order_id: int, now: bytes) -> None:
        clordid = b"%0*d" % (CLORDID_WIDTH, order_id)
        self.out.append(self.template.encode(self.seq, now, clordid))
        self.out_ids.append(order_id)
        self.seq += 1

    def flush(self, send_ns: list[int]) -> None:
        if not self.out:
            return
        data = b"".join(self.out)
        t = time.perf_counter_ns()
        for order_id in self.out_ids:
            send_ns[order_id] = t
        self.out.clear()
        self.out_ids.clear()
        assert self.transport is not None
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        now_ns = time.perf_counter_ns()
        buf = self.buf + data if self.buf else data
        pos = 0
        n = len(buf)
        acks: list[int] = []
        rejects: list[int] = []
        while True:
            end = buf.find(b"\x0110=", pos)
            if end == -1 or end + 8 > n:
                break
            stop = end + 8
            k = buf.find(b"\x01150=", pos, end)
            if k != -1:
                et = buf[k + 5]
                if et == 0x30 or et == 0x38:  # '0' New, '8' Rejected
                    c = buf.find(b"\x0111=", pos, end)
                    if c != -1:
                        cid = buf[c + 4 : buf.index(SOH, c + 4)]
                        if cid.isdigit():
                            (acks if et == 0x30 else rejects).append(int(cid))
            else:
                mt = buf[
                    buf.find(b"\x0135=", pos) + 4 : buf.find(SOH, buf.find(b"\x0135=", pos) + 4)
                ]
                if mt == b"A" and not self.logged_on.done():
                    self.logged_on.set_result(None)
                elif mt not in (b"0", b"8"):
                    self.other_msgs += 1
                    if self.other_msgs <= 5:
                        print(f"{self.sender}: unexpected {buf[pos:stop]!r}", file=sys.stderr)
            pos = stop
        self.buf = buf[pos:] if pos < n else b""
        if acks or rejects:
            self.bench.on_acks(acks, rejects, now_ns)


class Bench:
    def __init__(self, conns_spec: list[tuple[str, bytes, str]], server_pid: int = 0) -> None:
        self.server_pid = server_pid
        self._cpu_mark = 0.0
        self.conns_spec = conns_spec
        self.conns: list[Conn] = []
        self.level: Level | None = None
        self.next_id = 1
        self.send_ns: list[int] = [0]
        self.measure_from = 0
        self.failure: str | None = None

    def lost(self, conn: Conn, exc: Exception | None) -> None:
        if self.level is not None and self.level.done is not None and not self.level.done.done():
            self.failure = f"{conn.sender}: connection lost ({exc})"
            self.level.done.set_result(None)

    async def connect(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        for sender, side, account in self.conns_spec:
            _, conn = await loop.create_connection(
                functools.partial(Conn, self, sender, side, account), "127.0.0.1", port
            )
            await asyncio.wait_for(conn.logged_on, 10)
            self.conns.append(conn)

    def _send(self, count: int) -> None:
        lv = self.level
        assert lv is not None
        count = min(count, lv.orders - lv.sent)
        if count <= 0 or time.monotonic() > lv.deadline:
            return
        now = _utc_ms()
        conns = self.conns
        nconn = len(conns)
        send_ns = self.send_ns
        for _ in range(count):
            oid = self.next_id
            self.next_id += 1
            send_ns.append(0)
            conns[oid % nconn].queue_order(oid, now)
        lv.sent += count
        lv.outstanding += count
        for conn in conns:
            conn.flush(send_ns)

    def on_acks(self, acks: list[int], rejects: list[int], now_ns: int) -> None:
        lv = self.level
        if lv is None:
            return
        send_ns = self.send_ns
        first = self.measure_from
        lat = lv.latencies_ns
        for oid in acks:
            if oid >= first:
                if not lv.t_first_ns:
                    lv.t_first_ns = send_ns[oid]
                    self._cpu_mark = proc_cpu_s(self.server_pid)
                lat.append(now_ns - send_ns[oid])
        lv.errors += len(rejects)
        freed = len(acks) + len(rejects)
        lv.acked += freed
        lv.outstanding -= freed
        lv.t_last_ns = now_ns
        self._send(freed)
        if lv.outstanding <= 0 and lv.done is not None and not lv.done.done():
            lv.done.set_result(None)

    async def run_level(self, in_flight: int, orders: int, warmup: int, max_s: float) -> Level:
        loop = asyncio.get_running_loop()
        lv = Level(in_flight, orders + warmup, warmup, max_s)
        lv.done = loop.create_future()
        lv.deadline = time.monotonic() + max_s
        self.level = lv
        # orders with id >= measure_from are measured (the first `warmup` are not)
        self.measure_from = self.next_id + warmup
        self._send(in_flight)
        try:
            await asyncio.wait_for(lv.done, max_s + 30)
        except TimeoutError:
            self.failure = f"in-flight {in_flight}: {lv.outstanding} orders never acknowledged"
        lv.cpu_s = proc_cpu_s(self.server_pid) - self._cpu_mark
        self.level = None
        return lv


def _pct(sorted_ns: list[int], p: float) -> float:
    if not sorted_ns:
        return float("nan")
    k = min(len(sorted_ns) - 1, max(0, math.ceil(p / 100 * len(sorted_ns)) - 1))  # nearest rank
    return sorted_ns[k] / 1000


def _summary(lv: Level) -> dict[str, Any]:
    lat = sorted(lv.latencies_ns)
    measured = len(lat)
    elapsed_s = (lv.t_last_ns - lv.t_first_ns) / 1e9 if lv.t_first_ns else 0.0
    return {
        "in_flight": lv.in_flight,
        "orders": measured,
        "errors": lv.errors,
        "seconds": round(elapsed_s, 3),
        "orders_per_s": round(measured / elapsed_s) if elapsed_s > 0 else 0,
        "p50_us": round(_pct(lat, 50), 1),
        "p99_us": round(_pct(lat, 99), 1),
        "p99_9_us": round(_pct(lat, 99.9), 1),
        "max_us": round(lat[-1] / 1000, 1) if lat else float("nan"),
        # gateway CPU per order: robust to other load on a shared machine
        "gw_cpu_us_per_order": round(lv.cpu_s * 1e6 / measured, 1) if measured else 0.0,
    }


#: A level run under some extra load: its in-flight count, and a context manager that
#: runs the load for the level's duration and yields a dict the load's figures go into.
LoadedLevel = tuple[int, Callable[[], AbstractContextManager[dict[str, Any]]]]


async def _drive(
    args: argparse.Namespace, port: int, pid: int, loaded: Sequence[LoadedLevel] = ()
) -> list[dict[str, Any]]:
    """Run args.in_flight's levels on one pair of sessions, then each loaded level."""
    bench = Bench([("CLIENT1", b"1", "ACC1"), ("CLIENT2", b"2", "ACC2")], pid)
    await bench.connect(port)
    plan: list[tuple[int, Callable[[], AbstractContextManager[dict[str, Any]]] | None]] = [
        (in_flight, None) for in_flight in args.in_flight
    ]
    plan += loaded
    results = []
    for in_flight, load in plan:
        extra: dict[str, Any] = {}
        with load() if load is not None else contextlib.nullcontext(extra) as extra:
            lv = await bench.run_level(in_flight, args.orders, args.warmup, args.max_seconds)
        if bench.failure:
            raise SystemExit(f"benchmark failed: {bench.failure}")
        results.append({**_summary(lv), **extra})
    for conn in bench.conns:
        assert conn.transport is not None
        conn.transport.close()
    return results


def _print_table(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    """One row per target and level; the ratios are against the gateway's row of the same
    level in this run (orders/s: target / gateway; p50: gateway / target)."""
    print(
        f"fix_bench: gateway fsync={args.fsync} uvloop={args.uvloop}"
        f" orders/level={args.orders} (+{args.warmup} warmup)"
    )
    head = f"{'target':<9} {'in-flight':>9} {'orders':>8} {'err':>4} {'secs':>7} {'orders/s':>9}"
    head += f" {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'max us':>9} {'cpu us/order':>12}"
    head += f" {'gw/target rate':>14} {'gw/target p50':>13}"
    print(head)
    gateway = {r["in_flight"]: r for r in results.get("gateway", [])}
    for target, rows in results.items():
        for r in rows:
            gw = gateway.get(r["in_flight"])
            rate = p50 = ""
            if gw is not None and r["orders_per_s"] and r["p50_us"]:
                rate = f"{gw['orders_per_s'] / r['orders_per_s']:.2f}x"
                p50 = f"{gw['p50_us'] / r['p50_us']:.2f}x"
            print(
                f"{target:<9} {r['in_flight']:>9} {r['orders']:>8} {r['errors']:>4}"
                f" {r['seconds']:>7.2f} {r['orders_per_s']:>9} {r['p50_us']:>8.1f}"
                f" {r['p99_us']:>8.1f} {r['p99_9_us']:>9.1f} {r['max_us']:>9.1f}"
                f" {r['gw_cpu_us_per_order']:>12.1f} {rate:>14} {p50:>13}"
            )
    for target in results:
        print(f"  {target}: {TARGET_TITLES[target]}")


def _ready_line(stdout: IO[str]) -> dict[str, Any]:
    """The child's ``{"fix_port": ...}`` line; log lines (also JSON, on stdout) before
    it are skipped."""
    for line in stdout:
        info = json.loads(line)
        if "fix_port" in info:
            return cast(dict[str, Any], info)
    raise SystemExit("gateway child exited before it was ready")


QUICKFIX_ACCEPTOR = Path(__file__).parent / "quickfix" / "ordermatch"
"""The QuickFIX C++ reference acceptor (`make quickfix-acceptor` builds it)."""

TARGETS = ("gateway", "echo", "quickfix")
TARGET_TITLES = {
    "gateway": "gateway",
    "echo": "null acceptor (Python echo, the ceiling)",
    "quickfix": "QuickFIX C++ acceptor + minimal matcher",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quickfix_settings(tmp: str, port: int) -> str:
    """A QuickFIX acceptor for CLIENT1 and CLIENT2 that validates against our FIX 4.4
    dictionary and keeps a file message store, as the gateway does."""
    spec = Path(__file__).resolve().parent.parent / "fix_specs" / "FIX44.xml"
    sessions = "".join(f"[SESSION]\nTargetCompID={c}\n" for c in ("CLIENT1", "CLIENT2"))
    path = os.path.join(tmp, "quickfix.cfg")
    with open(path, "w") as fh:
        fh.write(
            "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=GATEWAY\n"
            f"SocketAcceptPort={port}\nSocketAcceptAddress=127.0.0.1\nSocketReuseAddress=Y\n"
            "SocketNodelay=Y\nStartTime=00:00:00\nEndTime=00:00:00\nResetOnLogon=Y\n"
            f"FileStorePath={os.path.join(tmp, 'quickfix-store')}\n"
            f"UseDataDictionary=Y\nDataDictionary={spec}\n" + sessions
        )
    return path


def _start(
    target: str, args: argparse.Namespace, tmp: str
) -> tuple[subprocess.Popen[str], int, int]:
    """Start one target in a child process: (process, FIX port, pid)."""
    if target == "quickfix":
        port = _free_port()
        cmd = [str(QUICKFIX_ACCEPTOR), _quickfix_settings(tmp, port)]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise SystemExit("the QuickFIX acceptor exited before it was ready")
        return child, port, child.pid
    child, info = start_python_target(target, args, tmp)
    return child, int(info["fix_port"]), int(info["pid"])


def start_python_target(
    target: str, args: argparse.Namespace, tmp: str
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start the gateway or the echo acceptor in a child process: (process, its ready
    line: fix_port, pid and, for the gateway, admin_port). The gateway's journal is
    ``tmp/journal``, recovered if it exists."""
    cmd = [sys.executable, "-m", "loadtest.fix_bench", "--serve", tmp, "--fsync", args.fsync]
    cmd += ["--busy-poll-us", str(args.busy_poll_us)]
    if args.adaptive_spin_us is not None:
        cmd += ["--adaptive-spin-us", str(args.adaptive_spin_us)]
    if target == "echo":
        cmd = [sys.executable, "-m", "loadtest.fix_bench", "--serve-echo"]
    if args.uvloop:
        cmd.append("--uvloop")
    if args.profile and target == "gateway":
        cmd += ["--profile", os.path.abspath(args.profile)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, _ready_line(child.stdout)


def stop_child(child: subprocess.Popen[str]) -> None:
    """SIGTERM a target and wait for it (killed if it takes longer than 30 s)."""
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(30)
    except subprocess.TimeoutExpired:
        child.kill()


def _run_target(target: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix=f"fix_bench-{target}-") as tmp:
        child, port, pid = _start(target, args, tmp)
        try:
            if args.print_pid:
                print(f"{target} pid {pid}", flush=True)
            return run_loop(_drive(args, port, pid), args.uvloop)
        finally:
            stop_child(child)


def _targets(args: argparse.Namespace) -> list[str]:
    """The targets to run, in order; the QuickFIX one only where it has been built."""
    if args.echo_floor:
        return ["echo"]
    targets = list(dict.fromkeys(args.targets))
    if "quickfix" in targets and not QUICKFIX_ACCEPTOR.exists():
        if args.targets_given:
            raise SystemExit(f"{QUICKFIX_ACCEPTOR} is not built: run `make quickfix-acceptor`")
        print(
            "fix_bench: skipping the QuickFIX acceptor (not built; `make quickfix-acceptor`"
            " needs g++ and libquickfix-dev)",
            file=sys.stderr,
        )
        targets.remove("quickfix")
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.fix_bench", description=__doc__)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--orders", type=int, default=50_000, help="measured orders per level")
    parser.add_argument("--warmup", type=int, default=2_000, help="unmeasured orders per level")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time bound per level")
    parser.add_argument("--fsync", choices=("never", "batch", "interval"), default="batch")
    parser.add_argument("--uvloop", action="store_true", help="uvloop in gateway and client")
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=TARGETS,
        default=None,
        help="what to drive, one after the other in this run (default: all three; the"
        " QuickFIX acceptor only if built)",
    )
    parser.add_argument(
        "--busy-poll-us",
        type=int,
        default=0,
        help="the gateway's busy_poll_us (keep its loop polling after each command)",
    )
    parser.add_argument(
        "--adaptive-spin-us",
        type=int,
        default=None,
        help="the gateway's [fix] adaptive_spin_us (default: the config's; 0 = off)",
    )
    parser.add_argument("--json", help="write the results as JSON to this file")
    parser.add_argument("--profile", help="cProfile the gateway; stats to this file")
    parser.add_argument("--print-pid", action="store_true", help="print each target's pid")
    parser.add_argument(
        "--echo-floor", action="store_true", help="the same as --targets echo (kept for scripts)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # child mode: temp dir
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_echo:
        return _serve_echo(args)
    if args.serve:
        return _serve(args)
    args.targets_given = args.targets is not None
    if args.targets is None:
        args.targets = list(TARGETS)

    results = {target: _run_target(target, args) for target in _targets(args)}
    _print_table(results, args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"fsync": args.fsync, "uvloop": args.uvloop, "targets": results}, fh, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
