"""Every decimal param of every WS method takes the one grammar of every edge
(gateway/decimals.py) and nothing else, over a real WebSocket: Python's Decimal()
forms (exponent, '+', '_', spaces, non-ASCII digits) are error 1005, not a price."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.app import App
from tests.ws.helpers import Client, connect_client, limit

BAD = ("1e-3", "1_0", " 1", "+1", "\u0661", "1e3", "1e-999999999", "1E2", "1\n", "NaN",
       "Infinity", "0x10", "\uff11", "1.2.3", "-", ".", "", "9" * 5000,
       "0" * 64 + "1")  # fmt: skip
#: method -> (valid params, the decimal params to spoil), order.replace on a resting order
CASES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "order.place": (limit("BTC-USD", "buy", "0.5", "40000"), ("quantity", "price")),
    "order.place market": (
        {"symbol": "BTC-USD", "side": "buy", "type": "market", "quote_quantity": "100"},
        ("quote_quantity",),
    ),
    "order.replace": (
        {
            "symbol": "BTC-USD",
            "client_order_id": "r2",
            "orig_client_order_id": "r1",
            "quantity": "0.3",
            "price": "40000",
        },
        ("quantity", "price"),
    ),
}


async def trader(gateway: App) -> Client:
    c = await connect_client(gateway)
    await c.logon("demo-acc1")
    await c.ok("order.place", limit("BTC-USD", "buy", "0.5", "39000", client_order_id="r1"))
    return c


@pytest.mark.parametrize("case", CASES)
async def test_decimal_params_refuse_every_form_outside_the_grammar(
    gateway: App, case: str
) -> None:
    c = await trader(gateway)
    params, names = CASES[case]
    method = case.split()[0]
    for name in names:
        for bad in BAD:
            answer = await c.call(method, {**params, name: bad})
            assert answer["status"] == 400, (name, bad, answer)
            assert answer["error"]["code"] == 1005, (name, bad, answer)
            assert len(answer["error"]["msg"]) < 200, "the value is not echoed in full"
    view = gateway.tracker.find("ACC1", "r1")
    assert view is not None and (view.qty, view.price) == (5000, 3900000)
    assert len(gateway.tracker.open_orders("ACC1", "")) == 1
    await c.close()


async def test_the_grammars_odd_forms_are_exact_values(gateway: App) -> None:
    """ "1." and ".5" (FIX allows both), leading zeros and trailing zeros read as their value."""
    c = await trader(gateway)
    placed = await c.ok(
        "order.place", limit("BTC-USD", "buy", ".5", "039000.", client_order_id="odd")
    )
    assert (placed["quantity"], placed["price"]) == ("0.5", "39000")
    replaced = await c.ok("order.replace", {"symbol": "BTC-USD", "orig_client_order_id": "odd",
                                            "quantity": "0.30", "price": "38999.990"})  # fmt: skip
    assert (replaced["quantity"], replaced["price"]) == ("0.3", "38999.99")
    await c.close()
