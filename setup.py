"""The native build: pyproject.toml holds the metadata; this file adds the compiled
modules, so that a wheel carries the production build (see README, Performance).

VENUE_PURE=1      pure-Python build (what `make` installs for development).
VENUE_NATIVE=1    the native build is required: a failure fails the build, and the
                  hand-written C must compile without warnings (`make native`, CI).
neither           native when a C compiler and Python's headers are found; otherwise,
                  or when compiling fails, a pure build with a warning.

mypyc needs mypy and, to see their types, the runtime dependencies at build time; they
are requested only for a native build (setup_requires, which a PEP 517 frontend such as
pip installs into the build environment).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: Compiled with mypyc in one group: the engine's hot path and what it calls, and the
#: gateway's per-order path (FIX codec/validation/session/store/translation/application,
#: the order tracker, the market-data publisher, the metrics they update, the policies
#: the edges share, the WS router), and the journal follower's per-record path (tailing,
#: replay, row and ledger building, and the surveillance rules every replayed event
#: goes through), which must keep up with the gateway's peak.
#: `make native` builds these in place too: this is the one list.
MYPYC_MODULES = [
    *(f"engine/{name}.py" for name in (
        "model", "book", "matching", "risk", "pretrade", "settlement", "core", "sequencer",
        "order_commands", "commands", "events", "journal", "snapshot",
        "perp/spec", "perp/pricing", "perp/state", "perp/risk", "perp/liquidation", "perp/commands",
        "perp/handlers", "perp/triggers", "perp/orders",
    )),
    *(f"gateway/{name}.py" for name in (
        "host", "orders", "marketdata", "metrics", "edges", "ws/router", "fix/codec",
        "fix/dictionary", "fix/session", "fix/store", "fix/translate", "fix/application",
        "follower/tail", "follower/rows", "follower/replay",
        *(f"follower/surveillance/{name}" for name in (
            "market", "parties", "rule", "monitor", "listener", "wash", "stp",
            "spoofing", "ratios", "ramping", "marking",
        )),
    )),
]  # fmt: skip
#: Hand-written C (each .c says why): the FIX framer's common case, the ExecutionReport body,
#: the fan-out benchmark's subscriber scanner (loadtest/ws_scan.py falls back to Python).
C_MODULES = ["gateway/fix/_cframe.c", "gateway/fix/_crender.c", "loadtest/_cwsscan.c"]
#: Name of mypyc's shared runtime module (`<group>__mypyc`); `make native` keeps it in engine/.
MYPYC_GROUP = "venue_gateway"


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def _compiler_missing() -> str:
    """Why a native build cannot work here ("" when it can)."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc})"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.is_file():
        return f"no Python headers ({headers})"
    return ""


def _warn(text: str) -> None:
    print(f"WARNING: venue-gateway: {text}; building pure Python", file=sys.stderr)


class NativeBuildExt(build_ext):
    """build_ext that generates the mypyc extensions only when it is used (mypyc
    type-checks and translates the modules, which setuptools' metadata steps must not
    pay for), and that falls back to pure Python unless the native build is required."""

    def finalize_options(self) -> None:
        try:
            from mypyc.build import mypycify

            compiled = mypycify(MYPYC_MODULES, group_name=MYPYC_GROUP)
        except (Exception, SystemExit) as exc:  # mypy's type errors exit
            self._fall_back(exc)
            self.distribution.ext_modules = []
        else:
            self.distribution.ext_modules = [*compiled, *(self.distribution.ext_modules or [])]
        super().finalize_options()

    def run(self) -> None:
        try:
            super().run()
        except (Exception, SystemExit) as exc:
            self._fall_back(exc)
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)

    @staticmethod
    def _fall_back(exc: BaseException) -> None:
        if REQUIRED:
            raise exc
        _warn(f"the native build failed ({exc!r})")


REQUIRED = _flag("VENUE_NATIVE")
PURE = _flag("VENUE_PURE")
if not PURE and not REQUIRED and (reason := _compiler_missing()):
    _warn(reason)
    PURE = True

options: dict[str, Any] = {}
if not PURE:
    project = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text())["project"]
    strict = ["-Werror"] if REQUIRED else []
    options = {
        "ext_modules": [
            Extension(
                source.removesuffix(".c").replace("/", "."),
                [source],
                extra_compile_args=["-O2", "-Wall", "-Wextra", *strict],
            )
            for source in C_MODULES
        ],
        "cmdclass": {"build_ext": NativeBuildExt},
        "setup_requires": ["mypy>=1.10", *project["dependencies"]],
    }
setup(**options)
