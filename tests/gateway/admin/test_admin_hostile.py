"""The admin listener's new read routes as a hostile client would call them: query
parameters that are not ASCII digits, longer than int() reads, or beyond a database
integer are a 422 invalid-request (never a 500), and the console's live stream is
for signed venue staff only, once per signature."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from yarl import URL

from tests.gateway.admin.alerts import ALERTS
from tests.gateway.admin.conftest import AdminClient, refused

#: digits str.isdigit() takes and int() refuses; more digits than int() reads; a
#: number no SQL integer holds
HOSTILE_NUMBERS = ("²", "1" + "0" * 5000, "9" * 30, "-1", "1e3", "٣")


async def test_a_hostile_number_in_a_query_is_an_invalid_request(admin: AdminClient) -> None:
    for path in ("/admin/v1/console/accounts", "/admin/v1/console/audit", ALERTS):
        for value in HOSTILE_NUMBERS:
            reply = await admin.call("GET", f"{path}?limit={quote(value)}", role="compliance")
            refused(reply, "invalid-request", 422)
    for value in HOSTILE_NUMBERS:
        reply = await admin.call("GET", f"{ALERTS}?after={quote(value)}:A1", role="compliance")
        refused(reply, "invalid-request", 422)
    for path in ("/admin/v1/deposits", "/admin/v1/withdrawals"):
        for value in HOSTILE_NUMBERS:
            refused(await admin.call("GET", f"{path}?limit={quote(value)}"), "invalid-request", 422)
    tier = {"trade": True, "deposit": True, "withdraw": True}
    for value in ("²", "٣", "99999"):
        reply = await admin.call("PUT", f"/admin/v1/tenants/DEMO/tiers/{quote(value)}", tier)
        refused(reply, "invalid-request", 422)


STREAM = "/admin/v1/console/stream"


async def test_the_console_stream_is_refused_unsigned_forged_or_replayed(
    admin: AdminClient,
) -> None:
    """(A tenant-admin gets a stream scoped to its tenant: test_tenant_console.py.)"""
    refused(await admin.raw("GET", STREAM), "credentials-missing", 401)
    forged = admin.headers("demo-ops", "GET", STREAM, b"", seed="11" * 32)
    refused(await admin.raw("GET", STREAM, headers=forged), "bad-signature", 401)
    headers = admin.headers("demo-read-only", "GET", STREAM, b"")
    timeout = aiohttp.ClientTimeout(total=10)
    async with admin.http.get(admin.base + STREAM, headers=headers, timeout=timeout) as first:
        assert first.status == 200
        assert (await first.content.readline()).startswith(b"retry:")
        replay = await admin.raw("GET", STREAM, headers=headers)
        assert replay.status == 401, replay


async def test_the_console_assets_serve_no_other_file(admin: AdminClient) -> None:
    for name in ("%2e%2e%2fserver.py", "..%2f..%2fconfig.py", "index.html%00.js", "%2ehidden.js",
                 "..%5c..%5cx.js", "index.js%20", "%C3%A9.js", "x" * 300 + ".js"):  # fmt: skip
        url = URL(f"{admin.base}/console/static/{name}", encoded=True)
        async with admin.http.get(url) as resp:
            assert resp.status == 404, (name, resp.status)
