"""The demo operators: seeded into an empty journal only, and named in the banner."""

from __future__ import annotations

import dataclasses

from structlog.testing import capture_logs

from engine.venue.operators import SetOperatorEnabled
from gateway.admin.signing import public_key_of
from gateway.app import App, _log_demo_banner
from gateway.config import load_config
from tests.conftest import MakeGateway


def test_every_demo_seed_matches_its_public_key_and_every_role_has_one() -> None:
    operators = load_config().admin.operators
    assert {op.role for op in operators} == {
        "venue-admin", "ops", "compliance", "support", "read-only", "tenant-admin",
    }  # fmt: skip
    for op in operators:
        assert public_key_of(op.demo_seed) == op.public_key


def test_the_banner_prints_demo_operators_and_their_seeds_as_demo() -> None:
    config = load_config()
    with capture_logs() as logs:
        _log_demo_banner(config)
    banner = "\n".join(logs[0]["banner"])
    for op in config.admin.operators:
        assert f"admin operator {op.id} role={op.role}" in banner
        assert f"DEMO seed={op.demo_seed}" in banner
    assert "/admin/v1" in banner


async def test_operators_are_seeded_into_an_empty_journal_only(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    operators = app.host.engine.operators
    assert set(operators.by_id) == {op.id for op in app.config.admin.operators}
    app.host.submit(SetOperatorEnabled("demo-ops", False))
    await app.stop()
    app.components = []
    fewer = dataclasses.replace(app.config.admin, operators=app.config.admin.operators[:1])
    again = App(dataclasses.replace(app.config, admin=fewer))
    await again.start()
    try:
        # the journal is the truth: the disabled operator stays disabled, none re-seeded
        assert again.host.engine.operators.by_id["demo-ops"].enabled is False
        assert len(again.host.engine.operators.by_id) == len(app.config.admin.operators)
    finally:
        await again.stop()
