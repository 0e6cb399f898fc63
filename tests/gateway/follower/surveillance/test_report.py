"""The suspicious transaction report export: every field filled or not applicable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.model import Instrument
from gateway.follower.surveillance import (
    AlertQueue,
    PerInstrument,
    RatioParams,
    ReportingEntity,
    SurveillanceConfig,
    WorkflowError,
    str_report,
)
from tests.gateway.follower.surveillance.floor import BUY, S_US, SELL, Floor, usd

ENTITY = ReportingEntity(
    name="Example Venue Ltd",
    lei="",
    address="1 Market Street, Dublin",
    capacity="operator of a trading platform for crypto-assets",
    contact="mlro@example.test",
    venue="EXAMPLE",
    not_applicable={"lei": "LEI application pending"},
)
GRID = {"BTC-USD": Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.01")}


def escalated(floor: Floor) -> AlertQueue:
    queue = AlertQueue()
    [alert] = floor.alerts
    queue.add(alert)
    queue.move(alert.alert_id, "in_review", actor="ana", text="reviewing", at_us=1)
    queue.move(alert.alert_id, "escalated", actor="ana", text="report it", at_us=2)
    return queue


def spoofed() -> Floor:
    floor = Floor()
    floor.open("M", "S", "B")
    floor.limit("M", BUY, usd(49_990), 5)
    bait = floor.limit("S", BUY, usd(49_995), 100)
    floor.cross("S", "B", BUY, usd(50_005), 10)
    floor.later(S_US)
    floor.cancel("S", bait)
    return floor


def leaves(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every field of the report (a dict holding value or not_applicable)."""
    if isinstance(node, dict) and ("value" in node or "not_applicable" in node):
        out = [(path, node)]
        if isinstance(node.get("value"), list):
            for i, item in enumerate(node["value"]):
                out += leaves(item, f"{path}[{i}]")
        return out
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in leaves(v, f"{path}.{k}")]
    return []


def test_the_report_has_every_field_of_the_template() -> None:
    queue = escalated(spoofed())
    [case] = queue.cases.values()
    report = str_report(case, ENTITY, generated_at_us=86_400_000_000, instruments=GRID)
    json.dumps(report)
    assert report["confidential"] is True
    assert set(report["reporting_entity"]) == {"name", "lei", "address", "capacity", "contact"}
    assert report["reporting_entity"]["lei"] == {"not_applicable": "LEI application pending"}
    assert report["instrument"]["symbol"] == {"value": "BTC-USD"}
    orders = report["orders"]["value"]
    assert {"time", "side", "price", "quantity", "venue"} <= set(orders[0])
    assert orders[0]["price"] == {"value": "49995"}
    assert orders[0]["quantity"] == {"value": "1"}  # 100 lots of 0.01 BTC
    assert orders[0]["time"]["value"].endswith("Z")
    [trade] = report["transactions"]["value"]
    assert (trade["seller"], trade["venue"]) == ({"value": "S"}, {"value": "EXAMPLE"})
    assert report["persons"]["value"][0]["account"] == {"value": "S"}
    assert report["suspicion"]["typology"] == {"value": "spoofing_layering"}
    assert [n["note"] for n in report["suspicion"]["analyst_notes"]["value"]] == [
        "reviewing",
        "report it",
    ]
    for path, field in leaves(report):
        assert ("value" in field) != ("not_applicable" in field), path
        if "not_applicable" in field:
            assert field["not_applicable"], path
        else:
            assert field["value"] not in ("", None, []), path


def test_a_ratio_alert_marks_orders_and_trades_not_applicable_with_why() -> None:
    config = SurveillanceConfig(
        ratios=PerInstrument(RatioParams(window_us=60 * S_US, min_orders=3))
    )
    floor = Floor(config, start_us=0)
    floor.open("A")
    for n in range(3):
        floor.cancel("A", floor.limit("A", SELL, usd(50_000) + n, 1))
    floor.at(61 * S_US)
    floor.tick()
    queue = escalated(floor)
    [case] = queue.cases.values()
    report = str_report(case, ENTITY, generated_at_us=0)
    assert "seq" in report["orders"]["not_applicable"]
    assert report["transactions"]["not_applicable"]
    assert report["instrument"]["base_asset"]["not_applicable"]


def test_an_unset_entity_field_without_a_reason_is_refused() -> None:
    queue = escalated(spoofed())
    [case] = queue.cases.values()
    entity = ReportingEntity("Venue", "", "addr", "cap", "contact", "V")
    with pytest.raises(ValueError, match="lei is neither set nor marked not applicable"):
        str_report(case, entity, generated_at_us=0)


def test_only_escalated_or_reported_alerts_are_exported() -> None:
    queue = AlertQueue()
    [alert] = spoofed().alerts
    queue.add(alert)
    with pytest.raises(WorkflowError, match="only an escalated or reported"):
        str_report(queue.get(alert.alert_id), ENTITY, generated_at_us=0)
