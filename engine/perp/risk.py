"""Positions and margin: pre-trade margin, fills into positions, funding payments,
leverage and margin mode, and the liquidation ladder (cancel -> slices -> insurance
fund -> auto-deleveraging).

Money rules (integers, quote units; README "Perpetuals" has the worked example):
- A cross position draws on the account's wallet (its quote balance); an isolated one
  on its own ``margin``. Realized PnL and funding go to that wallet or margin; fees
  are always charged to the wallet.
- An order holds (``held`` of the quote balance) its initial margin,
  ``ceil(notional / leverage)``, plus the fee at the account's higher rate.
- margin balance: (cross) wallet total - held (what open orders hold does not support
  positions) + the cross positions' unrealized PnL at mark; (isolated) margin +
  unrealized PnL. maintenance: the bracket rule of engine/perp/spec.py at mark.
- Liquidation when margin balance <= maintenance, for an account with a position.
- bankruptcy price: where the margin balance would be 0, rounded to the tick in the
  account's favour (a long's up, a short's down), so that closing there never leaves
  it negative.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Final

from engine.book import Order
from engine.commands import NewOrder
from engine.events import CloseReason, OrderAccepted, OrderCanceled, RejectCode
from engine.model import OrdType, Side, Stp, TimeInForce, units_to_decimal
from engine.perp import pricing
from engine.perp.commands import (
    RATE_SCALE,
    AdjustIsolatedMargin,
    ClosePosition,
    SetLeverage,
    SetMarginMode,
)
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
        #: the engine's own order being matched (liquidation or close): no trading fee
        self.internal: Order | None = None

    def emit_positions(self) -> None:
        """The perp.position events of the command being applied (Engine.apply)."""
        engine = self.engine
        for (account, _), pos in self.touched.items():
            emit(engine, "perp.position", account, **pos.data())
        self.touched.clear()

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
        positions in quote, leaving out ``skip``."""
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
        if market.reduce_only:
            raise RiskError(
                RejectCode.INSTRUMENT_CANCEL_ONLY,
                f"{market.symbol} is reduce-only: the index is stale",
            )
        if not market.mark:
            raise RiskError(RejectCode.INSTRUMENT_HALTED, f"{market.symbol} has no mark price yet")
        spec = market.spec
        pos = self.perps.position(account.account_id, market.symbol)
        qpt = spec.instrument.quote_per_tick_lot
        grows = (side == _BUY) == (pos.size >= 0) or qty > abs(pos.size)
        if grows:
            after = abs(pos.size + (qty if side == _BUY else -qty)) * self._mark(market) * qpt
            allowed = spec.tier(max(after, notional)).max_leverage
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
        pos = self.perps.position(account.account_id, market.symbol)
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
        self.internal_order(market, pos, abs(pos.size), 0, cmd.client_order_id)

    # ---------------------------------------------------------------- internal orders

    def internal_order(
        self, market: Market, pos: Position, qty: int, bound: int, client_order_id: str
    ) -> tuple[int, int]:
        """An IOC order reducing pos by up to qty, no worse than bound (0 = any), placed
        for the account through matching; returns (lots, notional) filled. It holds nothing and
        pays no trading fee."""
        engine = self.engine
        account = engine.accounts[pos.account]
        side = Side.SELL if pos.size > 0 else Side.BUY
        ord_type = OrdType.LIMIT if bound else OrdType.MARKET
        order = Order(
            engine.seq, pos.account, market.symbol, side, ord_type, bound, qty, TimeInForce.IOC,
            client_order_id, Stp.NONE, False, 0, 0,
        )  # fmt: skip
        out = engine.out
        out.append(
            OrderAccepted(
                engine.seq, engine.ts_us, len(out), order.order_id, pos.account, market.symbol,
                client_order_id, side, ord_type, bound, qty, TimeInForce.IOC, 0, False,
                Stp.NONE, 0,
            )
        )  # fmt: skip
        engine.orders[order.order_id] = order
        account.open_orders += 1
        if client_order_id:
            account.live_client_ids[client_order_id] = order.order_id
        self.internal = order
        try:
            engine._execute(order, engine.listings[market.symbol], bound)
        finally:
            self.internal = None
        return order.filled, order.notional

    # ---------------------------------------------------------------- liquidation

    def check(self, market: Market) -> None:
        """Liquidate what the new mark leaves under-margined, one position at a time.

        A first pass screens every open position with the arithmetic inlined (this is
        the per-tick cost that grows with open interest); each one found breached is
        checked again just before its ladder runs, as an earlier one may have changed
        it (auto-deleveraging)."""
        spec = market.spec
        mark = self._mark(market)
        qpt = spec.instrument.quote_per_tick_lot
        quote = spec.instrument.quote
        accounts = self.engine.accounts
        single = len(self.perps.markets) == 1
        breached = []
        for pos in self.perps.positions[market.symbol].values():
            size = pos.size
            if not size or pos.account == INSURANCE:
                continue
            value = size * mark * qpt
            upnl = value - pos.entry if size > 0 else value + pos.entry
            mm = spec.maintenance(value if size > 0 else -value)
            if pos.isolated:
                equity = pos.margin + upnl
            elif single:
                bal = accounts[pos.account].balances.get(quote)
                equity = upnl if bal is None else bal.total - bal.held + upnl
            else:
                equity, mm = self.margin_state(market, pos)
            if equity <= mm:
                breached.append(pos)
        for pos in breached:
            if pos.size:
                equity, mm = self.margin_state(market, pos)
                if equity <= mm:
                    self.liquidate(market, pos)

    def _cancel_orders(self, market: Market, pos: Position) -> int:
        """Cancel the account's orders that use the margin pos draws on."""
        engine = self.engine
        quote = market.spec.instrument.quote
        victims = []
        for order in engine.orders.values():
            if order.account != pos.account:
                continue
            if pos.isolated:
                if order.symbol == market.symbol:
                    victims.append(order)
                continue
            other = self.perps.markets.get(order.symbol)
            if other is not None:
                if other.spec.instrument.quote == quote:
                    victims.append(order)
            elif order.side == _BUY and engine.listings[order.symbol].instrument.quote == quote:
                victims.append(order)
        for order in victims:
            engine.close(order, OrderCanceled, CloseReason.LIQUIDATION, delta=True)
        return len(victims)

    def bankruptcy_price(self, market: Market, pos: Position) -> int:
        """The tick at which pos closes with the margin it draws on at 0 (see module)."""
        spec = market.spec
        qpt = spec.instrument.quote_per_tick_lot
        if pos.isolated:
            rest = pos.margin
        elif pos.account == INSURANCE:
            rest = market.insurance
        else:
            quote = spec.instrument.quote
            upnl, _, _ = self.cross(pos.account, quote, skip=pos)
            rest = self.engine.accounts[pos.account].balance(quote).total + upnl
        lots = abs(pos.size) * qpt
        if pos.size > 0:  # rest + size*p*qpt - entry = 0
            return max(1, -(-(pos.entry - rest) // lots))
        return max(1, (rest + pos.entry) // lots)

    def liquidate(self, market: Market, pos: Position) -> None:
        engine = self.engine
        symbol = market.symbol
        spec = market.spec
        qpt = spec.instrument.quote_per_tick_lot
        canceled = self._cancel_orders(market, pos)
        emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="canceled",
             orders=canceled, mark=market.mark)  # fmt: skip
        equity, mm = self.margin_state(market, pos)
        if equity > mm:
            emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="recovered",
                 margin_balance=equity, maintenance=mm)  # fmt: skip
            return
        slice_no = 0
        while pos.size and equity <= mm:
            bound = self.bankruptcy_price(market, pos)
            size = abs(pos.size)
            qty = min(size, spec.liquidation_slice_lots or size)
            slice_no += 1
            filled, notional = self.internal_order(
                market, pos, qty, bound, f"liq-{engine.seq}-{slice_no}"
            )
            if not filled:
                break
            equity, mm = self.margin_state(market, pos)
            fee = min(notional * spec.liquidation_fee_rate // RATE_SCALE, max(0, equity))
            if fee:
                self.credit(market, pos, -fee)
                market.insurance += fee
                equity -= fee
            emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="slice",
                 filled=filled, bound=bound, fee=fee, size=pos.size)  # fmt: skip
            if pos.size and equity > mm:
                emit(engine, "perp.liquidation", pos.account, symbol=symbol,
                     step="recovered", margin_balance=equity, maintenance=mm)  # fmt: skip
                return
        if not pos.size:
            self._cover_deficit(market, pos)
            return
        bound = self.bankruptcy_price(market, pos)
        if self._insurance_can_take(market, pos, bound):
            fund = self.perps.position(INSURANCE, symbol)
            fund.leverage = 1
            size, notional = pos.size, abs(pos.size) * bound * qpt
            self.trade(market, pos, -size, notional)
            self.trade(market, fund, size, notional)
            emit(engine, "perp.liquidation", pos.account, symbol=symbol, step="insurance",
                 qty=abs(size), price=bound)  # fmt: skip
            emit(engine, "perp.insurance", symbol, balance=market.insurance,
                 position=fund.size)  # fmt: skip
        else:
            self.deleverage(market, pos, bound)
        self._cover_deficit(market, pos)

    def _insurance_can_take(self, market: Market, pos: Position, price: int) -> bool:
        """The fund takes pos at price if its equity at mark stays >= 0 afterwards."""
        qpt = market.spec.instrument.quote_per_tick_lot
        fund = self.perps.positions[market.symbol].get(INSURANCE)
        mark = self._mark(market)
        equity = market.insurance
        if fund is not None:
            equity += fund.unrealized(mark, qpt)
        # the fund takes pos as it is (same side) at price; it is worth mark
        equity += pos.size * (mark - price) * qpt
        return equity >= 0 and market.insurance > 0

    def adl_rank(self, market: Market, pos: Position) -> Fraction:
        """Binance's ranking: pnl% x effective leverage (profit), pnl% / leverage (loss)."""
        qpt = market.spec.instrument.quote_per_tick_lot
        mark = self._mark(market)
        upnl = pos.unrealized(mark, qpt)
        notional = pos.notional(mark, qpt)
        equity, _ = self.margin_state(market, pos)
        if notional == 0:
            return Fraction(0)
        if equity <= 0:
            return Fraction(upnl, notional) * 10**9 if upnl >= 0 else Fraction(upnl, notional)
        if upnl >= 0:
            return Fraction(upnl, equity)
        return Fraction(upnl * equity, notional * notional)

    def deleverage(self, market: Market, pos: Position, price: int) -> None:
        """Close pos against the opposite positions, highest rank first, at price."""
        engine = self.engine
        qpt = market.spec.instrument.quote_per_tick_lot
        opposite = [
            p
            for p in self.perps.positions[market.symbol].values()
            if p.size and (p.size > 0) != (pos.size > 0) and p is not pos
        ]
        opposite.sort(key=lambda p: (p.account == INSURANCE, -self.adl_rank(market, p), p.account))
        for other in opposite:
            if not pos.size:
                break
            qty = min(abs(pos.size), abs(other.size))
            notional = qty * price * qpt
            if other.account != INSURANCE:
                self._cancel_orders(market, other)
            self.trade(market, pos, qty if pos.size < 0 else -qty, notional)
            self.trade(market, other, qty if other.size < 0 else -qty, notional)
            emit(engine, "perp.liquidation", pos.account, symbol=market.symbol, step="adl",
                 qty=qty, price=price, counterparty=other.account)  # fmt: skip
            if other.account != INSURANCE:
                emit(engine, "perp.liquidation", other.account, symbol=market.symbol,
                     step="deleveraged", qty=qty, price=price)  # fmt: skip

    def _cover_deficit(self, market: Market, pos: Position) -> None:
        """A flat isolated position's negative margin, or a cross wallet left negative
        with no cross position, is covered by the insurance fund as far as it goes."""
        if pos.isolated:
            deficit = -pos.margin if pos.margin < 0 and not pos.size else 0
        else:
            quote = market.spec.instrument.quote
            upnl, _, _ = self.cross(pos.account, quote)
            total = self.engine.accounts[pos.account].balance(quote).total
            deficit = -(total + upnl) if total + upnl < 0 else 0
        cover = min(deficit, max(0, market.insurance))
        if cover:
            market.insurance -= cover
            self.credit(market, pos, cover)
            emit(self.engine, "perp.insurance", market.symbol, balance=market.insurance)
