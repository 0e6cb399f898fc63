"""The one decimal grammar of every edge: FIX fields, WebSocket params, the config file;
and the one integer grammar of their text parameters (:func:`ascii_int`).

It is FIX's float grammar: an optional ``-``, ASCII digits with at most one ``.``, and
at least one digit (``"1"``, ``"1.5"``, ``"1."``, ``".5"``, ``"-0.25"``, ``"007"``).
Python's ``Decimal()`` takes far more (exponents, ``+``, ``_``, spaces, non-ASCII
digits, NaN), and ``"1e-999999999"`` is a positive value whose grid count is 0, so the
edges check the grammar before any conversion. A value longer than :data:`MAX_LEN`
characters is refused unread: no grid count of a 64-bit engine needs more.

The engine's own ``parse_decimal`` stays as lenient as it was: snapshots and journaled
admin commands hold ``str(Decimal)`` forms such as ``1E-8`` that replay must still read.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from engine.model import GridError

__all__ = [
    "DECIMAL_PATTERN",
    "MAX_INT_DIGITS",
    "MAX_LEN",
    "ascii_int",
    "decimal_text",
    "parse_decimal",
]

DECIMAL_PATTERN: Final = r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
"""The grammar as a regular expression (to be matched in full; ASCII digits only)."""
MAX_LEN: Final = 64
_DECIMAL: Final = re.compile(DECIMAL_PATTERN)


MAX_INT_DIGITS: Final = 18
"""Digits an integer parameter may have: any such number fits a signed 64-bit SQL
integer."""


def ascii_int(text: str, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """``text`` as an integer if it is 1..``max_digits`` ASCII digits, else None.
    str.isdigit() also takes "²" (which int() refuses) and other scripts' digits (which
    int() reads), and int() refuses thousands of digits: the length is checked first."""
    if not (text.isascii() and text.isdigit() and len(text) <= max_digits):
        return None
    return int(text)


def decimal_text(text: str) -> str:
    """``text`` itself if it is a decimal of the grammar; GridError, naming why, if not."""
    if len(text) > MAX_LEN:
        raise GridError(f"a decimal has at most {MAX_LEN} characters, got {len(text)}")
    if _DECIMAL.fullmatch(text) is None:
        raise GridError(f"not a decimal number: {text!r}")
    return text


def parse_decimal(text: str) -> Decimal:
    """The exact value of a decimal of the grammar; GridError for any other text."""
    return Decimal(decimal_text(text))
