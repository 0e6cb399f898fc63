"""Pure price and funding arithmetic, exact in integers (rules in README "Perpetuals").

- impact price: the average fill price, in ticks (a Fraction), of a market order for
  ``impact_notional`` quote units against one side of the book; None when the side is
  too thin to fill it.
- premium sample: ``[max(0, impact_bid - index) - max(0, index - impact_ask)] / index``
  in RATE_SCALE units, rounded toward zero.
- average premium: ``sum(i * P_i) / sum(i)`` over the interval's samples (later
  samples weigh more), rounded toward zero.
- funding rate: ``avg_P + clamp(I - avg_P, -clamp, +clamp)``, then ``clamp(-cap, cap)``.
- mark: ``median(P1, P2, last)`` with ``P1 = index + index * rate * time_to_funding //
  (RATE_SCALE * interval)`` and ``P2 = index + sum(mid - index) // samples`` (both
  rounded down); a missing last price or P2 sample falls back to the index.
- funding payments: each payer pays ``ceil(|size| * mark * qpt * |rate| / RATE_SCALE)``,
  each receiver gets ``floor(...)``; what the payers paid beyond what the receivers got
  (at most one unit per position, plus any imbalance from the insurance fund's own
  side) goes to the insurance fund.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from engine.perp.commands import RATE_SCALE

__all__ = [
    "average_premium",
    "funding_amount",
    "funding_rate",
    "impact_price",
    "mark_price",
    "premium",
]


def _trunc(value: Fraction) -> int:
    """Round toward zero."""
    return int(value)


def impact_price(levels: Iterable[tuple[int, int]], notional: int, qpt: int) -> Fraction | None:
    """Average price (ticks) filling ``notional`` quote units against (price, lots) levels,
    best first; None when they hold less."""
    remaining = notional
    lots = Fraction(0)
    for price, qty in levels:
        level = price * qty * qpt
        if level >= remaining:
            lots += Fraction(remaining, price * qpt)
            return Fraction(notional, qpt) / lots
        lots += qty
        remaining -= level
    return None


def premium(impact_bid: Fraction, impact_ask: Fraction, index: int) -> int:
    """One premium sample, RATE_SCALE units, toward zero."""
    up = max(Fraction(0), impact_bid - index)
    down = max(Fraction(0), index - impact_ask)
    return _trunc((up - down) * RATE_SCALE / index)


def average_premium(weighted: int, count: int) -> int:
    """sum(i * P_i) / sum(1..count), toward zero; 0 without samples."""
    if count <= 0:
        return 0
    return _trunc(Fraction(weighted, count * (count + 1) // 2))


def funding_rate(avg_premium: int, interest: int, inner: int, cap: int) -> int:
    """F = P + clamp(I - P, -inner, inner), capped to [-cap, cap]."""
    rate = avg_premium + min(max(interest - avg_premium, -inner), inner)
    return min(max(rate, -cap), cap)


def mark_price(
    index: int, rate: int, to_funding_us: int, interval_us: int, basis: int | None, last: int
) -> int:
    """median(P1, P2, last) in ticks (see the module docstring); at least 1."""
    p1 = index + index * rate * to_funding_us // (RATE_SCALE * interval_us)
    p2 = index if basis is None else index + basis
    p3 = last or index
    return max(1, sorted((p1, p2, p3))[1])


def funding_amount(notional: int, rate: int, *, payer: bool) -> int:
    """|notional x rate| / RATE_SCALE: rounded up for a payer, down for a receiver."""
    value = abs(notional * rate)
    if payer:
        return -(-value // RATE_SCALE)
    return value // RATE_SCALE
