"""Which edge modules may import which: an edge does not depend on another edge, and
the WS session does not depend on its server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gateway.ws.protocol


def _imported_by(module: str) -> set[str]:
    """The gateway modules a fresh interpreter has loaded after importing ``module``."""
    code = (
        f"import sys, {module}\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('gateway')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("gateway.rest.server", "gateway.ws"),
        ("gateway.rest.server", "gateway.fix"),
    ],
)
def test_module_does_not_import(module: str, forbidden: str) -> None:
    loaded = _imported_by(module)
    assert module in loaded
    assert not {m for m in loaded if m == forbidden or m.startswith(forbidden + ".")}


def test_the_ws_session_does_not_import_its_server_even_for_types() -> None:
    source = Path(gateway.ws.protocol.__file__).read_text()
    imported = {
        node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)
    }
    assert "gateway.ws.server" not in imported
