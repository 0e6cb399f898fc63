"""Market surveillance over the committed event stream (runs in the journal follower).

Surveillance (monitor.py) feeds each command's events to the rules (one module each)
and returns Alerts (alerts.py); AlertQueue (workflow.py) is the analysts' review state;
str_report (report.py) exports a reviewed alert as a suspicious transaction report.
"""

from gateway.follower.surveillance.alerts import Alert, Kind, OrderRef, Severity, TradeRef
from gateway.follower.surveillance.marking import MarkParams
from gateway.follower.surveillance.monitor import Surveillance, SurveillanceConfig
from gateway.follower.surveillance.ramping import RampParams
from gateway.follower.surveillance.ratios import RatioParams
from gateway.follower.surveillance.report import ReportingEntity, str_report
from gateway.follower.surveillance.rule import PerInstrument
from gateway.follower.surveillance.spoofing import SpoofParams
from gateway.follower.surveillance.stp import StpParams
from gateway.follower.surveillance.wash import WashParams
from gateway.follower.surveillance.workflow import (
    AlertCase,
    AlertQueue,
    AlertState,
    Note,
    WorkflowError,
)

__all__ = [
    "Alert",
    "AlertCase",
    "AlertQueue",
    "AlertState",
    "Kind",
    "MarkParams",
    "Note",
    "OrderRef",
    "PerInstrument",
    "RampParams",
    "RatioParams",
    "ReportingEntity",
    "Severity",
    "SpoofParams",
    "StpParams",
    "Surveillance",
    "SurveillanceConfig",
    "TradeRef",
    "WashParams",
    "WorkflowError",
    "str_report",
]
