"""python -m gateway.follower.surveillance JOURNAL_DIR: replay a journal, print its
alerts as JSON lines (see replay.py and docs/SURVEILLANCE.md)."""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence

import orjson

from gateway.config import ConfigError
from gateway.follower.surveillance.replay import replay_journal
from gateway.follower.surveillance.settings import load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.follower.surveillance",
        description="Replay a journal through the surveillance rules; one alert per line.",
    )
    parser.add_argument("journal", help="the journal directory")
    parser.add_argument("--config", help="a TOML file whose [surveillance] table to use")
    parser.add_argument("--from-seq", type=int, default=0, help="print alerts ending here or later")
    parser.add_argument("--to-seq", type=int, default=0, help="stop after this seq")
    args = parser.parse_args(argv)
    try:
        table = {}
        if args.config:
            with open(args.config, "rb") as f:
                table = tomllib.load(f).get("surveillance", {})
        settings = load_settings(table)
    except (OSError, tomllib.TOMLDecodeError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = 0
    for alert in replay_journal(args.journal, settings, to_seq=args.to_seq):
        if alert.last_seq >= args.from_seq:
            sys.stdout.buffer.write(orjson.dumps(alert.to_dict()) + b"\n")
            count += 1
    sys.stdout.flush()
    print(f"{count} alert(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
