"""A deliberately naive reference model of the engine's semantics.

Resting orders live in one flat list; the best order is found by sorting that list on
every step; holds are never stored but recomputed from the live orders every time
they are needed. Slow and obvious on purpose: it is the oracle the stateful property
test compares the real engine against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.events import CloseReason, RejectCode

PPM = 1_000_000
BUY, SELL = 1, 2
LIMIT, MARKET = 1, 2
GTC, IOC, FOK, GTD = 1, 3, 4, 6
NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH, DECREMENT = 0, 1, 2, 3, 4
OPEN, HALTED, CANCEL_ONLY = 1, 2, 3
UNIT = Decimal("0.00000001")


class Reject(Exception):
    def __init__(self, code: RejectCode) -> None:
        super().__init__(code.name)
        self.code = code


@dataclass
class RInstrument:
    symbol: str
    base: str
    quote: str
    qpt: int  # quote units per tick x lot
    bpl: int  # base units per lot
    min_qty: int
    min_notional: int
    collar_bps: int
    status: int = OPEN
    last_price: int = 0


@dataclass
class RAccount:
    name: str
    stp: int
    maker_ppm: int
    taker_ppm: int
    max_qty: int
    max_notional: int
    max_open: int
    enabled: bool = True
    totals: dict[str, int] = field(default_factory=dict)
    used_client_ids: set[str] = field(default_factory=set)


@dataclass
class ROrder:
    order_id: int
    account: str
    symbol: str
    side: int
    ord_type: int
    price: int
    qty: int
    tif: int
    client_order_id: str
    stp: int
    post_only: bool
    expire: int
    quote_qty: int
    leaves: int = 0
    filled: int = 0
    notional: int = 0
    time: int = 0
    budget: int = 0  # market buys: what is left of the walk-sized hold


class ReferenceModel:
    def __init__(self) -> None:
        self.instruments: dict[str, RInstrument] = {}
        self.accounts: dict[str, RAccount] = {}
        self.orders: list[ROrder] = []  # resting orders, any order
        self.halted = False
        self.fees: dict[str, int] = {}
        self.deposits: dict[str, int] = {}
        self.fills: list[tuple[int, int, int, int, int, int]] = []
        self.seq = 0
        self.ts = 0
        self.clock = 0  # arrival counter for time priority

    # ------------------------------------------------------------ setup

    def add_instrument(
        self,
        symbol: str,
        base: str,
        quote: str,
        tick: str,
        lot: str,
        min_qty: str,
        min_notional: str,
        collar_pct: str,
    ) -> None:
        t, lt = Decimal(tick), Decimal(lot)
        min_lots = 0
        while Decimal(min_lots) * lt < Decimal(min_qty):
            min_lots += 1
        self.instruments[symbol] = RInstrument(
            symbol,
            base,
            quote,
            int(t * lt / UNIT),
            int(lt / UNIT),
            min_lots,
            int(Decimal(min_notional) / UNIT),
            int(Decimal(collar_pct) * 100),
        )

    def open_account(
        self,
        name: str,
        stp: int,
        maker_bps: str,
        taker_bps: str,
        max_qty: int = 0,
        max_notional: int = 0,
        max_open: int = 0,
    ) -> None:
        self.accounts[name] = RAccount(
            name,
            stp,
            int(Decimal(maker_bps) * 100),
            int(Decimal(taker_bps) * 100),
            max_qty,
            max_notional,
            max_open,
        )

    # ------------------------------------------------------------ derived values

    def total(self, account: str, asset: str) -> int:
        return self.accounts[account].totals.get(asset, 0)

    def hold_of(self, o: ROrder) -> tuple[str, int]:
        inst = self.instruments[o.symbol]
        if o.side == SELL:
            return inst.base, o.leaves * inst.bpl
        acct = self.accounts[o.account]
        n = o.price * o.leaves * inst.qpt
        return inst.quote, n + n * max(acct.maker_ppm, acct.taker_ppm) // PPM

    def held(self, account: str, asset: str) -> int:
        total = 0
        for o in self.orders:
            if o.account == account:
                a, h = self.hold_of(o)
                if a == asset:
                    total += h
        return total

    def available(self, account: str, asset: str) -> int:
        return self.total(account, asset) - self.held(account, asset)

    def priority(self, symbol: str, side: int) -> list[ROrder]:
        """Resting orders of one side, best first, oldest first."""
        same = [o for o in self.orders if o.symbol == symbol and o.side == side]
        if side == BUY:
            return sorted(same, key=lambda o: (-o.price, o.time))
        return sorted(same, key=lambda o: (o.price, o.time))

    def book(self, symbol: str, side: int) -> list[tuple[int, list[tuple[int, int, int, int]]]]:
        levels: list[tuple[int, list[tuple[int, int, int, int]]]] = []
        for o in self.priority(symbol, side):
            if not levels or levels[-1][0] != o.price:
                levels.append((o.price, []))
            levels[-1][1].append((o.order_id, o.leaves, o.qty, o.filled))
        return levels

    def collar(self, inst: RInstrument) -> tuple[int, int]:
        ref = inst.last_price
        if not ref or not inst.collar_bps:
            return 0, 0
        low = ref * (10_000 - inst.collar_bps)
        low = low // 10_000 + (1 if low % 10_000 else 0)
        return max(low, 1), ref * (10_000 + inst.collar_bps) // 10_000

    @staticmethod
    def beyond(side: int, price: int, bound: int) -> bool:
        return bool(bound) and (price > bound if side == BUY else price < bound)

    # ------------------------------------------------------------ commands

    def apply(self, seq: int, ts: int, kind: str, **cmd: Any) -> RejectCode | None:
        """Apply one command; returns the reject code or None. self.fills = its trades."""
        self.seq, self.ts = seq, ts
        self.fills = []
        cmd.pop("origin", None)  # the sending session: the engine decides nothing by it
        cmd.pop("reduce_only", None)  # perpetuals only: the model trades spot
        for o in sorted(self.orders, key=lambda o: (o.expire, o.order_id)):
            if o.tif == GTD and o.expire <= ts:
                self.orders.remove(o)
        try:
            getattr(self, "_" + kind)(**cmd)
        except Reject as r:
            return r.code
        return None

    def _gate(self, account: str, symbol: str, trading: bool) -> tuple[RAccount, RInstrument]:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise Reject(RejectCode.UNKNOWN_INSTRUMENT)
        acct = self.accounts.get(account)
        if acct is None:
            raise Reject(RejectCode.UNKNOWN_ACCOUNT)
        if inst.status == HALTED:
            raise Reject(RejectCode.INSTRUMENT_HALTED)
        if trading:
            if self.halted:
                raise Reject(RejectCode.TRADING_HALTED)
            if inst.status == CANCEL_ONLY:
                raise Reject(RejectCode.INSTRUMENT_CANCEL_ONLY)
            if not acct.enabled:
                raise Reject(RejectCode.ACCOUNT_DISABLED)
        return acct, inst

    def walk(self, o: ROrder, bound: int, qty: int, budget: int, stp: int) -> tuple[int, int]:
        inst = self.instruments[o.symbol]
        lots = notional = 0
        for m in self.priority(o.symbol, SELL if o.side == BUY else BUY):
            if self.beyond(o.side, m.price, bound):
                break
            if stp != NONE and m.account == o.account:
                if stp == EXPIRE_MAKER:
                    continue
                break
            unit = m.price * inst.qpt
            take = m.leaves
            if qty:
                take = min(take, qty - lots)
            if budget:
                take = min(take, (budget - notional) // unit)
            lots += take
            notional += take * unit
            if take < m.leaves or (qty and lots == qty):
                break
        return lots, notional

    def _new(
        self,
        account: str,
        symbol: str,
        side: int,
        ord_type: int,
        qty: int,
        price: int,
        tif: int,
        client_order_id: str,
        quote_qty: int,
        post_only: bool,
        stp: int | None,
        expire_ts_us: int,
    ) -> None:
        acct, inst = self._gate(account, symbol, True)
        if client_order_id and client_order_id in acct.used_client_ids:
            raise Reject(RejectCode.DUPLICATE_CLIENT_ORDER_ID)
        mode = acct.stp if stp is None else stp
        o = ROrder(
            self.seq,
            account,
            symbol,
            side,
            ord_type,
            price,
            qty,
            tif,
            client_order_id,
            mode,
            post_only,
            expire_ts_us,
            quote_qty,
        )
        low, high = self.collar(inst)
        if ord_type == LIMIT:
            if qty <= 0:
                raise Reject(RejectCode.INVALID_QUANTITY)
            if quote_qty:
                raise Reject(RejectCode.INVALID_ORDER)
            if qty < inst.min_qty:
                raise Reject(RejectCode.BELOW_MIN_QTY)
            if price <= 0:
                raise Reject(RejectCode.INVALID_PRICE)
            if price * qty * inst.qpt < inst.min_notional:
                raise Reject(RejectCode.BELOW_MIN_NOTIONAL)
            if tif == GTD and expire_ts_us <= self.ts:
                raise Reject(RejectCode.INVALID_EXPIRE_TIME)
            if low and not low <= price <= high:
                raise Reject(RejectCode.PRICE_OUTSIDE_COLLAR)
            if post_only:
                if tif in (IOC, FOK):
                    raise Reject(RejectCode.INVALID_ORDER)
                opp = self.priority(symbol, SELL if side == BUY else BUY)
                if opp and not self.beyond(side, opp[0].price, price):
                    raise Reject(RejectCode.POST_ONLY_WOULD_TAKE)
            bound = price
            notional = price * qty * inst.qpt
        else:
            if post_only or tif == GTD or price:
                raise Reject(RejectCode.INVALID_ORDER)
            if (qty > 0) == (quote_qty > 0) or qty < 0 or quote_qty < 0:
                raise Reject(RejectCode.INVALID_QUANTITY)
            if qty and qty < inst.min_qty:
                raise Reject(RejectCode.BELOW_MIN_QTY)
            if not qty and quote_qty < inst.min_notional:
                raise Reject(RejectCode.BELOW_MIN_NOTIONAL)
            bound = high if side == BUY else low
            lots, notional = self.walk(o, bound, qty, quote_qty, NONE)
            qty = qty or lots
            o.qty = qty
        if acct.max_qty and qty * inst.bpl > acct.max_qty:
            raise Reject(RejectCode.MAX_ORDER_QTY)
        if acct.max_notional and notional > acct.max_notional:
            raise Reject(RejectCode.MAX_ORDER_NOTIONAL)
        if acct.max_open and sum(x.account == account for x in self.orders) >= acct.max_open:
            raise Reject(RejectCode.MAX_OPEN_ORDERS)
        if side == SELL:
            asset, hold = inst.base, qty * inst.bpl
        elif ord_type == LIMIT:
            asset = inst.quote
            hold = notional + notional * max(acct.maker_ppm, acct.taker_ppm) // PPM
        else:
            asset, hold = inst.quote, notional + notional * acct.taker_ppm // PPM
        if hold > self.available(account, asset):
            raise Reject(RejectCode.INSUFFICIENT_BALANCE)
        if client_order_id:
            acct.used_client_ids.add(client_order_id)
        o.leaves = qty
        o.budget = hold
        if qty == 0:
            return
        if tif == FOK and self.walk(o, bound, qty, 0, mode)[0] < qty:
            return
        self.execute(o, bound)

    def execute(self, o: ROrder, bound: int) -> None:
        stop = self.match(o, bound)
        if o.leaves == 0 or o.ord_type == MARKET or o.tif in (IOC, FOK):
            return
        if stop in (
            CloseReason.STP_EXPIRE_TAKER,
            CloseReason.STP_EXPIRE_BOTH,
            CloseReason.STP_DECREMENT,
        ):
            return
        self.clock += 1
        o.time = self.clock
        self.orders.append(o)

    def match(self, t: ROrder, bound: int) -> int:
        inst = self.instruments[t.symbol]
        taker_acct = self.accounts[t.account]
        while t.leaves > 0:
            opp = self.priority(t.symbol, SELL if t.side == BUY else BUY)
            if not opp:
                return 0
            m = opp[0]
            if self.beyond(t.side, m.price, bound):
                return 0
            if t.stp != NONE and m.account == t.account:
                q = min(t.leaves, m.leaves)
                if t.stp == EXPIRE_TAKER:
                    return CloseReason.STP_EXPIRE_TAKER
                if t.stp == EXPIRE_MAKER:
                    self.orders.remove(m)
                    continue
                if t.stp == EXPIRE_BOTH:
                    self.orders.remove(m)
                    return CloseReason.STP_EXPIRE_BOTH
                if m.leaves == q:
                    self.orders.remove(m)
                else:
                    m.leaves -= q
                    m.qty -= q
                if t.leaves == q:
                    return CloseReason.STP_DECREMENT
                t.leaves -= q
                t.qty -= q
                continue
            q = min(t.leaves, m.leaves)
            unit = m.price * inst.qpt
            if t.ord_type == MARKET:
                if t.quote_qty:
                    q = min(q, (t.quote_qty - t.notional) // unit)
                if t.side == BUY:
                    while q > 0 and q * unit + q * unit * taker_acct.taker_ppm // PPM > t.budget:
                        q -= 1
                if q <= 0:
                    return 0
            self.fill(t, m, m.price, q)
        return 0

    def fill(self, t: ROrder, m: ROrder, price: int, q: int) -> None:
        inst = self.instruments[t.symbol]
        n = price * q * inst.qpt
        maker_fee = n * self.accounts[m.account].maker_ppm // PPM
        taker_fee = n * self.accounts[t.account].taker_ppm // PPM
        for o in (t, m):
            o.leaves -= q
            o.filled += q
            o.notional += n
        buy, sell = (t, m) if t.side == BUY else (m, t)
        buy_fee, sell_fee = (taker_fee, maker_fee) if t.side == BUY else (maker_fee, taker_fee)
        self._add(buy.account, inst.quote, -(n + buy_fee))
        self._add(buy.account, inst.base, q * inst.bpl)
        self._add(sell.account, inst.base, -q * inst.bpl)
        self._add(sell.account, inst.quote, n - sell_fee)
        self.fees[inst.quote] = self.fees.get(inst.quote, 0) + buy_fee + sell_fee
        if t.ord_type == MARKET and t.side == BUY:
            t.budget -= n + taker_fee
        self.fills.append((price, q, m.order_id, t.order_id, maker_fee, taker_fee))
        if m.leaves == 0:
            self.orders.remove(m)
        inst.last_price = price

    def _add(self, account: str, asset: str, amount: int) -> None:
        totals = self.accounts[account].totals
        totals[asset] = totals.get(asset, 0) + amount

    def _find(self, acct: RAccount, symbol: str, order_id: int, client_order_id: str) -> ROrder:
        for o in self.orders:
            hit = (
                o.order_id == order_id
                if order_id
                else (
                    bool(client_order_id)
                    and o.account == acct.name
                    and o.client_order_id == client_order_id
                )
            )
            if hit and o.account == acct.name and o.symbol == symbol:
                return o
        raise Reject(RejectCode.UNKNOWN_ORDER)

    def _cancel(
        self, account: str, symbol: str, order_id: int, client_order_id: str, request_id: str
    ) -> None:
        acct, _ = self._gate(account, symbol, False)
        self.orders.remove(self._find(acct, symbol, order_id, client_order_id))

    def _replace(
        self,
        account: str,
        symbol: str,
        qty: int,
        price: int,
        order_id: int,
        orig_client_order_id: str,
        client_order_id: str,
    ) -> None:
        acct, inst = self._gate(account, symbol, True)
        o = self._find(acct, symbol, order_id, orig_client_order_id)
        price = price or o.price
        new_clid = client_order_id or o.client_order_id
        if qty <= 0:
            raise Reject(RejectCode.INVALID_QUANTITY)
        if price <= 0:
            raise Reject(RejectCode.INVALID_PRICE)
        if qty <= o.filled:
            raise Reject(RejectCode.REPLACE_BELOW_FILLED)
        leaves = qty - o.filled
        if leaves < inst.min_qty:
            raise Reject(RejectCode.BELOW_MIN_QTY)
        if price * qty * inst.qpt < inst.min_notional:
            raise Reject(RejectCode.BELOW_MIN_NOTIONAL)
        if new_clid != o.client_order_id and new_clid in acct.used_client_ids:
            raise Reject(RejectCode.DUPLICATE_CLIENT_ORDER_ID)
        low, high = self.collar(inst)
        if low and price != o.price and not low <= price <= high:
            raise Reject(RejectCode.PRICE_OUTSIDE_COLLAR)
        opp = self.priority(symbol, SELL if o.side == BUY else BUY)
        if (
            o.post_only
            and price != o.price
            and opp
            and not self.beyond(o.side, opp[0].price, price)
        ):
            raise Reject(RejectCode.POST_ONLY_WOULD_TAKE)
        if acct.max_qty and qty * inst.bpl > acct.max_qty:
            raise Reject(RejectCode.MAX_ORDER_QTY)
        if acct.max_notional and price * qty * inst.qpt > acct.max_notional:
            raise Reject(RejectCode.MAX_ORDER_NOTIONAL)
        asset, old_hold = self.hold_of(o)
        trial = ROrder(
            o.order_id,
            o.account,
            o.symbol,
            o.side,
            o.ord_type,
            price,
            qty,
            o.tif,
            "",
            0,
            False,
            0,
            0,
            leaves,
        )
        _, new_hold = self.hold_of(trial)
        if new_hold - old_hold > self.available(account, asset):
            raise Reject(RejectCode.INSUFFICIENT_BALANCE)
        if new_clid != o.client_order_id:
            acct.used_client_ids.add(new_clid)
            o.client_order_id = new_clid
        keep = price == o.price and leaves <= o.leaves
        o.leaves, o.qty = leaves, qty
        if not keep:
            self.orders.remove(o)
            o.price = price
            self.execute(o, price)

    def _mass_cancel(self, account: str, symbol: str, side: int, request_id: str) -> None:
        if account and account not in self.accounts:
            raise Reject(RejectCode.UNKNOWN_ACCOUNT)
        if symbol:
            inst = self.instruments.get(symbol)
            if inst is None:
                raise Reject(RejectCode.UNKNOWN_INSTRUMENT)
            if inst.status == HALTED:
                raise Reject(RejectCode.INSTRUMENT_HALTED)
        self.orders = [
            o
            for o in self.orders
            if not (
                (not account or o.account == account)
                and (not symbol or o.symbol == symbol)
                and (not side or o.side == side)
                and self.instruments[o.symbol].status != HALTED
            )
        ]

    def _tick(self) -> None:
        pass

    def _adjust(self, account: str, asset: str, amount: int) -> None:
        if account not in self.accounts:
            raise Reject(RejectCode.UNKNOWN_ACCOUNT)
        if amount < 0 and -amount > self.available(account, asset):
            raise Reject(RejectCode.INSUFFICIENT_BALANCE)
        self._add(account, asset, amount)
        self.deposits[asset] = self.deposits.get(asset, 0) + amount

    def _status(self, symbol: str, status: int) -> None:
        self.instruments[symbol].status = status

    def _halt(self, halted: bool) -> None:
        self.halted = halted

    def _enable(self, account: str, enabled: bool) -> None:
        self.accounts[account].enabled = enabled
