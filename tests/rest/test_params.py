"""REST query parameters: only ASCII digits in range are numbers; the rest is a 400."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from gateway.app import App

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
