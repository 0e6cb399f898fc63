"""The rebuild benchmark runs end to end and reports what it rebuilt."""

from __future__ import annotations

import pytest

from loadtest import follower_bench


def test_the_rebuild_benchmark_reports_its_sqlite_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert follower_bench.main(["--commands", "300", "--batch", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["store", "commands", "cmds/s", "events/s", "rows/s"]
    store, commands, *_ = lines[1].split()
    assert (store, commands) == ("sqlite", "307")  # the venue set-up and the mix
