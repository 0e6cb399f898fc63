"""Result document, terminal summary and HTML report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from loadtest.report import (
    SCHEMA,
    build_result,
    determine_limited_by,
    render_html,
    render_terminal,
    svg_chart,
    write_outputs,
)
from loadtest.stats import RunStats, Timeline, merge_run_dicts


def _proc_dict(start: float, n_sessions: int, lat_us: int) -> dict:
    rs = RunStats(start_s=start)
    for i in range(n_sessions):
        s = rs.session(f"fix:C{i}", "fix-orders", "order_ack")
        for k in range(100):
            s.count("sent.new")
            s.count("answers")
            s.record("order_ack", lat_us + k)
        s.reject("order reject: price off tick")
    m = rs.session("md:1", "md-fanout", "md_delivery")
    for _ in range(10):
        m.count("md.msgs")
        m.record("md_delivery", 900)
    d = rs.to_dict()
    for s in d["sessions"]:
        if s["group"] == "fix-orders":
            s["pacing"] = {
                "mode": "closed",
                "sent": 100,
                "answered": 100,
                "failed": 0,
                "unanswered": 0,
                "late_sends": 0,
                "max_send_lag_us": 0,
                "target_rate": 0.0,
                "elapsed_s": 2.0,
            }
    return d


def _result(self_test: bool = True) -> dict:
    now = time.time()
    merged = merge_run_dicts([_proc_dict(now, 2, 100), _proc_dict(now + 0.01, 1, 5000)])
    return build_result(
        scenario="mixed",
        config={"scenario": "mixed"},
        merged=merged,
        procs=[{"index": 0, "elapsed_s": 2.0, "wall_s": 2.5, "cpu_s": 1.0, "cpu_util": 0.4}],
        target={"fix": "127.0.0.1:1", "ws": "ws://127.0.0.1:2/ws", "self_test": self_test},
        command="python -m loadtest mixed",
        started_at=now,
    )


def test_result_schema_and_merged_figures() -> None:
    r = _result()
    assert r["schema"] == SCHEMA
    for key in (
        "scenario",
        "started_at",
        "machine",
        "target",
        "config",
        "harness",
        "totals",
        "groups",
        "sessions",
        "limited_by",
        "limited_by_reason",
    ):
        assert key in r
    fix = r["groups"]["fix-orders"]
    assert fix["sessions"] == 3
    assert fix["latency"]["order_ack"]["count"] == 300
    assert fix["latency"]["order_ack"]["p99"] >= 5000  # the slow process's session
    assert fix["rejects"] == {"order reject: price off tick": 3}
    assert fix["throughput"]["answers_per_s"] == 150.0
    assert r["totals"]["sent"] == r["totals"]["answered"] == 300
    assert r["totals"]["md_msgs"] == 20
    assert r["limited_by"] == "harness"
    assert [s["name"] for s in r["sessions"]].count("md:1") == 2
    json.dumps(r)  # serializable


def test_limited_by_without_self_test() -> None:
    r = _result(self_test=False)
    assert r["limited_by"] == "target"
    r["harness"]["procs"][0]["cpu_util"] = 0.97
    assert determine_limited_by(r, None)[0] == "harness"
    ceiling = {"groups": {"fix-orders": {"throughput": {"answers_per_s": 160.0}}}}
    r["harness"]["procs"][0]["cpu_util"] = 0.3
    assert determine_limited_by(r, ceiling)[0] == "harness"
    ceiling["groups"]["fix-orders"]["throughput"]["answers_per_s"] = 10_000.0
    assert determine_limited_by(r, ceiling)[0] == "target"


def test_terminal_and_html_render(tmp_path: Path) -> None:
    r = _result()
    text = render_terminal(r)
    assert "order_ack" in text and "limited by: harness" in text
    page = render_html(r)
    assert page.count("<svg") >= 3
    assert "<polyline" in page
    assert "latency by percentile" in page and "99.9%" in page
    assert "<script" not in page
    jpath, hpath = write_outputs(r, tmp_path)
    doc = json.loads(jpath.read_text())
    assert doc["groups"]["fix-orders"]["latency"]["order_ack"]["hdr"]
    assert hpath.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "latest.json").exists()


def test_svg_chart_with_no_data() -> None:
    assert "no data" in svg_chart([("x", [])], title="t", x_label="x", y_label="y")


def test_timeline_merge_aligns_on_wall_time() -> None:
    a = Timeline(start_s=1000.0)
    b = Timeline(start_s=1002.0)
    a.add("answers", 5, now_s=1000.5)
    b.add("answers", 7, now_s=1002.5)
    b.record_latency(300, now_s=1002.5)
    a.merge(Timeline.from_dict(b.to_dict()))
    rows = a.rows()
    assert [r["answers"] for r in rows] == [5, 0, 7]
    assert rows[2]["p99_us"] == 300
    c = Timeline(start_s=1001.0)
    c.add("answers", 1, now_s=1001.1)
    c.merge(a)  # earlier start re-bases
    assert c.start_s == 1000.0
    assert [r["answers"] for r in c.rows()] == [5, 1, 7]
