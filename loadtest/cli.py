"""``python -m loadtest <scenario> [options]``: run a load scenario and report it.

Examples::

    # harness ceiling: FIX order flow against the built-in null acceptor, 10 s
    python -m loadtest fix-orders --self-test --in-flight 100 --duration 10 --out var/loadtest

    # a gateway on this host: 4 FIX sessions (CLIENT1..CLIENT4), open loop 20k orders/s
    python -m loadtest fix-orders --sessions 4 --rate 20000 --duration 30 --password secret

    # 500 WebSocket book subscribers while FIX orders flow, load spread over 2 processes
    python -m loadtest md-fanout --subscribers 500 --rate 2000 --duration 20 --procs 2

    # soak: 1000 orders/s for an hour, sampling the gateway's memory
    python -m loadtest soak --rate 1000 --duration 3600 --gateway-pid $GATEWAY_PID

Every run is bounded by ``--count`` and/or ``--duration`` (default 10 s) and stops by
itself.  Targets are loopback only unless ``--host`` names another host.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import ipaddress
import json
import math
import multiprocessing as mp
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from loadtest.gateway_runner import LOAD_PASSWORD, GatewayProcess, metric_sum
from loadtest.progress import ProgressPrinter
from loadtest.report import build_result, render_terminal, write_outputs
from loadtest.scenarios import (
    DEFAULT_INSTRUMENTS,
    SCENARIOS,
    Instrument,
    OrderMix,
    RunConfig,
    proc_roles,
    run_proc,
)
from loadtest.stats import merge_run_dicts

__all__ = ["build_parser", "main", "run"]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Load generator for FIX 4.4 acceptors and the gateway's WebSocket API.",
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("scenario", choices=SCENARIOS)
    t = ap.add_argument_group("target")
    t.add_argument("--host", help="target host (default 127.0.0.1; needed for non-loopback)")
    t.add_argument("--fix-port", type=int, default=9878)
    t.add_argument("--ws-url", help="WebSocket URL (default ws://<host>:8765/ws)")
    t.add_argument("--ws-port", type=int, default=8765)
    t.add_argument(
        "--self-test",
        action="store_true",
        help="run against built-in null FIX/WS targets (harness ceiling)",
    )
    t.add_argument(
        "--spawn-gateway",
        action="store_true",
        help="start a gateway (python -m gateway) on a temporary data dir and free "
        "loopback ports for this run, fill in its demo credentials, report its "
        "/metrics counters next to ours, stop it at the end",
    )
    t.add_argument(
        "--gateway-fsync",
        choices=("batch", "interval", "never"),
        default="batch",
        help="--spawn-gateway: the gateway's [journal] fsync",
    )
    t.add_argument(
        "--md-rate",
        type=float,
        default=1000.0,
        help="self-test: book deltas/s the null WS server pushes",
    )
    f = ap.add_argument_group("FIX session")
    f.add_argument(
        "--sender",
        default="CLIENT{n}",
        help="SenderCompID; {n} = session number 1..N (default CLIENT{n})",
    )
    f.add_argument("--target", default="GATEWAY", help="TargetCompID")
    f.add_argument("--begin-string", default="FIX.4.4")
    f.add_argument("--username", help="Username 553 ({n} allowed; default SenderCompID)")
    f.add_argument("--password", help="Password 554")
    f.add_argument("--ed25519-key", help="Ed25519 private key (PEM file or 32-byte hex seed)")
    f.add_argument("--key-id", help="key id sent in 553 with an Ed25519 logon ({n} allowed)")
    f.add_argument(
        "--sig-encoding",
        choices=("base64", "hex", "raw"),
        default="base64",
        help="RawData 96 encoding of the Ed25519 signature",
    )
    f.add_argument("--account", help="Account tag 1 ({n} allowed)")
    f.add_argument("--stp", help="STP mode, sent in custom tag 7928")
    f.add_argument("--heartbeat", type=int, default=30, help="HeartBtInt 108, seconds")
    f.add_argument("--no-reset", action="store_true", help="do not send ResetSeqNumFlag 141=Y")
    w = ap.add_argument_group("WebSocket")
    w.add_argument("--ws-api-key", help="api_key for session.logon")
    w.add_argument("--ws-secret", help="HMAC-SHA256 secret for session.logon")
    w.add_argument("--ws-ed25519-key", help="Ed25519 key for session.logon")
    w.add_argument(
        "--md-recv-buffer",
        type=int,
        default=0,
        metavar="BYTES",
        help="SO_RCVBUF of each md subscriber socket (default 0: kernel autotuning, up to "
        "net.ipv4.tcp_rmem max; a cap keeps a slow subscriber's backlog at the target)",
    )
    w.add_argument(
        "--md-channels",
        default="book.{symbol}.10",
        help="comma list of channels per subscriber; {symbol} expands",
    )
    ld = ap.add_argument_group("load")
    ld.add_argument("--sessions", type=int, default=1, help="FIX order-entry sessions")
    ld.add_argument("--ws-sessions", type=int, default=1, help="WebSocket order connections")
    ld.add_argument("--subscribers", type=int, default=10, help="WebSocket md subscribers")
    ld.add_argument(
        "--in-flight", type=int, default=1, help="closed loop: requests outstanding per session"
    )
    ld.add_argument(
        "--rate",
        type=float,
        help="open loop: total requests/s over all sessions (latency from intended send time)",
    )
    ld.add_argument("--duration", type=float, help="seconds (default 10, soak 60)")
    ld.add_argument("--count", type=int, help="total requests")
    ld.add_argument("--mix", default=str(OrderMix()), help="order mix weights")
    ld.add_argument("--symbols", default="BTC-USD", help="comma list")
    ld.add_argument(
        "--instrument",
        action="append",
        default=[],
        metavar="SYM:MID:TICK:LOT",
        help="define/override an instrument, e.g. SOL-USD:150.00:0.01:0.01",
    )
    ld.add_argument("--max-open", type=int, default=200, help="resting orders per session")
    ld.add_argument(
        "--procs",
        type=int,
        help="load processes, histograms merged (default 1; md-fanout/mixed: 2, "
        "order flow and subscribers in separate processes)",
    )
    ld.add_argument(
        "--order-procs",
        type=int,
        help="md-fanout/mixed with --procs >= 2: processes for the order flow "
        "(default procs/4, at least 1); the others run the subscribers",
    )
    ld.add_argument("--seed", type=int, default=1)
    ld.add_argument("--bucket", type=float, default=1.0, help="timeline bucket, seconds")
    o = ap.add_argument_group("output")
    o.add_argument("--out", help="directory for the JSON result and HTML report")
    o.add_argument("--ceiling", help="a --self-test result JSON to judge which side limited")
    o.add_argument("--gateway-pid", type=int, help="soak: sample this process's memory")
    o.add_argument("--metrics-url", help="soak: Prometheus URL with process_resident_memory_bytes")
    o.add_argument("--quiet", action="store_true", help="no progress line")
    return ap


_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def config_from_args(args: argparse.Namespace) -> RunConfig:
    host = args.host or "127.0.0.1"
    ws_url = args.ws_url or f"ws://{'[' + host + ']' if ':' in host else host}:{args.ws_port}/ws"
    for h in (host, urlsplit(ws_url).hostname or ""):
        if not is_loopback(h) and h != args.host:
            raise SystemExit(f"refusing non-loopback target {h!r}: name it with --host {h}")
    instruments = dict(DEFAULT_INSTRUMENTS)
    for spec in args.instrument:
        try:
            sym, mid, tick, lot = spec.split(":")
        except ValueError:
            raise SystemExit(f"--instrument {spec!r}: expected SYM:MID:TICK:LOT") from None
        instruments[sym] = Instrument(sym, mid, tick, lot)
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    for s in symbols:
        if s not in instruments:
            raise SystemExit(f"unknown symbol {s!r}: define it with --instrument")
    try:
        OrderMix.parse(args.mix)
    except ValueError as exc:
        raise SystemExit(f"--mix: {exc}") from None
    duration = args.duration
    rate = args.rate
    if args.scenario == "soak":
        rate = rate or 1000.0
        if duration is None:
            duration = 60.0
    if duration is None and args.count is None:
        duration = 10.0
    if args.procs is None:
        args.procs = 2 if args.scenario in ("md-fanout", "mixed") else 1
    for name in ("sessions", "ws_sessions", "in_flight", "procs"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1")
    if args.scenario in ("md-fanout", "mixed") and args.subscribers < 1:
        raise SystemExit("--subscribers must be >= 1")
    return RunConfig(
        scenario=args.scenario,
        host=host,
        fix_port=args.fix_port,
        ws_url=ws_url,
        sender=args.sender,
        target=args.target,
        begin_string=args.begin_string,
        username=args.username,
        password=args.password,
        ed25519_key=args.ed25519_key,
        key_id=args.key_id,
        sig_encoding=args.sig_encoding,
        account=args.account,
        stp=args.stp,
        heartbeat_s=args.heartbeat,
        reset_on_logon=not args.no_reset,
        ws_api_key=args.ws_api_key,
        ws_hmac_secret=args.ws_secret,
        ws_ed25519_key=args.ws_ed25519_key,
        sessions=args.sessions,
        ws_sessions=args.ws_sessions,
        subscribers=args.subscribers,
        md_channels=[c.strip() for c in args.md_channels.split(",") if c.strip()],
        in_flight=args.in_flight,
        rate=rate,
        duration_s=duration,
        count=args.count,
        mix=args.mix,
        symbols=symbols,
        instruments=instruments,
        max_open_per_session=args.max_open,
        seed=args.seed,
        bucket_s=args.bucket,
        gateway_pid=args.gateway_pid,
        metrics_url=args.metrics_url,
        progress=not args.quiet,
        self_test=args.self_test,
        order_procs=args.order_procs,
        md_recv_buffer=args.md_recv_buffer,
    )


def _public_config(cfg: RunConfig) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    for secret in ("password", "ws_hmac_secret"):
        if d.get(secret):
            d[secret] = "***"
    return d


class NullTargets:
    """The null FIX/WS targets in a subprocess (so they do not share our event loop)."""

    def __init__(self, md_rate: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadtest.null_acceptor",
                "--fix-port",
                "0",
                "--ws-port",
                "0",
                "--md-rate",
                str(md_rate),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise SystemExit("self-test: the null acceptor did not start")
        info = json.loads(line)
        self.fix_port = int(info["fix_port"])
        self.ws_port = int(info["ws_port"])
        self.pid = int(info["pid"])

        #: the null server's own counters, printed when it stops
        self.stats: dict[str, Any] = {}

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(3)
        if self.proc.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                self.stats = json.loads(self.proc.stdout.readline() or b"{}")


def _event_loop_runner() -> Callable[[Any], Any]:
    try:
        import uvloop

        return uvloop.run
    except ImportError:  # pragma: no cover
        import asyncio

        return asyncio.run


def _child(
    cfg: RunConfig,
    proc: int,
    nprocs: int,
    results: Any,
    progress: Any | None,
    barrier: Any,
    flows_done: Any,
) -> None:
    cb = progress.put if progress is not None else None

    def wait_start() -> None:
        # Every process starts its load when all have connected (bounded wait).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(cfg.setup_timeout_s)

    try:
        out = _event_loop_runner()(
            run_proc(cfg, proc, nprocs, cb, start_barrier=wait_start, flows_done=flows_done.wait)
        )
        results.put((proc, out, None))
    except BaseException as exc:
        results.put((proc, None, f"{type(exc).__name__}: {exc}"))


def _run_procs(
    cfg: RunConfig, nprocs: int, printer: ProgressPrinter | None
) -> list[dict[str, Any]]:
    if nprocs == 1:
        cb = printer.update if printer is not None else None
        return [_event_loop_runner()(run_proc(cfg, 0, 1, cb))]
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    progress = ctx.Queue() if printer is not None else None
    barrier = ctx.Barrier(nprocs)
    flows_done = ctx.Event()
    roles = proc_roles(cfg, nprocs)
    procs = [
        ctx.Process(
            target=_child,
            args=(cfg, i, nprocs, results, progress, barrier, flows_done),
            daemon=True,
        )
        for i in range(nprocs)
    ]
    for p in procs:
        p.start()
    done = threading.Event()

    def pump() -> None:
        while not done.is_set():
            try:
                snap = progress.get(timeout=0.2) if progress is not None else None
            except queue.Empty:
                continue
            if snap is not None and printer is not None:
                printer.update(snap)

    pumper = threading.Thread(target=pump, daemon=True)
    if progress is not None:
        pumper.start()
    # Bounded: connecting (setup_timeout_s), the run, its drain, and the hand-over of
    # the figures; a count-bounded run without a duration gets the pacers' own bound.
    run_s = cfg.duration_s if cfg.duration_s is not None else 600.0
    budget = cfg.setup_timeout_s + run_s + cfg.drain_timeout_s + 30.0
    t_end = time.monotonic() + budget
    outs: dict[int, dict[str, Any]] = {}
    errors: list[str] = []
    failed: set[int] = set()
    gone: dict[int, float] = {}  # exited without a report yet: when we noticed
    while len(outs) + len(failed) < nprocs:
        left = t_end - time.monotonic()
        if left <= 0:
            missing = sorted(set(range(nprocs)) - set(outs) - failed)
            errors.append(f"load process(es) {missing} did not report within {budget:.0f} s")
            break
        try:
            idx, out, err = results.get(timeout=min(1.0, left))
        except queue.Empty:
            # A process that died (killed, crashed in C) never reports: say so at once
            # instead of waiting out the budget (its result, if any, was flushed into
            # the queue before it exited, so allow a moment for it to arrive).
            now = time.monotonic()
            for i, p in enumerate(procs):
                if i in outs or i in failed or p.exitcode is None:
                    continue
                if now - gone.setdefault(i, now) > 3.0:
                    errors.append(
                        f"proc {i} ({roles[i]}) exited with code {p.exitcode} without reporting"
                    )
                    failed.add(i)
            continue
        if err:
            errors.append(f"proc {idx}: {err}")
            failed.add(idx)
        else:
            outs[idx] = out
        reported = set(outs) | failed
        if all(i in reported or r == "md" for i, r in enumerate(roles)):
            flows_done.set()  # subscriber-only processes of a count-bounded run may stop
    done.set()
    flows_done.set()
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.terminate()
    if errors:
        raise SystemExit("load process failed: " + "; ".join(errors))
    return [outs[i] for i in sorted(outs)]


def run(argv: list[str]) -> dict[str, Any]:
    """Parse ``argv``, run the scenario, print the summary, write outputs; return the result."""
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    started = time.time()
    null: NullTargets | None = None
    target: dict[str, Any] = {"fix": f"{cfg.host}:{cfg.fix_port}", "ws": cfg.ws_url}
    if cfg.self_test:
        null = NullTargets(args.md_rate)
        cfg.host = "127.0.0.1"
        cfg.fix_port = null.fix_port
        cfg.ws_url = f"ws://127.0.0.1:{null.ws_port}/ws"
        if cfg.gateway_pid is None:
            cfg.gateway_pid = null.pid
        target = {
            "fix": f"127.0.0.1:{null.fix_port}",
            "ws": cfg.ws_url,
            "self_test": True,
            "null_md_rate": args.md_rate,
        }
    gw: GatewayProcess | None = None
    gw_before: dict[str, float] = {}
    gateway_info: dict[str, Any] | None = None
    if args.spawn_gateway and not cfg.self_test:
        gw = _spawn_gateway(args, cfg)
        target = {"fix": f"127.0.0.1:{gw.fix_port}", "ws": cfg.ws_url, "spawned_gateway": True}
        gw_before = _scrape(gw)
    printer = ProgressPrinter(cfg.scenario, cfg.duration_s) if cfg.progress else None
    try:
        parts = _run_procs(cfg, args.procs, printer)
        if gw is not None:
            gateway_info = _gateway_info(gw, gw_before)
    finally:
        if printer is not None:
            printer.finish()
        if null is not None:
            null.close()
        if gw is not None:
            rc = gw.stop()
            if gateway_info is not None:
                gateway_info["exit_code"] = rc
    if null is not None and null.stats:
        target["null_server"] = null.stats
    procs_info = [p.pop("proc") for p in parts]
    merged = merge_run_dicts(parts)
    ceiling = None
    if args.ceiling:
        with open(args.ceiling) as fh:
            ceiling = json.load(fh)
    result = build_result(
        scenario=cfg.scenario,
        config=_public_config(cfg),
        merged=merged,
        procs=procs_info,
        target=target,
        command="python -m loadtest " + " ".join(shlex.quote(a) for a in _redact_argv(argv)),
        started_at=started,
        ceiling=ceiling,
    )
    if gateway_info is not None:
        result["gateway"] = gateway_info
    print(render_terminal(result))
    if gateway_info is not None:
        print(_render_gateway(gateway_info))
    if args.out:
        jpath, hpath = write_outputs(result, args.out)
        print(f"result: {jpath}\nreport: {hpath}")
    return result


def _spawn_gateway(args: argparse.Namespace, cfg: RunConfig) -> GatewayProcess:
    """Start a gateway for this run and point ``cfg`` (and its defaults) at it."""
    if args.host and not is_loopback(args.host):
        raise SystemExit("--spawn-gateway starts a local gateway: drop --host")
    n_fix = cfg.sessions if _uses_fix(cfg.scenario) else 0
    gw = GatewayProcess(load_sessions=max(8, n_fix), fsync=args.gateway_fsync)
    print(f"starting gateway (data dir {gw.data_dir}) ...", file=sys.stderr, flush=True)
    try:
        gw.start()
    except RuntimeError as exc:
        raise SystemExit(f"--spawn-gateway: {exc}") from None
    print(
        f"gateway pid {gw.pid}: FIX 127.0.0.1:{gw.fix_port}, {gw.ws_url}, {gw.http_url}",
        file=sys.stderr,
        flush=True,
    )
    cfg.host = "127.0.0.1"
    cfg.fix_port = gw.fix_port
    cfg.ws_url = gw.ws_url
    # The spawned gateway's demo credentials, unless the user named others.
    if args.sender == "CLIENT{n}" and cfg.password is None and cfg.ed25519_key is None:
        cfg.sender = "LOAD{n}"
        cfg.password = LOAD_PASSWORD
    if cfg.ws_api_key is None:
        cfg.ws_api_key = "demo-acc1"
        cfg.ws_hmac_secret = "demo-secret-acc1"
    if cfg.gateway_pid is None:
        cfg.gateway_pid = gw.pid
    return gw


def _uses_fix(scenario: str) -> bool:
    return scenario != "ws-orders"


_GW_STALL_HISTOGRAMS = ("gw_loop_lag_seconds", "gw_gc_pause_seconds", "gw_snapshot_pause_seconds")
_GW_COUNTERS = (
    "gw_commands_total",
    "gw_fix_messages_in_total",
    "gw_ws_requests_total",
    "gw_fills_total",
    "gw_ws_messages_sent_total",
    "gw_md_updates_total",
    "gw_slow_consumers_total",
    "gw_gc_collections_total",
    # stall histograms (gateway/loopwatch.py, gateway/snapshots.py): buckets and counts
    *(f"{h}_{part}" for h in _GW_STALL_HISTOGRAMS for part in ("bucket", "count")),
)


def _scrape(gw: GatewayProcess) -> dict[str, float]:
    try:
        return gw.metrics()
    except OSError:
        return {}


def _gateway_info(gw: GatewayProcess, before: dict[str, float]) -> dict[str, Any]:
    """What the spawned gateway counted during the run (/metrics deltas) and its RSS."""
    after = _scrape(gw)
    delta = {
        k: v - before.get(k, 0.0)
        for k, v in sorted(after.items())
        if k.partition("{")[0] in _GW_COUNTERS and v - before.get(k, 0.0)
    }
    from loadtest.scenarios import sample_memory

    try:  # the spawned gateway runs this tree's modules: mypyc-compiled or not
        import engine
        import gateway

        native = [*engine.NATIVE, *(f"gateway.{m}" for m in gateway.NATIVE)]
    except ImportError:  # pragma: no cover
        native = []
    return {
        "native_modules": native,
        "pid": gw.pid,
        "fix_port": gw.fix_port,
        "ws_url": gw.ws_url,
        "http_url": gw.http_url,
        "fsync": gw.fsync,
        "metrics_available": bool(after),
        "metrics_delta": delta,
        "engine_seq": after.get("gw_engine_seq"),
        "rss_bytes": sample_memory(gw.pid, None),
    }


def _render_gateway(info: dict[str, Any]) -> str:
    lines = [
        f"-- spawned gateway pid {info['pid']} (journal fsync={info['fsync']}), "
        "its /metrics counters during the run:"
    ]
    if not info["metrics_available"]:
        lines.append("   (no /metrics)")
    d = info["metrics_delta"]
    for name in ("gw_commands_total", "gw_fix_messages_in_total", "gw_ws_requests_total"):
        tot = metric_sum(d, name)
        if tot:
            lines.append(f"   {name:<28} {tot:,.0f}")
    for name in ("gw_fills_total", "gw_ws_messages_sent_total", "gw_slow_consumers_total"):
        tot = metric_sum(d, name)
        if tot:
            lines.append(f"   {name:<28} {tot:,.0f}")
    lines += _render_stalls(d)
    lines.append(f"   native modules: {', '.join(info['native_modules']) or 'none'}")
    if info.get("rss_bytes"):
        lines.append(f"   gateway RSS at the end: {info['rss_bytes'] / 2**20:,.0f} MiB")
    return "\n".join(lines)


def _over(delta: dict[str, float], histogram: str, bound_s: float) -> int:
    """How many of the run's observations of ``histogram`` exceeded ``bound_s`` (a
    bucket bound: ``le`` values are compared as numbers, not as rendered)."""
    within = 0.0
    for key, count in delta.items():
        le = _LE_RE.fullmatch(key.removeprefix(f"{histogram}_bucket"))
        if le and math.isclose(float(le.group(1)), bound_s):
            within = count
    return int(delta.get(f"{histogram}_count", 0.0) - within)


_LE_RE = re.compile(r'\{le="([^"]+)"\}')


def _render_stalls(d: dict[str, float]) -> list[str]:
    """The gateway's own stalls during the run: event-loop lag, GC and snapshot pauses."""
    lines = []
    samples = d.get("gw_loop_lag_seconds_count", 0.0)
    if samples:
        lines.append(
            f"   event-loop lag: {samples:,.0f} samples, "
            f"{_over(d, 'gw_loop_lag_seconds', 0.01):,} over 10 ms, "
            f"{_over(d, 'gw_loop_lag_seconds', 0.1):,} over 100 ms"
        )
    runs = [metric_sum(d, "gw_gc_collections_total", generation=str(g)) for g in range(3)]
    if any(runs):
        lines.append(
            f"   GC collections (gen 0/1/2): {runs[0]:,.0f}/{runs[1]:,.0f}/{runs[2]:,.0f}, "
            f"{_over(d, 'gw_gc_pause_seconds', 0.01):,} paused over 10 ms"
        )
    snapshots = d.get("gw_snapshot_pause_seconds_count", 0.0)
    if snapshots:
        lines.append(
            f"   snapshots: {snapshots:,.0f}, "
            f"{_over(d, 'gw_snapshot_pause_seconds', 0.01):,} paused the loop over 10 ms"
        )
    return lines


_SECRET_FLAGS = ("--password", "--ws-secret")


def _redact_argv(argv: list[str]) -> list[str]:
    """argv with secret values replaced, for the result file."""
    out = list(argv)
    for i, a in enumerate(out):
        for flag in _SECRET_FLAGS:
            if a.startswith(flag + "="):
                out[i] = flag + "=***"
            elif a == flag and i + 1 < len(out):
                out[i + 1] = "***"
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 1 when the run had errors or unanswered requests."""
    result = run(list(sys.argv[1:] if argv is None else argv))
    t = result["totals"]
    return 1 if (t["errors"] or t["failed"] or t["unanswered"]) else 0
