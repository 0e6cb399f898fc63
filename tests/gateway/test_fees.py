"""The venue's fees from [fees] (gateway/fees.py) and the journaled UTC-day tick."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from engine.commands import NewOrder
from engine.journal import read_records
from engine.model import OrdType, Side, TimeInForce
from engine.venue.fees import DefineFeeSchedule, FeeDayTick, SetDefaultFeeSchedule
from gateway.app import App
from gateway.config import Config, ConfigError, load_config
from gateway.fees import DAY_US
from gateway.host import EngineHost
from gateway.metrics import Registry
from tests.gateway.conftest import Connect

FEES = """
[fees]
revenue_account = "REV"
max_rebate_bps = "1"
default_schedule = "std"
[[fees.schedules]]
id = "std"
"""


def _host(tmp_path: Path, cfg: Config | None = None) -> EngineHost:
    cfg = cfg or load_config()
    cfg = dataclasses.replace(
        cfg, journal=dataclasses.replace(cfg.journal, dir=str(tmp_path / "j"), fsync="never")
    )
    return EngineHost(cfg, Registry())


def _buy_sell(host: EngineHost, buyer: str, seller: str) -> None:
    for account, side in ((seller, Side.SELL), (buyer, Side.BUY)):
        host.engine.submit(
            NewOrder(account, "BTC-USD", side, OrdType.LIMIT, 100, 5_000_000, TimeInForce.GTC)
        )


async def test_the_demo_venue_charges_its_fees_into_the_revenue_account(tmp_path: Path) -> None:
    host = _host(tmp_path)
    host.start()
    eng = host.engine
    assert eng.fee_book.default == "standard"
    assert eng.fee_book.day == time.time_ns() // 1000 // DAY_US  # day one ticked at start
    for account in ("ACC1", "ACC2", "ACC3"):  # the demo's 1 and 2 bps, as before
        assert (eng.accounts[account].maker_fee_ppm, eng.accounts[account].taker_fee_ppm) == (
            100,
            200,
        )
    _buy_sell(host, "ACC1", "ACC2")
    revenue = eng.accounts["VENUE-FEES"].balances["USD"]
    assert revenue.total > 0 and eng.fees == {}
    await host.stop()


async def test_a_config_account_with_other_fees_keeps_them_as_an_override(
    tmp_path: Path,
) -> None:
    cfg = load_config()
    free = dataclasses.replace(cfg.accounts[0], maker_fee_bps="0", taker_fee_bps="0")
    host = _host(tmp_path, dataclasses.replace(cfg, accounts=[free, *cfg.accounts[1:]]))
    host.start()
    assert host.engine.fee_book.overrides == {"ACC1": (0, 0)}
    assert host.engine.accounts["ACC1"].taker_fee_ppm == 0
    await host.stop()


async def test_a_new_utc_day_is_ticked_and_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = _host(tmp_path)
    host.start()
    today = host.engine.fee_book.day
    _buy_sell(host, "ACC1", "ACC2")
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + DAY_US * 1000)
    for _ in range(400):  # the ticker's next pass (a hang guard, not a speed limit)
        await asyncio.sleep(0.01)
        if host.engine.fee_book.day != today:
            break
    assert host.engine.fee_book.day == today + 1
    assert host.engine.fee_book.volume("ACC1") > 0
    await host.stop()
    journal = read_records(Path(host.config.journal.dir))
    assert [c.day for _, _, c in journal if isinstance(c, FeeDayTick)] == [today, today + 1]

    monkeypatch.setattr(time, "time_ns", lambda: real() + 3 * DAY_US * 1000)
    again = _host(tmp_path)  # down for two days: the start ticks once, for today
    again.start()
    assert again.engine.fee_book.day == today + 3
    assert again.engine.fee_book.volume("ACC1") > 0  # still inside the 30-day window
    await again.stop()


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        (FEES + 'tiers = [{ maker_bps = "3", taker_bps = "2" }]\n', r"tiers: maker fee above"),
        (FEES + 'tiers = [{ maker_bps = "-2", taker_bps = "2" }]\n', r"\[0\].tiers: maker rebate"),
        (FEES + 'tiers = [{ min_volume = "5", taker_bps = "2" }]\n', r"tiers: the first tier"),
        (FEES + 'tiers = [{ taker_bps = "1e1" }]\n', r"\[0\]\.tiers\[0\]\.taker_bps: not a"),
        (FEES + "tiers = []\n", r"fees.schedules\[0\].tiers"),
        (FEES.replace('"std"\n[[', '"other"\n[[') + 'tiers = [{}]\n', r"fees.default_schedule: no"),
    ],
)  # fmt: skip
def test_fee_config_errors_name_their_key(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=error):
        load_config(path)


async def test_a_fees_section_without_a_revenue_account_keeps_per_account_fees(
    tmp_path: Path,
) -> None:
    path = tmp_path / "venue.toml"
    path.write_text('[fees]\nrevenue_account = ""\n')
    cfg = load_config(path)
    host = _host(tmp_path, cfg)
    host.start()
    assert host.engine.fee_book.default == "" and "VENUE-FEES" not in host.engine.accounts
    _buy_sell(host, "ACC1", "ACC2")
    assert host.engine.fees["USD"] > 0
    await host.stop()


async def test_a_maker_rebate_is_a_negative_commission_over_fix(
    app: App, fix_login: Connect
) -> None:
    app.host.submit(DefineFeeSchedule("mm", "0:-0.5:2"))
    app.host.submit(SetDefaultFeeSchedule("mm"))
    maker = await fix_login("CLIENT1")
    taker = await fix_login("CLIENT2")
    tt = (60, "20261123-00:00:00")
    await maker.send("D", [(11, "m1"), (55, "BTC-USD"), (54, 2), (38, "0.2"), (40, 2),
                           (44, "50000"), (59, 1), tt])  # fmt: skip
    await maker.expect("8")
    await taker.send("D", [(11, "t1"), (55, "BTC-USD"), (54, 1), (38, "0.2"), (40, 2),
                           (44, "50000"), (59, 1), tt])  # fmt: skip
    await taker.expect("8")
    taker_fill = await taker.expect("8")
    maker_fill = await maker.expect("8")
    # 10,000 USD: the taker pays 2 bps, the maker gets 0.5 bps back out of it
    assert (taker_fill.get_str(150), taker_fill.get_str(12)) == ("F", "2")
    assert (maker_fill.get_str(150), maker_fill.get_str(12)) == ("F", "-0.5")
    revenue = app.host.engine.accounts["VENUE-FEES"].balances["USD"]
    assert revenue.total == 150_000_000  # 1.5 USD
