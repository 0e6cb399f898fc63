"""`python -m gateway [--config FILE.toml]`: run the gateway until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys

import structlog

from engine.journal import JournalCorrupt
from gateway.app import App, configure_logging
from gateway.config import ConfigError, load_config
from gateway.dirlock import DirLocked


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
        run = asyncio.run
    else:
        run = uvloop.run
    try:
        run(App(config).run_forever())
    except (DirLocked, JournalCorrupt) as exc:  # nothing was served: say why, no traceback
        structlog.get_logger("gateway").critical("gateway.start_refused", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
