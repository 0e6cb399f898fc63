"""Admin requests refused after authentication are journaled (AdminRefused) and so land
in the store's hash-chained audit trail with who, from where, what and why; what no
operator signed stays in the audit file and a metric; an operator flooding refusals is
journaled up to its rate. Real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from gateway.admin.audit import read_tail
from gateway.follower.audit import HASHED
from gateway.follower.audit_cli import verify_store
from gateway.follower.follower import Follower, FollowerSettings
from tests.gateway.admin.conftest import AdminClient, MakeAdmin, refused

V1 = "/admin/v1"


async def _follow(journal: Path, store_url: str) -> Follower:
    follower = Follower(FollowerSettings(journal, store_url=store_url))
    await follower.start(asyncio.Event())
    while await follower.step(asyncio.Event()):
        pass
    return follower


def _metric(admin: AdminClient, kind: str) -> str:
    return f'gw_admin_refused_total{{kind="{kind}"}}'


async def test_refused_requests_are_in_the_chain_with_who_what_and_why(
    make_admin: MakeAdmin, store_url: str, tmp_path: Path
) -> None:
    admin = await make_admin(store={"url": store_url})
    journal = Path(admin.app.config.journal.dir)
    refused(
        await admin.call("PUT", f"{V1}/halt", {"halted": True}, role="read-only"),
        "role-forbidden",
        403,
    )
    refused(await admin.call("PUT", f"{V1}/halt", {"halted": "yes"}), "invalid-request", 422)
    refused(await admin.call("PUT", f"{V1}/halt", {"halted": True}, key=None),
            "idempotency-key-missing", 400)  # fmt: skip
    # signed with another operator's key: nobody is authenticated, so nobody is named
    forged = admin.seeds["demo-ops"]
    refused(
        await admin.call("PUT", f"{V1}/halt", {"halted": True}, role="read-only", seed=forged),
        "bad-signature",
        401,
    )
    follower = await _follow(journal, store_url)
    store = follower.store
    rows = await store.fetch(
        "SELECT seq, operator, role, source, action, result, detail FROM audit "
        "WHERE result = 'refused' ORDER BY seq"
    )
    assert [r[1:6] for r in rows] == [
        ("demo-read-only", "read-only", "127.0.0.1", f"PUT {V1}/halt", "refused"),
        ("demo-venue-admin", "venue-admin", "127.0.0.1", f"PUT {V1}/halt", "refused"),
        ("demo-venue-admin", "venue-admin", "127.0.0.1", f"PUT {V1}/halt", "refused"),
    ]
    details = [orjson.loads(str(r[6])) for r in rows]
    assert [(d["status"], d["problem"]) for d in details] == [
        (403, "role-forbidden"), (422, "invalid-request"), (400, "idempotency-key-missing")
    ]  # fmt: skip
    assert "read-only may not call PUT" in details[0]["text"]
    assert (await verify_store(store))[1] is None

    # the audit file names the journal record of each refusal it holds
    lines = await asyncio.to_thread(read_tail, admin.app.admin.audit.path, 1 << 20)  # type: ignore[union-attr]
    assert [line["seq"] for line in lines if line["status"] >= 400] == [int(r[0]) for r in rows] + [
        None
    ]

    metrics = admin.app.registry.render()
    assert f"{_metric(admin, 'journaled')} 3" in metrics
    assert f"{_metric(admin, 'unauthenticated')} 1" in metrics

    chain = f"SELECT {', '.join(HASHED)}, hash FROM audit ORDER BY seq"
    rebuilt = await _follow(journal, f"sqlite:{tmp_path / 'rebuilt.sqlite3'}")
    assert await rebuilt.store.fetch(chain) == await store.fetch(chain)
    await rebuilt.close()
    await follower.close()


async def test_an_operator_flooding_refusals_is_journaled_up_to_its_rate(
    make_admin: MakeAdmin,
) -> None:
    admin = await make_admin(admin={"journal_refusals_per_min": 2})
    engine = admin.app.host.engine
    before = engine.last_seq
    for _ in range(5):
        refused(
            await admin.call("PUT", f"{V1}/halt", {"halted": True}, role="read-only"),
            "role-forbidden",
            403,
        )
    assert engine.last_seq == before + 2
    # another operator has its own allowance
    refused(await admin.call("PUT", f"{V1}/halt", {"halted": True}, role="support"),
            "role-forbidden", 403)  # fmt: skip
    assert engine.last_seq == before + 3
    metrics = admin.app.registry.render()
    assert f"{_metric(admin, 'journaled')} 3" in metrics
    assert f"{_metric(admin, 'rate_limited')} 3" in metrics
