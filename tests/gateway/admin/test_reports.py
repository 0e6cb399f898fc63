"""Reports and reconciliation over the admin API and the CLI, over real HTTP, against
a store the journal follower wrote (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.commands import AdjustBalance, NewOrder, OpenAccount
from engine.events import Trade
from engine.model import OrdType, Side, Stp, units_to_decimal
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.reports import EXPORT_COLUMNS, EXPORT_SCHEMA, STATEMENT_COLUMNS
from tests.conftest import submit_applied
from tests.gateway.admin.conftest import AdminClient, MakeAdmin, refused

V1 = "/admin/v1"


async def _trade(admin: AdminClient, buyer: str, seller: str, lots: int = 1000) -> Trade:
    app = admin.app
    await submit_applied(app, NewOrder(seller, "BTC-USD", Side.SELL, OrdType.LIMIT, lots, 100_00))
    events = await submit_applied(
        app, NewOrder(buyer, "BTC-USD", Side.BUY, OrdType.LIMIT, lots, 100_00)
    )
    (trade,) = [e for e in events if isinstance(e, Trade)]
    return trade


async def _follow(admin: AdminClient, store_url: str) -> None:
    """Run the journal follower over the gateway's journal until it caught up."""
    follower = Follower(FollowerSettings(Path(admin.app.config.journal.dir), store_url=store_url))
    await follower.start(asyncio.Event())
    while await follower.step(asyncio.Event()):
        pass
    await follower.close()


@pytest.fixture
async def reporting(make_admin: MakeAdmin, store_url: str) -> AdminClient:
    """A demo gateway whose store holds two trades, one of them with a tenant markup;
    ACC8 and ACC9 (who trade with each other) are no tenant's."""
    admin = await make_admin(store={"url": store_url})
    host = admin.app.host
    for account in ("ACC8", "ACC9"):  # no tenant's
        await submit_applied(admin.app, OpenAccount(account, Stp.NONE, "1", "2"))
        for asset in ("USD", "BTC"):
            await submit_applied(admin.app, AdjustBalance(account, asset, 10**14))
    reply = await admin.call("PUT", f"{V1}/tenants/DEMO/fees", {"schedule": "", "markup_bps": "3"})
    assert reply.status == 200, reply
    await _trade(admin, "ACC1", "ACC2")
    await _trade(admin, "ACC9", "ACC8", 500)
    assert host.engine.last_seq
    await _follow(admin, store_url)
    return admin


def _csv(reply: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(reply.body.decode())))


async def test_a_statement_in_three_formats_closes_at_the_engines_balance(
    reporting: AdminClient,
) -> None:
    admin = reporting
    account = admin.app.host.engine.accounts["ACC1"]
    path = f"{V1}/reports/statements/ACC1?from=1"
    as_json = await admin.call("GET", path + "&format=json", role="support")
    assert as_json.status == 200 and as_json.content_type == "application/json", as_json
    as_csv = await admin.call("GET", path + "&format=csv", role="support")
    assert as_csv.content_type == "text/csv"
    assert as_csv.headers["Content-Disposition"].endswith('.csv"')
    header = as_csv.body.decode().splitlines()[0]
    assert header == ",".join(STATEMENT_COLUMNS)
    lines = await admin.call("GET", path + "&format=jsonl", role="support")
    assert lines.content_type == "application/x-ndjson"
    parsed = [orjson.loads(line) for line in lines.body.splitlines()]
    assert parsed == as_json.body
    assert [row["seq"] for row in _csv(as_csv)] == [str(row["seq"] or "") for row in parsed]
    closing = {r["asset"]: r["balance"] for r in as_json.body if r["line"] == "closing"}
    assert closing == {a: units_to_decimal(b.total) for a, b in account.balances.items()}
    movements = [r for r in as_json.body if r["line"] == "movement"]
    assert {r["reason"] for r in movements} >= {"trade", "fee"}


async def test_a_tenant_admin_reads_only_its_tenants_statements_and_trades(
    reporting: AdminClient,
) -> None:
    admin = reporting
    own = await admin.call("GET", f"{V1}/reports/statements/ACC1?from=1", role="tenant-admin")
    assert own.status == 200
    other = await admin.call("GET", f"{V1}/reports/statements/ACC9?from=1", role="tenant-admin")
    refused(other, "tenant-forbidden", 403)
    mine = await admin.call("GET", f"{V1}/reports/blotter", role="tenant-admin")
    everything = await admin.call("GET", f"{V1}/reports/blotter", role="read-only")
    assert len(everything.body) == 2
    assert [r["trade_id"] for r in mine.body] == [everything.body[0]["trade_id"]]
    assert mine.body[0]["buyer_account"] == "ACC1"
    demo = await admin.call("GET", f"{V1}/reports/blotter?tenant=DEMO", role="ops")
    assert demo.body == mine.body
    acc9 = await admin.call("GET", f"{V1}/reports/regulator?account=ACC9", role="compliance")
    assert {r["account"] for r in acc9.body} == {"ACC9"} and len(acc9.body) == 2  # order, fill
    bad = await admin.call("GET", f"{V1}/reports/blotter?tenant=DEMO", role="tenant-admin")
    refused(bad, "invalid-request", 422)
    nobody = await admin.call("GET", f"{V1}/reports/blotter?tenant=NOPE", role="ops")
    refused(nobody, "unknown-object", 404)


async def test_fee_revenue_splits_fees_between_venue_and_tenants(
    reporting: AdminClient,
) -> None:
    admin = reporting
    engine = admin.app.host.engine
    reply = await admin.call("GET", f"{V1}/reports/fees?format=json", role="compliance")
    rows = {(r["party"], r["tenant"]): r for r in reply.body}
    venue, demo = rows[("venue", None)], rows[("tenant", "DEMO")]
    revenue = {
        name: engine.accounts[name].balances["USD"].total for name in ("VENUE-FEES", "DEMO-REVENUE")
    }
    assert venue["revenue"] == units_to_decimal(revenue["VENUE-FEES"]) != "0"
    assert demo["revenue"] == units_to_decimal(revenue["DEMO-REVENUE"]) != "0"
    assert units_to_decimal(sum(revenue.values())) == venue["fees_charged"]
    assert rows[("tenant", "DEMO")]["fees_charged"] < venue["fees_charged"]  # not ACC8/9's


async def test_the_regulator_export_has_its_documented_schema(reporting: AdminClient) -> None:
    admin = reporting
    reply = await admin.call("GET", f"{V1}/reports/regulator?format=csv", role="compliance")
    assert reply.status == 200 and reply.headers["X-Report-Schema"] == EXPORT_SCHEMA
    rows = _csv(reply)
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert sum(r["record"] == "fill" for r in rows) == 4
    assert all(len(r["time"]) == len("2026-12-03T15:55:17.000123Z") for r in rows)
    denied = await admin.call("GET", f"{V1}/reports/regulator", role="ops")
    refused(denied, "role-forbidden", 403)
    bad = await admin.call("GET", f"{V1}/reports/regulator?day=2026-1-1", role="compliance")
    refused(bad, "invalid-request", 422)


async def test_reports_before_the_store_exists_are_503(admin: AdminClient) -> None:
    reply = await admin.call("GET", f"{V1}/reports/blotter?format=csv", role="ops")
    refused(reply, "store-unavailable", 503)


async def test_reconciliation_on_demand_names_a_corrupted_rows_seq(
    reporting: AdminClient, store_url: str
) -> None:
    admin = reporting
    clean = await admin.call("GET", f"{V1}/reconciliation", role="ops")
    assert clean.status == 200 and clean.body["ok"], clean
    assert clean.body["seq"] == admin.app.host.engine.last_seq
    follower = Follower(FollowerSettings(Path(admin.app.config.journal.dir), store_url=store_url))
    await follower.store.open()
    ((seq, leg),) = await follower.store.fetch(
        "SELECT seq, leg FROM ledger WHERE account = 'ACC2' AND reason = 'trade' AND asset = 'USD'"
    )
    await follower.store.fetch("UPDATE ledger SET amount = amount - 1 WHERE seq = ? AND leg = ?",
                               seq, leg)  # fmt: skip
    await follower.store.close()
    found = await admin.call("GET", f"{V1}/reconciliation", role="compliance")
    assert not found.body["ok"] and found.body["first_diverging_seq"] == seq, found
    (mismatch,) = found.body["mismatches"]
    assert (mismatch["account"], mismatch["asset"]) == ("ACC2", "USD")
    metrics = admin.app.registry.render()
    assert f"gw_reconcile_diverged_seq {seq}" in metrics
    assert 'gw_reconcile_runs_total{result="mismatch",trigger="demand"} 1' in metrics


async def test_the_cli_streams_a_report_to_stdout(reporting: AdminClient, tmp_path: Path) -> None:
    key_file = tmp_path / "ops.key"
    key_file.write_text(reporting.seeds["demo-ops"] + "\n")
    key_file.chmod(0o600)
    root = Path(__file__).resolve().parents[3]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli", "--url", reporting.base,
        "--operator", "demo-ops", "--key-file", str(key_file),
        "blotter", "--query", "format=csv", "--query", "account=ACC2",
        cwd=root, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    (row,) = list(csv.DictReader(io.StringIO(out.decode())))
    assert (row["buyer_account"], row["seller_account"]) == ("ACC1", "ACC2")


async def test_reconciliation_before_the_store_exists_is_503(admin: AdminClient) -> None:
    refused(await admin.call("GET", f"{V1}/reconciliation", role="ops"), "store-unavailable", 503)
