"""A seeded random command stream over a small venue, for journal and recovery tests."""

from __future__ import annotations

import random

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
)
from engine.model import OrdType, Side, Stp, TimeInForce, TradingStatus

SYMBOLS = ("BTC-USD", "ETH-USD")
ACCOUNTS = ("A", "B", "C")


def setup_commands() -> list[Command]:
    cmds: list[Command] = [
        AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.01", collar_pct="20"),
        AddInstrument("ETH-USD", "ETH", "USD", "0.01", "0.01", min_qty="0.02"),
    ]
    for i, acct in enumerate(ACCOUNTS):
        cmds.append(OpenAccount(acct, Stp(i * 2 % 5), str(i), str(2.5 * i), max_open_orders=30))
        for asset in ("USD", "BTC", "ETH"):
            cmds.append(AdjustBalance(acct, asset, 10**10))
    return cmds


def random_command(rng: random.Random, now_us: int, last_seq: int) -> Command:
    """One random command; order ids are guessed among recent seqs so cancels often hit."""
    recent = rng.randint(max(1, last_seq - 40), max(1, last_seq))
    acct = rng.choice(ACCOUNTS)
    sym = rng.choice(SYMBOLS)
    r = rng.random()
    side = Side(rng.choice((1, 2)))
    if r < 0.45:
        tif = rng.choice(
            (TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD)
        )
        return NewOrder(
            acct,
            sym,
            side,
            OrdType.LIMIT,
            rng.randint(1, 8),
            rng.randint(90, 110),
            tif,
            client_order_id=rng.choice(("", "", f"c{rng.randint(0, 50)}")),
            post_only=rng.random() < 0.1 and tif in (TimeInForce.GTC, TimeInForce.GTD),
            stp=rng.choice((None, None, *Stp)),
            expire_ts_us=now_us + rng.randint(1, 3000) if tif == TimeInForce.GTD else 0,
        )
    if r < 0.55:
        if rng.random() < 0.5:
            return NewOrder(acct, sym, side, OrdType.MARKET, rng.randint(1, 6), tif=TimeInForce.IOC)
        return NewOrder(
            acct,
            sym,
            side,
            OrdType.MARKET,
            0,
            tif=TimeInForce.IOC,
            quote_qty=rng.randint(1, 6) * 10**6,
        )
    if r < 0.72:
        return Cancel(acct, sym, order_id=recent)
    if r < 0.85:
        return Replace(
            acct,
            sym,
            rng.randint(1, 10),
            rng.choice((0, rng.randint(90, 110))),
            order_id=recent,
        )
    if r < 0.89:
        return MassCancel(account=rng.choice(("", acct)), symbol=rng.choice(("", sym)))
    if r < 0.93:
        return Tick()
    if r < 0.95:
        return SetInstrumentStatus(sym, TradingStatus(rng.choice((1, 1, 1, 1, 2, 3))))
    if r < 0.97:
        return SetGlobalHalt(rng.random() < 0.15)
    if r < 0.99:
        return SetAccountEnabled(acct, rng.random() < 0.85)
    return AdjustBalance(acct, rng.choice(("USD", "BTC")), rng.randint(-(10**8), 10**8))
