"""The 24 h figures benchmark runs end to end at a small scale and counts the half of
its trades that fall in the window."""

from __future__ import annotations

import pytest

from loadtest.daystats_bench import main_async


async def test_the_benchmark_reads_the_last_day_of_its_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await main_async(trades=300, backend="sqlite", rounds=1)
    out = capsys.readouterr().out
    assert "sqlite read 0:" in out
    assert "151 trades in the window" in out, out
