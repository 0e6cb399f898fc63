"""The demo liquidity provider: a living market on the demo venue from the first minute.

A newcomer who runs ``make run`` should see a book that moves and trades, in the WS
feed and the console, without writing a client. So the demo config turns this on
(``[demo_lp]``; off in every other config): a maker account quotes a ladder of bids
and asks around a simulated reference price on each configured instrument, and a
taker account now and then trades against the touch.

Both go through :meth:`EngineHost.submit` like any edge's orders: risk checks, the
journal, the events, the drop copy and the fees apply to them as to any client.

A perpetual in ``perps`` follows a spot instrument the LP quotes: the LP lists it on
the spot's grid at the first start (AddPerpInstrument, unless the venue has it), and
each round sets its index to the spot's reference (SetIndexPrice) before quoting it
around the same price. Both are journaled commands, as when an operator lists a
perpetual and the price feeder sends its index, so replay restores them; the LP is
the demo's simulated index source and ``venue-pricefeed`` is not needed for it. A
perpetual the LP lists is opened to every tenant's clients. The
reference is a mean-reverting integer random walk (prices are ticks, never floats),
drawn from the gateway's side: the engine still reads no randomness, and replay
rebuilds the LP's orders from the journal like anyone's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import structlog

from engine.commands import MassCancel, NewOrder, Replace
from engine.events import Event, OrderAccepted, OrderRejected
from engine.model import GridError, Instrument, OrdType, Side, TimeInForce
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.venue.tenancy import MarketState
from engine.venue.tenancy_commands import SetMarketState
from gateway.config import DemoLpConfig
from gateway.host import EngineHost
from gateway.periodic import Periodic

__all__ = ["DemoLiquidityProvider", "Quote", "RandomWalk", "ladder"]

log = structlog.get_logger("gateway.demo_lp")


class RandomWalk:
    """A reference price in ticks: each step moves it by at most ``step_bps`` of itself,
    pulled back toward ``anchor`` by a twentieth of the gap, never below one tick."""

    def __init__(self, anchor: int, step_bps: int, rng: random.Random) -> None:
        self.anchor = anchor
        self.price = anchor
        self.step_bps = step_bps
        self._rng = rng

    def step(self) -> int:
        reach = self.price * self.step_bps // 10_000
        pull = (self.anchor - self.price) // 20
        self.price = max(1, self.price + self._rng.randint(-reach, reach) + pull)
        return self.price


@dataclass(frozen=True)
class Quote:
    side: Side
    level: int
    price: int  # ticks
    qty: int  # lots


def ladder(instrument: Instrument, reference: int, config: DemoLpConfig) -> list[Quote]:
    """Bids below and asks above ``reference`` (ticks): ``levels`` each, the first
    ``spread_bps / 2`` away, then one ``level_step_bps`` apart; each level holds
    ``quote_notional`` more than the one before it (depth grows away from the touch)."""
    half = max(1, reference * config.spread_bps // 20_000)
    step = max(1, reference * config.level_step_bps // 10_000)
    notional = max(config.quote_notional_units, instrument.min_notional)
    quotes = []
    for level in range(config.levels):
        for side, price in (
            (Side.BUY, reference - half - level * step),
            (Side.SELL, reference + half + level * step),
        ):
            if price < 1:
                continue
            per_lot = instrument.notional(price, 1)
            lots = max(instrument.min_qty, 1, -(-notional * (level + 1) // per_lot))
            quotes.append(Quote(side, level, price, lots))
    return quotes


class DemoLiquidityProvider:
    """A Component: start() cancels what a previous run left resting, quotes, and
    requotes every ``interval_ms``; stop() cancels the quotes (the book is not left
    with stale demo orders while the gateway is down)."""

    name = "demo_lp"

    def __init__(self, config: DemoLpConfig, host: EngineHost, seed: int | None = None) -> None:
        self.config = config
        self.host = host
        self._rng = random.Random(config.seed if seed is None else seed)
        self._walks: dict[str, RandomWalk] = {}
        #: (symbol, side, level) -> the engine order id quoting it
        self._resting: dict[tuple[str, Side, int], int] = {}
        self._schedule = Periodic("demo-lp", config.interval_ms, self.step)
        self.rejects = 0

    async def start(self) -> None:
        self._cancel_all()
        self._list_perps()
        self.step()  # the book is full from the first moment
        self._schedule.start()

    async def stop(self) -> None:
        await self._schedule.stop()
        self._cancel_all()

    def _cancel_all(self) -> None:
        if self.config.maker_account in self.host.engine.accounts:
            self.host.submit(MassCancel(account=self.config.maker_account))
        self._resting.clear()

    def step(self) -> None:
        """One round: move each reference, requote, and trade with the chance
        ``interval_ms / trade_every_ms``."""
        for symbol in self.config.prices:
            listing = self.host.engine.listings.get(symbol)
            if listing is not None:
                reference = self._walk(symbol, listing.instrument).step()
                self._make_market(symbol, listing.instrument, reference)
        for perp, spot in self.config.perps.items():
            index = self._perp_reference(perp, spot)
            if index is None:
                continue
            self._report(self.host.submit(SetIndexPrice(perp, index)), perp)
            if not self.host.engine.perps.markets[perp].mark:
                # orders need a mark: the first one now, not at the ticker's next tick
                self._report(self.host.submit(PerpTick(perp)), perp)
            self._make_market(perp, self.host.engine.listings[perp].instrument, index)

    def _make_market(self, symbol: str, instrument: Instrument, reference: int) -> None:
        """Requote around reference, and trade with the chance interval/trade_every."""
        self._quote(symbol, instrument, reference)
        if self._rng.randrange(self.config.trade_every_ms) < self.config.interval_ms:
            self._trade(symbol)

    def _list_perps(self) -> None:
        """List each configured perpetual the venue does not have, on its spot's grid,
        and open it to every tenant's clients (as the config's instruments are)."""
        spots = {inst.symbol: inst for inst in self.host.config.instruments}
        for perp, spot in self.config.perps.items():
            inst = spots.get(spot)
            if perp in self.host.engine.listings or inst is None:
                continue
            command = AddPerpInstrument(
                perp, inst.base, inst.quote, inst.tick_size, inst.lot_size, min_qty=inst.min_qty
            )
            self._report(self.host.submit(command), perp)
            for tenant in list(self.host.engine.tenancy.tenants):
                enable = SetMarketState(tenant, perp, MarketState.ENABLED)
                self._report(self.host.submit(enable), perp)

    def _perp_reference(self, perp: str, spot: str) -> int | None:
        """The spot's reference in the perpetual's ticks; None when either is missing
        or the price is off the perpetual's grid (one an operator listed otherwise)."""
        walk = self._walks.get(spot)
        listing = self.host.engine.listings.get(perp)
        spot_listing = self.host.engine.listings.get(spot)
        if walk is None or listing is None or spot_listing is None:
            return None
        try:
            price = spot_listing.instrument.ticks_to_price(walk.price)
            return listing.instrument.price_to_ticks(price)
        except GridError:
            return None

    def _report(self, events: list[Event], symbol: str) -> bool:
        """Count and log a refusal; whether there was one."""
        for event in events:
            if isinstance(event, OrderRejected):
                self.rejects += 1
                log.info("demo_lp.rejected", symbol=symbol, code=event.code, text=event.text)
                return True
        return False

    def _walk(self, symbol: str, instrument: Instrument) -> RandomWalk:
        walk = self._walks.get(symbol)
        if walk is None:
            anchor = instrument.price_to_ticks(self.config.prices[symbol])
            walk = self._walks[symbol] = RandomWalk(anchor, self.config.step_bps, self._rng)
        return walk

    def _quote(self, symbol: str, instrument: Instrument, reference: int) -> None:
        orders = self.host.engine.orders
        account = self.config.maker_account
        for quote in ladder(instrument, reference, self.config):
            key = (symbol, quote.side, quote.level)
            order_id = self._resting.get(key, 0)
            order = orders.get(order_id)
            if order is None:
                cmd: NewOrder | Replace = NewOrder(
                    account, symbol, quote.side, OrdType.LIMIT, quote.qty, quote.price
                )
            elif order.price != quote.price:
                # a Replace's qty counts what is filled: the level is topped up again
                cmd = Replace(account, symbol, order.filled + quote.qty, quote.price, order_id)
            else:
                continue
            order_id = self._submit(cmd)
            if order_id:
                self._resting[key] = order_id
            else:
                self._resting.pop(key, None)

    def _trade(self, symbol: str) -> None:
        """An IOC from the taker at the touch, for up to the best quote's size."""
        book = self.host.engine.listings[symbol].book
        side = Side.BUY if self._rng.randrange(2) else Side.SELL
        price = book.best_ask() if side == Side.BUY else book.best_bid()
        if price is None:
            return
        quote = self._resting.get((symbol, Side.SELL if side == Side.BUY else Side.BUY, 0))
        order = self.host.engine.orders.get(quote) if quote is not None else None
        most = order.qty - order.filled if order is not None else 1
        qty = self._rng.randint(1, max(1, most))
        self._submit(
            NewOrder(
                self.config.taker_account, symbol, side, OrdType.LIMIT, qty, price,
                TimeInForce.IOC,
            )
        )  # fmt: skip

    def _submit(self, cmd: NewOrder | Replace) -> int:
        """Submit; the order id accepted or kept, 0 when the engine refused it."""
        events = self.host.submit(cmd)
        if self._report(events, cmd.symbol):
            return 0
        for event in events:
            if type(event) is OrderAccepted:
                return event.order_id
        return cmd.order_id if isinstance(cmd, Replace) else 0
