"""venue-admin as a subprocess against a real gateway."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from gateway.admin.cli import command_name
from gateway.admin.routes import all_routes
from tests.gateway.admin.conftest import AdminClient

ROOT = Path(__file__).resolve().parents[3]


async def run_cli(
    admin: AdminClient, tmp_path: Path, *args: str, operator: str = "demo-ops"
) -> tuple[int, Any, str]:
    key_file = tmp_path / f"{operator}.key"
    key_file.write_text(admin.seeds[operator] + "\n")
    key_file.chmod(0o600)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli",
        "--url", admin.base, "--operator", operator, "--key-file", str(key_file), *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    text = out.decode()
    return proc.returncode, json.loads(text) if text.strip() else None, err.decode()


def test_the_console_script_is_declared() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        scripts = tomllib.load(fh)["project"]["scripts"]
    assert scripts["venue-admin"] == "gateway.admin.cli:main"


def test_every_route_has_a_distinct_subcommand() -> None:
    names = [command_name(route) for route in all_routes()]
    assert len(set(names)) == len(names)
    assert {"halt", "halt-status", "mass-cancel", "create-operator", "issue-key"} <= set(names)


async def test_halt_and_resume_from_the_cli(admin: AdminClient, tmp_path: Path) -> None:
    engine = admin.app.host.engine
    code, body, err = await run_cli(admin, tmp_path, "halt", "--halted", "true")
    assert code == 0, err
    assert engine.halted and body["seq"] == engine.last_seq
    assert "idempotency-key: " in err
    code, body, _ = await run_cli(admin, tmp_path, "halt-status", operator="demo-read-only")
    assert (code, body) == (0, {"halted": True})
    code, _, _ = await run_cli(admin, tmp_path, "halt", "--halted", "off")
    assert code == 0 and not engine.halted


async def test_a_retry_with_the_same_idempotency_key_changes_nothing(
    admin: AdminClient, tmp_path: Path
) -> None:
    engine = admin.app.host.engine
    args = ("--idempotency-key", "runbook-7", "account-enabled", "ACC2", "--enabled", "false")
    code, first, _ = await run_cli(admin, tmp_path, *args)
    assert code == 0 and not engine.accounts["ACC2"].enabled
    seq = engine.last_seq
    code, again, _ = await run_cli(admin, tmp_path, *args)
    assert code == 0 and again == {**first, "replayed": True} and engine.last_seq == seq


async def test_problems_exit_1_and_print_the_problem(admin: AdminClient, tmp_path: Path) -> None:
    code, body, _ = await run_cli(
        admin, tmp_path, "halt", "--halted", "true", operator="demo-support"
    )
    assert code == 1 and body["type"].endswith(":role-forbidden") and body["status"] == 403
    code, body, _ = await run_cli(
        admin,
        tmp_path,
        "operator-enabled",
        "nobody",
        "--enabled",
        "no",
        operator="demo-venue-admin",
    )
    assert code == 1 and body["status"] == 404
    assert not admin.app.host.engine.halted


async def test_a_bad_key_file_or_gateway_exits_2(admin: AdminClient, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli", "--url", admin.base, "--operator", "demo-ops",
        "--key-file", str(bad), "halt-status", cwd=ROOT, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode == 2 and b"64 hex digits" in err
    code, _, err_text = await run_cli(admin, tmp_path, "--url", "http://127.0.0.1:1", "halt-status")
    assert code == 2 and "cannot reach" in err_text


async def test_deposit_and_approve_a_withdrawal_from_the_cli(
    admin: AdminClient, tmp_path: Path
) -> None:
    engine = admin.app.host.engine
    total = engine.accounts["ACC2"].balances["BTC"].total
    code, body, err = await run_cli(
        admin, tmp_path, "deposit", "--account", "ACC2", "--asset", "BTC", "--amount", "2",
        "--reference", "tx-cli",
    )  # fmt: skip
    assert code == 0, err
    assert body["events"][0]["kind"] == "deposit.credited"
    code, body, err = await run_cli(
        admin, tmp_path, "request-withdrawal", "--account", "ACC2", "--asset", "BTC",
        "--amount", "1", "--destination", "bc1qcli",
    )  # fmt: skip
    assert code == 0, err
    wid = body["events"][0]["subject"]
    code, body, err = await run_cli(
        admin, tmp_path, "approve-withdrawal", wid, "--reason", "checked",
        operator="demo-compliance",
    )  # fmt: skip
    assert code == 0, err
    assert body["events"][0]["kind"] == "withdrawal.approved"
    assert engine.funds.withdrawals[wid].history[-1][1:3] == ["demo-compliance", "checked"]
    bal = engine.accounts["ACC2"].balances["BTC"]
    assert (bal.total, bal.held) == (total + 200_000_000, 100_000_000)


async def test_query_parameters_of_a_get(admin: AdminClient, tmp_path: Path) -> None:
    for account, reference in (("ACC1", "tx-q1"), ("ACC2", "tx-q2")):
        code, _, err = await run_cli(
            admin, tmp_path, "deposit", "--account", account, "--asset", "USD",
            "--amount", "1", "--reference", reference,
        )  # fmt: skip
        assert code == 0, err
    code, body, err = await run_cli(admin, tmp_path, "deposits", "--query", "account=ACC2")
    assert code == 0, err
    assert [d["account"] for d in body["deposits"]] == ["ACC2"]
    code, _, err = await run_cli(admin, tmp_path, "deposits", "--query", "account")
    assert code == 2 and "KEY=VALUE" in err


async def test_runbook_onboarding_a_client(admin: AdminClient, tmp_path: Path) -> None:
    """create-tenant, open-account, issue-key from the CLI (deposit and
    approve-withdrawal: the funds test above), each a subcommand of its lane's route."""
    engine = admin.app.host.engine
    steps = [
        ("create-tenant", "--tenant", "T9", "--revenue-account", "REV9"),
        ("open-account", "T9", "--account", "C9"),
        ("issue-key", "--key-id", "k9", "--account", "C9", "--kind", "hmac",
         "--scopes", '["read", "trade"]'),
    ]  # fmt: skip
    answers = []
    for step in steps:
        code, body, err = await run_cli(admin, tmp_path, *step, operator="demo-venue-admin")
        assert code == 0, (step, body, err)
        answers.append(body)
    assert engine.accounts["C9"].tenant == "T9"
    assert len(answers[2]["secret"]) == 64  # shown once, in this answer
