"""The reports as a tenant-admin probing past its tenant: a trade between its account
and another tenant's (or no tenant's) account is in its blotter, but the other side's
account, order ids and fee are not."""

from __future__ import annotations

from pathlib import Path

from engine.commands import AdjustBalance, NewOrder, OpenAccount
from engine.model import OrdType, Side, Stp
from tests.conftest import follow, submit_applied
from tests.gateway.admin.conftest import MakeAdmin

BLOTTER = "/admin/v1/reports/blotter"
#: the fields of one side of a blotter row
SIDES = {
    "maker": ("maker_account", "maker_order_id", "maker_client_order_id", "maker_fee"),
    "taker": ("taker_account", "taker_order_id", "taker_client_order_id", "taker_fee"),
}


async def test_a_tenant_admins_blotter_hides_the_other_tenants_side(
    make_admin: MakeAdmin, tmp_path: Path
) -> None:
    admin = await make_admin(store={"url": f"sqlite:{tmp_path / 'store.sqlite3'}"})
    app = admin.app
    await submit_applied(app, OpenAccount("OUTSIDER", Stp.NONE, "1", "2"))  # no tenant's
    await submit_applied(app, AdjustBalance("OUTSIDER", "BTC", 10**14))
    sell = NewOrder(
        "OUTSIDER", "BTC-USD", Side.SELL, OrdType.LIMIT, 1000, 100_00, client_order_id="o-1"
    )
    await submit_applied(app, sell)
    await submit_applied(app, NewOrder("ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 1000, 100_00))
    await follow(app)

    [staff] = (await admin.call("GET", BLOTTER, role="compliance")).body
    assert (staff["maker_account"], staff["seller_account"]) == ("OUTSIDER", "OUTSIDER")
    reply = await admin.call("GET", BLOTTER, role="tenant-admin")
    assert reply.status == 200, reply
    [row] = reply.body
    assert (row["trade_id"], row["taker_account"], row["buyer_account"]) == (
        staff["trade_id"], "ACC1", "ACC1",
    )  # fmt: skip
    assert row["seller_account"] == ""
    assert all(row[name] == "" for name in SIDES["maker"]), row
    assert all(row[name] == staff[name] for name in SIDES["taker"]), row
    as_csv = await admin.call("GET", BLOTTER + "?format=csv", role="tenant-admin")
    assert b"OUTSIDER" not in as_csv.body and b"o-1" not in as_csv.body
