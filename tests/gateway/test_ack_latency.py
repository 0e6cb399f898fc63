"""gw_order_ack_latency_seconds: every order acknowledged over FIX or WS, read to
written, is one observation of its protocol's histogram, served on /metrics."""

from __future__ import annotations

import aiohttp

from gateway.app import App
from tests.gateway.conftest import TT, Connect, order
from tests.prometheus_text import parse_strict
from tests.ws.helpers import connect_client, limit

ACK_LATENCY = "gw_order_ack_latency_seconds"


async def ack_latency(app: App) -> dict[str, dict[str, float]]:
    """The histogram's samples from GET /metrics: protocol -> {suffix or le: value}."""
    assert app.http is not None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{app.http.port}/metrics") as resp,
    ):
        assert resp.status == 200
        family = parse_strict(await resp.text())[ACK_LATENCY]
    assert family.type == "histogram"
    samples: dict[str, dict[str, float]] = {}
    for sample in family.samples:
        key = sample.labels.get("le") or sample.name.removeprefix(ACK_LATENCY)
        samples.setdefault(sample.labels["protocol"], {})[key] = sample.value
    return samples


async def test_each_acknowledged_fix_and_ws_order_is_one_sample(
    app: App, fix_login: Connect
) -> None:
    client = await fix_login("CLIENT1")
    acked = 0
    for n, price in enumerate(["40000", "40010"]):
        await client.send("D", order(f"o{n}", 1, "0.1", price))
        assert (await client.expect("8")).get(150) == b"0"
        acked += 1
    await client.send("F", [(11, "c0"), (41, "o0"), (55, "BTC-USD"), (54, 1), TT])
    assert (await client.expect("8")).get(150) == b"4"
    acked += 1
    replace = [
        (11, "r1"),
        (41, "o1"),
        (55, "BTC-USD"),
        (54, 1),
        (38, "0.2"),
        (40, 2),
        (44, "40005"),
    ]
    await client.send("G", [*replace, TT])
    assert (await client.expect("8")).get(150) == b"5"
    acked += 1
    # a status request is answered, but it is no order: not timed
    await client.send("H", [(11, "r1"), (790, "s1"), (55, "BTC-USD"), (54, 1)])
    assert (await client.expect("8")).get(150) == b"I"

    ws = await connect_client(app)
    try:
        await ws.logon()
        placed = await ws.ok("order.place", limit("BTC-USD", "buy", "0.1", "39000"))
        await ws.ok("order.cancel", {"symbol": "BTC-USD", "order_id": placed["id"]})
        await ws.ok("orders.open", {})  # a read: not timed
    finally:
        await ws.close()

    samples = await ack_latency(app)
    fix, ws_samples = samples["fix"], samples["ws"]
    assert (fix["_count"], ws_samples["_count"]) == (acked, 2), samples
    assert fix["+Inf"] == acked and fix["_sum"] > 0
    assert ws_samples["+Inf"] == 2 and ws_samples["_sum"] > 0
