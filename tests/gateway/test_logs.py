"""The gateway's log: one JSON object per line on stderr, nothing on stdout, no secrets.

The FIX session logs through stdlib logging, the rest through structlog; a real
``python -m gateway`` process is the only place both meet the configured handler.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog

from gateway.logs import configure_logging
from loadtest.gateway_runner import GatewayProcess
from tests.fix.conftest import FixClient
from tests.gateway.conftest import password

PASSWORD = password("CLIENT1")

WRONG_PASSWORD = "hunter2-not-the-password"


async def _logon(port: int, password: str) -> str:
    """Log CLIENT1 on with ``password``; the MsgType the gateway answers with."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = FixClient(reader, writer, sender="CLIENT1")
    try:
        await client.send("A", [(98, 0), (108, 30), (141, "Y"), (553, "CLIENT1"), (554, password)])
        answer = await client.recv()
        if answer.msg_type == "A":
            await client.send("5")
            await client.expect("5")
        return answer.msg_type
    finally:
        await client.close()


def _json_lines(text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(r, dict) for r in records)
    return records


async def test_a_real_gateway_logs_fix_session_lines_as_json_on_stderr(tmp_path: Path) -> None:
    gw = GatewayProcess(data_dir=tmp_path, load_sessions=0, fsync="never", log_level="info")
    await asyncio.to_thread(gw.start)
    try:
        assert await _logon(gw.fix_port, WRONG_PASSWORD) == "5"
        assert await _logon(gw.fix_port, PASSWORD) == "A"
    finally:
        assert await asyncio.to_thread(gw.stop) == 0
    stderr = gw.log_path.read_text()
    records = _json_lines(stderr)  # every line, the banner included
    assert gw.stdout_path.read_text() == ""
    session = [r for r in records if r.get("logger") == "gateway.fix.session"]
    assert any("logged on" in r["event"] and r["level"] == "info" for r in session), session
    assert any("authentication failed" in r["event"] and r["level"] == "warning" for r in session)
    assert any(r["event"] == "gateway.ready" for r in records)
    assert all("timestamp" in r for r in records)
    assert WRONG_PASSWORD not in stderr and PASSWORD not in stderr


def test_a_secret_named_field_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")  # undone after the test (tests/conftest.py)
    structlog.get_logger("t").warning("ws.logon_failed", api_key="demo-acc1", secret="s3cr3t")
    logging.getLogger("t.stdlib").warning("plain %s", "args")
    out = capsys.readouterr()
    first, second = _json_lines(out.err)
    assert first["secret"] == "[redacted]" and first["api_key"] == "demo-acc1"
    assert "s3cr3t" not in out.err
    assert second["event"] == "plain args" and second["logger"] == "t.stdlib"
    assert out.out == ""
