"""One gateway per journal directory: a second one refuses to start, saying why."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.dirlock import DirLocked
from gateway.host import EngineHost
from gateway.metrics import Registry
from tests.gateway.durability import ROOT, Driver


def _host(journal_dir: Path) -> EngineHost:
    cfg = load_config()
    journal = dataclasses.replace(cfg.journal, dir=str(journal_dir), fsync="never")
    return EngineHost(dataclasses.replace(cfg, journal=journal), Registry())


async def test_a_second_host_on_the_same_dir_refuses_until_the_first_is_gone(
    tmp_path: Path,
) -> None:
    journal_dir = tmp_path / "j"
    first = Driver(journal_dir)  # a gateway in another process
    second = _host(journal_dir)
    with pytest.raises(DirLocked, match=rf"in use by another gateway \(pid {first.proc.pid}"):
        second.start()
    assert first.order("a")  # the first one is untouched
    code, stderr = first.finish()
    assert code == 0, stderr
    second.start()  # free once the first has stopped
    assert "a" in {o.client_order_id for o in second.engine.orders.values()}
    await second.stop()


def test_the_command_line_gateway_says_why_it_will_not_start(tmp_path: Path) -> None:
    journal_dir = tmp_path / "j"
    config = tmp_path / "gateway.toml"
    config.write_text(f'[journal]\ndir = "{journal_dir}"\n')
    holder = Driver(journal_dir)
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        holder.finish()
    assert refused.returncode == 1
    assert "gateway.start_refused" in refused.stderr
    assert "in use by another gateway" in refused.stderr
    assert "Traceback" not in refused.stderr
