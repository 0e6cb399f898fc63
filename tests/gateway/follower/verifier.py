"""tools/verify_liabilities.py, loaded from its file as a client would run it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

__all__ = ["VERIFIER", "load_verifier"]

VERIFIER = Path(__file__).resolve().parents[3] / "tools" / "verify_liabilities.py"


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_liabilities", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
