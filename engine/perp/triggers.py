"""Liquidation triggers indexed by price: a mark change visits only the positions it
may have breached, not every open position of the instrument.

Per perpetual, two lists sorted by trigger price (ticks):
- a long can be breached only at a mark <= its trigger: the candidates at mark m are
  the longs whose trigger is >= m;
- a short only at a mark >= its trigger: the shorts whose trigger is <= m.

The trigger is a bound, never on the safe side of the exact liquidation price, and
every candidate is checked exactly before anything happens (Liquidator.check), so the
index only decides what to look at. With C the cash the position draws on (isolated:
its margin; cross: wallet total - held), E its entry cost, S its lots and q the quote
per tick and lot, a position of notional N in bracket k has maintenance at most
``N x mmr_k / RATE_SCALE - cum_k`` (exactly that, rounded down, and >= 0 there), so:

- long, breached when ``C + N - E <= maintenance``: ``m <= (E - C - cum_k) x RATE_SCALE /
  ((RATE_SCALE - mmr_k) x S x q)`` for the bracket k of m; the trigger is the largest
  of these over every bracket, rounded down;
- short: ``m >= (C + E + cum_k) x RATE_SCALE / ((RATE_SCALE + mmr_k) x |S| x q)``; the
  trigger is the smallest over every bracket, rounded down.

A cross position's cash is its account's wallet, and other cross positions in the
same quote asset add their unrealized PnL and maintenance at their own marks: an
account with open cross positions in more than one perpetual of a quote asset is not
indexed by price but screened exactly on every mark change of those perpetuals
(``always``). A trigger is recomputed whenever what it depends on changed, before the
index is read: every command notes the accounts whose positions, or balances in an
indexed perpetual's quote asset, it touched (Engine.apply), and the next check
recomputes their triggers once (Liquidator.reindex), not once per command.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import TYPE_CHECKING

from engine.perp.commands import RATE_SCALE
from engine.perp.state import INSURANCE, Market, Position

if TYPE_CHECKING:
    from engine.risk import Account

__all__ = ["TriggerIndex", "cash_of", "indexable", "trigger"]


def trigger(market: Market, pos: Position, cash: int) -> int:
    """The price bound of pos (see the module docstring); pos is open."""
    spec = market.spec
    lots = abs(pos.size) * spec.instrument.quote_per_tick_lot
    tiers = spec.tiers
    if pos.size > 0:
        found = 0
        for tier in tiers:
            top = (pos.entry - cash - tier.cum) * RATE_SCALE
            found = max(found, top // ((RATE_SCALE - tier.mmr) * lots))
        return found
    low = (cash + pos.entry + tiers[0].cum) * RATE_SCALE // ((RATE_SCALE + tiers[0].mmr) * lots)
    for tier in tiers[1:]:
        top = (cash + pos.entry + tier.cum) * RATE_SCALE
        low = min(low, top // ((RATE_SCALE + tier.mmr) * lots))
    return low


class TriggerIndex:
    """One perpetual's open positions by trigger price (see the module docstring)."""

    def __init__(self, market: Market) -> None:
        self.market = market  # a restore makes new Market objects: the index is rebuilt
        self.longs: list[tuple[int, str]] = []
        self.shorts: list[tuple[int, str]] = []
        self.always: dict[str, None] = {}
        #: account -> (long?, trigger or None for always) as indexed, to find it again
        self.entries: dict[str, tuple[bool, int | None]] = {}
        #: account -> its position's place in the market's positions (their order)
        self.ordinals: dict[str, int] = {}

    def remove(self, account: str) -> None:
        entry = self.entries.pop(account, None)
        if entry is None:
            return
        long, price = entry
        if price is None:
            del self.always[account]
            return
        side = self.longs if long else self.shorts
        at = bisect_left(side, (price, account))
        del side[at]

    def put(self, pos: Position, price: int | None) -> None:
        """Index pos at price (None: screened every time), replacing its old entry."""
        account = pos.account
        long = pos.size > 0
        if self.entries.get(account) == (long, price):
            return
        self.remove(account)
        self.entries[account] = (long, price)
        if price is None:
            self.always[account] = None
        else:
            insort(self.longs if long else self.shorts, (price, account))

    def candidates(self, mark: int, book: dict[str, Position]) -> list[Position]:
        """The open positions the mark may have breached, in the market's order."""
        found = list(self.always)
        longs = self.longs
        found += [account for _, account in longs[bisect_left(longs, (mark, "")) :]]
        shorts = self.shorts
        found += [account for _, account in shorts[: bisect_right(shorts, (mark, "\U0010ffff"))]]
        if len(found) > 1:
            ordinals = self.ordinals
            if len(ordinals) != len(book):
                self.ordinals = ordinals = {account: i for i, account in enumerate(book)}
            found.sort(key=ordinals.__getitem__)
        return [book[account] for account in found]


def cash_of(account: Account | None, quote: str) -> int:
    """What a cross position's account has in quote to draw on: total - held."""
    if account is None:
        return 0
    bal = account.balances.get(quote)
    return 0 if bal is None else bal.total - bal.held


def indexable(pos: Position) -> bool:
    """Whether liquidation watches pos: open, and not the insurance fund's."""
    return bool(pos.size) and pos.account != INSURANCE
