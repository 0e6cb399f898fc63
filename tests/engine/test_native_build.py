"""The native build compiles what the per-order path needs (skipped on pure Python).

A change can silently fall back to interpreted code and still pass every other test:
a dataclass's generated ``__init__`` stays interpreted under mypyc, which cost the
gateway ~4 us per order before events wrote theirs by hand.
"""

from __future__ import annotations

import types

import pytest

import engine
import gateway
from engine import events

pytestmark = pytest.mark.skipif(not engine.NATIVE, reason="pure-Python build")

EVENT_TYPES = [
    cls
    for cls in vars(events).values()
    if isinstance(cls, type) and cls.__module__ == events.__name__ and hasattr(cls, "seq")
]


def test_every_event_type_is_found() -> None:
    assert {cls.__name__ for cls in EVENT_TYPES} >= {"OrderAccepted", "Trade", "BookDelta"}


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
def test_event_constructors_are_compiled(cls: type) -> None:
    assert "events" in engine.NATIVE
    assert not isinstance(cls.__init__, types.FunctionType), f"{cls.__name__}.__init__"


def test_the_c_framer_is_built() -> None:
    assert "fix._cframe" in gateway.NATIVE
