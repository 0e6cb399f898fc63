"""Per-instrument rule thresholds.

A module of its own, outside the compiled surveillance group: a frozen generic
dataclass is read once per rule and instrument, not per event, and mypyc does not
build it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["PerInstrument"]

P = TypeVar("P")


@dataclass(frozen=True)
class PerInstrument(Generic[P]):
    """A rule's parameters: defaults, and whole replacements for named instruments."""

    default: P
    overrides: Mapping[str, P] = field(default_factory=dict)

    def of(self, symbol: str) -> P:
        return self.overrides.get(symbol, self.default)
