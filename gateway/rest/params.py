"""What every public REST route shares: its JSON answers, its error shape, and how it
reads a number from the query (one grammar and one error code, ``invalid_param``, for
every route: docs/WS_API.md, HTTP endpoints)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from gateway.decimals import ascii_int

__all__ = ["error", "int_query", "json_response"]


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def error(status: int, code: str, msg: str) -> web.Response:
    """``{"error": {"code", "msg"}}`` with ``status``."""
    return json_response({"error": {"code": code, "msg": msg}}, status)


def int_query(request: web.Request, name: str, default: int, high: int) -> int | web.Response:
    """A query parameter in 1..high (leading zeros allowed), ``default`` if absent, or
    the 400 answer to send instead: given twice, or not ASCII digits in range."""
    values = request.query.getall(name, [])
    if not values:
        return default
    if len(values) > 1:
        return error(400, "invalid_param", f"{name} given more than once")
    number = ascii_int(values[0].lstrip("0"), len(str(high)))
    if number is None or number > high:  # "0" strips to "": not a number
        return error(400, "invalid_param", f"{name} must be an integer 1..{high}")
    return number
