"""Another account's order is, over the WebSocket API, an order that does not exist:
every method that names an order by id answers for it exactly what it answers for an
id that never existed (and the victim hears nothing)."""

from __future__ import annotations

from typing import Any

from gateway.app import App
from tests.ws.helpers import connect_client, limit

UNKNOWN_ID = 987654321


async def test_not_owned_order_is_refused_as_unknown(gateway: App) -> None:
    victim = await connect_client(gateway)
    await victim.logon("demo-acc1")
    await victim.ok("subscribe", {"channels": ["user"]})
    snoop = await connect_client(gateway)
    await snoop.logon("demo-acc2")
    placed = await victim.ok("order.place", limit("BTC-USD", "buy", "0.5", "40000",
                                                  client_order_id="victim-secret"))  # fmt: skip
    await snoop.ok("order.place", limit("BTC-USD", "sell", "0.1", "40000", time_in_force="ioc"))
    await victim.quiet()  # the victim's own order and fill updates
    requests: list[tuple[str, dict[str, Any]]] = [
        ("order.cancel", {"symbol": "BTC-USD"}),
        ("order.replace", {"symbol": "BTC-USD", "quantity": "0.3", "price": "40000"}),
        ("order.status", {"symbol": "BTC-USD"}),
    ]
    for method, params in requests:
        not_owned = await snoop.call(method, {**params, "order_id": placed["id"]})
        unknown = await snoop.call(method, {**params, "order_id": UNKNOWN_ID})
        assert not_owned["error"]["code"] == 2020, not_owned
        assert {**not_owned, "id": 0} == {**unknown, "id": 0}, method
    assert (await victim.ok("order.status", {"symbol": "BTC-USD", "order_id": placed["id"]}))[
        "status"
    ] == "partially_filled"
    assert await victim.quiet() == []
    await victim.close()
    await snoop.close()
