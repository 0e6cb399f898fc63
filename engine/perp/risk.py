"""Positions and margin: pre-trade margin, fills into positions, funding payments,
leverage and margin mode. The liquidation ladder that reads this margin is
engine/perp/liquidation.py.

Money rules (integers, quote units; README "Perpetuals" has the worked example):
- A cross position draws on the account's wallet (its quote balance); an isolated one
  on its own ``margin``. Realized PnL and funding go to that wallet or margin; fees
  are always charged to the wallet.
- An order holds (``held`` of the quote balance) its initial margin,
  ``ceil(notional / leverage)``, plus the fee at the account's higher rate.
- margin balance: (cross) wallet total - held (what open orders hold does not support
  positions) + the cross positions' unrealized PnL at mark; (isolated) margin +
  unrealized PnL. maintenance: the bracket rule of engine/perp/spec.py at mark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from engine.book import Order
from engine.events import RejectCode, VenueEvent
from engine.model import OrdType, Side, units_to_decimal
from engine.order_commands import NewOrder
from engine.perp import pricing
from engine.perp.commands import (
    AdjustIsolatedMargin,
    ClosePosition,
    SetLeverage,
    SetMarginMode,
)
from engine.perp.orders import ReduceOnly
from engine.perp.state import INSURANCE, Market, Perps, Position
from engine.risk import PPM, Account, RiskError
from engine.venue import emit, reject

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = ["PerpRisk"]

_BUY: Final = int(Side.BUY)
_LIMIT: Final = int(OrdType.LIMIT)


class PerpRisk:
    """The margin stage for perpetuals; one per Engine (``engine.perp_risk``)."""

    def __init__(self, engine: Engine, perps: Perps) -> None:
        self.engine = engine
        self.perps = perps
        #: positions the command being applied changed: one perp.position event each,
        #: at the end of the command (Engine.apply), as balances get BalanceChanged
        self.touched: dict[tuple[str, str], Position] = {}
        #: the live reduce-only orders (engine/perp/orders.py)
        self.reducing = ReduceOnly(perps)
        #: account -> quote -> cross() as last computed. An entry is dropped when one of
        #: the account's positions trades or changes leverage or mode, and all of them
        #: when a mark (or an index before the first mark) moves: what cross() reads.
        #: Derived state: never snapshotted, rebuilt on demand (tests/engine/perp
        #: compare it with the recomputation after random command sequences).
        self.cross_cache: dict[str, dict[str, tuple[int, int, int]]] = {}

    def emit_positions(self, stale: dict[str, None] | None) -> None:
        """The end of a command that changed positions (Engine.apply): fit their
        reduce-only orders to them, then one perp.position event each; their accounts'
        liquidation triggers go stale (``stale``: Liquidator.stale, None before any).
        The events are built here rather than through engine.venue.emit: that module is
        interpreted, and emit(**pos.data()) would copy each position's data into a new
        dict, on the perp fill path (README, Perpetuals: the mixed flow)."""
        engine = self.engine
        touched = self.touched
        if self.reducing.live:
            for account, symbol in list(touched):
                self.reducing.settle(engine, account, symbol)
        out = engine.out
        seq = engine.seq
        ts_us = engine.ts_us
        for (account, _), pos in touched.items():
            out.append(VenueEvent(seq, ts_us, len(out), "perp.position", account, pos.data()))
            if stale is not None:
                stale[account] = None
        touched.clear()

    # ---------------------------------------------------------------- cash and equity

    def credit(self, market: Market, pos: Position, amount: int) -> None:
        """Move amount (may be < 0) into the position's wallet: its isolated margin,
        the account's quote balance, or the insurance fund's cash."""
        if pos.account == INSURANCE:
            market.insurance += amount
        elif pos.isolated:
            pos.margin += amount
        else:
            self.wallet_add(pos.account, market.spec.instrument.quote, amount)

    def wallet_add(self, account: str, quote: str, amount: int) -> None:
        engine = self.engine
        bal = engine.accounts[account].balance(quote)
        bal.total += amount
        engine.dirty[(account, quote)] = bal

    def _mark(self, market: Market) -> int:
        return market.mark or market.index

    def cross(self, account: str, quote: str, skip: Position | None = None) -> tuple[int, int, int]:
        """(unrealized PnL, maintenance, initial margin at mark) of the account's cross
        positions in quote, leaving out ``skip``; cached (``cross_cache``) without skip."""
        if skip is not None:
            return self.cross_now(account, quote, skip)
        cached = self.cross_cache.get(account)
        if cached is None:
            cached = self.cross_cache[account] = {}
        else:
            found = cached.get(quote)
            if found is not None:
                return found
        result = cached[quote] = self.cross_now(account, quote, None)
        return result

    def marks_moved(self) -> None:
        """A mark (or an index standing in for it) changed: every cached cross() is stale."""
        self.cross_cache.clear()

    def cross_now(
        self, account: str, quote: str, skip: Position | None = None
    ) -> tuple[int, int, int]:
        """cross() computed from the positions (what the cache must always equal)."""
        upnl = mm = im = 0
        markets = self.perps.markets
        for symbol, book in self.perps.positions.items():
            pos = book.get(account)
            if pos is None or not pos.size or pos.isolated or pos is skip:
                continue
            market = markets[symbol]
            spec = market.spec
            if spec.instrument.quote != quote:
                continue
            mark = self._mark(market)
            qpt = spec.instrument.quote_per_tick_lot
            notional = pos.notional(mark, qpt)
            upnl += pos.unrealized(mark, qpt)
            mm += spec.maintenance(notional)
            im += -(-notional // pos.leverage)
        return upnl, mm, im

    def locked(self, account: str, asset: str) -> int:
        """Units of the account's asset wallet its cross positions need: their initial
        margin at mark plus their unrealized loss. Withdrawals and transfers may take
        only ``total - held - locked``."""
        if not self.perps.markets:
            return 0
        upnl, _, im = self.cross(account, asset)
        return im + max(0, -upnl)

    def margin_state(self, market: Market, pos: Position) -> tuple[int, int]:
        """(margin balance, maintenance) on the margin pos draws on."""
        spec = market.spec
        qpt = spec.instrument.quote_per_tick_lot
        if pos.isolated or pos.account == INSURANCE:
            mark = self._mark(market)
            cash = market.insurance if pos.account == INSURANCE else pos.margin
            return cash + pos.unrealized(mark, qpt), spec.maintenance(pos.notional(mark, qpt))
        quote = spec.instrument.quote
        bal = self.engine.accounts[pos.account].balance(quote)
        upnl, mm, _ = self.cross(pos.account, quote)
        return bal.total - bal.held + upnl, mm

    # ---------------------------------------------------------------- pre-trade

    def order_hold(self, account: Account, market: Market, notional: int, fee_ppm: int) -> int:
        """What an order of this notional holds: initial margin plus the fee."""
        pos = self.perps.position(account.account_id, market.symbol)
        return -(-notional // pos.leverage) + notional * fee_ppm // PPM

    def hold_for(self, account: Account, symbol: str, price: int, leaves: int) -> int:
        """A resting limit order's hold for leaves lots at price."""
        market = self.perps.markets[symbol]
        notional = price * leaves * market.spec.instrument.quote_per_tick_lot
        return self.order_hold(account, market, notional, account.hold_fee_ppm)

    def pre_trade(self, account: Account, cmd: NewOrder, qty: int, notional: int) -> int:
        """Check a new perp order; returns the quote units it must hold. RiskError if not."""
        market = self.perps.markets[cmd.symbol]
        side = cmd.side
        market_order = cmd.ord_type != _LIMIT
        if cmd.quote_qty:
            raise RiskError(RejectCode.INVALID_ORDER, "perpetual orders take a quantity")
        if cmd.reduce_only:  # clipped to the position already (ReduceOnly.clip)
            return 0
        if not market.mark:
            raise RiskError(RejectCode.INSTRUMENT_HALTED, f"{market.symbol} has no mark price yet")
        spec = market.spec
        pos = self.perps.position(account.account_id, cmd.symbol)
        qpt = spec.instrument.quote_per_tick_lot
        size = pos.size
        grows = (side == _BUY) == (size >= 0) or qty > (size if size >= 0 else -size)
        if grows and market.reduce_only:
            raise RiskError(
                RejectCode.REDUCE_ONLY,
                f"{market.symbol} is reduce-only (index_stale): the order would increase the"
                " position",
            )
        if grows:
            after = size + (qty if side == _BUY else -qty)
            after = (after if after >= 0 else -after) * market.mark * qpt
            allowed = spec.tier(after if after > notional else notional).max_leverage
            if pos.leverage > allowed:
                raise RiskError(
                    RejectCode.LIMIT_EXCEEDED,
                    f"position notional too large for leverage {pos.leverage}x (max {allowed}x)",
                )
        fee_ppm = account.taker_fee_ppm if market_order else account.hold_fee_ppm
        hold = -(-notional // pos.leverage) + notional * fee_ppm // PPM
        quote = spec.instrument.quote
        bal = account.balances.get(quote)
        total, held = (0, 0) if bal is None else (bal.total, bal.held)
        upnl, _, im = self.cross(account.account_id, quote)
        available = total - held + upnl - im
        if hold > available:
            raise RiskError(
                RejectCode.INSUFFICIENT_BALANCE,
                f"insufficient margin: need {units_to_decimal(hold)},"
                f" available {units_to_decimal(max(available, 0))}",
            )
        return hold

    # ---------------------------------------------------------------- fills

    def fill_side(
        self, market: Market, order: Order, account: Account, qty: int, notional: int, fee: int
    ) -> None:
        """Settle one side of a perp fill: hold, position, realized PnL, fee."""
        spec = market.spec
        quote = spec.instrument.quote
        pos = self.perps.position(account.account_id, order.symbol)
        bal = account.balance(quote)
        old_hold = order.hold
        if old_hold:
            if order.ord_type == _LIMIT:
                rest = order.price * order.leaves * spec.instrument.quote_per_tick_lot
                new_hold = -(-rest // pos.leverage) + rest * account.hold_fee_ppm // PPM
                new_hold = min(old_hold, new_hold)
            else:
                new_hold = max(0, old_hold - (-(-notional // pos.leverage) + fee))
            order.hold = new_hold
            bal.held -= old_hold - new_hold
        bal.total -= fee
        self.engine.dirty[(account.account_id, quote)] = bal
        self.trade(market, pos, qty if order.side == _BUY else -qty, notional)

    def trade(self, market: Market, pos: Position, delta: int, notional: int) -> None:
        """Apply a signed trade of |delta| lots costing notional to the position:
        realize PnL on what it closes, add cost for what it opens, move isolated margin."""
        before = pos.size
        closing = 0
        if before and (before > 0) != (delta > 0):
            closing = min(abs(delta), abs(before))
        opened = abs(delta) - closing
        if closing:
            removed = pos.entry * closing // abs(before)  # the remainder stays in entry
            close_value = notional * closing // abs(delta)
            realized = close_value - removed if before > 0 else removed - close_value
            pos.entry -= removed
            pos.size += closing if delta > 0 else -closing
            pos.realized += realized
            self.credit(market, pos, realized)
            if pos.isolated and pos.margin > 0 and pos.account != INSURANCE:
                release = pos.margin if pos.size == 0 else pos.margin * closing // abs(before)
                self._isolated_to_wallet(market, pos, release)
            if pos.isolated and pos.size == 0 and pos.margin < 0:
                self._isolated_to_wallet(market, pos, pos.margin)  # the wallet covers it
            open_value = notional - close_value
        else:
            open_value = notional
        if opened:
            pos.size += opened if delta > 0 else -opened
            pos.entry += open_value
            if pos.isolated and pos.account != INSURANCE:
                self._isolated_to_wallet(market, pos, -open_value // pos.leverage)  # IM in
        if pos.account != INSURANCE:
            self.touched[(pos.account, pos.symbol)] = pos
        self.cross_cache.pop(pos.account, None)

    def _isolated_to_wallet(self, market: Market, pos: Position, amount: int) -> None:
        """Move amount from the isolated margin to the wallet (< 0: wallet to margin)."""
        if not amount:
            return
        pos.margin -= amount
        self.wallet_add(pos.account, market.spec.instrument.quote, amount)

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
                self.touched[(pos.account, pos.symbol)] = pos
        return paid, received

    # ---------------------------------------------------------------- settings

    def _known(self, account: str, symbol: str) -> Market | None:
        engine = self.engine
        market = self.perps.markets.get(symbol)
        if market is None:
            reject(engine, symbol, RejectCode.UNKNOWN_INSTRUMENT, "no such perpetual")
        elif account not in engine.accounts:
            reject(engine, account, RejectCode.UNKNOWN_ACCOUNT, "unknown account")
            return None
        return market

    def _has_orders(self, account: str, symbol: str) -> bool:
        return any(o.account == account and o.symbol == symbol for o in self.engine.orders.values())

    def set_leverage(self, cmd: SetLeverage) -> None:
        engine = self.engine
        market = self._known(cmd.account, cmd.symbol)
        if market is None:
            return
        current = self.perps.positions[cmd.symbol].get(cmd.account)
        notional = 0
        if current is not None:
            notional = current.notional(
                self._mark(market), market.spec.instrument.quote_per_tick_lot
            )
        allowed = market.spec.tier(notional).max_leverage
        if type(cmd.leverage) is not int or not 1 <= cmd.leverage <= allowed:
            reject(engine, cmd.account, RejectCode.INVALID_COMMAND, f"leverage: 1..{allowed}")
            return
        if self._has_orders(cmd.account, cmd.symbol) or (
            current is not None and current.size and current.isolated
        ):
            reject(engine, cmd.account, RejectCode.NOT_FLAT, "open orders or isolated position")
            return
        pos = self.perps.position(cmd.account, cmd.symbol)
        pos.leverage = cmd.leverage
        self.cross_cache.pop(cmd.account, None)
        emit(engine, "perp.leverage", cmd.account, symbol=cmd.symbol, leverage=cmd.leverage)

    def set_margin_mode(self, cmd: SetMarginMode) -> None:
        engine = self.engine
        market = self._known(cmd.account, cmd.symbol)
        if market is None:
            return
        current = self.perps.positions[cmd.symbol].get(cmd.account)
        if (current is not None and current.size) or self._has_orders(cmd.account, cmd.symbol):
            reject(engine, cmd.account, RejectCode.NOT_FLAT, "position or orders open")
            return
        pos = self.perps.position(cmd.account, cmd.symbol)
        self._isolated_to_wallet(market, pos, pos.margin)  # a flat position's leftover
        pos.isolated = bool(cmd.isolated)
        self.cross_cache.pop(cmd.account, None)
        emit(engine, "perp.margin_mode", cmd.account, symbol=cmd.symbol, isolated=pos.isolated)

    def adjust_isolated(self, cmd: AdjustIsolatedMargin) -> None:
        engine = self.engine
        market = self._known(cmd.account, cmd.symbol)
        if market is None:
            return
        pos = self.perps.positions[cmd.symbol].get(cmd.account)
        if pos is None or not pos.isolated or not pos.size:
            reject(engine, cmd.account, RejectCode.INVALID_COMMAND, "no isolated position")
            return
        quote = market.spec.instrument.quote
        bal = engine.accounts[cmd.account].balance(quote)
        if type(cmd.amount) is not int or cmd.amount == 0:
            reject(engine, cmd.account, RejectCode.INVALID_AMOUNT, "amount must be nonzero")
            return
        if cmd.amount > 0 and cmd.amount > bal.total - bal.held:
            reject(engine, cmd.account, RejectCode.INSUFFICIENT_BALANCE, "above available")
            return
        if cmd.amount < 0:
            mark = self._mark(market)
            qpt = market.spec.instrument.quote_per_tick_lot
            notional = pos.notional(mark, qpt)
            keep = -(-notional // pos.leverage)
            free = pos.margin + min(0, pos.unrealized(mark, qpt)) - keep
            if -cmd.amount > free:
                reject(engine, cmd.account, RejectCode.INSUFFICIENT_BALANCE, "above removable")
                return
        self._isolated_to_wallet(market, pos, -cmd.amount)
        emit(engine, "perp.isolated_margin", cmd.account, symbol=cmd.symbol, margin=pos.margin)

    def close_position(self, cmd: ClosePosition) -> None:
        """A close the account asks for (liquidation never comes here): refused by the
        kill switches like the reduce-only market order the edges send for it, and
        paying the taker fee like it."""
        engine = self.engine
        market = self._known(cmd.account, cmd.symbol)
        if market is None:
            return
        pos = self.perps.positions[cmd.symbol].get(cmd.account)
        if pos is None or not pos.size:
            reject(engine, cmd.account, RejectCode.INVALID_COMMAND, "no position to close")
            return
        if cmd.client_order_id and engine.accounts[cmd.account].client_id_in_use(
            cmd.client_order_id
        ):
            reject(engine, cmd.account, RejectCode.DUPLICATE_CLIENT_ORDER_ID, "id already used")
            return
        try:  # a close the account asks for passes the kill switches as its order would
            engine.pretrade.gate(cmd.account, cmd.symbol, trading=True)  # fee rates too
        except RiskError as refused:
            reject(engine, cmd.account, refused.code, refused.text)
            return
        engine.perp_liquidation.internal_order(
            market, pos, abs(pos.size), 0, cmd.client_order_id, taker_fee=True
        )
