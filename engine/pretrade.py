"""Stage 1: pre-trade risk. Decides whether an order may trade and what it must hold.

Before an order reaches matching (engine/matching.py) this stage checks it against:
- the kill switches: the venue-wide halt, the instrument's status (halted, delisted,
  cancel-only), the account's enabled flag, its tenancy trade block and markets;
- the listing: side, type, quantity and price on the grid, minimums, the collar,
  time in force, post-only, the STP mode, client order id reuse;
- the account's limits (size, notional, KYC tier, open orders);
- the account's balance: a market order is sized by walking the book, the hold is
  computed (engine/risk.py's rules) and an order whose hold exceeds the available
  balance is refused.

It changes nothing: every check raises :class:`RiskError` (code and text for the
OrderRejected) or returns what the order needs. The engine takes the hold when the
order goes live (a FOK order that cannot fill never holds) and runs matching.

It sees the listings, the accounts and the order commands, and the rest of the engine
only through hooks the engine implements (:class:`PreTrade` is their base class): the
venue's fee tables (:meth:`PreTrade.refresh_fees`), the perpetuals' margin
(:meth:`PreTrade.margin_hold`, :meth:`PreTrade.margin_hold_for`) and their
reduce-only rule (:meth:`PreTrade.reduce_only_clip`, :meth:`PreTrade.reduce_only_replace`).
"""

from __future__ import annotations

from typing import Final

from engine.book import Listing, Order
from engine.events import RejectCode
from engine.matching import walk
from engine.model import OrdType, Side, Stp, TimeInForce, TradingStatus, units_to_decimal
from engine.order_commands import NewOrder, Replace
from engine.risk import PPM, Account, Balance, RiskError

__all__ = ["STP_MODES", "PreTrade"]

# Plain ints for the hot path, Final so mypyc makes them C constants (see engine/core.py).
_BUY: Final = int(Side.BUY)
_SELL: Final = int(Side.SELL)
_LIMIT: Final = int(OrdType.LIMIT)
_MARKET: Final = int(OrdType.MARKET)
_GTD: Final = int(TimeInForce.GTD)
_MARKET_ENABLED: Final = 1
"""engine.venue.tenancy.MarketState.ENABLED (a stage does not import the venue side)."""
_OPEN: Final = int(TradingStatus.OPEN)
_HALTED: Final = int(TradingStatus.HALTED)
_DELISTED: Final = int(TradingStatus.DELISTED)
_CANCEL_ONLY: Final = int(TradingStatus.CANCEL_ONLY)

STP_MODES: Final = frozenset(int(m) for m in Stp)
_TIFS: Final = frozenset(int(t) for t in TimeInForce)

NewOrderChecked = tuple[int, int, int, int, str, Balance | None]
"""What check_new returns: (qty in lots, price bound for matching, STP mode, hold,
hold asset, the balance the hold comes from (None only when the hold is 0))."""
ReplaceChecked = tuple[int, int, str, str, Balance, int]
"""What check_replace returns: (price, leaves, client order id, hold asset, its
balance, the order's new hold)."""


class PreTrade:
    """The pre-trade checks over the engine's listings and accounts (shared dicts).

    A base class whose hooks the engine implements, rather than a Protocol, so that
    the compiled build calls them through a vtable (as matching calls its MatchHost).
    """

    def __init__(self, listings: dict[str, Listing], accounts: dict[str, Account]) -> None:
        self.listings = listings
        self.accounts = accounts
        self.halted = False
        """The venue-wide kill switch (SetGlobalHalt): no new order or replace trades."""

    # ---------------------------------------------------------------- hooks

    def refresh_fees(self, account: Account) -> None:
        """Bring the account's fee rates up to date before it trades (engine/venue/fees.py)."""
        raise NotImplementedError

    def margin_hold(self, account: Account, cmd: NewOrder, qty: int, notional: int) -> int:
        """A new perpetual order's hold (initial margin and fee); RiskError when the
        margin does not cover it (engine/perp/risk.py)."""
        raise NotImplementedError

    def margin_hold_for(self, account: Account, symbol: str, price: int, leaves: int) -> int:
        """A resting perpetual order's hold for leaves lots at price."""
        raise NotImplementedError

    def reduce_only_clip(self, account_id: str, symbol: str, side: int, qty: int) -> int:
        """The lots of a new reduce-only order that reduce the account's position now
        (engine/perp/orders.py); RiskError when none do."""
        raise NotImplementedError

    def reduce_only_replace(self, order: Order, leaves: int) -> None:
        """RiskError unless a reduce-only order amended to leaves lots still only
        reduces the position (engine/perp/orders.py)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- checks

    def gate(self, account_id: str, symbol: str, *, trading: bool) -> tuple[Account, Listing]:
        """Kill switches and existence checks shared by every order command; a trading
        command (new order, replace) also finds the account's fee rates current."""
        listing = self.listings.get(symbol)
        if listing is None:
            raise RiskError(RejectCode.UNKNOWN_INSTRUMENT, f"unknown instrument {symbol!r}")
        account = self.accounts.get(account_id)
        if account is None:
            raise RiskError(RejectCode.UNKNOWN_ACCOUNT, f"unknown account {account_id!r}")
        status = listing.status
        if status != _OPEN:
            if status == _HALTED:
                raise RiskError(RejectCode.INSTRUMENT_HALTED, f"{symbol} is halted")
            if status == _DELISTED:
                raise RiskError(RejectCode.INSTRUMENT_DELISTED, f"{symbol} is delisted")
        if trading:
            if self.halted:
                raise RiskError(RejectCode.TRADING_HALTED, "trading is halted")
            if status == _CANCEL_ONLY:
                raise RiskError(RejectCode.INSTRUMENT_CANCEL_ONLY, f"{symbol} is cancel-only")
            if not account.enabled:
                raise RiskError(RejectCode.ACCOUNT_DISABLED, "account is disabled")
            if account.trade_block:
                raise RiskError(RejectCode(account.trade_block), account.trade_block_text)
            markets = account.markets
            if markets is not None and markets.get(symbol, 0) != _MARKET_ENABLED:
                raise RiskError(RejectCode.NOT_LISTED, f"{symbol} is not open to this account")
            self.refresh_fees(account)
        return account, listing

    def check_new(
        self, cmd: NewOrder, account: Account, listing: Listing, now_us: int
    ) -> NewOrderChecked:
        """Check a new order that passed the gate; size it and compute its hold."""
        inst = listing.instrument
        side = cmd.side
        if side != _BUY and side != _SELL:
            raise RiskError(RejectCode.INVALID_ORDER, "side must be buy or sell")
        if cmd.client_order_id and account.client_id_in_use(cmd.client_order_id):
            raise RiskError(
                RejectCode.DUPLICATE_CLIENT_ORDER_ID,
                f"client order id {cmd.client_order_id!r} already used",
            )
        stp = account.stp if cmd.stp is None else cmd.stp
        if stp not in STP_MODES:
            raise RiskError(RejectCode.INVALID_ORDER, f"unknown STP mode {stp}")
        book = listing.book
        low, high = listing.collar() if listing.collar_bps and book.last_price else (0, 0)
        ord_type = cmd.ord_type
        if ord_type == _LIMIT:
            _check_limit(cmd, listing, low, high, now_us)
            bound = cmd.price
            qty = cmd.qty
            notional = cmd.price * qty * inst.quote_per_tick_lot
        elif ord_type == _MARKET:
            if cmd.post_only or cmd.tif == _GTD or cmd.price:
                raise RiskError(
                    RejectCode.INVALID_ORDER, "market orders take no price, GTD or post-only"
                )
            bound = high if side == _BUY else low
            qty, notional = _check_market(cmd, listing, bound)
        else:
            raise RiskError(RejectCode.INVALID_ORDER, f"unknown order type {cmd.ord_type}")
        if cmd.reduce_only:  # engine/perp/orders.py: clipped to the position
            if not listing.perp:
                raise RiskError(RejectCode.INVALID_ORDER, "reduce-only is for perpetuals")
            clipped = self.reduce_only_clip(cmd.account, cmd.symbol, side, qty)
            if clipped < qty:
                notional = notional * clipped // qty
                qty = clipped
        if account.has_limits:
            account.check_limits(qty * inst.base_per_lot, notional)

        if listing.perp:  # initial margin (engine/perp/risk.py); RiskError if short
            hold_asset = inst.quote
            hold = self.margin_hold(account, cmd, qty, notional)
            available = hold
        elif side == _BUY:
            hold_asset = inst.quote
            fee_ppm = account.hold_fee_ppm if ord_type == _LIMIT else account.taker_fee_ppm
            hold = notional + notional * fee_ppm // PPM
        else:
            hold_asset = inst.base
            hold = qty * inst.base_per_lot
        bal = account.balances.get(hold_asset)
        if not listing.perp:
            available = 0 if bal is None else bal.total - bal.held
        if hold > available:
            raise RiskError(
                RejectCode.INSUFFICIENT_BALANCE,
                f"insufficient {hold_asset}: need {units_to_decimal(hold)},"
                f" available {units_to_decimal(available)}",
            )
        return qty, bound, stp, hold, hold_asset, bal

    def check_replace(
        self, cmd: Replace, account: Account, listing: Listing, order: Order
    ) -> ReplaceChecked:
        """Check an amendment of a live limit order and compute the order's new hold."""
        inst = listing.instrument
        price = cmd.price or order.price
        new_clid = cmd.client_order_id or order.client_order_id
        if cmd.qty <= 0:
            raise RiskError(RejectCode.INVALID_QUANTITY, "quantity must be positive")
        if price <= 0:
            raise RiskError(RejectCode.INVALID_PRICE, "price must be positive")
        if cmd.qty <= order.filled:
            raise RiskError(RejectCode.REPLACE_BELOW_FILLED, "new quantity not above filled")
        leaves = cmd.qty - order.filled
        if leaves < inst.min_qty:
            raise RiskError(RejectCode.BELOW_MIN_QTY, "remaining quantity below minimum")
        if inst.notional(price, cmd.qty) < inst.min_notional:
            raise RiskError(RejectCode.BELOW_MIN_NOTIONAL, "notional below instrument minimum")
        if new_clid != order.client_order_id and account.client_id_in_use(new_clid):
            raise RiskError(
                RejectCode.DUPLICATE_CLIENT_ORDER_ID, f"client order id {new_clid!r} already used"
            )
        low, high = listing.collar()
        if low and price != order.price and not low <= price <= high:
            raise RiskError(RejectCode.PRICE_OUTSIDE_COLLAR, "price outside collar")
        opp = listing.book.opposite(order.side)
        if order.post_only and price != order.price and opp.crosses(order.side, price):
            raise RiskError(RejectCode.POST_ONLY_WOULD_TAKE, "post-only order would take")
        account.check_limits(
            cmd.qty * inst.base_per_lot, inst.notional(price, cmd.qty), new_order=False
        )
        if listing.perp:
            asset = inst.quote
            if order.reduce_only:
                self.reduce_only_replace(order, leaves)
                new_hold = 0
            else:
                new_hold = self.margin_hold_for(account, order.symbol, price, leaves)
        elif order.side == _BUY:
            asset = inst.quote
            new_hold = account.buy_hold(inst.notional(price, leaves))
        else:
            asset = inst.base
            new_hold = leaves * inst.base_per_lot
        bal = account.balances[asset]
        extra = new_hold - order.hold
        if extra > bal.total - bal.held:
            raise RiskError(
                RejectCode.INSUFFICIENT_BALANCE,
                f"insufficient {asset}: need {units_to_decimal(extra)} more,"
                f" available {units_to_decimal(bal.total - bal.held)}",
            )
        return price, leaves, new_clid, asset, bal, new_hold


def _check_limit(cmd: NewOrder, listing: Listing, low: int, high: int, now_us: int) -> None:
    inst = listing.instrument
    if cmd.qty <= 0:
        raise RiskError(RejectCode.INVALID_QUANTITY, "quantity must be positive")
    if cmd.quote_qty:
        raise RiskError(RejectCode.INVALID_ORDER, "quote quantity is for market orders only")
    if cmd.qty < inst.min_qty:
        raise RiskError(RejectCode.BELOW_MIN_QTY, "quantity below instrument minimum")
    if cmd.price <= 0:
        raise RiskError(RejectCode.INVALID_PRICE, "limit orders need a positive price")
    if inst.notional(cmd.price, cmd.qty) < inst.min_notional:
        raise RiskError(RejectCode.BELOW_MIN_NOTIONAL, "notional below instrument minimum")
    tif = cmd.tif
    if tif not in _TIFS:
        raise RiskError(RejectCode.INVALID_TIME_IN_FORCE, f"unknown time in force {tif}")
    if tif == _GTD and cmd.expire_ts_us <= now_us:
        raise RiskError(RejectCode.INVALID_EXPIRE_TIME, "GTD expire time is not in the future")
    if low and not low <= cmd.price <= high:
        raise RiskError(
            RejectCode.PRICE_OUTSIDE_COLLAR,
            f"price outside collar [{inst.ticks_to_price(low)}, {inst.ticks_to_price(high)}]",
        )
    if cmd.post_only:
        if tif in (TimeInForce.IOC, TimeInForce.FOK):
            raise RiskError(RejectCode.INVALID_ORDER, "post-only orders cannot be IOC or FOK")
        if listing.book.opposite(cmd.side).crosses(cmd.side, cmd.price):
            raise RiskError(RejectCode.POST_ONLY_WOULD_TAKE, "post-only order would take")


def _check_market(cmd: NewOrder, listing: Listing, bound: int) -> tuple[int, int]:
    """Validate a market order and size it by walking the book: (lots, notional)."""
    inst = listing.instrument
    if cmd.tif not in _TIFS:
        raise RiskError(RejectCode.INVALID_TIME_IN_FORCE, f"unknown time in force {cmd.tif}")
    if (cmd.qty > 0) == (cmd.quote_qty > 0) or cmd.qty < 0 or cmd.quote_qty < 0:
        raise RiskError(
            RejectCode.INVALID_QUANTITY, "give exactly one of quantity or quote quantity"
        )
    if cmd.qty:
        if cmd.qty < inst.min_qty:
            raise RiskError(RejectCode.BELOW_MIN_QTY, "quantity below instrument minimum")
    elif cmd.quote_qty < inst.min_notional:
        raise RiskError(RejectCode.BELOW_MIN_NOTIONAL, "quote quantity below minimum")
    lots, notional, _ = walk(
        listing.book.opposite(cmd.side),
        cmd.side,
        bound,
        cmd.qty,
        cmd.quote_qty,
        inst.quote_per_tick_lot,
    )
    return (cmd.qty or lots), notional
