"""The index rules: weighted median, staleness, deviation and quorum, in exact ticks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.pricefeed.index import (
    IndexRules,
    SourcePrice,
    compute_index,
    to_ticks,
    weighted_median,
)

TICK = Decimal("0.01")


def test_weighted_median_takes_the_price_where_half_the_weight_is_reached() -> None:
    assert weighted_median([(100, 1)]) == 100
    assert weighted_median([(100, 1), (300, 1), (200, 1)]) == 200
    assert weighted_median([(100, 5), (200, 1), (300, 1)]) == 100  # heavy source wins
    assert weighted_median([(100, 1), (200, 1)]) == 150  # exactly half: the mean
    assert weighted_median([(100, 1), (201, 1)]) == 150  # ... rounded down to a tick
    assert weighted_median([(100, 2), (200, 1), (300, 1)]) == 150
    with pytest.raises(ValueError):
        weighted_median([])


@given(st.lists(st.tuples(st.integers(1, 10**12), st.integers(1, 100)), min_size=1))
def test_weighted_median_splits_the_weight(points: list[tuple[int, int]]) -> None:
    median = weighted_median(points)
    total = sum(w for _, w in points)
    assert 2 * sum(w for p, w in points if p < median) <= total
    assert 2 * sum(w for p, w in points if p > median) <= total
    assert min(p for p, _ in points) <= median <= max(p for p, _ in points)


def test_external_prices_round_half_even_to_the_tick() -> None:
    assert to_ticks(Decimal("60000.125"), TICK) == 6_000_012
    assert to_ticks(Decimal("60000.135"), TICK) == 6_000_014
    assert to_ticks(Decimal("60000.1251"), TICK) == 6_000_013


def _price(source: str, price: str | None, at: int = 1000, weight: int = 1) -> SourcePrice:
    return SourcePrice(source, weight, None if price is None else Decimal(price), at)


def test_stale_and_silent_sources_are_left_out() -> None:
    rules = IndexRules(stale_after_ms=500, max_deviation_bps=10_000, min_sources=1)
    prices = [_price("a", "100", at=1000), _price("b", "200", at=400), _price("c", None)]
    result = compute_index(prices, TICK, 1000, rules)
    assert result.price == 10_000 and result.used == ("a",)
    assert result.excluded == {"b": "stale", "c": "no_price"}
    # 500 ms old is still fresh; 501 is not
    assert compute_index([_price("b", "200", at=500)], TICK, 1000, rules).price == 20_000
    assert compute_index([_price("b", "200", at=499)], TICK, 1000, rules).price is None


def test_a_source_far_from_the_median_is_left_out() -> None:
    rules = IndexRules(stale_after_ms=500, max_deviation_bps=100, min_sources=2)
    prices = [_price("a", "100"), _price("b", "100.5"), _price("c", "101"), _price("d", "90")]
    result = compute_index(prices, TICK, 1000, rules)
    # reference: 100.25 (half the weight at 100); d is 10 % off, c is 0.75 % off
    assert result.excluded == {"d": "deviation"} and result.used == ("a", "b", "c")
    assert result.price == 10_050
    # exactly max_deviation_bps away is kept
    edge = [_price("a", "100"), _price("b", "100"), _price("c", "101")]
    assert compute_index(edge, TICK, 1000, rules).used == ("a", "b", "c")


def test_no_index_below_the_quorum_and_the_reason_says_why() -> None:
    rules = IndexRules(stale_after_ms=500, max_deviation_bps=100, min_sources=2)
    result = compute_index([_price("a", "100"), _price("b", "1", at=0)], TICK, 1000, rules)
    assert result.price is None
    assert result.reason == "1 usable source(s), quorum not met (b: stale)"
    assert compute_index([], TICK, 1000, rules).price is None
