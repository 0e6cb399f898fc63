"""End to end against a real gateway: each scenario for ~2 s, counts checked vs /metrics.

One ``python -m gateway`` subprocess (temp data dir, free loopback ports, journal
fsync off to keep the test quick) serves every test of this module; each test scrapes
the gateway's Prometheus ``/metrics`` before and after its run and checks that the
gateway counted exactly the requests the harness says it sent and got answered, and
that the harness saw no errors (no session rejects, no disconnects, no book sequence
gaps or checksum mismatches) and left nothing unanswered.

Business rejects are allowed: the order mix cancels and replaces its own resting
orders, and another session's taker may fill one of them first (``unknown order``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.cli import run
from loadtest.gateway_runner import LOAD_PASSWORD, GatewayProcess, metric_sum

ORDER_METHODS = ("order.place", "order.cancel", "order.replace")


def _order_commands(delta: dict[str, float]) -> float:
    """Engine commands, less the journaled logons and logouts of the load's sessions."""
    sessions = sum(
        metric_sum(delta, "gw_commands_total", type=kind)
        for kind in ("SessionOpened", "SessionClosed")
    )
    return metric_sum(delta, "gw_commands_total") - sessions


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(data_dir=tmp_path_factory.mktemp("gw"), load_sessions=4, fsync="never")
    gw.start()
    try:
        yield gw
    finally:
        rc = gw.stop()
        assert rc == 0, gw.log_tail()


def _order_commands(delta: dict[str, float]) -> float:
    """Engine commands but the sessions' own (SessionOpened/SessionClosed: one per
    logon and logout, journaled since the sessions table)."""
    sessions = sum(
        metric_sum(delta, "gw_commands_total", type=kind)
        for kind in ("SessionOpened", "SessionClosed")
    )
    return metric_sum(delta, "gw_commands_total") - sessions


def _target_args(gw: GatewayProcess) -> list[str]:
    return [
        "--fix-port",
        str(gw.fix_port),
        "--ws-url",
        gw.ws_url,
        "--sender",
        "LOAD{n}",
        "--password",
        LOAD_PASSWORD,
        "--ws-api-key",
        "demo-acc2",
        "--ws-secret",
        "demo-secret-acc2",
        "--quiet",
    ]


def _run(gw: GatewayProcess, tmp_path: Path, *args: str) -> tuple[dict[str, Any], dict[str, float]]:
    """Run a scenario; return its result and the gateway's /metrics deltas."""
    before = gw.metrics()
    run([*args, *_target_args(gw), "--out", str(tmp_path)])
    after = gw.metrics()
    doc: dict[str, Any] = json.loads((tmp_path / "latest.json").read_text())
    assert (tmp_path / "latest.html").read_text().count("<svg") >= 2
    delta = {k: v - before.get(k, 0.0) for k, v in after.items()}
    return doc, delta


def _assert_clean(doc: dict[str, Any]) -> None:
    t = doc["totals"]
    assert t["sent"] > 0
    assert t["sent"] == t["answered"], t
    assert t["failed"] == t["unanswered"] == 0, t
    assert t["errors"] == 0, {n: g.get("errors") for n, g in doc["groups"].items()}
    assert doc["limited_by"] in ("target", "harness", "none")


def _sent(g: dict[str, Any], *names: str) -> int:
    return sum(int(g["counts"].get(n, 0)) for n in names)


def _check_fix_counts(g: dict[str, Any], delta: dict[str, float]) -> int:
    sent = _sent(g, "sent.new", "sent.cancel", "sent.replace")
    assert sent > 0
    assert metric_sum(delta, "gw_fix_messages_in_total") == sent
    assert g["latency"]["order_ack"]["count"] == g["counts"]["sent.new"]
    return sent


def _check_ws_counts(g: dict[str, Any], delta: dict[str, float]) -> int:
    sent = _sent(g, *(f"sent.{m}" for m in ORDER_METHODS))
    assert sent > 0
    by_gateway = sum(metric_sum(delta, "gw_ws_requests_total", method=m) for m in ORDER_METHODS)
    assert by_gateway == sent
    answered_ok = sum(
        metric_sum(delta, "gw_ws_requests_total", method=m, status="200") for m in ORDER_METHODS
    )
    rejected = sum(g["rejects"].values()) if isinstance(g["rejects"], dict) else 0
    assert answered_ok + rejected == sent
    assert metric_sum(delta, "gw_ws_requests_total", method="session.logon", status="200") >= 1
    return sent


def test_fix_orders(gateway: GatewayProcess, tmp_path: Path) -> None:
    doc, delta = _run(
        gateway, tmp_path, "fix-orders", "--duration", "2", "--sessions", "2", "--in-flight", "8"
    )
    _assert_clean(doc)
    sent = _check_fix_counts(doc["groups"]["fix-orders"], delta)
    # every FIX order message became one engine command
    assert _order_commands(delta) == sent
    assert doc["groups"]["fix-orders"]["latency"]["cancel_ack"]["count"] > 0
    assert doc["groups"]["fix-orders"]["latency"]["replace_ack"]["count"] > 0


def test_fix_orders_open_loop_ed25519(gateway: GatewayProcess, tmp_path: Path) -> None:
    """CLIENT3 logs on with the demo Ed25519 key (seed 00..1f, key id "demo")."""
    seed = bytes(range(32)).hex()
    before = gateway.metrics()
    run(
        [
            "fix-orders",
            "--fix-port",
            str(gateway.fix_port),
            "--sender",
            "CLIENT3",
            "--ed25519-key",
            seed,
            "--key-id",
            "demo",
            "--rate",
            "1000",
            "--count",
            "1500",
            "--duration",
            "5",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    after = gateway.metrics()
    doc = json.loads((tmp_path / "latest.json").read_text())
    _assert_clean(doc)
    assert doc["totals"]["sent"] == 1500
    delta = {k: v - before.get(k, 0.0) for k, v in after.items()}
    assert metric_sum(delta, "gw_fix_messages_in_total") == 1500
    assert doc["groups"]["fix-orders"]["pacing"]["mode"] == "open"


def test_ws_orders(gateway: GatewayProcess, tmp_path: Path) -> None:
    doc, delta = _run(
        gateway, tmp_path, "ws-orders", "--duration", "2", "--ws-sessions", "2", "--in-flight", "8"
    )
    _assert_clean(doc)
    g = doc["groups"]["ws-orders"]
    sent = _check_ws_counts(g, delta)
    assert _order_commands(delta) == sent
    assert g["latency"]["order_ack"]["count"] == g["counts"]["sent.order.place"]


def test_md_fanout_role_separated(gateway: GatewayProcess, tmp_path: Path) -> None:
    doc, delta = _run(
        gateway,
        tmp_path,
        "md-fanout",
        "--duration",
        "2",
        "--subscribers",
        "20",
        "--sessions",
        "2",
        "--in-flight",
        "4",
        "--procs",
        "2",
    )
    _assert_clean(doc)
    roles = [p["role"] for p in doc["harness"]["procs"]]
    assert roles == ["orders", "md"]
    _check_fix_counts(doc["groups"]["fix-orders"], delta)
    md = doc["groups"]["md-fanout"]
    assert md["sessions"] == 20
    # one snapshot each at subscribe time; more only if the gateway conflated a
    # subscriber that fell behind (docs/WS_API.md, slow consumers) and counted it
    snapshots = md["counts"]["md.snapshots"]
    assert snapshots >= 20
    if snapshots > 20:
        conflated = metric_sum(delta, "gw_slow_consumers_total", action="conflated")
        assert conflated >= snapshots - 20
    assert md["counts"]["md.msgs"] > 20
    # every book message was checked against the gateway's checksum
    assert md["counts"]["md.checksum_ok"] == md["counts"]["md.msgs"] + snapshots
    # the gateway sent each subscriber its answer, its snapshot and the deltas we read
    assert metric_sum(delta, "gw_ws_requests_total", method="subscribe", status="200") == 20
    sent_frames = metric_sum(delta, "gw_ws_messages_sent_total")
    assert sent_frames >= md["counts"]["md.msgs"] + 2 * 20


def test_mixed(gateway: GatewayProcess, tmp_path: Path) -> None:
    doc, delta = _run(
        gateway,
        tmp_path,
        "mixed",
        "--duration",
        "2",
        "--subscribers",
        "5",
        "--sessions",
        "1",
        "--ws-sessions",
        "1",
        "--in-flight",
        "4",
        "--procs",
        "1",
    )
    _assert_clean(doc)
    fix = _check_fix_counts(doc["groups"]["fix-orders"], delta)
    ws = _check_ws_counts(doc["groups"]["ws-orders"], delta)
    assert _order_commands(delta) == fix + ws
    assert doc["groups"]["md-fanout"]["counts"]["md.msgs"] > 0


def test_soak_samples_gateway_memory(gateway: GatewayProcess, tmp_path: Path) -> None:
    doc, delta = _run(
        gateway,
        tmp_path,
        "soak",
        "--duration",
        "3",
        "--rate",
        "500",
        "--gateway-pid",
        str(gateway.pid),
    )
    _assert_clean(doc)
    sent = _check_fix_counts(doc["groups"]["fix-orders"], delta)
    assert _order_commands(delta) == sent
    samples = [row for part in doc["extra"]["memory"] for row in part]
    assert len(samples) >= 2
    assert all(rss > 10 * 2**20 for _t, rss in samples)  # the gateway's RSS, not ours
