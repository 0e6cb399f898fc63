"""The perpetual admin routes over real HTTP: list a perp, feed its index."""

from __future__ import annotations

from engine.core import Engine
from engine.journal import recover
from tests.gateway.admin.conftest import AdminClient, commands

PERP = {"symbol": "BTC-PERP", "base": "BTC", "quote": "USD", "tick_size": "0.1",
        "lot_size": "0.001", "max_leverage": 50, "tiers": "0:0.005:50"}  # fmt: skip


async def test_a_listed_perp_takes_the_feeders_index(admin: AdminClient) -> None:
    assert (await admin.call("POST", "/admin/v1/perps", PERP)).status == 200
    reply = await admin.call("POST", "/admin/v1/perp/index",
                             {"symbol": "BTC-PERP", "price": "60000.3"}, role="ops")  # fmt: skip
    assert reply.status == 200, reply
    market = admin.app.host.engine.perps.markets["BTC-PERP"]
    assert market.index == 600_003
    [perp] = (await admin.call("GET", "/admin/v1/perps", role="read-only")).body["perps"]
    assert perp["symbol"] == "BTC-PERP" and perp["index_price"] == "60000.3"
    assert perp["mark_price"] == "" and perp["reduce_only"] is False


async def test_index_off_the_grid_or_of_no_perp_is_refused(admin: AdminClient) -> None:
    await admin.call("POST", "/admin/v1/perps", PERP)
    journaled = commands(admin.app)
    index = "/admin/v1/perp/index"
    off_grid = await admin.call("POST", index, {"symbol": "BTC-PERP", "price": "60000.35"},
                                role="ops")  # fmt: skip
    assert off_grid.status == 422 and "price" in off_grid.body["detail"]
    unknown = await admin.call("POST", index, {"symbol": "ETH-PERP", "price": "1"}, role="ops")
    assert unknown.status == 404
    assert commands(admin.app) == journaled  # no command journaled
    again = await admin.call("POST", "/admin/v1/perps", PERP)
    assert again.status == 409


async def test_the_feeders_command_is_journaled_and_replays(admin: AdminClient) -> None:
    await admin.call("POST", "/admin/v1/perps", PERP)
    await admin.call("POST", "/admin/v1/perp/index", {"symbol": "BTC-PERP", "price": "1.5"},
                     role="ops")  # fmt: skip
    replayed = Engine()
    recover(replayed, admin.app.host.journal_dir)  # the answer came once it was durable
    assert replayed.perps.markets["BTC-PERP"].index == 15
    assert replayed.state_hash() == admin.app.host.engine.state_hash()
