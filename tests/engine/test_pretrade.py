"""Pre-trade risk (engine/pretrade.py) on its own: a property test of its hold against
a simple reference model, over random books, balances and orders.

The stage is driven directly (``engine.pretrade.check_new``) on listings and accounts
built here, not through commands: what is checked is the stage's decision, before any
matching. tests/engine/test_properties.py checks the whole engine against the full
reference model; this one pins the admission rule itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.book import Listing, Order
from engine.commands import NewOrder
from engine.core import Engine
from engine.events import RejectCode
from engine.model import Instrument, OrdType, Side, Stp, TimeInForce
from engine.pretrade import _MARKET_ENABLED
from engine.risk import PPM, Account, RiskError
from engine.venue.tenancy import MarketState

SYMBOL = "X-USD"
MID = 100
INSTRUMENT = Instrument.from_decimals(SYMBOL, "X", "USD", "0.01", "0.01")
QPT, BASE_PER_LOT = INSTRUMENT.quote_per_tick_lot, INSTRUMENT.base_per_lot


@dataclass(frozen=True)
class Resting:
    side: Side
    offset: int  # ticks away from the mid, on the resting order's own side
    qty: int
    mine: bool  # the trader's own order (self-trade prevention does not size holds)


@dataclass(frozen=True)
class Case:
    book: list[Resting]
    maker_ppm: int
    taker_ppm: int
    total: dict[str, int]
    held: dict[str, int]
    order: NewOrder


def reference_hold(case: Case, qpt: int, base_per_lot: int) -> tuple[str, int]:
    """(asset, units) the order must hold, computed the plain way: a limit buy holds its
    notional plus the fee at the higher rate, a market buy what its walk of the book
    costs plus the taker fee; a sell holds the base it may deliver (a market sell by
    quote quantity, the lots its walk finds)."""
    cmd = case.order
    buy = cmd.side == Side.BUY
    if cmd.ord_type == OrdType.LIMIT:
        lots, notional = cmd.qty, cmd.price * cmd.qty * qpt
        fee_ppm = max(case.maker_ppm, case.taker_ppm)
    else:
        levels: dict[int, int] = {}
        for r in case.book:
            if (r.side == Side.SELL) == buy:
                price = MID + r.offset if r.side == Side.SELL else MID - r.offset
                levels[price] = levels.get(price, 0) + r.qty
        lots = notional = 0
        for price in sorted(levels, reverse=not buy):  # best first
            take = levels[price]
            if cmd.qty:
                take = min(take, cmd.qty - lots)
            else:
                take = min(take, (cmd.quote_qty - notional) // (price * qpt))
            lots += take
            notional += take * price * qpt
            if take < levels[price] or (cmd.qty and lots == cmd.qty):
                break
        fee_ppm = case.taker_ppm
    if buy:
        return "USD", notional + notional * fee_ppm // PPM
    return "X", (cmd.qty or lots) * base_per_lot  # a sell by quantity holds all of it


@st.composite
def cases(draw: st.DrawFn) -> Case:
    book = draw(
        st.lists(
            st.builds(
                Resting,
                st.sampled_from([Side.BUY, Side.SELL]),
                st.integers(1, 10),
                st.integers(1, 20),
                st.booleans(),
            ),
            max_size=12,
        )
    )
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    if draw(st.booleans()):
        order = NewOrder(
            "T",
            SYMBOL,
            side,
            OrdType.LIMIT,
            draw(st.integers(1, 60)),
            draw(st.integers(MID - 15, MID + 15)),
            draw(st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])),
            stp=draw(st.sampled_from([None, *Stp])),
        )
    else:
        by_quote = draw(st.booleans())
        order = NewOrder(
            "T",
            SYMBOL,
            side,
            OrdType.MARKET,
            0 if by_quote else draw(st.integers(1, 60)),
            tif=draw(st.sampled_from([TimeInForce.IOC, TimeInForce.FOK])),
            quote_qty=draw(st.integers(1, 5_000_000)) if by_quote else 0,
            stp=draw(st.sampled_from([None, *Stp])),
        )
    maker_ppm, taker_ppm = draw(st.integers(0, 5_000)), draw(st.integers(0, 5_000))
    held = {asset: draw(st.integers(0, 20_000_000)) for asset in ("USD", "X")}
    available = {asset: draw(st.integers(0, 20_000_000)) for asset in ("USD", "X")}
    if draw(st.booleans()):  # the balance right at the order's hold, give or take a unit
        unpriced = Case(book, maker_ppm, taker_ppm, {}, {}, order)
        asset, hold = reference_hold(unpriced, QPT, BASE_PER_LOT)
        available[asset] = max(0, hold + draw(st.integers(-2, 2)))
    total = {asset: held[asset] + available[asset] for asset in held}
    return Case(book, maker_ppm, taker_ppm, total, held, order)


def stage_with(case: Case) -> tuple[Engine, Account, Listing]:
    """An engine whose listing and accounts are set up by hand, for its pre-trade stage."""
    engine = Engine()
    listing = Listing(INSTRUMENT)
    engine.listings[SYMBOL] = listing
    trader = Account("T", Stp.NONE, case.maker_ppm, case.taker_ppm)
    engine.accounts["T"] = trader
    for asset in ("USD", "X"):
        bal = trader.balance(asset)
        bal.total, bal.held = case.total[asset], case.held[asset]
    for k, r in enumerate(case.book, 1):
        price = MID + r.offset if r.side == Side.SELL else MID - r.offset
        owner = "T" if r.mine else "M"
        listing.book.side(r.side).add(
            Order(k, owner, SYMBOL, r.side, OrdType.LIMIT, price, r.qty, 1, "", 0, False, 0, 0)
        )
    return engine, trader, listing


@settings(max_examples=400, deadline=None)
@given(cases())
def test_an_admitted_order_never_holds_more_than_is_available(case: Case) -> None:
    engine, trader, listing = stage_with(case)
    asset, expected = reference_hold(case, QPT, BASE_PER_LOT)
    available = case.total[asset] - case.held[asset]
    stage = engine.pretrade
    try:
        account, _ = stage.gate("T", SYMBOL, trading=True)
        _, _, _, hold, hold_asset, bal = stage.check_new(case.order, account, listing, 1)
    except RiskError as err:
        assert err.code == RejectCode.INSUFFICIENT_BALANCE, err.text
        assert expected > available
        return
    assert (hold_asset, hold) == (asset, expected)
    assert hold <= available
    assert hold == 0 or bal is trader.balances[asset]
    # The stage decides; it changes nothing.
    assert (trader.balances[asset].total, trader.balances[asset].held) == (
        case.total[asset],
        case.held[asset],
    )


def test_the_stage_reads_the_tenancy_markets_enabled_state() -> None:
    """The stage may not import engine/venue: its copy of MarketState.ENABLED must agree."""
    assert int(MarketState.ENABLED) == _MARKET_ENABLED
