"""A wash-trade alert in the follower's store, for the tests of the surveillance routes
and of the console's alert queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.commands import NewOrder
from engine.model import OrdType, Side, TimeInForce
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.surveillance.settings import load_settings
from gateway.follower.surveillance.store import record_alerts
from tests.conftest import submit_applied
from tests.gateway.admin.conftest import AdminClient

SURVEILLANCE = {
    "owners": {"ACC2": "ACC1"},
    "reporting_entity": {
        "name": "Example Venue Ltd", "lei": "", "address": "1 Market Street",
        "capacity": "operator of a trading platform for crypto-assets",
        "contact": "mlro@example.test", "venue": "EXAMPLE",
        "not_applicable": {"lei": "LEI application pending"},
    },
}  # fmt: skip
ALERTS = "/admin/v1/surveillance/alerts"


async def wash_trades(admin: AdminClient) -> None:
    """ACC1 and ACC2 (one owner) trade three times: a wash-trade alert."""
    for n in range(3):
        maker, taker = ("ACC1", "ACC2") if n % 2 else ("ACC2", "ACC1")
        for account, tif in ((maker, TimeInForce.GTC), (taker, TimeInForce.IOC)):
            side = Side.SELL if account == maker else Side.BUY
            cmd = NewOrder(account, "BTC-USD", side, OrdType.LIMIT, 10_000, 5_000_000, tif)
            await submit_applied(admin.app, cmd)


async def follow(admin: AdminClient) -> None:
    """Run the journal follower (surveillance on) into the store the gateway reads, and
    tell the gateway's console what it stored (as the supervisor does from its status
    lines)."""
    config = admin.app.config
    follower = Follower(FollowerSettings(Path(config.journal.dir)))
    record_alerts(follower.replayer, load_settings(config.surveillance))
    stop = asyncio.Event()
    assert await follower.start(stop)
    while await follower.step(stop):
        pass
    await follower.close()
    if admin.app.admin is not None:
        admin.app.admin.console.stored(admin.app.host.engine.last_seq)
