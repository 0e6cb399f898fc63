"""The perpetuals' state the Engine holds (``engine.perps``): markets and positions.

Everything here is integers. ``to_state``/``from_state`` give the canonical JSON-ready
form that snapshots store and ``state_hash()`` digests; the spec is stored as the
command that defined it, so a restore re-derives it exactly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import astuple
from typing import Any, Final

from engine.perp.commands import AddPerpInstrument
from engine.perp.spec import PerpSpec

__all__ = ["DEFAULT_LEVERAGE", "INSURANCE", "INTERNAL_ORDER_IDS", "Market", "Perps", "Position"]

INSURANCE: Final = "@insurance"
"""The account id under which a market's insurance fund holds positions it took over."""

INTERNAL_ORDER_IDS: Final = 1 << 52
"""The orders the engine places or books itself for a liquidation (slices, insurance
takeovers, deleveraging) take ids above this, one by one: a NewOrder's id is its seq,
which never gets this far, and they stay below 2**53, exact in any JSON reader."""

DEFAULT_LEVERAGE: Final = 20
"""An account's leverage on a perpetual until it sets one (capped by the maximum)."""


class Market:
    """One perpetual: its spec, prices, funding accumulators and insurance fund."""

    __slots__ = (
        "command",
        "index",
        "index_ts_us",
        "insurance",
        "last_rate",
        "mark",
        "mark_samples",
        "next_funding_us",
        "next_sample_us",
        "premium_count",
        "premium_weighted",
        "reduce_only",
        "spec",
    )

    def __init__(self, command: AddPerpInstrument, spec: PerpSpec) -> None:
        self.command = command
        self.spec = spec
        self.index = 0  # ticks; 0 = no index yet
        self.index_ts_us = 0
        self.mark = 0  # ticks; 0 = no mark yet
        self.last_rate = 0  # the last settled funding rate, RATE_SCALE units
        self.next_funding_us = 0  # set at the first tick
        self.next_sample_us = 0
        self.premium_weighted = 0  # sum of i * P_i (i = 1, 2, ...) since the last funding
        self.premium_count = 0  # samples since the last funding
        self.mark_samples: deque[int] = deque()  # (mid - index) ticks, newest last
        self.insurance = 0  # the fund's cash, quote units
        self.reduce_only = False  # a stale index halts new risk

    @property
    def symbol(self) -> str:
        return self.spec.instrument.symbol

    def to_state(self) -> list[Any]:
        return [
            list(astuple(self.command)),
            self.index,
            self.index_ts_us,
            self.mark,
            self.last_rate,
            self.next_funding_us,
            self.next_sample_us,
            self.premium_weighted,
            self.premium_count,
            list(self.mark_samples),
            self.insurance,
            self.reduce_only,
        ]

    @classmethod
    def from_state(cls, row: list[Any]) -> Market:
        command = AddPerpInstrument(*row[0])
        market = cls(command, PerpSpec.from_command(command))
        (
            market.index,
            market.index_ts_us,
            market.mark,
            market.last_rate,
            market.next_funding_us,
            market.next_sample_us,
            market.premium_weighted,
            market.premium_count,
            samples,
            market.insurance,
            market.reduce_only,
        ) = row[1:]
        market.mark_samples = deque(samples)
        return market


class Position:
    """One account's one-way position in one perpetual, and its settings there.

    size: lots, > 0 long, < 0 short. entry: the position's cost in quote units
    (|size| lots at their entry prices; entry price = entry / (|size| x quote per tick
    lot)). margin: an isolated position's own margin (quote units); a cross position
    draws on the account's wallet (its quote balance) instead.
    """

    __slots__ = (
        "account",
        "entry",
        "funding",
        "isolated",
        "leverage",
        "margin",
        "realized",
        "size",
        "symbol",
    )

    def __init__(self, account: str, symbol: str, leverage: int) -> None:
        self.account = account
        self.symbol = symbol
        self.size = 0
        self.entry = 0
        self.isolated = False
        self.leverage = leverage
        self.margin = 0
        self.realized = 0  # cumulative realized PnL, quote units
        self.funding = 0  # cumulative funding received (< 0 paid), quote units

    def signed_entry(self) -> int:
        return self.entry if self.size >= 0 else -self.entry

    def unrealized(self, price: int, qpt: int) -> int:
        """PnL if closed at price (ticks): size x price x qpt - signed entry."""
        return self.size * price * qpt - self.signed_entry()

    def notional(self, price: int, qpt: int) -> int:
        return abs(self.size) * price * qpt

    def to_state(self) -> list[Any]:
        return [
            self.size,
            self.entry,
            self.isolated,
            self.leverage,
            self.margin,
            self.realized,
            self.funding,
        ]

    def data(self) -> dict[str, object]:
        """The ``perp.position`` event's data."""
        return {
            "symbol": self.symbol,
            "size": self.size,
            "entry_notional": self.entry,
            "isolated": self.isolated,
            "leverage": self.leverage,
            "margin": self.margin,
            "realized_pnl": self.realized,
            "funding": self.funding,
        }


class Perps:
    """Every perpetual market and every position (flat ones keep their settings)."""

    def __init__(self) -> None:
        self.markets: dict[str, Market] = {}
        #: symbol -> account -> position, in creation order (deterministic iteration)
        self.positions: dict[str, dict[str, Position]] = {}
        #: internal order ids handed out so far (the last is INTERNAL_ORDER_IDS + this)
        self.internal_orders = 0

    def position(self, account: str, symbol: str) -> Position:
        """The account's position (created flat at the default leverage)."""
        book = self.positions[symbol]
        pos = book.get(account)
        if pos is None:
            leverage = min(DEFAULT_LEVERAGE, self.markets[symbol].spec.max_leverage)
            pos = book[account] = Position(account, symbol, leverage)
        return pos

    def of_account(self, account: str) -> list[Position]:
        """The account's positions in every market (flat ones included)."""
        found = []
        for book in self.positions.values():
            pos = book.get(account)
            if pos is not None:
                found.append(pos)
        return found

    def to_state(self) -> dict[str, Any]:
        return {
            "markets": {symbol: m.to_state() for symbol, m in self.markets.items()},
            "positions": {
                symbol: {acct: pos.to_state() for acct, pos in book.items()}
                for symbol, book in self.positions.items()
            },
            "internal_orders": self.internal_orders,
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.markets = {s: Market.from_state(row) for s, row in state.get("markets", {}).items()}
        self.internal_orders = state.get("internal_orders", 0)  # absent before the ids
        self.positions = {}
        for symbol, book in state.get("positions", {}).items():
            rows: dict[str, Position] = {}
            for acct, row in book.items():
                pos = Position(acct, symbol, 1)
                (pos.size, pos.entry, pos.isolated, pos.leverage, pos.margin, pos.realized,
                 pos.funding) = row  # fmt: skip
                rows[acct] = pos
            self.positions[symbol] = rows
