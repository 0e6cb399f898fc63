"""Results: the JSON result document, a terminal summary and an HTML report.

:func:`build_result` turns the merged per-process figures into the result document
(schema ``loadtest.result/1``): per scenario group and per session the counts,
throughput, latency summaries (with the encoded HdrHistogram for exact re-merging),
rejects and errors by reason, the pacing figures, a timeline, and ``limited_by``:
which side limited the result (``harness``, ``target`` or ``none``) and why.

:func:`render_html` draws a self-contained page (no scripts, no external files):
inline SVG percentile curves on the HdrHistogram ``1/(1-p)`` log axis, throughput
and latency over time, and tables.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import platform
from pathlib import Path
from typing import Any

from loadtest.histogram import LatencyHistogram, pct_to_x
from loadtest.progress import format_us
from loadtest.stats import Timeline

__all__ = [
    "SCHEMA",
    "build_result",
    "determine_limited_by",
    "render_html",
    "render_terminal",
    "svg_chart",
    "write_outputs",
]

SCHEMA = "loadtest.result/1"
_PACING_SUM = ("sent", "answered", "failed", "unanswered", "late_sends")
_METRIC_ORDER = ("order_ack", "fill", "cancel_ack", "replace_ack", "md_delivery", "logon")


def _metric_key(m: str) -> tuple[int, str]:
    return (_METRIC_ORDER.index(m) if m in _METRIC_ORDER else 99, m)


def _group_figures(
    name: str,
    sessions: list[dict[str, Any]],
    timeline: dict[str, Any] | None,
    run_elapsed_s: float = 0.0,
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    rejects: dict[str, int] = {}
    errors: dict[str, int] = {}
    hists: dict[str, LatencyHistogram] = {}
    pacing: dict[str, Any] = dict.fromkeys(_PACING_SUM, 0)
    pacing.update(elapsed_s=0.0, max_send_lag_us=0, target_rate=0.0, mode=None)
    for s in sessions:
        for d_from, d_to in ((s["counts"], counts), (s["rejects"], rejects), (s["errors"], errors)):
            for k, v in d_from.items():
                d_to[k] = d_to.get(k, 0) + int(v)
        for metric, hd in s["latency"].items():
            h = LatencyHistogram.from_dict(hd)
            if metric in hists:
                hists[metric].merge(h)
            else:
                hists[metric] = h
        p = s.get("pacing")
        if p:
            for k in _PACING_SUM:
                pacing[k] += int(p.get(k, 0))
            pacing["elapsed_s"] = max(pacing["elapsed_s"], float(p.get("elapsed_s", 0)))
            pacing["max_send_lag_us"] = max(pacing["max_send_lag_us"], int(p["max_send_lag_us"]))
            pacing["target_rate"] += float(p.get("target_rate", 0))
            pacing["mode"] = p.get("mode")
    elapsed = pacing["elapsed_s"] or run_elapsed_s
    rows = Timeline.from_dict(timeline).rows() if timeline else []
    thr: dict[str, float] = {}
    if elapsed > 0:
        if pacing["mode"]:
            thr["answers_per_s"] = round(pacing["answered"] / elapsed, 1)
        if counts.get("md.msgs"):
            thr["md_msgs_per_s"] = round(counts["md.msgs"] / elapsed, 1)
    return {
        "name": name,
        "sessions": len(sessions),
        "counts": dict(sorted(counts.items())),
        "pacing": pacing if pacing["mode"] else None,
        "throughput": thr,
        "latency": {m: hists[m].to_dict() for m in sorted(hists, key=_metric_key)},
        "curves": {m: hists[m].curve() for m in sorted(hists, key=_metric_key)},
        "rejects": dict(sorted(rejects.items(), key=lambda kv: -kv[1])),
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
        "timeline": rows,
    }


def md_client_lag(result: dict[str, Any]) -> tuple[float, int] | None:
    """(worst end-of-run backlog in seconds of reading, total unread bytes) of subscribers."""
    figs = [p["md_backlog"] for p in result["harness"]["procs"] if p.get("md_backlog")]
    if not figs:
        return None
    worst = max((float(f.get("end_s") or 0.0) for f in figs), default=0.0)
    return worst, sum(int(f.get("end_bytes", 0)) for f in figs)


def determine_limited_by(result: dict[str, Any], ceiling: dict[str, Any] | None) -> tuple[str, str]:
    """Which side limited the figures: ``harness``, ``target`` or ``none``, and why."""
    if result["target"].get("self_test"):
        return (
            "harness",
            "self-test against the built-in null targets: these figures are the harness's own "
            "ceiling (on a small box the null target shares the CPU with the harness)",
        )
    lag = md_client_lag(result)
    if lag is not None and lag[0] >= 1.0:
        return (
            "harness",
            f"subscribers: {lag[1] / 2**20:,.1f} MiB sat unread in their own socket buffers "
            f"at the end = {lag[0]:.1f} s of their reading rate: md delivery latency is "
            "mostly client-side lag; spread the subscribers over more --procs",
        )
    groups = [g for g in result["groups"].values() if g.get("pacing")]
    if groups and all(g["pacing"]["mode"] == "open" for g in groups):
        ok = all(
            g["pacing"]["answered"] >= 0.98 * g["pacing"]["sent"]
            and g["pacing"]["sent"] > 0
            and g["pacing"]["late_sends"] <= 0.01 * g["pacing"]["sent"]
            for g in groups
        )
        if ok:
            return ("none", "open loop: the requested rate was sent on time and answered")
    cpu = [p.get("cpu_util", 0.0) for p in result["harness"]["procs"]]
    if ceiling is not None:
        for name, g in result["groups"].items():
            cg = ceiling.get("groups", {}).get(name)
            got = g["throughput"].get("answers_per_s", 0.0)
            top = (cg or {}).get("throughput", {}).get("answers_per_s", 0.0)
            if top and got >= 0.8 * top:
                return (
                    "harness",
                    f"{name}: {got:,.0f}/s is >= 80% of the harness ceiling {top:,.0f}/s "
                    "measured by --self-test",
                )
        return ("target", "throughput stayed below 80% of the harness ceiling from --self-test")
    if cpu and max(cpu) >= 0.9:
        return ("harness", f"a load process used {max(cpu):.0%} of a core; add --procs")
    return (
        "target",
        f"load processes had CPU to spare (max {max(cpu, default=0.0):.0%} of a core) "
        "and waited for the target",
    )


def build_result(
    *,
    scenario: str,
    config: dict[str, Any],
    merged: dict[str, Any],
    procs: list[dict[str, Any]],
    target: dict[str, Any],
    command: str,
    started_at: float,
    ceiling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    sessions = merged["sessions"]
    groups: dict[str, Any] = {}
    for gname in dict.fromkeys(s["group"] for s in sessions):
        members = [s for s in sessions if s["group"] == gname]
        groups[gname] = _group_figures(
            gname,
            members,
            merged["timelines"].get(gname),
            max((float(p.get("elapsed_s", 0)) for p in procs), default=0.0),
        )
    for s in sessions:
        p = s.get("pacing") or {}
        el = float(p.get("elapsed_s", 0))
        s["throughput"] = {"answers_per_s": round(p.get("answered", 0) / el, 1)} if el else {}
    totals = {
        k: sum(int((g.get("pacing") or {}).get(k, 0)) for g in groups.values()) for k in _PACING_SUM
    }
    totals["errors"] = sum(sum(g["errors"].values()) for g in groups.values())
    totals["rejects"] = sum(sum(g["rejects"].values()) for g in groups.values())
    totals["md_msgs"] = sum(int(g["counts"].get("md.msgs", 0)) for g in groups.values())
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "scenario": scenario,
        "started_at": _dt.datetime.fromtimestamp(started_at, _dt.UTC).isoformat(),
        "command": command,
        "machine": {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "target": target,
        "config": config,
        "harness": {"procs": procs},
        "totals": totals,
        "groups": groups,
        "sessions": sessions,
        "extra": merged.get("extra", {}),
    }
    result["limited_by"], result["limited_by_reason"] = determine_limited_by(result, ceiling)
    return result


# -- terminal -------------------------------------------------------------------
def render_terminal(result: dict[str, Any], max_sessions: int = 12) -> str:
    out: list[str] = []
    t = result["totals"]
    out.append(
        f"== loadtest {result['scenario']} "
        f"({'self-test' if result['target'].get('self_test') else 'target'}"
        f" {result['target'].get('fix') or ''} {result['target'].get('ws') or ''}) =="
    )
    out.append(
        f"requests sent {t['sent']:,}  answered {t['answered']:,}  failed {t['failed']:,}  "
        f"unanswered {t['unanswered']:,}  rejects {t['rejects']:,}  errors {t['errors']:,}"
        + (f"  md msgs {t['md_msgs']:,}" if t.get("md_msgs") else "")
    )
    for g in result["groups"].values():
        p = g.get("pacing") or {}
        head = f"-- {g['name']}: {g['sessions']} session(s)"
        if p:
            head += f", {p['mode']} loop, {p['elapsed_s']:.1f}s"
            if p["mode"] == "open":
                head += f", target {p['target_rate']:,.0f}/s"
                head += f", max send lag {format_us(p['max_send_lag_us'])}"
        for k, v in g["throughput"].items():
            head += f", {k.replace('_per_s', '')} {v:,.0f}/s"
        out.append(head)
        out.append(
            f"   {'metric':<12}{'count':>10}"
            + "".join(f"{k:>10}" for k in ("p50", "p90", "p99", "p99.9", "max"))
        )
        for m, s in g["latency"].items():
            out.append(
                f"   {m:<12}{s['count']:>10,}"
                + "".join(f"{format_us(s[k]):>10}" for k in ("p50", "p90", "p99", "p99.9"))
                + f"{format_us(s['max_us']):>10}"
            )
        for label in ("rejects", "errors"):
            items = list(g[label].items())
            if items:
                shown = "; ".join(f"{n}x {r}" for r, n in items[:5])
                more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                out.append(f"   {label}: {shown}{more}")
    sess = result["sessions"]
    if len(sess) > 1:
        out.append(f"-- per session (first {min(len(sess), max_sessions)} of {len(sess)})")
        for s in sess[:max_sessions]:
            prim = next(iter(s["latency"].values()), None)
            lat = (
                f"p50 {format_us(prim['p50'])} p99 {format_us(prim['p99'])}"
                if prim
                else "no samples"
            )
            thr = s.get("throughput", {}).get("answers_per_s")
            md = s["counts"].get("md.msgs")
            out.append(
                f"   {s['name']:<20}"
                + (f" {thr:>10,.0f}/s" if thr else "")
                + (f" md {md:,}" if md else "")
                + f"  {lat}  rejects {sum(s['rejects'].values())}"
                + f" errors {sum(s['errors'].values())}"
            )
    procs = result["harness"]["procs"]
    out.append("harness: " + ", ".join(f"proc {p['index']} cpu {p['cpu_util']:.0%}" for p in procs))
    for p in procs:
        b = p.get("md_backlog")
        if b:
            end_s = b.get("end_s")
            out.append(
                f"md client backlog (proc {p['index']}): unread at the end "
                f"{b['end_bytes'] / 2**20:,.1f} MiB"
                + (f" = {end_s:.2f} s of its reading" if end_s is not None else "")
                + f" ({b['read_bytes_per_s'] / 2**20:,.2f} MiB/s), peak "
                f"{b['peak_bytes'] / 2**20:,.1f} MiB, worst connection "
                f"{b['end_max_per_conn_bytes'] / 1024:,.0f} KiB"
            )
    ns = (result.get("target") or {}).get("null_server")
    if ns and ns.get("md_frames_queued"):
        queued, dropped = int(ns["md_frames_queued"]), int(ns.get("md_frames_conflated", 0))
        out.append(
            f"null WS server: {queued:,} book frames queued to subscribers, {dropped:,} "
            f"conflated ({dropped / (queued + dropped):.0%}; subscribers slower than "
            f"--md-rate), {ns.get('ws_counts', {}).get('resynced', 0):,} resync snapshots"
        )
    out.append(f"limited by: {result['limited_by']} - {result['limited_by_reason']}")
    return "\n".join(out)


# -- SVG ------------------------------------------------------------------------
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 0.001:
        if v >= lo - step * 0.001:
            ticks.append(round(v, 10))
        v += step
    return ticks


def svg_chart(
    series: list[tuple[str, list[tuple[float, float]]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_ticks: list[tuple[float, str]] | None = None,
    y_format: Any = None,
    x_range: tuple[float, float] | None = None,
    width: int = 760,
    height: int = 320,
) -> str:
    """A line chart as an inline ``<svg>`` element (no scripts, no external files)."""
    fmt = y_format or (lambda v: f"{v:g}")
    ml, mr, mt, mb = 70, 20, 30, 45
    pw, ph = width - ml - mr, height - mt - mb
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    e = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{e(title)}</text>',
    ]
    if not xs:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text>')
        parts.append("</svg>")
        return "".join(parts)
    x_lo, x_hi = x_range if x_range is not None else (min(xs), max(xs))
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    y_ticks = _nice_ticks(0.0, max(ys) * 1.05 if max(ys) > 0 else 1.0)
    y_hi = y_ticks[-1]

    def px(x: float) -> float:
        return ml + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        return mt + ph - (y / y_hi) * ph

    parts.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="white" stroke="#999"/>')
    for yt in y_ticks:
        y = py(yt)
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{ml - 5}" y="{y + 4:.1f}" text-anchor="end">{e(fmt(yt))}</text>')
    xt = x_ticks if x_ticks is not None else [(v, f"{v:g}") for v in _nice_ticks(x_lo, x_hi, 8)]
    for xv, lab in xt:
        if xv > x_hi + 1e-9:
            continue
        x = px(xv)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mt}" y2="{mt + ph}" stroke="#eee"/>')
        parts.append(f'<text x="{x:.1f}" y="{mt + ph + 15}" text-anchor="middle">{e(lab)}</text>')
    parts.append(
        f'<text x="{ml + pw / 2}" y="{height - 8}" text-anchor="middle">{e(x_label)}</text>'
        f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mt + ph / 2})">{e(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        if pts:
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{coords}">'
                f"<title>{e(name)}</title></polyline>"
            )
        ly = mt + 14 + i * 15
        parts.append(
            f'<line x1="{ml + 10}" x2="{ml + 30}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{color}" stroke-width="3"/>'
            f'<text x="{ml + 35}" y="{ly}">{e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _percentile_chart(title: str, curves: dict[str, list[Any]], counts: dict[str, int]) -> str:
    series: list[tuple[str, list[tuple[float, float]]]] = []
    x_max = 1.0
    for m, pts in curves.items():
        cap = max(10.0, 2.0 * counts.get(m, 1))
        xy = [(pct_to_x(float(p), cap), float(v)) for p, v in pts]
        if xy:
            x_max = max(x_max, xy[-1][0])
        series.append((m, xy))
    labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
    x_hi = float(min(len(labels) - 1, math.ceil(x_max)))
    ticks = [(float(i), lab) for i, lab in enumerate(labels) if i <= x_hi]
    ticks.insert(1, (math.log10(2), "50%"))
    return svg_chart(
        series,
        x_range=(0.0, x_hi),
        title=title,
        x_label="percentile",
        y_label="latency",
        x_ticks=ticks,
        y_format=format_us,
    )


def _timeline_charts(g: dict[str, Any]) -> list[str]:
    rows = g["timeline"]
    if not rows:
        return []
    bucket = rows[1]["t"] - rows[0]["t"] if len(rows) > 1 else 1.0
    bucket = bucket or 1.0
    names = [k for k in ("answers", "md.msgs", "errors", "rejects") if any(r.get(k) for r in rows)]
    thr = [(f"{k}/s", [(r["t"], r.get(k, 0) / bucket) for r in rows]) for k in names]
    out = [
        svg_chart(
            thr,
            title=f"{g['name']}: throughput over time",
            x_label="seconds",
            y_label="per second",
            y_format=lambda v: f"{v:,.0f}",
        )
    ]
    lat = [
        (k.replace("_us", ""), [(r["t"], float(r[k])) for r in rows if k in r])
        for k in ("p50_us", "p99_us", "max_us")
    ]
    if any(pts for _, pts in lat):
        out.append(
            svg_chart(
                lat,
                title=f"{g['name']}: latency over time (per {bucket:g}s bucket)",
                x_label="seconds",
                y_label="latency",
                y_format=format_us,
            )
        )
    return out


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    h = "".join(f"<th>{e(str(c))}</th>" for c in headers)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def render_html(result: dict[str, Any]) -> str:
    e = html.escape
    t = result["totals"]
    tgt = result["target"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>loadtest {e(result['scenario'])}</title>",
        "<style>body{font-family:sans-serif;margin:24px;max-width:1100px}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}th{background:#f3f3f3}"
        ".lim{padding:8px;background:#fff7e0;border:1px solid #e0c060}"
        "code{background:#f3f3f3;padding:2px 4px}</style></head><body>",
        f"<h1>loadtest: {e(result['scenario'])}</h1>",
        f"<p>{e(result['started_at'])} on {e(str(result['machine']['host']))} "
        f"({result['machine']['cpus']} CPUs, Python {e(result['machine']['python'])})<br>"
        f"command: <code>{e(result['command'])}</code><br>"
        f"target: {e('self-test null targets' if tgt.get('self_test') else '')} "
        f"FIX {e(str(tgt.get('fix')))} WS {e(str(tgt.get('ws')))}</p>",
        f"<p class='lim'><b>Limited by: {e(result['limited_by'])}</b> - "
        f"{e(result['limited_by_reason'])}</p>",
        _table(
            ["sent", "answered", "failed", "unanswered", "rejects", "errors", "md msgs"],
            [
                [
                    t["sent"],
                    t["answered"],
                    t["failed"],
                    t["unanswered"],
                    t["rejects"],
                    t["errors"],
                    t["md_msgs"],
                ]
            ],
        ),
    ]
    for g in result["groups"].values():
        parts.append(f"<h2>{e(g['name'])} ({g['sessions']} sessions)</h2>")
        p = g.get("pacing")
        if p:
            parts.append(
                f"<p>{e(str(p['mode']))} loop, {p['elapsed_s']:.2f}s"
                + (
                    f", target rate {p['target_rate']:,.0f}/s, late sends {p['late_sends']:,}, "
                    f"max send lag {e(format_us(p['max_send_lag_us']))}"
                    if p["mode"] == "open"
                    else ""
                )
                + "; "
                + ", ".join(f"{e(k)} {v:,.0f}/s" for k, v in g["throughput"].items())
                + "</p>"
            )
        lat_rows = [
            [m, f"{s['count']:,}"]
            + [format_us(s[k]) for k in ("p50", "p90", "p99", "p99.9", "p99.99")]
            + [format_us(s["max_us"]), format_us(s["mean_us"])]
            for m, s in g["latency"].items()
        ]
        parts.append(
            _table(
                ["metric", "count", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"], lat_rows
            )
        )
        if g["curves"]:
            counts = {m: s["count"] for m, s in g["latency"].items()}
            parts.append(
                _percentile_chart(f"{g['name']}: latency by percentile", g["curves"], counts)
            )
        parts.extend(_timeline_charts(g))
        for label in ("rejects", "errors"):
            if g[label]:
                parts.append(f"<h3>{label} by reason</h3>")
                parts.append(_table(["reason", "count"], [[r, n] for r, n in g[label].items()]))
        parts.append(_table(["counter", "value"], [[k, f"{v:,}"] for k, v in g["counts"].items()]))
    mem = result.get("extra", {}).get("memory")
    if mem:
        samples = [pt for proc in mem for pt in proc]
        parts.append("<h2>target memory</h2>")
        parts.append(
            svg_chart(
                [("RSS", [(float(a), float(b) / 2**20) for a, b in samples])],
                title="target resident memory",
                x_label="seconds",
                y_label="MiB",
                y_format=lambda v: f"{v:,.0f}",
            )
        )
    parts.append("<h2>per session</h2>")
    srows = []
    for s in result["sessions"]:
        for m, lat in s["latency"].items():
            srows.append(
                [
                    s["name"],
                    s["group"],
                    m,
                    f"{lat['count']:,}",
                    format_us(lat["p50"]),
                    format_us(lat["p99"]),
                    format_us(lat["max_us"]),
                    f"{s.get('throughput', {}).get('answers_per_s', 0):,.0f}",
                    sum(s["rejects"].values()),
                    sum(s["errors"].values()),
                ]
            )
        if not s["latency"]:
            srows.append(
                [
                    s["name"],
                    s["group"],
                    "-",
                    0,
                    "-",
                    "-",
                    "-",
                    0,
                    sum(s["rejects"].values()),
                    sum(s["errors"].values()),
                ]
            )
    parts.append(
        _table(
            [
                "session",
                "group",
                "metric",
                "count",
                "p50",
                "p99",
                "max",
                "answers/s",
                "rejects",
                "errors",
            ],
            srows,
        )
    )
    procs = result["harness"]["procs"]
    parts.append("<h2>harness</h2>")
    parts.append(
        _table(
            ["proc", "elapsed s", "cpu s", "cpu util"],
            [[p["index"], p["elapsed_s"], p["cpu_s"], f"{p['cpu_util']:.0%}"] for p in procs],
        )
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_outputs(result: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<scenario>-<time>.json`` and ``.html`` (and ``latest.*`` copies)."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"][:19].replace(":", "").replace("-", "")
    base = f"{result['scenario']}-{stamp}"
    jpath = d / f"{base}.json"
    hpath = d / f"{base}.html"
    doc = {k: v for k, v in result.items()}
    doc["groups"] = {
        k: {kk: vv for kk, vv in g.items() if kk != "curves"} for k, g in result["groups"].items()
    }
    text = json.dumps(doc, indent=1)
    jpath.write_text(text)
    page = render_html(result)
    hpath.write_text(page)
    (d / "latest.json").write_text(text)
    (d / "latest.html").write_text(page)
    return jpath, hpath
