"""The REST routes as a hostile client would call them: documented errors, never a 500
and never a server path (a funding history limit is checked in test_params.py, with
every number parameter)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson

from engine.perp.commands import AddPerpInstrument
from tests.conftest import MakeGateway, submit_applied
from tests.rest.helpers import RestClient

SYMBOL = "BTC-PERP"


async def test_a_store_that_cannot_answer_is_a_503_that_names_no_server_path(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    where = tmp_path / "nowhere-secret" / "store.sqlite3"
    app = await make_gateway(store={"url": f"sqlite:{where}", "follower": False})
    await submit_applied(app, AddPerpInstrument(
        SYMBOL, "BTC", "USD", "0.1", "0.001", tiers="0:0.005:20",
        funding_interval_s=1, premium_sample_s=1,
    ))  # fmt: skip
    assert app.http is not None
    base = f"http://127.0.0.1:{app.http.port}"
    async with aiohttp.ClientSession() as http:
        for path in ("/api/v1/liabilities", f"/api/v1/perps/{SYMBOL}/funding"):
            async with http.get(base + path) as resp:
                text = await resp.text()
                assert resp.status == 503, (path, text)
                assert orjson.loads(text)["error"]["code"] == "store_unavailable"
                assert "nowhere-secret" not in text and "sqlite" not in text, text


async def test_an_oversized_chunked_body_is_refused_with_the_documented_error(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway()
    rest = RestClient(app, "demo-acc1")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 2 MiB without a Content-Length
            yield b" " * 32768

    headers = rest.signed("POST", "/api/v1/transfers", b"")
    async with (
        aiohttp.ClientSession() as http,
        http.post(rest.base + "/api/v1/transfers", data=chunks(), headers=headers) as resp,
    ):
        body = orjson.loads(await resp.read())
        assert (resp.status, body["error"]["code"]) == (400, 1002), body


async def test_hostile_paths_and_queries_get_the_documented_errors(
    make_gateway: MakeGateway,
) -> None:
    app = await make_gateway()
    rest = RestClient(app, "demo-acc1")
    for path_qs in (
        "/api/v1/withdrawals/" + "w" * 5000,
        "/api/v1/withdrawals/%C3%A9%E2%80%AE",
        "/api/v1/orders?symbol=%C3%A9",
        "/api/v1/orders?symbol=" + "S" * 5000,
        "/api/v1/orders?%C3%A9=1",
        "/api/v1/orders?cursor=" + "9" * 5000,
        "/api/v1/orders?limit=%C2%B2",
        "/api/v1/orders?account=ACC2",
        "/api/v1/ledger?account=%40fees",
        "/api/v1/fills?from=" + "9" * 19,
    ):
        status, body = await rest.get(path_qs)
        assert 400 <= status < 500 and body["error"]["code"] in (1002, 1004, 2001, 2002, 2036), (
            path_qs[:60], status, body,
        )  # fmt: skip
