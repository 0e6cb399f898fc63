"""The one decimal grammar (gateway/decimals.py) against a reference written out by
hand: it accepts exactly those strings, and reads each as Python's Decimal does. And
the one integer grammar of text parameters, ascii_int."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from engine.model import GridError
from gateway.decimals import (
    DECIMAL_PATTERN,
    MAX_INT_DIGITS,
    MAX_LEN,
    ascii_int,
    decimal_text,
    parse_decimal,
)


def reference(text: str) -> bool:
    """An optional '-', then ASCII digits with at most one '.', at least one digit."""
    body = text[1:] if text.startswith("-") else text
    digits = body.replace(".", "", 1)
    return len(digits) > 0 and all(c in "0123456789" for c in digits) and len(text) <= MAX_LEN


NEAR_MISSES = st.text(alphabet="0123456789.-+eE_ \n\t\u0661\u00b2\uff11xNaIfiy", max_size=12)


@given(NEAR_MISSES | st.text(max_size=8) | st.from_regex(DECIMAL_PATTERN, fullmatch=True))
@example("1e-999999999")
@example("1\n")
@example("9" * MAX_LEN)
@example("9" * (MAX_LEN + 1))
def test_accepts_exactly_the_grammar_with_decimals_value(text: str) -> None:
    try:
        value = parse_decimal(text)
    except GridError:
        assert not reference(text), text
        return
    assert reference(text), text
    assert decimal_text(text) is text
    assert value == Decimal(text) and value.as_tuple() == Decimal(text).as_tuple()


@pytest.mark.parametrize(
    "text",
    ["1e-3", "1_0", " 1", "+1", "\u0661", "1e3", "1e-999999999", "1E5", "NaN", "Infinity",
     "-", ".", "", "1.2.3", "--1", "1 ", "0x10", "\uff11", "\u00b2", "9" * 5000],
)  # fmt: skip
def test_rejects_what_decimal_would_take(text: str) -> None:
    with pytest.raises(GridError):
        parse_decimal(text)


def test_a_long_value_is_refused_without_echoing_it() -> None:
    with pytest.raises(GridError, match=f"at most {MAX_LEN} characters, got 5000$"):
        decimal_text("9" * 5000)
    assert parse_decimal("-.5") == Decimal("-0.5") and parse_decimal("7.") == 7


@given(NEAR_MISSES | st.text(max_size=20) | st.from_regex(r"[0-9]{1,30}", fullmatch=True))
@example("\u00b2")  # str.isdigit() says yes, int() refuses it
@example("\u0663")  # int() reads it as 3
@example("9" * MAX_INT_DIGITS)
@example("9" * (MAX_INT_DIGITS + 1))
@example("5" * 5000)  # past int()'s digit limit
def test_ascii_int_takes_exactly_short_runs_of_ascii_digits(text: str) -> None:
    ok = 0 < len(text) <= MAX_INT_DIGITS and all(c in "0123456789" for c in text)
    assert ascii_int(text) == (int(text) if ok else None)


def test_ascii_int_bounds_its_digits() -> None:
    assert ascii_int("0010", 4) == 10
    assert ascii_int("10000", 4) is None
