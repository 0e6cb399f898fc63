"""The audit chain over the admin API, real HTTP: every admin request made lands in the
store's chain; the daily anchors name its head; the check names an edited row.
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.follower.follower import Follower, FollowerSettings
from tests.gateway.admin.conftest import MakeAdmin, refused

V1 = "/admin/v1"


async def test_the_chain_its_anchors_and_its_first_broken_link(
    make_admin: MakeAdmin, store_url: str
) -> None:
    admin = await make_admin(store={"url": store_url})
    for halted in (True, False):
        reply = await admin.call("PUT", f"{V1}/halt", {"halted": halted})
        assert reply.status == 200, reply
    follower = Follower(FollowerSettings(Path(admin.app.config.journal.dir), store_url=store_url))
    await follower.start(asyncio.Event())
    while await follower.step(asyncio.Event()):
        pass
    store = follower.store
    rows = await store.fetch(
        "SELECT seq, operator, action, result, hash FROM audit WHERE role <> 'gateway' ORDER BY seq"
    )
    assert [(r[2], r[3]) for r in rows] == [("SetGlobalHalt", "applied")] * 2
    head = (await store.fetch("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))[0]

    reply = await admin.call("GET", f"{V1}/audit/anchors", role="compliance")
    assert reply.status == 200, reply
    ((_day, anchor),) = reply.body["anchors"].items()
    assert (anchor["seq"], anchor["hash"]) == head
    reply = await admin.call("GET", f"{V1}/audit/verify", role="read-only")
    assert reply.body["ok"] and reply.body["broken"] is None
    assert reply.body["rows"] == len(await store.fetch("SELECT seq FROM audit"))

    await store.fetch("UPDATE audit SET operator = 'mallory' WHERE seq = ?", rows[0][0])
    reply = await admin.call("GET", f"{V1}/audit/verify", role="venue-admin")
    assert not reply.body["ok"]
    assert reply.body["broken"] == {
        "seq": rows[0][0], "reason": "hash does not match the row's content"
    }  # fmt: skip
    refused(await admin.call("GET", f"{V1}/audit/verify", role="support"), "role-forbidden", 403)
    await follower.close()
