"""The standard mixed load test against a real gateway raises no market-abuse alert.

The gateway journals the run; the journal is replayed as the follower does (a fresh
Engine, its events through Surveillance). The load sessions share ACC1/ACC2 with STP
off, so the accounts trade with themselves: that is a control alert at most.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.journal import read_records
from gateway.follower.surveillance import Kind
from loadtest.cli import run
from loadtest.gateway_runner import LOAD_PASSWORD, GatewayProcess
from tests.gateway.follower.surveillance.floor import replay


# A timed load run: how many orders it completes depends on the machine's load.
@pytest.mark.slow
def test_a_mixed_load_run_raises_no_market_abuse_alert(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    gw = GatewayProcess(data_dir=data, load_sessions=4, fsync="never", keep=True)
    gw.start()
    try:
        run(
            [
                "mixed", "--count", "2000", "--sessions", "4", "--ws-sessions", "1",
                "--subscribers", "2", "--in-flight", "4", "--procs", "1",
                "--fix-port", str(gw.fix_port), "--ws-url", gw.ws_url,
                "--sender", "LOAD{n}", "--password", LOAD_PASSWORD,
                "--ws-api-key", "demo-acc2", "--ws-secret", "demo-secret-acc2",
                "--quiet", "--out", str(tmp_path / "out"),
            ]
        )  # fmt: skip
    finally:
        assert gw.stop() == 0, gw.log_tail()
    journal = data / "journal"
    assert sum(1 for _ in read_records(journal)) > 1_500  # the orders and the venue's setup
    alerts = replay(journal)
    assert [a.summary for a in alerts if a.kind == Kind.MARKET_ABUSE] == []
