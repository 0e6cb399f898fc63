"""The index price of one perpetual from its sources: pure, exact, clock passed in.

Rules, in order (docs/PRICE_FEED.md):

1. **Staleness**: a source whose last price arrived more than ``stale_after_ms`` ago is
   left out (reason ``stale``); so is one that never sent a price (``no_price``).
2. **Deviation**: the weighted median of the fresh sources is the reference; a source
   more than ``max_deviation_bps`` away from it is left out (``deviation``), so one
   broken venue cannot drag the index.
3. **Quorum**: fewer than ``min_sources`` remaining = no index this round (the engine's
   index then goes stale by its own rule, and new risk on the perp stops).
4. The index is the weighted median of what remains, in the perp's price ticks.

Prices are Decimals converted to ticks by rounding half to even (an external venue's
price is not on our grid); the weighted median of integers is the smallest price whose
cumulative weight reaches half the total, and when a price's cumulative weight is
exactly half, the mean of it and the next price, rounded down to a tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "IndexResult",
    "IndexRules",
    "SourcePrice",
    "compute_index",
    "to_ticks",
    "weighted_median",
]


@dataclass(frozen=True)
class IndexRules:
    stale_after_ms: int = 5_000
    max_deviation_bps: int = 200
    min_sources: int = 1


@dataclass(frozen=True)
class SourcePrice:
    """A source's last price (None: none yet), when it arrived (feeder clock, ms), and
    its weight (>= 1)."""

    source: str
    weight: int
    price: Decimal | None
    received_ms: int = 0


@dataclass(frozen=True)
class IndexResult:
    price: int | None  # ticks; None = no index this round
    used: tuple[str, ...]
    excluded: dict[str, str] = field(default_factory=dict)  # source -> reason

    @property
    def reason(self) -> str:
        """Why there is no index (empty when there is one)."""
        if self.price is not None:
            return ""
        why = ", ".join(f"{s}: {r}" for s, r in sorted(self.excluded.items()))
        return f"{len(self.used)} usable source(s), quorum not met" + (f" ({why})" if why else "")


def to_ticks(price: Decimal, tick_size: Decimal) -> int:
    """Price -> whole ticks, half to even."""
    return int((price / tick_size).to_integral_value(rounding=ROUND_HALF_EVEN))


def weighted_median(points: Iterable[tuple[int, int]]) -> int:
    """The weighted median of (price, weight) pairs; weights > 0, at least one pair."""
    ordered = sorted(points)
    total = sum(weight for _, weight in ordered)
    if not ordered or total <= 0:
        raise ValueError("weighted_median needs at least one positive weight")
    cumulative = 0
    for i, (price, weight) in enumerate(ordered):
        cumulative += weight
        if 2 * cumulative > total:
            return price
        if 2 * cumulative == total:
            return (price + ordered[i + 1][0]) // 2
    raise AssertionError("unreachable: the cumulative weight reaches the total")


def compute_index(
    prices: Sequence[SourcePrice], tick_size: Decimal, now_ms: int, rules: IndexRules
) -> IndexResult:
    """Apply the rules of this module's docstring."""
    excluded: dict[str, str] = {}
    fresh: list[tuple[str, int, int]] = []  # (source, ticks, weight)
    for sp in prices:
        if sp.price is None:
            excluded[sp.source] = "no_price"
        elif now_ms - sp.received_ms > rules.stale_after_ms:
            excluded[sp.source] = "stale"
        else:
            fresh.append((sp.source, to_ticks(sp.price, tick_size), sp.weight))
    if not fresh:
        return IndexResult(None, (), excluded)
    reference = weighted_median((ticks, weight) for _, ticks, weight in fresh)
    kept = []
    for source, ticks, weight in fresh:
        if abs(ticks - reference) * 10_000 > rules.max_deviation_bps * reference:
            excluded[source] = "deviation"
        else:
            kept.append((source, ticks, weight))
    used = tuple(source for source, _, _ in kept)
    if not kept or len(kept) < rules.min_sources:
        return IndexResult(None, used, excluded)
    return IndexResult(weighted_median((t, w) for _, t, w in kept), used, excluded)
