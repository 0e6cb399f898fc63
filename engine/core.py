"""Engine: submit(command) -> events. The one entry point; pure and deterministic.

Each command is stamped by the sequencer (or, on replay, carries its stamp), applied
completely, and answered with the list of events it caused. Nothing else reads or
writes engine state. Same commands with the same stamps give the same state, which
state_hash() proves.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
from collections.abc import Callable
from typing import Any, Final

import orjson

from engine import matching, snapshot
from engine.book import Listing, Order
from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Cancel,
    Command,
    MassCancel,
    NewOrder,
    OpenAccount,
    Replace,
    SetAccountEnabled,
    SetGlobalHalt,
    SetInstrumentStatus,
    Tick,
    command_from_record,
)
from engine.events import (
    AdminApplied,
    BalanceChanged,
    BookDelta,
    CloseReason,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from engine.model import (
    GridError,
    Instrument,
    OrdType,
    Side,
    TimeInForce,
    TradingStatus,
)
from engine.perp.handlers import PERP_HANDLERS
from engine.perp.liquidation import Liquidator
from engine.perp.risk import PerpRisk
from engine.perp.state import Perps
from engine.pretrade import STP_MODES, PreTrade
from engine.risk import Account, Balance, RiskError, bps_to_ppm
from engine.sequencer import Sequencer
from engine.settlement import Settlement
from engine.venue import fees
from engine.venue.credentials import Credentials
from engine.venue.fees import FeeBook
from engine.venue.funds import Funds
from engine.venue.operators import Operators
from engine.venue.registry import VENUE_HANDLERS
from engine.venue.reviews import AlertReviews
from engine.venue.sessions import Sessions
from engine.venue.tenancy import Tenancy

__all__ = ["Engine", "Listing"]

# Plain ints for the hot path, Final so mypyc makes them C constants: loading an IntEnum
# member costs ~70 ns, a module global that is not Final (a dict lookup) ~10 ns.
_BUY: Final = int(Side.BUY)
_LIMIT: Final = int(OrdType.LIMIT)
_MARKET: Final = int(OrdType.MARKET)
_FOK: Final = int(TimeInForce.FOK)
_GTD: Final = int(TimeInForce.GTD)
_HALTED: Final = int(TradingStatus.HALTED)
_DELISTED: Final = int(TradingStatus.DELISTED)

CommandHook = Callable[[int, int, Command], None]
_ClosedFields = tuple[int, int, int, int, str, str, str, int, int, int, int, int]
"""OrderClosed's fields in order: seq, ts_us, idx, order_id, account, symbol,
client_order_id, side, qty, filled, notional, reason."""


class Engine(Settlement):
    """All instruments and accounts: runs each command through the stages.

    Pre-trade risk (engine/risk.py) checks an order and holds what it may cost,
    matching (engine/matching.py) trades it against the book, settlement
    (engine/settlement.py, the base class) applies the fills to balances and fees.
    The engine owns the sequence, the order index and lifecycle, and administration.
    """

    def __init__(self, sequencer: Sequencer | None = None) -> None:
        super().__init__()  # accounts, balances touched, fees, trade ids; seq, ts_us, out
        self.sequencer = sequencer or Sequencer()
        self.listings: dict[str, Listing] = {}
        self.orders: dict[int, Order] = {}
        self.last_seq = 0
        self.last_ts_us = 0
        self.on_command: CommandHook | None = None
        """Called with (seq, ts_us, command) before it is applied: the journal's append."""
        self._gtd: list[tuple[int, int]] = []  # (expire_ts_us, order_id) heap
        # The operator side (engine/venue): each module owns its part.
        self.tenancy = Tenancy(self.accounts)
        self.credentials = Credentials()
        self.fee_book = FeeBook(self)
        self.funds = Funds()
        self.operators = Operators()
        self.sessions = Sessions()
        # Perpetual swaps (engine/perp): markets and positions, and their margin stage.
        self.perps = Perps()
        self.perp_risk = PerpRisk(self, self.perps)
        self.perp_touched = self.perp_risk.touched  # read once per command by apply
        self.perp_liquidation = Liquidator(self, self.perps, self.perp_risk)
        self.perp_indexes = self.perp_liquidation.indexes  # non-empty once perps are checked
        self.perp_quotes = self.perp_liquidation.quotes  # the indexed perps' quote assets
        self.reviews = AlertReviews()
        # Stage 1 (engine/pretrade.py): the order checks and holds, and the global halt.
        self.pretrade: PreTrade = EnginePreTrade(self)
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            NewOrder: self._new_order,
            Cancel: self._cancel,
            Replace: self._replace,
            MassCancel: self._mass_cancel,
            Tick: lambda _cmd: None,
            AddInstrument: self._add_instrument,
            OpenAccount: self._open_account,
            AdjustBalance: self._adjust_balance,
            SetInstrumentStatus: self._set_instrument_status,
            SetGlobalHalt: self._set_global_halt,
            SetAccountEnabled: self._set_account_enabled,
        }
        for cls, handler in (*VENUE_HANDLERS.items(), *PERP_HANDLERS.items()):
            self._handlers[cls] = functools.partial(handler, self)

    # ---------------------------------------------------------------- entry points

    def submit(self, command: Command) -> list[Event]:
        """Sequence, record (on_command hook) and apply one command.

        A command the hook refuses (raises) is not applied and gives its sequence number
        back: otherwise the next command would meet a sequence gap and every later
        command would fail with it."""
        seq, ts_us = self.sequencer.next()
        if self.on_command is not None:
            try:
                self.on_command(seq, ts_us, command)
            except BaseException:
                self.sequencer.resume(self.last_seq, self.last_ts_us)
                raise
        return self.apply(seq, ts_us, command)

    def apply(self, seq: int, ts_us: int, command: Command) -> list[Event]:
        """Apply an already-stamped command (live after submit, or on journal replay)."""
        if seq != self.last_seq + 1:
            raise ValueError(f"sequence gap: expected {self.last_seq + 1}, got {seq}")
        self.last_seq = seq
        self.last_ts_us = ts_us
        self.seq = seq
        self.ts_us = ts_us
        out: list[Event] = []
        self.out = out
        if self._gtd and self._gtd[0][0] <= ts_us:
            self._expire_gtd(ts_us)
        if type(command) is NewOrder:  # the common command: a native call, not a vectorcall
            self._new_order(command)
        else:
            self._handlers[type(command)](command)
        if self.dirty:
            # A balance in an indexed perp's quote asset (perp_quotes: none before the
            # first check) moves its account's liquidation triggers: stale until the
            # next check recomputes them.
            stale = self.perp_liquidation.stale
            quotes = self.perp_quotes
            for (account, asset), bal in self.dirty.items():
                if asset in quotes:
                    stale[account] = None
                out.append(
                    BalanceChanged(seq, ts_us, len(out), account, asset, bal.total, bal.held)
                )
            self.dirty = {}
        if self.perp_touched:
            self.perp_risk.emit_positions(
                self.perp_liquidation.stale if self.perp_indexes else None
            )
        return out

    def dispatch(self, command: Command) -> None:
        """Run a command's handler inside the command being applied: how an envelope
        (engine.venue.operators.AdminRequest) applies the command it carries."""
        self._handlers[type(command)](command)

    def decode(self, record: list[Any]) -> Command:
        """A command from its journal record (how an envelope carries one); the
        engine's command table includes the operator side's."""
        return command_from_record(record)

    def next_expiry_us(self) -> int | None:
        """Earliest GTD expiry still pending, so the gateway knows when to send a Tick."""
        while self._gtd and self._gtd[0][1] not in self.orders:
            heapq.heappop(self._gtd)
        return self._gtd[0][0] if self._gtd else None

    @property
    def halted(self) -> bool:
        """The venue-wide halt (SetGlobalHalt), a kill switch pre-trade risk applies."""
        return self.pretrade.halted

    # ---------------------------------------------------------------- order entry

    def _reject(
        self,
        request: str,
        account: str,
        symbol: str,
        client_order_id: str,
        order_id: int,
        code: RejectCode,
        text: str,
    ) -> None:
        out = self.out
        out.append(
            OrderRejected(
                self.seq,
                self.ts_us,
                len(out),
                request,
                account,
                symbol,
                client_order_id,
                order_id,
                int(code),
                text,
            )
        )

    def _new_order(self, cmd: NewOrder) -> None:
        pretrade = self.pretrade
        try:
            account, listing = pretrade.gate(cmd.account, cmd.symbol, trading=True)
            qty, bound, stp, hold, hold_asset, bal = pretrade.check_new(
                cmd, account, listing, self.ts_us
            )
            self._place(cmd, account, listing, qty, bound, stp, hold, hold_asset, bal)
        except RiskError as err:
            self._reject("new", cmd.account, cmd.symbol, cmd.client_order_id, 0, err.code, err.text)

    def _place(
        self,
        cmd: NewOrder,
        account: Account,
        listing: Listing,
        qty: int,
        bound: int,
        stp: int,
        hold: int,
        hold_asset: str,
        bal: Balance | None,
    ) -> None:
        """Accept an order pre-trade risk admitted: take its hold, then match it."""
        side = cmd.side
        order = Order(
            self.seq,
            cmd.account,
            cmd.symbol,
            side,
            cmd.ord_type,
            cmd.price,
            qty,
            cmd.tif,
            cmd.client_order_id,
            stp,
            cmd.post_only,
            cmd.expire_ts_us,
            cmd.quote_qty,
        )
        out = self.out
        out.append(
            OrderAccepted(
                self.seq,
                self.ts_us,
                len(out),
                order.order_id,
                cmd.account,
                cmd.symbol,
                cmd.client_order_id,
                side,
                cmd.ord_type,
                cmd.price,
                qty,
                cmd.tif,
                cmd.quote_qty,
                cmd.post_only,
                stp,
                cmd.expire_ts_us,
                cmd.reduce_only,
            )
        )
        if qty == 0:  # a market order with nothing to trade against
            self._expire_unplaced(order, CloseReason.NO_LIQUIDITY)
            return
        if cmd.tif == _FOK:
            lots, _, _ = matching.walk(
                listing.book.opposite(side),
                side,
                bound,
                qty,
                0,
                listing.instrument.quote_per_tick_lot,
                cmd.account,
                stp,
            )
            if lots < qty:
                self._expire_unplaced(order, CloseReason.FOK_NOT_FILLABLE)
                return
        if hold:
            assert bal is not None  # hold <= available implies the balance exists
            bal.held += hold
            order.hold = hold
            self.dirty[(account.account_id, hold_asset)] = bal
        self.orders[order.order_id] = order
        account.open_orders += 1
        if cmd.client_order_id:
            account.live_client_ids[cmd.client_order_id] = order.order_id
        if cmd.reduce_only:
            order.reduce_only = True
            self.perp_risk.reducing.track(order)
        self._execute(order, listing, bound)

    def _execute(self, order: Order, listing: Listing, bound: int) -> None:
        """Match a just-placed (or re-priced) order, then rest or expire what is left."""
        book = listing.book
        if order.ord_type == _LIMIT:
            # Most limit orders do not cross: test the opposite best key before matching.
            if order.side == _BUY:
                keys = book.asks.keys  # -price ascending: best ask is -keys[-1]
                crosses = bool(keys) and -keys[-1] <= order.price
            else:
                keys = book.bids.keys
                crosses = bool(keys) and keys[-1] >= order.price
            stop = matching.match(self, listing, order, bound) if crosses else matching.DONE
        else:
            stop = matching.match(self, listing, order, bound)
        if order.leaves == 0:
            if order.order_id in self.orders:
                self.forget(order, self.accounts[order.account])
            return
        if order.ord_type == _MARKET:
            reason = stop if stop > 0 else CloseReason.IOC_REMAINDER
        elif stop in _TAKER_STP_STOPS:
            reason = stop
        elif order.tif in _IMMEDIATE:
            reason = CloseReason.IOC_REMAINDER
        else:
            reason = 0
        if reason:
            self.close(order, OrderExpired, reason, delta=False)
            return
        level_qty = (book.bids if order.side == _BUY else book.asks).add(order)
        book.md_seq += 1
        out = self.out
        out.append(
            BookDelta(
                self.seq,
                self.ts_us,
                len(out),
                book.symbol,
                book.md_seq,
                order.side,
                order.price,
                level_qty,
            )
        )
        if order.tif == _GTD:
            heapq.heappush(self._gtd, (order.expire_ts_us, order.order_id))

    def _expire_unplaced(self, order: Order, reason: CloseReason) -> None:
        """An accepted order that never held funds nor touched the book."""
        self.accounts[order.account].retire_client_id(order.client_order_id)
        self.out.append(OrderExpired(*self._closed(order, reason)))

    def _closed(self, order: Order, reason: int) -> _ClosedFields:
        """The fields OrderCanceled and OrderExpired share, for order as it is now."""
        return (
            self.seq,
            self.ts_us,
            len(self.out),
            order.order_id,
            order.account,
            order.symbol,
            order.client_order_id,
            order.side,
            order.leaves,
            order.filled,
            order.notional,
            reason,
        )

    # ---------------------------------------------------------------- order lifecycle

    def split_fees(
        self, quote: str, notional: int, maker: Account, taker: Account
    ) -> tuple[int, int, int]:
        return fees.split(self, quote, notional, maker, taker)

    def perp_fill(
        self,
        listing: Listing,
        taker: Order,
        maker: Order,
        qty: int,
        notional: int,
        maker_fee: int,
        taker_fee: int,
        venue_fee: int,
    ) -> tuple[int, int]:
        risk = self.perp_risk
        if taker is self.perp_liquidation.internal:  # a liquidation slice: no trading fee
            venue_fee -= taker_fee
            taker_fee = 0
        market = self.perps.markets[listing.instrument.symbol]
        accounts = self.accounts
        risk.fill_side(market, maker, accounts[maker.account], qty, notional, maker_fee)
        risk.fill_side(market, taker, accounts[taker.account], qty, notional, taker_fee)
        return taker_fee, venue_fee

    def budget_lots(self, taker: Order, unit: int) -> int:
        if self.listings[taker.symbol].perp:  # sized by margin at entry, not by the hold
            return taker.leaves
        return super().budget_lots(taker, unit)

    def done(self, order: Order) -> None:
        self.forget(order, self.accounts[order.account])

    def fit_reduce_only(self, order: Order) -> int:
        return self.perp_risk.reducing.fit(self, order, delta=False)

    def expire(self, order: Order, reason: int) -> None:
        self.close(order, OrderExpired, reason, delta=False)

    def forget(self, order: Order, account: Account) -> None:
        """Drop a finished order from the indexes and release whatever it still holds."""
        del self.orders[order.order_id]
        account.open_orders -= 1
        account.retire_client_id(order.client_order_id)
        if order.reduce_only:
            self.perp_risk.reducing.untrack(order)
        if order.hold:
            listing = self.listings[order.symbol]
            inst = listing.instrument
            asset = inst.quote if order.side == _BUY or listing.perp else inst.base
            bal = account.balances[asset]
            bal.held -= order.hold
            order.hold = 0
            self.dirty[(account.account_id, asset)] = bal

    def close(
        self,
        order: Order,
        event: type[OrderCanceled] | type[OrderExpired],
        reason: int,
        *,
        delta: bool,
        request_id: str = "",
    ) -> None:
        """Cancel or expire a live order: off the book, holds released, event out."""
        book = self.listings[order.symbol].book
        if order.level is not None:
            level_qty = (book.bids if order.side == _BUY else book.asks).remove(order)
            if delta:
                book.md_seq += 1
                self.out.append(
                    BookDelta(
                        self.seq,
                        self.ts_us,
                        len(self.out),
                        book.symbol,
                        book.md_seq,
                        order.side,
                        order.price,
                        level_qty,
                    )
                )
        self.forget(order, self.accounts[order.account])
        closed = self._closed(order, reason)
        self.out.append(
            OrderCanceled(*closed, request_id) if event is OrderCanceled else OrderExpired(*closed)
        )

    def decrement(self, order: Order, qty: int) -> None:
        """STP decrement: shrink a live order by qty (book level and hold follow)."""
        order.leaves -= qty
        order.qty -= qty
        if order.level is not None:
            order.level.qty -= qty
        account = self.accounts[order.account]
        listing = self.listings[order.symbol]
        inst = listing.instrument
        if listing.perp:
            if order.ord_type != OrdType.LIMIT or order.reduce_only:  # these hold nothing
                return
            new_hold = self.perp_risk.hold_for(account, order.symbol, order.price, order.leaves)
            release = order.hold - new_hold
            asset = inst.quote
        elif order.side == Side.SELL:
            release = qty * inst.base_per_lot
            asset = inst.base
        elif order.ord_type == OrdType.LIMIT:
            new_hold = account.buy_hold(order.price * order.leaves * inst.quote_per_tick_lot)
            release = order.hold - new_hold
            asset = inst.quote
        else:
            return  # a market buy keeps its budget; the rest is released when it ends
        order.hold -= release
        bal = account.balances[asset]
        bal.held -= release
        self.dirty[(account.account_id, asset)] = bal

    def _find(self, account: Account, symbol: str, order_id: int, client_order_id: str) -> Order:
        if order_id:
            order = self.orders.get(order_id)
        else:
            found = account.live_client_ids.get(client_order_id) if client_order_id else None
            order = None if found is None else self.orders.get(found)
        if order is None or order.account != account.account_id or order.symbol != symbol:
            raise RiskError(RejectCode.UNKNOWN_ORDER, "unknown order (never existed or closed)")
        return order

    def _cancel(self, cmd: Cancel) -> None:
        try:
            account, _ = self.pretrade.gate(cmd.account, cmd.symbol, trading=False)
            order = self._find(account, cmd.symbol, cmd.order_id, cmd.client_order_id)
        except RiskError as err:
            self._reject(
                "cancel",
                cmd.account,
                cmd.symbol,
                cmd.client_order_id,
                cmd.order_id,
                err.code,
                err.text,
            )
            return
        self.close(
            order, OrderCanceled, CloseReason.USER_CANCEL, delta=True, request_id=cmd.request_id
        )

    def _mass_cancel(self, cmd: MassCancel) -> None:
        if cmd.account and cmd.account not in self.accounts:
            self._reject(
                "mass_cancel",
                cmd.account,
                cmd.symbol,
                "",
                0,
                RejectCode.UNKNOWN_ACCOUNT,
                f"unknown account {cmd.account!r}",
            )
            return
        if cmd.symbol:
            listing = self.listings.get(cmd.symbol)
            if listing is None:
                self._reject(
                    "mass_cancel",
                    cmd.account,
                    cmd.symbol,
                    "",
                    0,
                    RejectCode.UNKNOWN_INSTRUMENT,
                    f"unknown instrument {cmd.symbol!r}",
                )
                return
            if listing.status == _HALTED or listing.status == _DELISTED:
                halted = listing.status == _HALTED
                self._reject(
                    "mass_cancel",
                    cmd.account,
                    cmd.symbol,
                    "",
                    0,
                    RejectCode.INSTRUMENT_HALTED if halted else RejectCode.INSTRUMENT_DELISTED,
                    f"{cmd.symbol} is {'halted' if halted else 'delisted'}",
                )
                return
        victims = [
            order
            for order in self.orders.values()
            if (not cmd.account or order.account == cmd.account)
            and (not cmd.symbol or order.symbol == cmd.symbol)
            and (not cmd.side or order.side == cmd.side)
            and self.listings[order.symbol].status != TradingStatus.HALTED
        ]
        for order in victims:
            self.close(
                order, OrderCanceled, CloseReason.MASS_CANCEL, delta=True, request_id=cmd.request_id
            )

    def _replace(self, cmd: Replace) -> None:
        try:
            account, listing = self.pretrade.gate(cmd.account, cmd.symbol, trading=True)
            order = self._find(account, cmd.symbol, cmd.order_id, cmd.orig_client_order_id)
            self._amend(cmd, account, listing, order)
        except RiskError as err:
            self._reject(
                "replace",
                cmd.account,
                cmd.symbol,
                cmd.client_order_id,
                cmd.order_id or account_order_id(self, cmd),
                err.code,
                err.text,
            )

    def _amend(self, cmd: Replace, account: Account, listing: Listing, order: Order) -> None:
        price, leaves, new_clid, asset, bal, new_hold = self.pretrade.check_replace(
            cmd, account, listing, order
        )
        extra = new_hold - order.hold
        # Accepted: apply.
        bal.held += extra
        order.hold = new_hold
        self.dirty[(account.account_id, asset)] = bal
        orig_clid = order.client_order_id
        if new_clid != orig_clid:
            account.retire_client_id(orig_clid)
            account.live_client_ids[new_clid] = order.order_id
            order.client_order_id = new_clid
        keep_priority = price == order.price and leaves <= order.leaves
        old_price = order.price
        book = listing.book
        level = order.level
        assert level is not None, "a live limit order is always on the book"
        if keep_priority:
            level.qty -= order.leaves - leaves
            level_qty = level.qty
        else:
            level_qty = book.side(order.side).remove(order)
            order.price = price
        order.leaves = leaves
        order.qty = cmd.qty
        out = self.out
        out.append(
            OrderReplaced(
                self.seq,
                self.ts_us,
                len(out),
                order.order_id,
                order.account,
                order.symbol,
                new_clid,
                orig_clid,
                order.side,
                price,
                cmd.qty,
                leaves,
                order.filled,
                order.notional,
                keep_priority,
            )
        )
        book.md_seq += 1
        out.append(
            BookDelta(
                self.seq,
                self.ts_us,
                len(out),
                book.symbol,
                book.md_seq,
                order.side,
                old_price,
                level_qty,
            )
        )
        if not keep_priority:
            self._execute(order, listing, price)

    # ---------------------------------------------------------------- time

    def _expire_gtd(self, now_us: int) -> None:
        heap = self._gtd
        while heap and heap[0][0] <= now_us:
            _, order_id = heapq.heappop(heap)
            order = self.orders.get(order_id)
            if order is not None and order.tif == TimeInForce.GTD:
                self.close(order, OrderExpired, CloseReason.GTD_EXPIRED, delta=True)

    # ---------------------------------------------------------------- administration

    def _admin(self, command: str, detail: str) -> None:
        out = self.out
        out.append(AdminApplied(self.seq, self.ts_us, len(out), command, detail))

    def _admin_reject(self, account: str, symbol: str, code: RejectCode, text: str) -> None:
        self._reject("admin", account, symbol, "", 0, code, text)

    def _add_instrument(self, cmd: AddInstrument) -> None:
        if cmd.symbol in self.listings:
            self._admin_reject("", cmd.symbol, RejectCode.ALREADY_EXISTS, "instrument exists")
            return
        try:
            instrument = Instrument.from_decimals(
                cmd.symbol,
                cmd.base,
                cmd.quote,
                cmd.tick_size,
                cmd.lot_size,
                cmd.min_qty,
                cmd.min_notional,
                cmd.collar_pct,
            )
            listing = Listing(instrument)
        except (GridError, ValueError) as err:
            self._admin_reject("", cmd.symbol, RejectCode.INVALID_COMMAND, str(err))
            return
        self.listings[cmd.symbol] = listing
        self._admin("add_instrument", cmd.symbol)

    def _open_account(self, cmd: OpenAccount) -> None:
        if cmd.account in self.accounts:
            self._admin_reject(cmd.account, "", RejectCode.ALREADY_EXISTS, "account exists")
            return
        try:
            self.new_account(
                cmd.account,
                cmd.stp,
                cmd.maker_fee_bps,
                cmd.taker_fee_bps,
                cmd.max_order_qty,
                cmd.max_order_notional,
                cmd.max_open_orders,
            )
        except RiskError as err:
            self._admin_reject(cmd.account, "", err.code, err.text)
            return
        if self.fee_book.default:
            fees.assign_rates(self, [cmd.account])
        self._admin("open_account", cmd.account)

    def new_account(
        self,
        account_id: str,
        stp: int = 0,
        maker_fee_bps: str = "0",
        taker_fee_bps: str = "0",
        max_order_qty: int = 0,
        max_order_notional: int = 0,
        max_open_orders: int = 0,
        *,
        like: Account | None = None,
    ) -> Account:
        """Create and register an account (OpenAccount's and the tenancy commands' one
        path); with ``like``, that account's settings. RiskError, changing nothing, when
        a setting is invalid; the caller has checked the id is free."""
        if like is not None:
            account = Account(
                account_id,
                like.stp,
                like.maker_fee_ppm,
                like.taker_fee_ppm,
                like.max_order_qty,
                like.max_order_notional,
                like.max_open_orders,
            )
        else:
            try:
                maker, taker = bps_to_ppm(maker_fee_bps), bps_to_ppm(taker_fee_bps)
            except (GridError, ValueError) as err:
                raise RiskError(RejectCode.INVALID_COMMAND, str(err)) from None
            if stp not in STP_MODES:
                raise RiskError(RejectCode.INVALID_COMMAND, "unknown STP mode")
            account = Account(
                account_id,
                stp,
                maker,
                taker,
                max_order_qty,
                max_order_notional,
                max_open_orders,
            )
        self.accounts[account_id] = account
        return account

    def _adjust_balance(self, cmd: AdjustBalance) -> None:
        account = self.accounts.get(cmd.account)
        if account is None:
            self._admin_reject(cmd.account, "", RejectCode.UNKNOWN_ACCOUNT, "unknown account")
            return
        held = account.balances.get(cmd.asset)
        if cmd.amount < 0 and (
            held is None
            or -cmd.amount > held.total - held.held - self.perp_risk.locked(cmd.account, cmd.asset)
        ):
            self._admin_reject(
                cmd.account, "", RejectCode.INSUFFICIENT_BALANCE, "withdrawal above available"
            )
            return
        bal = account.balance(cmd.asset)  # created only once the command is accepted
        bal.total += cmd.amount
        self.dirty[(cmd.account, cmd.asset)] = bal
        self._admin("adjust_balance", f"{cmd.account} {cmd.asset} {cmd.amount:+d}")

    def _set_instrument_status(self, cmd: SetInstrumentStatus) -> None:
        listing = self.listings.get(cmd.symbol)
        if listing is None:
            self._admin_reject("", cmd.symbol, RejectCode.UNKNOWN_INSTRUMENT, "unknown instrument")
            return
        if cmd.status not in _STATUSES:
            self._admin_reject("", cmd.symbol, RejectCode.INVALID_COMMAND, "unknown status")
            return
        if listing.status == _DELISTED:
            self._admin_reject(
                "", cmd.symbol, RejectCode.INVALID_TRANSITION, "a delisted instrument stays so"
            )
            return
        listing.status = TradingStatus(cmd.status)
        if listing.status == _DELISTED:  # its book empties for good
            victims = [o for o in self.orders.values() if o.symbol == cmd.symbol]
            for order in victims:
                self.close(order, OrderCanceled, CloseReason.DELISTED, delta=True)
        self._admin("instrument_status", f"{cmd.symbol} {listing.status.name}")

    def _set_global_halt(self, cmd: SetGlobalHalt) -> None:
        self.pretrade.halted = bool(cmd.halted)
        self._admin("global_halt", "on" if self.halted else "off")

    def _set_account_enabled(self, cmd: SetAccountEnabled) -> None:
        account = self.accounts.get(cmd.account)
        if account is None:
            self._admin_reject(cmd.account, "", RejectCode.UNKNOWN_ACCOUNT, "unknown account")
            return
        account.enabled = bool(cmd.enabled)
        self._admin("account_enabled", f"{cmd.account} {'on' if account.enabled else 'off'}")

    # ---------------------------------------------------------------- queries

    def depth(self, symbol: str, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        book = self.listings[symbol].book
        return book.bids.depth(n), book.asks.depth(n)

    def open_orders(self, account: str, symbol: str = "") -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.account == account and (not symbol or o.symbol == symbol)
        ]

    # ---------------------------------------------------------------- state

    def state(self) -> dict[str, Any]:
        """Canonical, JSON-ready state: what snapshots store and state_hash() digests."""
        return snapshot.engine_state(self)

    def restore(self, state: dict[str, Any]) -> None:
        """Load a snapshot's state into this fresh engine (the public hook recovery and
        the journal follower use); its sequencer resumes after the state's last_seq."""
        self.last_seq = state["last_seq"]
        self.last_ts_us = state["last_ts_us"]
        self.sequencer.resume(self.last_seq, self.last_ts_us)
        self.pretrade.halted = state["halted"]
        self.trade_id = state["trade_id"]
        self.fees = dict(state["fees"])
        for account in snapshot.accounts_from_state(state["accounts"]):
            self.accounts[account.account_id] = account
        listings, orders = snapshot.listings_from_state(state["listings"])
        for listing in listings:
            self.listings[listing.instrument.symbol] = listing
        venue = state.get("venue", {})
        self.tenancy.from_state(venue.get("tenancy", {}))
        self.credentials.from_state(venue.get("credentials", {}))
        self.fee_book.from_state(venue.get("fees", {}))
        self.funds.from_state(venue.get("funds", {}))
        self.operators.from_state(venue.get("operators", {}))
        self.reviews.from_state(venue.get("reviews", {}))
        self.perps.from_state(state.get("perp", {}))
        self.perp_risk.marks_moved()  # a restored engine caches nothing from before
        for symbol in self.perps.markets:
            self.listings[symbol].perp = True
        self.sessions.from_state(state.get("sessions", {}))
        for order in orders:
            self.orders[order.order_id] = order
            if order.client_order_id:
                self.accounts[order.account].live_client_ids[order.client_order_id] = order.order_id
            if order.expire_ts_us and order.tif == _GTD:
                heapq.heappush(self._gtd, (order.expire_ts_us, order.order_id))
            if order.reduce_only:
                self.perp_risk.reducing.track(order)

    def state_json(self) -> bytes:
        """The canonical state as JSON with sorted keys: the bytes state_hash() digests."""
        return orjson.dumps(self.state(), option=orjson.OPT_SORT_KEYS)

    def state_hash(self) -> str:
        """SHA-256 of the canonical state: two engines with equal hashes are equal."""
        return hashlib.sha256(self.state_json()).hexdigest()


class EnginePreTrade(PreTrade):
    """Pre-trade risk plugged into an engine: its hooks reach the venue's fee book and
    the perpetuals' margin stage."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.listings, engine.accounts)
        self.engine = engine

    def refresh_fees(self, account: Account) -> None:
        fee_book = self.engine.fee_book
        if account.fee_version != fee_book.version:  # a fee change since it last traded
            fee_book.refresh(account.account_id, account)

    def margin_hold(self, account: Account, cmd: NewOrder, qty: int, notional: int) -> int:
        return self.engine.perp_risk.pre_trade(account, cmd, qty, notional)

    def margin_hold_for(self, account: Account, symbol: str, price: int, leaves: int) -> int:
        return self.engine.perp_risk.hold_for(account, symbol, price, leaves)

    def reduce_only_clip(self, account_id: str, symbol: str, side: int, qty: int) -> int:
        return self.engine.perp_risk.reducing.clip(account_id, symbol, side, qty)

    def reduce_only_replace(self, order: Order, leaves: int) -> None:
        self.engine.perp_risk.reducing.check_replace(order, leaves)


def account_order_id(engine: Engine, cmd: Replace) -> int:
    """The engine id of the order a failed replace named by client id, if it is live."""
    account = engine.accounts.get(cmd.account)
    if account is None or not cmd.orig_client_order_id:
        return 0
    return account.live_client_ids.get(cmd.orig_client_order_id, 0)


_IMMEDIATE: Final = frozenset((TimeInForce.IOC, TimeInForce.FOK))
_TAKER_STP_STOPS: Final = frozenset(
    (CloseReason.STP_EXPIRE_TAKER, CloseReason.STP_EXPIRE_BOTH, CloseReason.STP_DECREMENT)
)
_STATUSES: Final = frozenset(int(s) for s in TradingStatus)
