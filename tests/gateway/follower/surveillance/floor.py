"""A trading floor for surveillance tests: a real Engine whose every command's events
feed a Surveillance, as the follower's replay does, optionally journaled to disk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from engine.commands import (
    AddInstrument,
    AdjustBalance,
    Cancel,
    Command,
    MassCancel,
    NewOrder,
    OpenAccount,
    Replace,
    Tick,
)
from engine.core import Engine
from engine.events import Event, OrderAccepted, OrderRejected
from engine.journal import JournalWriter
from engine.model import OrdType, Side, Stp, TimeInForce
from engine.sequencer import Sequencer
from engine.venue.tenancy import KycStatus, MarketState
from engine.venue.tenancy_commands import (
    CreateSubAccount,
    CreateTenant,
    OpenTenantAccount,
    SetKyc,
    SetMarketState,
    SetTier,
)
from gateway.follower.surveillance import (
    Alert,
    PerInstrument,
    StpParams,
    Surveillance,
    SurveillanceConfig,
)
from gateway.follower.surveillance.replay import replay_journal
from gateway.follower.surveillance.settings import SurveillanceSettings

SYMBOL = "BTC-USD"
S_US = 1_000_000
HOUR_US = 3_600 * S_US
DAY_US = 24 * HOUR_US
BUY = Side.BUY
SELL = Side.SELL
USD = 100_000_000


def usd(ticks: float) -> int:
    """A USD price in ticks (tick 0.01)."""
    return round(ticks * 100)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Floor:
    """BTC-USD (tick 0.01 USD, lot ``lot`` BTC) and funded accounts, watched."""

    def __init__(
        self,
        config: SurveillanceConfig | None = None,
        *,
        owners: Mapping[str, str] | None = None,
        groups: Mapping[str, Iterable[str]] | None = None,
        lot: str = "0.01",
        start_us: int = 1_000_000,
        journal: Path | None = None,
    ) -> None:
        self.clock = Clock(start_us)
        self.engine = Engine(Sequencer(self.clock))
        self.writer = JournalWriter(journal, fsync="never") if journal else None
        if self.writer is not None:
            self.engine.on_command = self.writer.append
        self.grid: dict[str, int] = {}
        self.surv = Surveillance(config, owners=owners, groups=groups, quote_per_tick_lot=self.grid)
        self.alerts: list[Alert] = []
        self.commands: list[list[Event]] = []  # each command's events, in order
        self.submit(AddInstrument(SYMBOL, "BTC", "USD", "0.01", lot))
        self.qpt = self.engine.listings[SYMBOL].instrument.quote_per_tick_lot
        self.grid[SYMBOL] = self.qpt

    def submit(self, command: Command) -> list[Event]:
        events = self.engine.submit(command)
        self.commands.append(events)
        if self.writer is not None:
            self.writer.flush()
        self.alerts += self.surv.advance(self.engine.last_ts_us)
        self.alerts += self.surv.feed(events)
        return events

    def open(self, *accounts: str, stp: Stp = Stp.NONE) -> None:
        for account in accounts:
            self.submit(OpenAccount(account, stp))
            self.submit(AdjustBalance(account, "USD", 100_000_000 * USD))
            self.submit(AdjustBalance(account, "BTC", 100_000 * USD))

    def at(self, ts_us: int) -> None:
        self.clock.now = ts_us

    def later(self, us: int) -> None:
        self.clock.now += us

    def tick(self) -> None:
        self.submit(Tick())

    def limit(
        self, account: str, side: Side, price: int, qty: int, tif: TimeInForce = TimeInForce.GTC
    ) -> int:
        """Place a limit order; its engine order id (0 when refused)."""
        events = self.submit(NewOrder(account, SYMBOL, side, OrdType.LIMIT, qty, price, tif))
        accepted = [e for e in events if isinstance(e, OrderAccepted)]
        return accepted[0].order_id if accepted else 0

    def cross(self, maker: str, taker: str, taker_side: Side, price: int, qty: int) -> None:
        """maker rests qty at price, taker takes it all (IOC)."""
        self.limit(maker, SELL if taker_side == BUY else BUY, price, qty)
        self.limit(taker, taker_side, price, qty, TimeInForce.IOC)

    def cancel(self, account: str, order_id: int) -> None:
        self.submit(Cancel(account, SYMBOL, order_id))

    def replace(self, account: str, order_id: int, qty: int, price: int = 0) -> None:
        self.submit(Replace(account, SYMBOL, qty, price, order_id))

    def mass_cancel(self, account: str, side: Side) -> None:
        self.submit(MassCancel(account, SYMBOL, int(side)))

    def rules(self, kind: str | None = None) -> list[str]:
        return [a.rule for a in self.alerts if kind is None or a.kind == kind]

    def of(self, rule: str) -> list[Alert]:
        return [a for a in self.alerts if a.rule == rule]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def replay(
    journal: Path,
    config: SurveillanceConfig | None = None,
    *,
    owners: Mapping[str, str] | None = None,
    groups: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Alert]:
    """The follower's view: each journaled command through a fresh Engine, its events
    through a fresh Surveillance."""
    settings = SurveillanceSettings(config or SurveillanceConfig(), owners or {}, groups or {})
    return list(replay_journal(journal, settings))


EVENTFUL_CONFIG = SurveillanceConfig(stp=PerInstrument(StpParams(max_per_day=2)))
EVENTFUL_OWNERS = {"S1": "P", "S2": "P"}


def eventful_day(floor: Floor) -> None:
    """Wash trades, prevented self-trades, a spoof and a marked close."""
    floor.open("S1", "S2", "M", "B", "C")
    floor.open("T", stp=Stp.EXPIRE_TAKER)
    floor.at(HOUR_US)
    for n in range(3):
        floor.cross("S1", "S2", BUY if n % 2 else SELL, usd(50_000), 10)
    floor.limit("T", SELL, usd(50_100), 5)
    for _ in range(3):
        floor.limit("T", BUY, usd(50_100), 1, TimeInForce.IOC)
    floor.mass_cancel("T", SELL)
    floor.limit("M", BUY, usd(49_990), 5)
    bait = floor.limit("B", BUY, usd(49_995), 100)
    floor.cross("B", "M", BUY, usd(50_005), 10)
    floor.later(S_US)
    floor.cancel("B", bait)
    for n, price in enumerate((50_300, 50_500, 50_700)):
        floor.at(DAY_US - 200 * S_US + n * S_US)
        floor.cross("M", "C", BUY, usd(price), 2)
    floor.at(DAY_US + 1)
    floor.tick()


def sub_accounts(floor: Floor, parent: str, *children: str) -> None:
    """A tenant with a verified account and its funded sub-accounts, through the
    operator side's commands (the engine learns the parents from them)."""
    for cmd in (
        CreateTenant("T1", "Tenant one", "T1-REV"),
        SetTier("T1", 1, trade=True, deposit=True, withdraw=True),
        SetMarketState("T1", SYMBOL, MarketState.ENABLED),
        OpenTenantAccount(parent, "T1"),
        SetKyc(parent, KycStatus.PENDING, actor="op", reason="documents in"),
        SetKyc(parent, KycStatus.VERIFIED, 1, actor="op", reason="checked", reference="case-1"),
        *(CreateSubAccount(child, parent) for child in children),
        *(AdjustBalance(c, asset, 100_000 * USD) for c in children for asset in ("USD", "BTC")),
    ):
        assert not [e for e in floor.submit(cmd) if isinstance(e, OrderRejected)], cmd


#: the [surveillance] table that matches EVENTFUL_CONFIG and EVENTFUL_OWNERS
CONFIG_TOML = """
[surveillance]
owners = { "S1" = "P", "S2" = "P" }
[surveillance.stp]
max_per_day = 2
"""


def journaled_day(tmp_path: Path) -> tuple[Path, Floor]:
    journal = tmp_path / "journal"
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS, journal=journal)
    eventful_day(floor)
    floor.close()
    return journal, floor
