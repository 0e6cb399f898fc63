"""Decimal text of engine integers in ExecutionReports: exact, normalized, never a crash.

The grid texts (OrderQty, Price, LastQty, ...) and AvgPx are checked against Decimal
arithmetic done the obvious way; both builds run these (the C renderer has its own
differential test, tests/gateway/test_crender.py)."""

from __future__ import annotations

import dataclasses
from decimal import Context, Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.model import ASSET_UNIT, Instrument
from gateway.fix.translate import avg_px, price_text, qty_text

BASE = Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.0001")
EXACT = Context(prec=200)


def _text(value: Decimal) -> str:
    out = format(value.normalize(EXACT), "f")
    return "0" if out in ("0", "-0") else out


steps = st.builds(
    lambda mant, scale, zeros: Decimal(mant * 10**zeros).scaleb(-scale - zeros),
    st.sampled_from([1, 2, 5, 25, 3, 1000]),
    st.integers(0, 12),
    st.integers(0, 3),  # "0.0010" and "0.001" are the same grid
)


@given(steps, steps, st.integers(-(10**15), 10**15))
def test_grid_text_is_the_exact_normalized_decimal(tick: Decimal, lot: Decimal, n: int) -> None:
    inst = dataclasses.replace(BASE, tick_size=tick, lot_size=lot)
    assert price_text(inst, n).decode() == _text(EXACT.multiply(tick, n))
    assert qty_text(inst, n).decode() == _text(EXACT.multiply(lot, n))


@given(steps, st.integers(0, 10**30), st.integers(1, 10**12))
def test_avg_px_is_the_average_to_eight_places(lot: Decimal, notional: int, filled: int) -> None:
    inst = dataclasses.replace(BASE, lot_size=lot)
    expected = EXACT.divide(EXACT.multiply(Decimal(notional), ASSET_UNIT), lot * filled)
    assert avg_px(inst, notional, filled) == _text(EXACT.quantize(expected, Decimal("1e-8")))


def test_avg_px_of_a_huge_average_does_not_raise() -> None:
    """1e20 to 8 places is 29 digits: the default 28-digit context raised InvalidOperation."""
    inst = dataclasses.replace(BASE, lot_size=Decimal("1e-10"))
    assert avg_px(inst, 10**18, 1) == "1" + "0" * 20
