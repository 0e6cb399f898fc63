"""`ws_bench fanout` end to end on a tiny configuration against the null fan-out server
(loadtest/ws_null.py, its own process): real sockets, the real subscriber processes.
No figure is asserted, only what the harness counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadtest.histogram import LatencyHistogram
from loadtest.ws_bench import main, print_table

TINY = ["--subscribers", "3", "--client-procs", "1", "--rate", "50"]
TINY += ["--duration", "1", "--warmup", "0.2"]


def fanout(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "fanout.json"
    assert main(["fanout", "--self-test", *TINY, "--json", str(out), *extra]) == 0
    result: dict[str, Any] = json.loads(out.read_text())
    assert list(result["targets"]) == ["null"]
    return result


def test_the_self_test_delivers_every_delta_to_every_subscriber(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    null = fanout(tmp_path)["targets"]["null"]
    assert null["delivered"] > 0 and null["latency_us"]["count"] == null["delivered"]
    assert null["server_frames_sent"] >= null["delivered"]
    assert null["gaps"] == null["conflations"] == null["unread"] == null["disconnected"] == 0
    assert "\nnull " in capsys.readouterr().out


def test_a_planted_gap_is_counted(tmp_path: Path) -> None:
    null = fanout(tmp_path, "--null-drop-every", "5")["targets"]["null"]
    assert null["delivered"] > 0
    assert null["gaps"] > 0 and null["unread"] == 0


def row(msgs_per_s: int, p99_us: int) -> dict[str, Any]:
    hist = LatencyHistogram()
    hist.record_us(p99_us, 100)
    return {
        "orders_sent": 0,
        "order_errors": 0,
        "delivered_per_s": msgs_per_s,
        "gaps": 0,
        "conflations": 0,
        "unread": 0,
        "disconnected": 0,
        "server_frames_sent": 0,
        "client_cpu_us_per_msg": 1.0,
        "server_cpu_us_per_msg": 1.0,
        "latency_us": hist.summary(),
    }


def test_the_table_gives_the_gateway_over_null_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    result = {
        "scenario": "fanout",
        "subscribers": 500,
        "client_procs": 2,
        "channel": "book.BTC-USD.10",
        "rate": 200,
        "duration_s": 10,
        "fsync": "batch",
        "scanner": "C",
        "targets": {"gateway": row(50_000, 8_000), "null": row(100_000, 2_000)},
    }
    print_table(result)
    gateway_line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("gateway"))
    assert gateway_line.split()[-2:] == ["0.50x", "4.0x"]
