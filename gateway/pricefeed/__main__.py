"""`python -m gateway.pricefeed [--config FEEDER.toml]` (or `venue-pricefeed`): compute
each perp's index from its sources and submit it through the admin API until
SIGINT/SIGTERM. Without --config, the demo feeder (gateway/pricefeed/demo.toml:
simulated sources for the demo venue's BTC-PERP). Exits 2 on a config error
(docs/PRICE_FEED.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

import structlog

from gateway.config import ConfigError
from gateway.logs import configure_logging
from gateway.pricefeed.admin_client import AdminClient
from gateway.pricefeed.config import DEMO_FEEDER, FeederConfig, load_feeder_config
from gateway.pricefeed.feeder import Feeder

log = structlog.get_logger("gateway.pricefeed")


async def run(config: FeederConfig) -> None:
    client = AdminClient(config.admin_url, config.operator, config.seed)

    async def submit(symbol: str, price: str) -> None:
        await client.request("POST", "/perp/index", {"symbol": symbol, "price": price})

    feeder = Feeder(config.feeds(), submit, config.interval_ms)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(feeder.run())
    log.info("pricefeed.started", admin=config.admin_url, operator=config.operator,
             symbols=[f.symbol for f in feeder.feeds])  # fmt: skip
    await stop.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.close()
    log.info("pricefeed.stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="venue-pricefeed", description=__doc__)
    parser.add_argument("--config", help="the feeder's TOML file (default: the demo's)")
    args = parser.parse_args(argv)
    try:
        config = load_feeder_config(args.config or DEMO_FEEDER)
    except ConfigError as exc:
        configure_logging("info")
        log.error("config.invalid", error=str(exc))
        return 2
    configure_logging(config.log_level)
    asyncio.run(run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
