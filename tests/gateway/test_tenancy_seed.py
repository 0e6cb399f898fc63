"""The demo tenant bootstrapped from the TOML: ACC1..ACC3 are its verified clients and
trade every configured instrument over a real socket."""

from __future__ import annotations

import dataclasses

from engine.commands import OpenAccount
from engine.core import Engine
from engine.venue.tenancy import KycStatus, MarketState, TenantStatus
from engine.venue.tenancy_commands import seed_tenancy
from gateway.app import App
from gateway.config import AccountConfig, TenantConfig, load_config
from tests.ws.helpers import connect_client, limit


async def test_demo_accounts_are_the_demo_tenants_verified_clients(gateway: App) -> None:
    tenancy = gateway.host.engine.tenancy
    tenant = tenancy.tenants["DEMO"]
    assert (tenant.status, tenant.revenue_account) == (TenantStatus.ACTIVE, "DEMO-REVENUE")
    assert tenant.markets == {"BTC-USD": MarketState.ENABLED, "ETH-USD": MarketState.ENABLED}
    tier = tenant.tiers[1]
    assert (tier.trade, tier.deposit, tier.withdraw, tier.max_order_notional) == (
        True,
        True,
        True,
        0,
    )
    assert tier.daily_withdraw_limit["BTC"] == 1_000_000 * 100_000_000
    for account in ("ACC1", "ACC2", "ACC3"):
        info = tenancy.accounts[account]
        assert (info.tenant_id, info.kyc_status, info.kyc_tier) == ("DEMO", KycStatus.VERIFIED, 1)
        assert info.kyc_actor == "config"
    c = await connect_client(gateway)
    await c.logon("demo-acc1")
    for symbol in ("BTC-USD", "ETH-USD"):
        order = await c.ok("order.place", limit(symbol, "buy", "1", "100"))
        assert order["status"] == "new", order
    await c.close()


def test_accounts_missing_from_the_config_are_skipped() -> None:
    base = load_config()
    config = dataclasses.replace(
        base,
        accounts=[AccountConfig("ACC2")],
        tenants=[TenantConfig("T", accounts=["ACC1", "ACC2"])],
    )
    eng = Engine()
    eng.submit(OpenAccount("ACC2"))
    seed_tenancy(config, eng.submit)
    assert list(eng.tenancy.accounts) == ["T-REVENUE", "ACC2"]
    assert eng.tenancy.tenants["T"].name == "T"
