"""Alert records: what a rule found, with the evidence to reproduce it.

An alert names the orders and trades it rests on and the seq range they span, so an
analyst can replay the journal over that range and see the same facts. Its id is a
digest of that evidence: the same events raise the same alert with the same id, on
the live follower and on any replay.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Alert", "Kind", "OrderRef", "Severity", "TradeRef", "alert_id"]


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Kind(StrEnum):
    """market_abuse: a typology regulators name (wash trades, spoofing, ramping, marking
    the close). control: a pattern to review that is not abuse by itself (STP counts,
    order and cancel ratios)."""

    MARKET_ABUSE = "market_abuse"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class OrderRef:
    """An order as the evidence saw it: action is placed, canceled or replaced."""

    order_id: int
    seq: int
    ts_us: int
    account: str
    side: int
    price: int  # ticks
    qty: int  # lots
    filled: int  # lots, when the action happened
    action: str


@dataclass(frozen=True, slots=True)
class TradeRef:
    """A trade with its buyer and seller (the taker's side decides which is which)."""

    trade_id: int
    seq: int
    ts_us: int
    price: int  # ticks
    qty: int  # lots
    buyer: str
    seller: str
    aggressor: str  # the taker's account


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding. facts are the measured values the rule compared with its thresholds
    (ints and strings only, so the alert serializes exactly)."""

    alert_id: str
    rule: str
    kind: Kind
    severity: Severity
    owner: str
    accounts: tuple[str, ...]
    instrument: str
    ts_us: int
    first_seq: int
    last_seq: int
    orders: tuple[OrderRef, ...]
    trades: tuple[TradeRef, ...]
    summary: str
    facts: tuple[tuple[str, int | str], ...]

    @property
    def order_ids(self) -> tuple[int, ...]:
        return tuple(sorted({o.order_id for o in self.orders}))

    @property
    def trade_ids(self) -> tuple[int, ...]:
        return tuple(sorted({t.trade_id for t in self.trades}))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (ints and strings only)."""
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "kind": str(self.kind),
            "severity": str(self.severity),
            "owner": self.owner,
            "accounts": list(self.accounts),
            "instrument": self.instrument,
            "ts_us": self.ts_us,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "orders": [_order_dict(o) for o in self.orders],
            "trades": [_trade_dict(t) for t in self.trades],
            "summary": self.summary,
            "facts": {k: v for k, v in self.facts},
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Alert:
        facts = data["facts"]
        assert isinstance(facts, dict)
        return cls(
            alert_id=str(data["alert_id"]),
            rule=str(data["rule"]),
            kind=Kind(str(data["kind"])),
            severity=Severity(str(data["severity"])),
            owner=str(data["owner"]),
            accounts=tuple(str(a) for a in _list(data["accounts"])),
            instrument=str(data["instrument"]),
            ts_us=_int(data["ts_us"]),
            first_seq=_int(data["first_seq"]),
            last_seq=_int(data["last_seq"]),
            orders=tuple(OrderRef(**_dict(o)) for o in _list(data["orders"])),
            trades=tuple(TradeRef(**_dict(t)) for t in _list(data["trades"])),
            summary=str(data["summary"]),
            facts=tuple(facts.items()),
        )


def _order_dict(o: OrderRef) -> dict[str, object]:
    return {f: getattr(o, f) for f in OrderRef.__slots__}


def _trade_dict(t: TradeRef) -> dict[str, object]:
    return {f: getattr(t, f) for f in TradeRef.__slots__}


def _list(value: object) -> list[object]:
    assert isinstance(value, list)
    return value


def _dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def alert_id(
    rule: str,
    instrument: str,
    owner: str,
    first_seq: int,
    last_seq: int,
    order_ids: tuple[int, ...],
    trade_ids: tuple[int, ...],
) -> str:
    """A digest of the evidence: the same findings always get the same id."""
    text = "|".join(
        (
            rule,
            instrument,
            owner,
            str(first_seq),
            str(last_seq),
            ",".join(map(str, sorted(set(order_ids)))),
            ",".join(map(str, sorted(set(trade_ids)))),
        )
    )
    return "SA-" + hashlib.sha256(text.encode()).hexdigest()[:20]
