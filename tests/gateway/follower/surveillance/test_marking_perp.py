"""Marking a perpetual's funding settlement: aggressive trading in the 10 min before a
settlement (a ``perp.funding`` event) that moves the mark's premium over the index."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.commands import MassCancel, NewOrder
from engine.events import Trade, VenueEvent
from engine.model import OrdType, TimeInForce
from engine.perp.commands import AddPerpInstrument, PerpTick, SetIndexPrice
from engine.perp.state import INTERNAL_ORDER_IDS
from gateway.follower.surveillance import (
    Kind,
    MarkParams,
    PerInstrument,
    Surveillance,
    SurveillanceConfig,
)
from tests.gateway.follower.surveillance.floor import (
    BUY,
    DAY_US,
    S_US,
    SELL,
    Floor,
    replay,
    usd,
)
from tests.gateway.follower.surveillance.test_mixed_flow import MID, run_flow

PERP = "BTC-PERP"
FUNDING = 3_600 * S_US  # the first settlement of a 1 h funding interval started at 10 s
PUSH = (50_200, 50_400, 50_600)


def perp_floor(
    config: SurveillanceConfig | None = None,
    *,
    start_us: int = S_US,
    journal: Path | None = None,
    lot: str = "0.01",
) -> Floor:
    """BTC-PERP on BTC-USD's grid, 1 h funding, the mark's basis over the last 2 mids."""
    floor = Floor(config, start_us=start_us, journal=journal)
    floor.submit(
        AddPerpInstrument(
            PERP, "BTC", "USD", "0.01", lot, funding_interval_s=3_600, mark_window=2,
            index_stale_s=3_600,
        )
    )  # fmt: skip
    floor.grid[PERP] = floor.engine.listings[PERP].instrument.quote_per_tick_lot
    floor.open("C", "D", "E", "M")
    return floor


def quote(floor: Floor, bid: int, ask: int) -> None:
    """M's only quotes: 10 lots each side."""
    for side in (BUY, SELL):
        floor.submit(MassCancel("M", PERP, int(side)))
    floor.submit(NewOrder("M", PERP, BUY, OrdType.LIMIT, 10, bid))
    floor.submit(NewOrder("M", PERP, SELL, OrdType.LIMIT, 10, ask))


def session(
    floor: Floor,
    pushes: Sequence[tuple[int, str, int]],
    *,
    side: int = BUY,
    index_follows: bool = False,
    start_us: int = 10 * S_US,
    end_us: int = FUNDING,
) -> None:
    """Ticks every 30 s from start_us to end_us (index 50,000 unless it follows the
    mid); each push (time, taker, price) makes M quote at price and the taker take 2
    lots there with IOC, on side."""
    index = usd(50_000)
    floor.at(start_us)
    floor.submit(SetIndexPrice(PERP, index))
    floor.submit(PerpTick(PERP))
    quote(floor, index - 1_000, index + 1_000)
    todo = sorted(pushes)
    tick = (start_us // (30 * S_US) + 1) * 30 * S_US
    while tick <= end_us:
        while todo and todo[0][0] <= tick:
            at, taker, price = todo.pop(0)
            floor.at(at)
            bid, ask = (price - 2_000, price) if side == BUY else (price, price + 2_000)
            quote(floor, bid, ask)
            order = NewOrder(taker, PERP, side, OrdType.LIMIT, 2, price, TimeInForce.IOC)
            floor.submit(order)
            if index_follows:
                index = (bid + ask) // 2
        floor.at(tick)
        floor.submit(SetIndexPrice(PERP, index))
        floor.submit(PerpTick(PERP))
        tick += 30 * S_US


def pushes(
    taker: str | Sequence[str], before_us: int, prices: Sequence[float] = PUSH
) -> list[tuple[int, str, int]]:
    """One push a minute from before_us before the settlement, by taker (or each of them)."""
    takers = [taker] * len(prices) if isinstance(taker, str) else list(taker)
    return [
        (FUNDING - before_us + n * 60 * S_US, takers[n], usd(price))
        for n, price in enumerate(prices)
    ]


def funding_events(floor: Floor) -> list[VenueEvent]:
    return [
        e for events in floor.commands for e in events
        if isinstance(e, VenueEvent) and e.kind == "perp.funding"
    ]  # fmt: skip


def test_buying_the_premium_up_just_before_a_funding_settlement() -> None:
    floor = perp_floor()
    session(floor, pushes("C", 290 * S_US))
    [funding] = funding_events(floor)
    [alert] = floor.alerts
    assert (alert.rule, alert.kind, alert.owner) == ("marking_the_close", Kind.MARKET_ABUSE, "C")
    assert (alert.instrument, alert.ts_us) == (PERP, funding.ts_us)
    facts = dict(alert.facts)
    assert facts["reference"] == "funding"
    assert (facts["mark_before"], facts["index_before"]) == (usd(50_000), usd(50_000))
    assert facts["mark_at_reference"] == funding.data["mark"] == usd(50_590)  # 2 mids' basis
    assert (facts["premium_before_bps"], facts["move_bps"], facts["share_pct"]) == (0, 118, 100)
    assert facts["funding_rate"] == funding.data["rate"]
    assert len(alert.trade_ids) == 3 and len(alert.order_ids) == 3
    assert alert.first_seq == alert.trades[0].seq and alert.last_seq == funding.seq
    assert {o.account for o in alert.orders} == {"C"}


def test_selling_the_premium_down_before_a_settlement() -> None:
    floor = perp_floor()
    session(floor, pushes("C", 290 * S_US, (49_800, 49_600, 49_400)), side=SELL)
    [alert] = floor.alerts
    facts = dict(alert.facts)
    assert (alert.owner, facts["move_bps"], facts["reference"]) == ("C", -118, "funding")
    assert "selling" in alert.summary


def test_near_miss_the_same_trades_before_the_window() -> None:
    floor = perp_floor()
    session(floor, pushes("C", 1_190 * S_US))
    assert funding_events(floor) and floor.alerts == []


def test_near_miss_a_mark_that_follows_the_index() -> None:
    """The price moves 1.2 % with the index: the mark moves, its premium does not (a
    rule judging the last price, as for spot, would alert)."""
    floor = perp_floor()
    session(floor, pushes("C", 290 * S_US), index_follows=True)
    [funding] = funding_events(floor)
    assert funding.data["mark"] == usd(50_590)
    assert floor.alerts == []


def test_near_miss_several_unrelated_owners() -> None:
    floor = perp_floor()
    session(floor, pushes(("C", "D", "E"), 290 * S_US))
    assert floor.alerts == []
    third = SurveillanceConfig(marking=PerInstrument(MarkParams(min_share_pct=33)))
    floor = perp_floor(third)
    session(floor, pushes(("C", "D", "E"), 290 * S_US))
    assert sorted(a.owner for a in floor.alerts) == ["C", "D", "E"]  # a third each


def test_the_premium_threshold_is_per_instrument() -> None:
    high = MarkParams(min_premium_move_bps=200)
    floor = perp_floor(SurveillanceConfig(marking=PerInstrument(MarkParams(), {PERP: high})))
    session(floor, pushes("C", 290 * S_US))
    assert floor.alerts == []


def test_a_settlement_at_the_daily_close_alerts_once() -> None:
    """Funding settles at 00:00 UTC, also the daily close: the window's trades are
    judged at the first reference they precede, by the mark, once."""
    start = DAY_US - 1_800 * S_US
    floor = perp_floor(start_us=start)
    window = [(DAY_US - 290 * S_US + n * 60 * S_US, "C", usd(p)) for n, p in enumerate(PUSH)]
    session(floor, window, start_us=start + 10 * S_US, end_us=DAY_US)
    [funding] = funding_events(floor)
    assert funding.ts_us == DAY_US
    [alert] = floor.alerts
    facts = dict(alert.facts)
    assert (facts["reference"], facts["reference_ts_us"], facts["move_bps"]) == (
        "time_of_day", DAY_US, 118,
    )  # fmt: skip


def test_replaying_the_journal_raises_the_same_alerts(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    floor = perp_floor(journal=journal)
    session(floor, pushes("C", 290 * S_US))
    floor.close()
    assert len(floor.alerts) == 1
    assert replay(journal) == floor.alerts


def test_the_load_tests_mix_through_a_settlement_raises_no_market_abuse_alert() -> None:
    """The load test's flow on the perpetual, lots of 0.1 BTC, by the two accounts it
    shares among its sessions (so one owner has most of the aggression in any window),
    with a tick every 0.5 s and a funding settlement 4 s in: only the premium's move
    stands between the random flow and an alert, and the flow does not move it."""
    floor = perp_floor(start_us=FUNDING - 4 * S_US, lot="0.1")
    floor.open("ACC1", "ACC2")
    floor.submit(SetIndexPrice(PERP, MID))
    floor.submit(PerpTick(PERP))

    def tick(i: int) -> None:
        if i % 250 == 0:
            floor.submit(SetIndexPrice(PERP, MID))
            floor.submit(PerpTick(PERP))

    sessions = ["ACC1" if n % 2 else "ACC2" for n in range(1, 9)]
    assert run_flow(floor, sessions, 3, 4_000, PERP, tick) > 500
    [funding] = funding_events(floor)
    assert funding.ts_us >= FUNDING
    assert floor.rules(Kind.MARKET_ABUSE) == []


def stream(taker_order_ids: Sequence[int]) -> list[VenueEvent | Trade]:
    """A perpetual's events as the engine answers them: the mark at the index, then V
    selling at falling prices (one taker order each) in the 5 min before a settlement
    whose mark sits 1.2 % under the index."""
    index = usd(50_000)

    def venue(seq: int, ts_us: int, kind: str, **data: object) -> VenueEvent:
        return VenueEvent(seq, ts_us, 0, kind, PERP, dict(data))

    events: list[VenueEvent | Trade] = [
        venue(1, S_US, "perp.instrument", quote="USD", max_leverage=20),
        venue(2, 2 * S_US, "perp.mark", mark=index, index=index, last=0),
    ]
    for n, order_id in enumerate(taker_order_ids):
        price = usd(49_800 - 200 * n)
        ts = FUNDING - 290 * S_US + n * 60 * S_US
        events.append(
            Trade(
                3 + n, ts, 0, PERP, 1 + n, 1 + n, price, 2, int(SELL),
                100 + n, "M", "", 0, 2, 2 * price, 0,
                order_id, "V", "", 0, 2, 2 * price, 0,
            )
        )  # fmt: skip
    events.append(venue(10, FUNDING, "perp.mark", mark=usd(49_410), index=index, last=0))
    events.append(venue(11, FUNDING, "perp.funding", rate=-100_000, mark=usd(49_410)))
    return events


def test_the_engines_liquidation_orders_are_nobodys_aggression() -> None:
    """Liquidation slices are the engine's IOC orders for the account (ids above
    INTERNAL_ORDER_IDS): they move the price, but the account did not choose to."""
    own = Surveillance(quote_per_tick_lot={PERP: 10_000})  # tick 0.01 x lot 0.01
    [alert] = own.feed_stream(stream([3, 4, 5]))
    assert (alert.owner, dict(alert.facts)["move_bps"], alert.order_ids) == ("V", -118, ())
    forced = Surveillance(quote_per_tick_lot={PERP: 10_000})  # tick 0.01 x lot 0.01
    ids = [INTERNAL_ORDER_IDS + n for n in (1, 2, 3)]
    assert forced.feed_stream(stream(ids)) == []
