"""A WebSocket connection neither logged on nor subscribed for idle_timeout_s is closed
(4001); one that is logged on or subscribed stays."""

from __future__ import annotations

import asyncio

from tests.conftest import MakeGateway
from tests.gateway.edges import PATIENCE_S
from tests.ws.helpers import connect_client

TIMEOUT_S = 0.2


async def test_idle_connections_are_closed(make_gateway: MakeGateway) -> None:
    app = await make_gateway(ws={"idle_timeout_s": TIMEOUT_S})
    idle = await connect_client(app)
    await idle.ok("instruments")  # requests alone do not make a connection useful
    subscribed = await connect_client(app)
    await subscribed.ok("subscribe", {"channels": ["trades.BTC-USD"]})
    trader = await connect_client(app)
    await trader.logon("demo-acc1")
    await asyncio.wait_for(idle.ws.wait_closed(), PATIENCE_S)
    assert idle.ws.close_code == 4001
    assert idle.ws.close_reason == "idle: neither logged on nor subscribed for 0.2 s"
    # the others were checked at least as often meanwhile, and are still served
    await asyncio.sleep(3 * TIMEOUT_S)
    await subscribed.ok("instruments")
    await trader.ok("account.balances")
    await subscribed.ok("unsubscribe", {"channels": ["trades.BTC-USD"]})
    await asyncio.wait_for(subscribed.ws.wait_closed(), PATIENCE_S)
    assert subscribed.ws.close_code == 4001
    await trader.close()
