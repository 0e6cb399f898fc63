"""GET /admin/v1/sessions over real sockets: each open session's messages in and out,
throttle refusals and rates, as the edge holding it counts them."""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.admin.console.views import SessionRates
from gateway.config import load_config
from tests.gateway.admin.conftest import MakeAdmin
from tests.gateway.admin.test_session_logout import SESSIONS, fix_logon, ok
from tests.gateway.conftest import order
from tests.rest.helpers import RestClient
from tests.ws.helpers import connect_client, limit


async def listed(admin: Any) -> dict[str, dict[str, Any]]:
    """The open sessions by protocol (at most one of each here)."""
    sessions = ok(await admin.call("GET", SESSIONS, role="read-only"))["sessions"]
    return {s["protocol"]: s for s in sessions}


async def test_each_open_session_has_its_counters_throttle_hits_and_rates(
    make_admin: MakeAdmin,
) -> None:
    fix_sessions = [
        dataclasses.replace(s, max_msgs_per_s=2) if s.target_comp_id == "CLIENT1" else s
        for s in load_config().fix.sessions
    ]
    admin = await make_admin(fix={"sessions": fix_sessions}, ws={"max_requests_per_s": 5})
    assert admin.app.admin is not None
    now = [1000.0]  # the rates' clock: two samples two seconds apart
    admin.app.admin.console.sessions.rates = SessionRates(clock=lambda: now[0])
    fix = await fix_logon(admin, "CLIENT1")
    ws = await connect_client(admin.app)
    await ws.logon("demo-acc2")

    first = await listed(admin)
    for protocol in ("fix", "ws"):
        row = first[protocol]
        assert row["since_ms"] is not None and row["since_ms"] > 0, row
        assert {k: row[k] for k in ("msgs_in", "msgs_out", "throttle_hits")} == {
            "msgs_in": 1, "msgs_out": 1, "throttle_hits": 0,
        }, row  # the logon and its answer  # fmt: skip
        assert (row["in_per_s"], row["out_per_s"]) == ("0.0", "0.0")  # one sample yet

    await fix.send_raw(
        b"".join(fix.build("D", order(f"b{n}", 1, "0.1", "40000")) for n in range(10))
    )
    answers = [await fix.recv() for _ in range(10)]
    fix_refused = sum(m.msg_type == "j" for m in answers)
    assert fix_refused >= 1  # two per second: a burst of ten cannot all pass
    ids = [await ws.send("instruments") for _ in range(8)]
    ws_answers = [await ws.answer(i) for i in ids]
    ws_refused = sum(a["status"] == 429 for a in ws_answers)
    assert ws_refused >= 1

    now[0] += 2.0
    second = await listed(admin)
    assert {k: second["fix"][k] for k in ("msgs_in", "msgs_out", "throttle_hits")} == {
        "msgs_in": 11, "msgs_out": 11, "throttle_hits": fix_refused,
    }  # fmt: skip
    assert (second["fix"]["in_per_s"], second["fix"]["out_per_s"]) == ("5.0", "5.0")
    assert {k: second["ws"][k] for k in ("msgs_in", "msgs_out", "throttle_hits")} == {
        "msgs_in": 9, "msgs_out": 9, "throttle_hits": ws_refused,
    }  # fmt: skip
    assert (second["ws"]["in_per_s"], second["ws"]["out_per_s"]) == ("4.0", "4.0")
    assert second["fix"]["since_ms"] == first["fix"]["since_ms"]
    await ws.close()


async def test_a_rest_session_is_listed_since_its_first_order_with_nothing_counted(
    make_admin: MakeAdmin,
) -> None:
    admin = await make_admin()
    rest = RestClient(admin.app, "demo-acc1")
    await rest.ok("POST", "/api/v1/orders", limit("BTC-USD", "buy", "0.1", "100"))
    row = (await listed(admin))["rest"]
    assert (row["name"], row["account"], row["source"]) == ("demo-acc1", "ACC1", "127.0.0.1")
    assert row["since_ms"] is not None and row["since_ms"] > 0, row
    assert {k: row[k] for k in ("msgs_in", "msgs_out", "throttle_hits")} == {
        "msgs_in": 0, "msgs_out": 0, "throttle_hits": 0,
    }  # fmt: skip
