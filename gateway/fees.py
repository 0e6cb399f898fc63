"""The venue's fees from config, and the UTC day the fee tiers roll at.

``seed_fees`` bootstraps ``[fees]`` into an empty journal (gateway/host.py
``_seed_from_config``); the engine side is engine/venue/fees.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from engine.commands import Command, OpenAccount
from engine.risk import bps_to_ppm
from engine.venue.fees import (
    ConfigureFees,
    DefineFeeSchedule,
    FeeDayTick,
    SetDefaultFeeSchedule,
    SetFeeOverride,
    parse_tiers,
)
from gateway.config import Config, schedule_tiers

__all__ = ["DAY_US", "day_tick_due", "seed_fees"]

DAY_US: Final = 86_400_000_000


def seed_fees(config: Config, submit: Callable[[Command], Any]) -> None:
    """Open the revenue account, configure the bounds, define the schedules and set the
    default; an [[accounts]] entry whose fees differ from the default schedule's first
    tier keeps them as an override (the config's promise to that account)."""
    fees = config.fees
    if not fees.revenue_account:
        return
    if fees.revenue_account not in {a.id for a in config.accounts}:
        submit(OpenAccount(fees.revenue_account))
    submit(
        ConfigureFees(
            fees.revenue_account, fees.reference_asset, fees.max_rebate_bps, fees.max_markup_bps
        )
    )
    first = None
    for schedule in fees.schedules:
        tiers = schedule_tiers(schedule)
        submit(DefineFeeSchedule(schedule.id, tiers))
        if schedule.id == fees.default_schedule:
            first = parse_tiers(tiers)[0]
    submit(SetDefaultFeeSchedule(fees.default_schedule))
    assert first is not None  # config validation: the default names a schedule
    for acct in config.accounts:
        maker, taker = bps_to_ppm(acct.maker_fee_bps), bps_to_ppm(acct.taker_fee_bps)
        if (maker, taker) != (first.maker_ppm, first.taker_ppm):
            submit(SetFeeOverride(acct.id, acct.maker_fee_bps, acct.taker_fee_bps))


def day_tick_due(book_day: int, active: bool, now_us: int) -> FeeDayTick | None:
    """The FeeDayTick to send now, if a UTC day began since the fee book's last one."""
    day = now_us // DAY_US
    return FeeDayTick(day) if active and day > book_day else None
