"""Proof of liabilities with perpetual positions: what the venue owes an account in a
quote asset is its wallet plus its positions' value at mark (docs/LIABILITIES.md,
"Perpetual positions"), and a loss beyond what backs it is never a negative leaf."""

from __future__ import annotations

from pathlib import Path

from engine.core import Engine
from engine.journal import write_snapshot
from engine.model import Side
from engine.perp.commands import SetMarginMode
from gateway.follower.liabilities import build
from gateway.follower.liabilities_store import balances_at_snapshot, balances_of
from tests.engine.perp.perp_setup import SYMBOL, USDT, mark_at, open_trader, order, perp_engine
from tests.gateway.follower.verifier import load_verifier

V = load_verifier()
PX = 500_000  # 50,000.0 USDT in 0.1 ticks
LOTS = 100  # 0.1 BTC: 1 tick (0.1 USDT) is 0.01 USDT of PnL on it


def _positions() -> Engine:
    """A long cross, B short isolated (20x: 250 USDT margin), C short cross on a thin
    wallet, D long cross; all at 50,000 with no fees."""
    eng, _ = perp_engine()
    for account, usdt in (("A", 10_000), ("B", 10_000), ("C", 260), ("D", 10_000)):
        open_trader(eng, account, usdt * USDT)
    eng.submit(SetMarginMode("B", SYMBOL, True))
    mark_at(eng, PX)
    for seller, buyer in (("B", "A"), ("C", "D")):
        eng.submit(order(seller, Side.SELL, PX, LOTS))
        eng.submit(order(buyer, Side.BUY, PX, LOTS))
    assert eng.perps.positions[SYMBOL]["A"].size == LOTS
    assert eng.perps.positions[SYMBOL]["B"].margin == 250 * USDT
    return eng


def test_an_account_is_owed_its_wallet_and_its_positions_at_mark() -> None:
    eng = _positions()
    eng.perps.markets[SYMBOL].mark = PX + 10_000  # +100 USDT for the longs
    assert balances_of(eng) == {
        "A": {"USDT": 10_100 * USDT},
        "B": {"USDT": (9_750 + 250 - 100) * USDT},  # wallet + isolated margin + uPnL
        "C": {"USDT": 160 * USDT},
        "D": {"USDT": 10_100 * USDT},
    }


def test_a_loss_beyond_its_margin_is_not_a_negative_liability() -> None:
    eng = _positions()
    eng.perps.markets[SYMBOL].mark = PX + 30_000  # -300 USDT for the shorts, before liquidation
    owed = balances_of(eng)
    # B's isolated loss exceeds its margin: that position counts 0, its wallet stays owed
    assert owed["B"] == {"USDT": 9_750 * USDT}
    # C's cross loss exceeds its wallet: it is owed nothing, not a negative amount
    assert owed["C"] == {"USDT": 0}
    tree = build(eng.last_seq, owed)
    published = tree.published()
    assert published["totals"] == {"USDT": (10_300 + 9_750 + 10_300) * USDT}
    for account in owed:
        assert V.verify(tree.proof(account), published) == published["root"]
    assert tree.proof("C")["balances"] == {}


def test_a_snapshot_publishes_the_positions_too(tmp_path: Path) -> None:
    eng = _positions()
    mark_at(eng, PX - 5_000)  # a tick moves the mark: -50 USDT for the longs
    write_snapshot(eng, tmp_path)
    seq, owed = balances_at_snapshot(tmp_path)
    assert seq == eng.last_seq
    assert owed == balances_of(eng)
    assert owed["A"] == {"USDT": 9_950 * USDT}
