"""REST query parameters: only ASCII digits in range are numbers; the rest is a 400."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from engine.perp.commands import AddPerpInstrument
from gateway.app import App
from tests.conftest import MakeGateway, submit_applied

BAD_NUMBERS = [
    "\u00b2",  # a superscript two: str.isdigit() says yes, int() says no
    "\u0663",  # Arabic-Indic three: int() reads it as 3
    "\uff11\uff10",  # full-width ten
    "5" * 5000,  # past int()'s digit limit
    "1" + "0" * 30,
    "",
    "-1",
    "+5",
    " 5",
    "5 ",
    "1e2",
    "0",
]


async def get(app: App, path: str, query: list[tuple[str, str]]) -> tuple[int, Any]:
    assert app.http is not None
    url = URL(f"http://127.0.0.1:{app.http.port}{path}").with_query(query)
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize(
    ("path", "name", "high"),
    [("/api/v1/book/BTC-USD", "depth", 1000), ("/api/v1/trades/BTC-USD", "limit", 1000)],
)
async def test_numbers_are_ascii_digits_in_range(
    gateway: App, path: str, name: str, high: int
) -> None:
    for text in BAD_NUMBERS:
        status, body = await get(gateway, path, [(name, text)])
        assert status == 400, text
        assert body["error"] == {
            "code": "invalid_param",
            "msg": f"{name} must be an integer 1..{high}",
        }, text
    for text in ("1", "0010", str(high)):
        status, _ = await get(gateway, path, [(name, text)])
        assert status == 200, text
    status, body = await get(gateway, path, [(name, "1"), (name, "2")])
    assert status == 400
    assert body["error"] == {"code": "invalid_param", "msg": f"{name} given more than once"}


async def test_the_funding_limit_is_a_number_like_the_others(make_gateway: MakeGateway) -> None:
    """The perp funding route reads its limit with the same helper, so the same
    grammar, the same 400 code and the same refusal of a repeated parameter."""
    app = await make_gateway()
    await submit_applied(
        app, AddPerpInstrument("BTC-PERP", "BTC", "USD", "0.1", "0.001", tiers="0:0.005:20")
    )
    path = "/api/v1/perps/BTC-PERP/funding"
    for text in [*BAD_NUMBERS, "1001"]:
        status, body = await get(app, path, [("limit", text)])
        assert status == 400, text
        assert body["error"] == {"code": "invalid_param", "msg": "limit must be an integer 1..1000"}
    for text in ("1", "0010", "1000"):
        status, _ = await get(app, path, [("limit", text)])
        assert status != 400, text  # 200, or 503 when no store answers
    status, body = await get(app, path, [("limit", "1"), ("limit", "2")])
    assert status == 400
    assert body["error"] == {"code": "invalid_param", "msg": "limit given more than once"}
