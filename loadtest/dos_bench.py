"""Connection-level denial of service: does trading stay fast while the edges are attacked?

Issue #14's test, against a real gateway (``python -m gateway`` on a temp dir, loopback
only, the default connection caps and timeouts): 200 concurrent wrong-password FIX
logons (each answered with Logout + disconnect, then tried again) plus 1,000 idle
connections (FIX, WebSocket and HTTP, each re-opened when the gateway closes it).

A trading session (LOAD1, from 127.0.0.1) sends one IOC order at a time, paced, and a
probe GETs ``/health`` over a new connection every 50 ms. Both are measured quiet, then
under attack. The attack runs in a child process from other loopback addresses
(127.0.0.2-5 log on, 127.0.1.x idle; Linux routes 127/8 to lo), so the per-source
caps apply to it and not to the trader. Targets: the trader's order-ack p99 under attack
within 2 ms of its quiet p99; ``/health`` p99 under attack below 10 ms with every probe
answered.

    python -m loadtest.dos_bench [--duration 15] [--rate 200]      (make bench-dos)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gateway.config import FixConfig, WsConfig
from loadtest import run_loop
from loadtest.fix_client import FixClient, FixSessionConfig
from loadtest.fixproto import encode, sending_time
from loadtest.gateway_runner import LOAD_PASSWORD, GatewayProcess, metric_sum, scrape_metrics
from loadtest.histogram import LatencyHistogram
from loadtest.proccpu import CpuSample, cpu_sample, proc_cpu_s
from loadtest.stats import SessionStats

__all__ = ["main"]

ACK_P99_SLACK_US = 2_000
HEALTH_P99_US = 10_000
PROBE_EVERY_S = 0.05
ACK_WAIT_S = 10.0
#: Each wrong-password client aims at its own password session LOAD2, LOAD3, ... (never
#: the trader's LOAD1), so that each try costs a password check (or, once the source is
#: throttled, a refusal), not the cheaper refusal of a session already connected.
FIRST_VICTIM = 2
LOGON_SOURCES = [f"127.0.0.{n}" for n in range(2, 6)]
#: How the idle connections are spread over the edges.
IDLE_SHARE = {"fix": 0.4, "ws": 0.4, "http": 0.2}


def _raise_own_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ============================================================================ attacker


@dataclass
class _AttackStats:
    counts: Counter[str] = field(default_factory=Counter)


async def _connect(
    port: int, source: str, st: _AttackStats, what: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection from ``source``; None (counted, after a short pause) if it failed."""
    try:
        return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    except OSError:
        st.counts[f"{what}.connect_failed"] += 1
        await asyncio.sleep(0.1)
        return None


async def _wrong_logons(
    port: int, source: str, target: str, stop: asyncio.Event, st: _AttackStats, pause: float
) -> None:
    """Log on with a wrong password, wait for the gateway to hang up, ``pause``, again."""
    while not stop.is_set():
        streams = await _connect(port, source, st, "logon")
        if streams is None:
            continue
        reader, writer = streams
        fields: list[tuple[int, bytes | str | int]] = [
            (35, b"A"),
            (49, target),
            (56, b"GATEWAY"),
            (34, 1),
            (52, sending_time()),
            (98, 0),
            (108, 30),
            (141, b"Y"),
            (553, target),
            (554, b"wrong-password"),
        ]
        writer.write(encode(b"FIX.4.4", fields))
        st.counts["logon.sent"] += 1
        try:
            answer = await asyncio.wait_for(reader.read(65536), 30)
            st.counts["logon.answered" if b"\x0135=5\x01" in answer else "logon.closed"] += 1
            while await asyncio.wait_for(reader.read(65536), 30):
                pass
        except (OSError, TimeoutError):
            st.counts["logon.error"] += 1
        writer.close()
        await asyncio.sleep(pause)


async def _idle(
    edge: str, port: int, source: str, stop: asyncio.Event, st: _AttackStats, opened: asyncio.Event
) -> None:
    """Hold a connection that never says anything; re-open it when the gateway closes it."""
    while not stop.is_set():
        streams = await _connect(port, source, st, f"idle.{edge}")
        if streams is None:
            continue
        reader, writer = streams
        st.counts[f"idle.{edge}.opened"] += 1
        opened.set()
        started = time.monotonic()
        with contextlib.suppress(OSError):
            await reader.read(1)  # EOF: closed by the gateway
        held = time.monotonic() - started
        st.counts[f"idle.{edge}.closed_{'at_accept' if held < 0.5 else 'after_timeout'}"] += 1
        writer.close()
        if held < 0.5:
            await asyncio.sleep(0.5)  # refused: do not spin


async def _attack(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    st = _AttackStats()
    ports = {"fix": args.fix_port, "ws": args.ws_port, "http": args.http_port}
    tasks: list[asyncio.Task[None]] = []
    for n in range(args.logons):
        source, target = LOGON_SOURCES[n % len(LOGON_SOURCES)], f"LOAD{FIRST_VICTIM + n}"
        tasks.append(
            loop.create_task(
                _wrong_logons(args.fix_port, source, target, stop, st, args.retry_after)
            )
        )
    opened: list[asyncio.Event] = []
    n = 0
    for edge, share in IDLE_SHARE.items():
        for _ in range(round(args.idle * share)):
            opened.append(asyncio.Event())
            source = f"127.0.1.{1 + n % args.idle_sources}"
            tasks.append(loop.create_task(_idle(edge, ports[edge], source, stop, st, opened[-1])))
            n += 1
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 20)
    print("READY", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(dict(sorted(st.counts.items()))), flush=True)


# ============================================================================ measurer


@dataclass
class Phase:
    ack: LatencyHistogram = field(default_factory=LatencyHistogram)
    health: LatencyHistogram = field(default_factory=LatencyHistogram)
    outcomes: Counter[str] = field(default_factory=Counter)
    probe_failures: int = 0
    #: the gateway's CPU seconds during the phase (event-loop thread, worker threads)
    gateway_cpu: CpuSample = field(default_factory=CpuSample)
    seconds: float = 0.0


async def _trade(client: FixClient, rate: float, until: float, phase: Phase) -> None:
    """One IOC buy at a time, well below any offer: acked (expired), never resting."""
    gap = 1.0 / rate
    next_at = time.monotonic()
    while time.monotonic() < until:
        t0 = time.perf_counter_ns()
        try:
            answer = await asyncio.wait_for(
                client.send_new(b"BTC-USD", b"1", b"100", b"0.01", t0, tif=b"3"), ACK_WAIT_S
            )
            phase.outcomes[answer.outcome] += 1
        except TimeoutError:
            phase.outcomes["no answer in time"] += 1
        phase.ack.record_us((time.perf_counter_ns() - t0) // 1000)
        next_at = max(next_at + gap, time.monotonic())
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def _probe_health(port: int, until: float, phase: Phase) -> None:
    """GET /health over a new connection every PROBE_EVERY_S, as a monitor does."""
    while time.monotonic() < until:
        t0 = time.perf_counter_ns()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            writer.write(b"GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            line = await asyncio.wait_for(reader.readline(), 2)
            writer.close()
            if line.startswith(b"HTTP/1.1 200"):
                phase.health.record_us((time.perf_counter_ns() - t0) // 1000)
            else:
                phase.probe_failures += 1
        except (OSError, TimeoutError):
            phase.probe_failures += 1
        await asyncio.sleep(PROBE_EVERY_S)


async def _phase(gw: GatewayProcess, client: FixClient, args: argparse.Namespace) -> Phase:
    phase = Phase()
    cpu_before, started = cpu_sample(gw.pid), time.monotonic()
    until = started + args.duration
    await asyncio.gather(
        _trade(client, args.rate, until, phase), _probe_health(gw.http_port, until, phase)
    )
    phase.gateway_cpu = cpu_sample(gw.pid) - cpu_before
    phase.seconds = time.monotonic() - started
    return phase


def _progress(text: str) -> None:
    print(f"[dos_bench] {text}", file=sys.stderr, flush=True)


def _start_attacker(gw: GatewayProcess, args: argparse.Namespace) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "loadtest.dos_bench",
        "_attack",
        "--fix-port",
        str(gw.fix_port),
        "--ws-port",
        str(gw.ws_port),
        "--http-port",
        str(gw.http_port),
        "--logons",
        str(args.logons),
        "--idle",
        str(args.idle),
        "--retry-after",
        str(args.retry_after),
        "--idle-sources",
        str(args.idle_sources),
    ]
    if args.uvloop:
        cmd.append("--uvloop")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "READY":
        proc.kill()
        raise RuntimeError("attacker did not start")
    return proc


def _stop_attacker(proc: subprocess.Popen[str]) -> dict[str, int]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {}
    lines = out.strip().splitlines()
    return dict(json.loads(lines[-1])) if lines else {}


async def _measure(gw: GatewayProcess, args: argparse.Namespace) -> dict[str, Any]:
    cfg = FixSessionConfig(port=gw.fix_port, sender="LOAD1", password=LOAD_PASSWORD)
    client = FixClient(cfg, SessionStats("trader", "fix"))
    await client.connect()
    await _phase(gw, client, argparse.Namespace(**{**vars(args), "duration": 1}))
    _progress(f"quiet phase, {args.duration:g} s")
    quiet = await _phase(gw, client, args)
    _progress(f"starting the attack: {args.logons} wrong-password logons, {args.idle} idle")
    attacker = await asyncio.to_thread(_start_attacker, gw, args)
    _progress(f"attack phase, {args.duration:g} s")
    try:
        attacker_cpu_before = proc_cpu_s(attacker.pid)
        attacked = await _phase(gw, client, args)
        attacker_cpu = proc_cpu_s(attacker.pid) - attacker_cpu_before
    finally:
        attack = await asyncio.to_thread(_stop_attacker, attacker)
    metrics = await asyncio.to_thread(scrape_metrics, gw.http_url + "/metrics", 30.0)
    await client.logout()
    return {
        "quiet": quiet,
        "attack": attacked,
        "attacker": attack,
        "attacker_cpu_s": attacker_cpu,
        "metrics": metrics,
    }


def _report(result: dict[str, Any]) -> bool:
    quiet: Phase = result["quiet"]
    attack: Phase = result["attack"]
    metrics: dict[str, float] = result["metrics"]
    print(
        f"{'phase':<8}{'orders':>8}{'ack p50 us':>12}{'ack p99 us':>12}"
        f"{'health n':>10}{'p50 us':>9}{'p99 us':>9}{'max us':>9}{'failed':>8}"
    )
    for name, ph in (("quiet", quiet), ("attack", attack)):
        print(
            f"{name:<8}{ph.ack.count:>8}{ph.ack.percentile(50):>12}{ph.ack.percentile(99):>12}"
            f"{ph.health.count:>10}{ph.health.percentile(50):>9}"
            f"{ph.health.percentile(99):>9}{ph.health.max_us:>9}{ph.probe_failures:>8}"
        )
    print("order outcomes:", dict(quiet.outcomes + attack.outcomes))
    print(f"{'phase':<8}{'gateway CPU s':>14}{'loop s':>8}{'threads s':>10}{'per s':>7}")
    for name, ph in (("quiet", quiet), ("attack", attack)):
        cpu = ph.gateway_cpu
        print(
            f"{name:<8}{cpu.total_s:>14.2f}{cpu.main_s:>8.2f}{cpu.threads_s:>10.2f}"
            f"{cpu.total_s / max(ph.seconds, 1e-9):>7.2f}"
        )
    print(f"attacker process CPU during the attack phase: {result['attacker_cpu_s']:.2f} s")
    print("attacker:", result["attacker"])
    for proto in ("fix", "ws", "http"):
        refused = {
            reason: int(
                metric_sum(metrics, "gw_connections_refused_total", protocol=proto, reason=reason)
            )
            for reason in ("per_source", "total")
        }
        open_now = int(metric_sum(metrics, "gw_connections", protocol=proto))
        print(
            f"gateway {proto}: refused at accept {refused}"
            + (f", open {open_now}" if proto != "http" else "")
        )
    delta = attack.ack.percentile(99) - quiet.ack.percentile(99)
    ack_ok = attack.ack.count > 0 and delta <= ACK_P99_SLACK_US
    health_ok = attack.health.percentile(99) <= HEALTH_P99_US and attack.probe_failures == 0
    print(
        f"ack p99 under attack - quiet = {delta} us (target <= {ACK_P99_SLACK_US}): "
        f"{'PASS' if ack_ok else 'FAIL'}"
    )
    print(
        f"/health p99 under attack = {attack.health.percentile(99)} us (target <= "
        f"{HEALTH_P99_US}, no failures): {'PASS' if health_ok else 'FAIL'}"
    )
    print("PASS" if ack_ok and health_ok else "FAIL")
    return ack_ok and health_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.dos_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd")
    att = sub.add_parser("_attack", help="(internal) the attacking child process")
    for name in ("--fix-port", "--ws-port", "--http-port"):
        att.add_argument(name, type=int, required=True)
    for p in (parser, att):
        p.add_argument("--logons", type=int, default=200, help="concurrent wrong-password logons")
        p.add_argument("--idle", type=int, default=1000, help="idle connections held open")
        p.add_argument("--uvloop", action="store_true", help="uvloop in the bench processes")
        p.add_argument(
            "--idle-sources",
            type=int,
            default=1,
            choices=range(1, 255),
            metavar="N",
            help="how many addresses the idle connections come from",
        )
        p.add_argument(
            "--retry-after",
            type=float,
            default=0.0,
            help="seconds a wrong-password client waits before its next try",
        )
    parser.add_argument(
        "--duration", type=float, default=15.0, help="seconds per phase (3,000 orders at 200/s)"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="trader orders per second")
    parser.add_argument("--fsync", default="never", choices=["batch", "interval", "never"])
    args = parser.parse_args(argv)
    _raise_own_fd_limit()
    if args.cmd == "_attack":
        run_loop(_attack(args), args.uvloop)
        return 0
    # the default caps (the load runner lifts the per-source ones for its loopback clients)
    caps = {
        "fix": {"max_connections_per_source": FixConfig.max_connections_per_source},
        "ws": {"max_connections_per_source": WsConfig.max_connections_per_source},
    }
    sessions = FIRST_VICTIM - 1 + args.logons
    with GatewayProcess(fsync=args.fsync, load_sessions=sessions, overrides=caps) as gw:
        result = run_loop(_measure(gw, args), args.uvloop)
    return 0 if _report(result) else 1


if __name__ == "__main__":
    sys.exit(main())
