"""The method -> scope table covers every WS method that needs a logon."""

from __future__ import annotations

from engine.venue.credentials import SCOPES
from gateway.scopes import METHOD_SCOPES, PUBLIC_METHODS
from gateway.ws.protocol import METHODS


def test_every_ws_method_is_public_or_has_a_scope() -> None:
    missing = [m for m in METHODS if m not in PUBLIC_METHODS and m not in METHOD_SCOPES]
    assert missing == []


def test_scopes_are_the_engines() -> None:
    assert set(METHOD_SCOPES.values()) == set(SCOPES)
    assert not PUBLIC_METHODS & set(METHOD_SCOPES)
