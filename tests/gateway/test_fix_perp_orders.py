"""Perpetual orders over a real FIX session: ExecInst (18) ``E`` (Do Not Increase)
makes a NewOrderSingle reduce-only, and every ExecutionReport of the order echoes it."""

from __future__ import annotations

from engine.commands import NewOrder
from engine.model import OrdType, Side
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import SetMarketState
from gateway.app import App
from tests.conftest import submit_applied
from tests.gateway.conftest import Connect

SYMBOL = "BTC-PERP"


def _order(clordid: str, side: str, qty: str, price: str, exec_inst: str) -> list[tuple[int, str]]:
    return [(11, clordid), (55, SYMBOL), (54, side), (60, "20240101-00:00:00.000"),
            (38, qty), (40, "2"), (44, price), (18, exec_inst)]  # fmt: skip


async def test_exec_inst_e_is_reduce_only(app: App, fix_login: Connect) -> None:
    await app.perp_ticker.stop()  # this test sends its own ticks
    for command in (
        AddPerpInstrument(SYMBOL, "BTC", "USD", "0.1", "0.001", tiers="0:0.005:20"),
        SetMarketState("DEMO", SYMBOL, MarketState.ENABLED),
        SetIndexPrice(SYMBOL, 600_000),
        PerpTick(SYMBOL),
    ):
        await submit_applied(app, command)
    client = await fix_login("CLIENT1")
    await client.send("D", _order("r1", "2", "1", "61000", "E"))  # ACC1 is flat
    refused = await client.expect("8")
    assert (refused.get_str(150), refused.get_str(103)) == ("8", "99")
    assert (refused.get_str(58) or "").startswith("E39: reduce-only")
    await submit_applied(app, NewOrder("ACC2", SYMBOL, Side.SELL, OrdType.LIMIT, 400, 600_000))
    await submit_applied(app, NewOrder("ACC1", SYMBOL, Side.BUY, OrdType.LIMIT, 400, 600_000))
    assert app.host.engine.perps.positions[SYMBOL]["ACC1"].size == 400
    await client.send("D", _order("r2", "2", "1", "61000", "6 E"))  # post-only too
    placed = await client.expect("8")
    while placed.get_str(11) != "r2":
        placed = await client.expect("8")
    assert (placed.get_str(150), placed.get_str(38)) == ("0", "0.4")  # clipped
    assert placed.get_str(18) == "6 E"
    [order] = app.host.engine.open_orders("ACC1", SYMBOL)
    assert order.reduce_only and order.post_only and order.qty == 400
    await client.send("F", [(41, "r2"), (11, "c2"), (55, SYMBOL), (54, "2"),
                            (60, "20240101-00:00:00.000")])  # fmt: skip
    canceled = await client.expect("8")
    assert (canceled.get_str(150), canceled.get_str(18)) == ("4", "6 E")
    await client.send("D", _order("r3", "2", "0.1", "61000", "E"))
    reducing = await client.expect("8")
    assert (reducing.get_str(150), reducing.get_str(18)) == ("0", "E")
    await client.send("D", _order("p4", "2", "0.1", "62000", "6"))  # opens nothing: no E
    plain = await client.expect("8")
    assert (plain.get_str(150), plain.get_str(18)) == ("0", "6")
    await submit_applied(app, NewOrder("ACC2", SYMBOL, Side.BUY, OrdType.LIMIT, 1_000, 600_000))
    await client.send("D", [(11, "close"), (55, SYMBOL), (54, "2"), (60, "20240101-00:00:00.000"),
                            (38, "5"), (40, "1"), (18, "E")])  # fmt: skip
    done = await client.expect("8")
    while (done.get_str(11), done.get_str(39)) != ("close", "2"):  # the whole position closes
        done = await client.expect("8")
    assert (done.get_str(38), done.get_str(14), done.get_str(18)) == ("0.4", "0.4", "E")
    assert app.host.engine.perps.positions[SYMBOL]["ACC1"].size == 0
