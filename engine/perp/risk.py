"""Positions and margin: fills into positions, funding payments, leverage and margin
mode, and the liquidation ladder (cancel -> slices -> insurance -> ADL).

Money rules (all integers, quote units; documented in README "Perpetuals"):
- A cross position draws on the account's wallet, its quote balance; an isolated one
  on its own ``margin``. Realized PnL and funding go to that wallet or margin; fees
  are always charged to the wallet.
- margin balance (cross) = wallet total - held (margin held for open orders does not
  support positions) + unrealized PnL of the cross positions at mark;
  (isolated) = margin + unrealized PnL.
- maintenance = sum over the positions of ``notional_at_mark x mmr // 1e8 - cum``.
- An account is liquidated when its margin balance <= maintenance (and it has a
  position).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.events import RejectCode
from engine.perp import pricing
from engine.perp.commands import AdjustIsolatedMargin, ClosePosition, SetLeverage, SetMarginMode
from engine.perp.state import INSURANCE, Market, Perps, Position
from engine.venue import emit, reject

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = ["PerpRisk"]


class PerpRisk:
    """The margin stage for perpetuals; one per Engine (``engine.perp_risk``)."""

    def __init__(self, engine: Engine, perps: Perps) -> None:
        self.engine = engine
        self.perps = perps

    # ---------------------------------------------------------------- cash

    def credit(self, market: Market, pos: Position, amount: int) -> None:
        """Move amount (may be < 0) into the position's wallet: its isolated margin,
        the account's quote balance, or the insurance fund's cash."""
        if pos.account == INSURANCE:
            market.insurance += amount
        elif pos.isolated:
            pos.margin += amount
        else:
            engine = self.engine
            quote = market.spec.instrument.quote
            bal = engine.accounts[pos.account].balance(quote)
            bal.total += amount
            engine.dirty[(pos.account, quote)] = bal

    # ---------------------------------------------------------------- funding

    def pay_funding(self, market: Market, rate: int) -> tuple[int, int]:
        """Every open position pays or receives its funding at the mark; returns
        (paid by the payers, received by the receivers), both >= 0."""
        if rate == 0:
            return 0, 0
        qpt = market.spec.instrument.quote_per_tick_lot
        paid = received = 0
        for pos in self.perps.positions[market.symbol].values():
            if not pos.size:
                continue
            payer = (pos.size > 0) == (rate > 0)
            amount = pricing.funding_amount(pos.notional(market.mark, qpt), rate, payer=payer)
            if not amount:
                continue
            if payer:
                paid += amount
                amount = -amount
            else:
                received += amount
            pos.funding += amount
            self.credit(market, pos, amount)
            if pos.account != INSURANCE:
                emit(self.engine, "perp.position", pos.account, **pos.data())
        return paid, received

    # ---------------------------------------------------------------- settings

    def set_leverage(self, cmd: SetLeverage) -> None:
        engine = self.engine
        market = self.perps.markets.get(cmd.symbol)
        if market is None:
            reject(engine, cmd.symbol, RejectCode.UNKNOWN_INSTRUMENT, "no such perpetual")
            return
        if cmd.account not in engine.accounts:
            reject(engine, cmd.account, RejectCode.UNKNOWN_ACCOUNT, "unknown account")
            return
        current = self.perps.positions[cmd.symbol].get(cmd.account)
        notional = 0
        if current is not None:
            notional = current.notional(market.mark, market.spec.instrument.quote_per_tick_lot)
        allowed = market.spec.tier(notional).max_leverage
        if type(cmd.leverage) is not int or not 1 <= cmd.leverage <= allowed:
            reject(engine, cmd.account, RejectCode.INVALID_COMMAND, f"leverage: 1..{allowed}")
            return
        pos = self.perps.position(cmd.account, cmd.symbol)
        pos.leverage = cmd.leverage
        emit(engine, "perp.leverage", cmd.account, symbol=cmd.symbol, leverage=cmd.leverage)

    def set_margin_mode(self, cmd: SetMarginMode) -> None:
        engine = self.engine
        if cmd.symbol not in self.perps.markets:
            reject(engine, cmd.symbol, RejectCode.UNKNOWN_INSTRUMENT, "no such perpetual")
            return
        if cmd.account not in engine.accounts:
            reject(engine, cmd.account, RejectCode.UNKNOWN_ACCOUNT, "unknown account")
            return
        current = self.perps.positions[cmd.symbol].get(cmd.account)
        busy = any(
            o.account == cmd.account and o.symbol == cmd.symbol for o in engine.orders.values()
        )
        if (current is not None and current.size) or busy:
            reject(engine, cmd.account, RejectCode.NOT_FLAT, "position or orders open")
            return
        pos = self.perps.position(cmd.account, cmd.symbol)
        if pos.margin:  # a flat isolated position's leftover margin returns to the wallet
            amount, pos.margin = pos.margin, 0
            pos.isolated = False
            self.credit(self.perps.markets[cmd.symbol], pos, amount)
        pos.isolated = bool(cmd.isolated)
        emit(engine, "perp.margin_mode", cmd.account, symbol=cmd.symbol, isolated=pos.isolated)

    def adjust_isolated(self, cmd: AdjustIsolatedMargin) -> None:
        engine = self.engine
        reject(engine, cmd.account, RejectCode.INVALID_COMMAND, "not available yet")

    def close_position(self, cmd: ClosePosition) -> None:
        engine = self.engine
        reject(engine, cmd.account, RejectCode.INVALID_COMMAND, "not available yet")

    # ---------------------------------------------------------------- liquidation

    def check(self, market: Market) -> None:
        """Liquidate what the new mark leaves under-margined (the ladder)."""
