"""operator_bench builds the state it claims: every command accepted, and a gateway
started on the built journal holds every tenant, account and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from engine.core import Engine
from engine.events import OrderRejected
from engine.venue.tenancy import KycStatus
from gateway.config import load_config
from gateway.host import EngineHost
from gateway.metrics import Registry
from loadtest.operator_bench import Shape, _build, population


def test_the_population_is_accepted_and_has_the_shape() -> None:
    shape = Shape(tenants=3, accounts=30, keys=45)
    engine = Engine()
    for command in population(shape):
        events = engine.submit(command)
        assert not [e for e in events if isinstance(e, OrderRejected)], (command, events)
    tenancy = engine.tenancy
    assert len(tenancy.tenants) == 3
    opened = [a for a in tenancy.accounts if a.startswith("A")]
    assert len(opened) == 30
    assert all(tenancy.accounts[a].kyc_status == KycStatus.VERIFIED for a in opened)
    assert len(engine.credentials.api_keys) == 45


async def test_a_gateway_restarts_on_the_built_journal(tmp_path: Path) -> None:
    shape = Shape(tenants=2, accounts=10, keys=20)
    await _build(shape, tmp_path)
    cfg = load_config()
    cfg = dataclasses.replace(
        cfg, journal=dataclasses.replace(cfg.journal, dir=str(tmp_path / "journal"))
    )
    host = EngineHost(cfg, Registry())
    report = host.start()
    assert report.snapshot_seq > 0 and report.replayed > 0  # a snapshot and a tail after it
    assert {f"A{a:06d}" for a in range(10)} <= set(host.engine.accounts)
    await host.stop()
