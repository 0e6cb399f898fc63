"""`python -m gateway [--config FILE.toml]`: run the gateway until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys

import structlog

from gateway.app import App, configure_logging
from gateway.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--config", help="TOML file laid over the embedded demo config")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        configure_logging("info")  # the configured level is unknown: the file is wrong
        structlog.get_logger("gateway").error("config.invalid", error=str(exc))
        return 2
    configure_logging(config.log_level)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        asyncio.run(App(config).run_forever())
    else:
        uvloop.run(App(config).run_forever())
    return 0


if __name__ == "__main__":
    sys.exit(main())
