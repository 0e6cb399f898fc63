"""The overview's figures (views.Sampler): acknowledgement latency per order-entry edge,
from the gateway's gw_order_ack_latency_seconds, over the sampler's window."""

from __future__ import annotations

from gateway.admin.console.views import Sampler
from gateway.app import App
from tests.gateway.conftest import Connect, order


async def test_the_overview_shows_the_ack_latency_of_the_orders_in_its_window(
    app: App, fix_login: Connect
) -> None:
    sampler = Sampler(app.registry, window_s=0)  # every call is a new window
    assert sampler.figures()["latency_us"]["ack_fix"] == {
        "samples": 0, "p50": None, "p99": None, "p999": None,
    }  # fmt: skip
    client = await fix_login("CLIENT1")
    for n in range(3):
        await client.send("D", order(f"o{n}", 1, "0.1", "40000"))
        assert (await client.expect("8")).get(150) == b"0"
    figures = sampler.figures()["latency_us"]
    fix = figures["ack_fix"]
    assert fix["samples"] == 3
    assert 0 < fix["p50"] <= fix["p99"] <= fix["p999"], fix  # bucket bounds (µs)
    assert figures["ack_ws"]["samples"] == 0
    assert sampler.figures()["latency_us"]["ack_fix"]["samples"] == 0  # the next window
