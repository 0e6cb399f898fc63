"""Streamed admin answers: rows from the store written as CSV, a JSON array or JSON
Lines while they are read, with the client's pace (a write waits while the socket's
buffer is full, and no further page is read meanwhile).

The first row is read before the answer starts, so a store that cannot answer is
still a problem document (503). A failure after that cuts the chunked body short
(no final chunk): the client sees an incomplete transfer, never a truncated file that
looks whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

import orjson
import structlog
from aiohttp import web

from gateway.admin.problems import Problem
from gateway.readstore import StoreUnavailable

__all__ = ["FORMATS", "MEDIA", "stream_rows"]

log = structlog.get_logger("gateway.admin")

#: format name: media type
FORMATS: Final = {
    "csv": "text/csv",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}
MEDIA: Final = tuple(FORMATS.values())
_CHUNK: Final = 64 * 1024


def _csv_line(values: Sequence[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(["" if v is None else v for v in values])
    return out.getvalue().encode()


def _encode(fmt: str, columns: Sequence[str], row: dict[str, Any], first: bool) -> bytes:
    if fmt == "csv":
        return _csv_line([row[c] for c in columns])
    if fmt == "jsonl":
        return orjson.dumps(row) + b"\n"
    return (b"[\n" if first else b",\n") + orjson.dumps(row)


async def stream_rows(
    request: web.Request,
    rows: AsyncIterator[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    filename: str,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Write ``rows`` as ``fmt`` (csv, json, jsonl) and return the finished response."""
    if fmt not in FORMATS:
        raise Problem("invalid-request", f"format: one of {', '.join(FORMATS)}")
    try:
        first = await anext(rows, None)
    except StoreUnavailable as exc:
        raise Problem("store-unavailable", str(exc)) from None
    response = web.StreamResponse(
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
            **(headers or {}),
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    buffer = bytearray(_csv_line(columns) if fmt == "csv" else b"")
    count = 0
    try:
        row = first
        while row is not None:
            buffer += _encode(fmt, columns, row, count == 0)
            count += 1
            if len(buffer) >= _CHUNK:
                await response.write(bytes(buffer))
                buffer.clear()
            row = await anext(rows, None)
    except Exception:
        log.exception("admin.stream_failed", path=request.path, rows=count)
        if request.transport is not None:
            request.transport.close()  # no final chunk: the client sees the cut
        return response
    if fmt == "json":
        buffer += b"\n]\n" if count else b"[]\n"
    await response.write(bytes(buffer))
    await response.write_eof()
    return response
