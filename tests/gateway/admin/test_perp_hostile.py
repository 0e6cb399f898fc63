"""The perpetual admin routes as a hostile (or mistaken) caller would use them: an
index price or perp parameter out of every range the journal and engine hold is a
409/422 that lists nothing (an index refused before it is journaled), never a 500."""

from __future__ import annotations

from typing import Any

from tests.gateway.admin.conftest import AdminClient, commands, refused

PERP = {"symbol": "BTC-PERP", "base": "BTC", "quote": "USD", "tick_size": "0.1",
        "lot_size": "0.001", "max_leverage": 50, "tiers": "0:0.005:50"}  # fmt: skip
INDEX = "/admin/v1/perp/index"


async def test_an_index_beyond_the_journals_integers_is_refused(admin: AdminClient) -> None:
    assert (await admin.call("POST", "/admin/v1/perps", PERP)).status == 200
    journaled = commands(admin.app)
    for price in ("9" * 40, "9" * 20, "0", "0.0"):
        body = {"symbol": "BTC-PERP", "price": price}
        refused(await admin.call("POST", INDEX, body, role="ops"), "invalid-request", 422)
    assert commands(admin.app) == journaled
    ok = await admin.call("POST", INDEX, {"symbol": "BTC-PERP", "price": "60000.3"}, role="ops")
    assert ok.status == 200, ok


async def test_perp_parameters_out_of_range_are_refused(admin: AdminClient) -> None:
    bad: list[dict[str, Any]] = [
        {"max_leverage": 2**64 - 1},
        {"funding_interval_s": 0},
        {"funding_interval_s": 2**64 - 1},
        {"tick_size": "0"},
        {"lot_size": "0"},
        {"tiers": "garbage"},
        {"tiers": "é" * 10},
        {"premium_sample_s": 0},
        {"mark_window": 0},
        {"tick_size": "9" * 40},
    ]
    for change in bad:
        reply = await admin.call("POST", "/admin/v1/perps", {**PERP, **change})
        assert reply.status in (409, 422), (change, reply)
    assert not admin.app.host.engine.perps.markets  # none was listed
