"""The follower stores a perpetual's trades, liquidation fills and deleveraging fills,
and its ledger still reconciles with the engine to the last unit: a perp trade moves
no quote notional and no base asset (it changes positions), so its legs are its fees;
what the wallets gain or lose by it (realized PnL, liquidation fees, the insurance
fund's cover) is booked against ``@perp``. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.commands import AdjustBalance, Command, NewOrder, OpenAccount
from engine.events import Trade
from engine.model import OrdType, Side, Stp, TimeInForce
from engine.perp.commands import DepositInsurance, PerpTick, SetIndexPrice
from gateway.follower.follower import Follower, FollowerSettings
from gateway.follower.reconcile import engine_balances, reconcile
from tests.engine.perp.perp_setup import SYMBOL, USDT, perp_command
from tests.gateway.follower.checks import assert_store_matches
from tests.gateway.follower.venue import LiveVenue, catch_up

USD = 10
PX = 50_000 * USD


def _order(account: str, side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(account, SYMBOL, side, OrdType.LIMIT, qty, price, TimeInForce.GTC)


def _flow() -> list[Command]:
    """A (1,010 USDT) long 0.4 from 50,000 against B, with fees; one 0.1 slice into C's
    bid, then B deleveraged; later E long and taken over by the fund."""
    commands: list[Command] = [perp_command(liquidation_slice_lots=100)]
    for name, usdt in (("A", 1_010), ("B", 100_000), ("C", 1_000_000), ("E", 1_010)):
        commands += [
            OpenAccount(name, Stp.NONE, "2", "5"),
            AdjustBalance(name, "USDT", usdt * USDT),
        ]
    commands += [
        SetIndexPrice(SYMBOL, PX), PerpTick(SYMBOL),
        _order("B", Side.SELL, PX, 400), _order("A", Side.BUY, PX, 400),
        DepositInsurance(SYMBOL, 100 * USDT),
        _order("C", Side.BUY, 47_800 * USD, 100),
        SetIndexPrice(SYMBOL, 47_000 * USD),  # slice, then ADL against B
        _order("C", Side.SELL, 47_000 * USD, 400), _order("E", Side.BUY, 47_000 * USD, 400),
        DepositInsurance(SYMBOL, 10_000 * USDT),
        SetIndexPrice(SYMBOL, 44_000 * USD),  # E gaps through: the fund takes it
    ]  # fmt: skip
    return commands


async def test_perp_fills_are_stored_and_the_ledger_reconciles(
    store_url: str, tmp_path: Path
) -> None:
    venue = LiveVenue(tmp_path / "journal")
    venue.submit(_flow())
    clids = [t.taker_client_order_id[:4] for t in venue.events if isinstance(t, Trade)]
    assert clids == ["", "liq-", "adl-", "", "ins-"], clids
    f = Follower(FollowerSettings(venue.directory, store_url=store_url))
    await f.start(asyncio.Event())
    await catch_up(f)
    await assert_store_matches(f.store, venue.events, venue.engine)
    engine = f.replayer.engine
    result = await reconcile(
        f.store, engine_balances(engine), engine.last_seq, f.settings.journal_dir
    )
    assert result.ok, result.to_dict()
    base = await f.store.fetch("SELECT COUNT(*) FROM ledger WHERE asset = 'BTC'")
    assert base[0][0] == 0
    perp = await f.store.fetch(
        "SELECT DISTINCT reason FROM ledger WHERE contra = '@perp' ORDER BY reason"
    )
    assert [r[0] for r in perp] == ["perp"]
    await f.close()
    venue.close()
