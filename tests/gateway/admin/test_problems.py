"""The problem types the operator guide documents are exactly the registry's."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.admin.problems import PROBLEM_TYPES

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "OPERATOR_GUIDE.md"


def test_the_guide_lists_every_problem_type_with_its_status() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \| (\d{3}) \|", GUIDE.read_text(), re.M)
    assert {name: int(status) for name, status in rows} == {
        name: kind.status for name, kind in PROBLEM_TYPES.items()
    }
