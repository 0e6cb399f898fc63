"""Export an alert as a suspicious transaction and order report (STOR).

The shape follows the MiCA template's parts: the reporting entity, the instrument, the
orders and transactions (time, side, price, quantity, venue), the persons involved and
the reasons for suspicion. Every field is {"value": ...} or {"not_applicable": reason}:
nothing is left silently empty. The report is confidential: it is never shown to the
persons it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from engine.model import Instrument, Side
from gateway.follower.surveillance.alerts import Alert
from gateway.follower.surveillance.workflow import AlertCase, AlertState, WorkflowError

__all__ = ["ENTITY_FIELDS", "ReportingEntity", "str_report"]

Field = dict[str, object]
ENTITY_FIELDS = ("name", "lei", "address", "capacity", "contact")
_EXPORTABLE = (AlertState.ESCALATED, AlertState.REPORTED)


@dataclass(frozen=True)
class ReportingEntity:
    """Who files the report (venue config). An empty field must have its reason in
    not_applicable (e.g. lei: "no LEI issued yet, application pending")."""

    name: str
    lei: str
    address: str
    capacity: str  # e.g. "operator of a trading platform for crypto-assets"
    contact: str
    venue: str  # the venue's name or MIC, as the orders' place of execution
    not_applicable: Mapping[str, str] = field(default_factory=dict)


def _value(v: object) -> Field:
    return {"value": v}


def _na(reason: str) -> Field:
    return {"not_applicable": reason}


def _time(ts_us: int) -> str:
    return (
        datetime.fromtimestamp(ts_us // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{ts_us % 1_000_000:06d}Z"
    )


def _side(side: int) -> Field:
    if side == Side.BUY:
        return _value("buy")
    if side == Side.SELL:
        return _value("sell")
    return _na("the order had left the book before the evidence was taken")


class _Grid:
    def __init__(self, instrument: Instrument | None) -> None:
        self.instrument = instrument

    def price(self, ticks: int) -> Field:
        if not ticks:
            return _na("a market order has no limit price")
        if self.instrument is None:
            return _value(f"{ticks} ticks")
        return _value(self.instrument.ticks_to_price(ticks))

    def qty(self, lots: int) -> Field:
        if self.instrument is None:
            return _value(f"{lots} lots")
        return _value(self.instrument.lots_to_qty(lots))


def _entity(entity: ReportingEntity) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for name in ENTITY_FIELDS:
        value = getattr(entity, name)
        if value:
            out[name] = _value(value)
        elif entity.not_applicable.get(name):
            out[name] = _na(entity.not_applicable[name])
        else:
            raise ValueError(f"reporting entity {name} is neither set nor marked not applicable")
    return out


def _orders(alert: Alert, grid: _Grid, venue: str) -> Field:
    if not alert.orders:
        return _na(
            f"the {alert.rule} rule rests on counts, not on single orders: every order of "
            f"{', '.join(alert.accounts)} on {alert.instrument} in seq "
            f"{alert.first_seq}..{alert.last_seq} of the journal"
        )
    return _value(
        [
            {
                "order_id": _value(o.order_id),
                "account": _value(o.account),
                "event": _value(o.action),
                "time": _value(_time(o.ts_us)),
                "side": _side(o.side),
                "price": grid.price(o.price),
                "quantity": grid.qty(o.qty),
                "filled_quantity": grid.qty(o.filled),
                "venue": _value(venue),
                "journal_seq": _value(o.seq),
            }
            for o in alert.orders
        ]
    )


def _transactions(alert: Alert, grid: _Grid, venue: str) -> Field:
    if not alert.trades:
        return _na(f"the {alert.rule} rule found orders that did not trade")
    return _value(
        [
            {
                "trade_id": _value(t.trade_id),
                "time": _value(_time(t.ts_us)),
                "buyer": _value(t.buyer),
                "seller": _value(t.seller),
                "aggressor_side": _value("buy" if t.aggressor == t.buyer else "sell"),
                "price": grid.price(t.price),
                "quantity": grid.qty(t.qty),
                "venue": _value(venue),
                "journal_seq": _value(t.seq),
            }
            for t in alert.trades
        ]
    )


def _persons(alert: Alert, identities: Mapping[str, str]) -> Field:
    persons = []
    for account in alert.accounts:
        identity = identities.get(account)
        persons.append(
            {
                "account": _value(account),
                "beneficial_owner": _value(alert.owner),
                "identity": _value(identity)
                if identity
                else _na("identity is held in the KYC records of the account's tenant"),
            }
        )
    return _value(persons)


def str_report(
    case: AlertCase,
    entity: ReportingEntity,
    *,
    generated_at_us: int,
    instruments: Mapping[str, Instrument] | None = None,
    identities: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The report for an escalated or reported alert (JSON-ready). instruments renders
    prices and quantities as decimals; identities maps accounts to the persons' names."""
    if case.state not in _EXPORTABLE:
        raise WorkflowError(
            f"alert {case.alert.alert_id} is {case.state}: only an escalated or reported "
            "alert is exported as a report"
        )
    alert = case.alert
    instrument = (instruments or {}).get(alert.instrument)
    grid = _Grid(instrument)
    return {
        "report_type": "STOR",
        "report_id": "STR-" + alert.alert_id.removeprefix("SA-"),
        "alert_id": alert.alert_id,
        "generated_at": _time(generated_at_us),
        "confidential": True,
        "reporting_entity": _entity(entity),
        "instrument": {
            "symbol": _value(alert.instrument),
            "base_asset": _value(instrument.base)
            if instrument
            else _na("instrument grid not supplied to the export"),
            "quote_asset": _value(instrument.quote)
            if instrument
            else _na("instrument grid not supplied to the export"),
        },
        "orders": _orders(alert, grid, entity.venue),
        "transactions": _transactions(alert, grid, entity.venue),
        "persons": _persons(alert, identities or {}),
        "suspicion": {
            "typology": _value(alert.rule),
            "kind": _value(str(alert.kind)),
            "severity": _value(str(alert.severity)),
            "description": _value(alert.summary),
            "measurements": _value(dict(alert.facts)),
            "journal_seq_range": _value([alert.first_seq, alert.last_seq]),
            "analyst_notes": _value(
                [
                    {"actor": n.actor, "time": _time(n.at_us), "step": str(n.to_state),
                     "note": n.text}
                    for n in case.notes
                ]
            ),
        },
    }  # fmt: skip
