"""RequestForPositions (AN) -> RequestForPositionsAck (AO), then one PositionReport
(AP) per open perpetual position of the account (fix_specs/RULES_OF_ENGAGEMENT.md).

Answers are deferred behind the acknowledgements already held (as OrderStatusRequest
answers are), so a report never shows a position older than an ExecutionReport the
client already has. Only PosReqType 0 (positions) is served; other types get an AO
with PosReqResult 4 (not supported), an account the session may not use 3.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from engine.core import Engine
from engine.perp.state import Market, Position
from gateway.fix.codec import FieldValue, FixMessage, encode_fields
from gateway.fix.session import FixSession
from gateway.fix.tags import ACCOUNT, PARTY_ID, PARTY_ROLE, SYMBOL, TEXT

__all__ = ["MT_POSITION_REPORT", "MT_REQUEST_FOR_POSITIONS", "MT_REQUEST_FOR_POSITIONS_ACK",
           "answer_positions"]  # fmt: skip

MT_REQUEST_FOR_POSITIONS: Final = "AN"
MT_REQUEST_FOR_POSITIONS_ACK: Final = "AO"
MT_POSITION_REPORT: Final = "AP"

CURRENCY: Final = 15
NO_PARTY_IDS: Final = 453
PARTY_ID_SOURCE: Final = 447
ACCOUNT_TYPE: Final = 581
NO_POSITIONS: Final = 702
POS_TYPE: Final = 703
LONG_QTY: Final = 704
SHORT_QTY: Final = 705
POS_AMT_TYPE: Final = 707
POS_AMT: Final = 708
POS_REQ_ID: Final = 710
CLEARING_BUSINESS_DATE: Final = 715
POS_MAINT_RPT_ID: Final = 721
POS_REQ_TYPE: Final = 724
TOTAL_NUM_POS_REPORTS: Final = 727
POS_REQ_RESULT: Final = 728
POS_REQ_STATUS: Final = 729
SETTL_PRICE: Final = 730
SETTL_PRICE_TYPE: Final = 731
PRIOR_SETTL_PRICE: Final = 734
NO_POS_AMT: Final = 753

_VALID, _NONE_FOUND, _NOT_AUTHORIZED, _NOT_SUPPORTED = 0, 2, 3, 4
_COMPLETED, _REJECTED = 0, 2

Fields = list[tuple[int, FieldValue]]


def answer_positions(
    engine: Engine,
    session: FixSession,
    msg: FixMessage,
    raw_account: str | None,
    report_id: Callable[[], str],
    business_date: str,
) -> None:
    """Send the AO and the APs answering ``msg`` (call it deferred); ``raw_account``:
    Account (1), else the Parties' customer account, else None (the session's first)."""
    req_id = msg.get_str(POS_REQ_ID) or ""
    account = session.settings.resolve_account(raw_account)
    symbol = msg.get_str(SYMBOL) or ""
    date = msg.get_str(CLEARING_BUSINESS_DATE) or business_date
    shown = account or raw_account or "NONE"

    def ack(result: int, status: int, total: int, text: str = "") -> None:
        fields: Fields = [
            (POS_MAINT_RPT_ID, report_id()), (POS_REQ_ID, req_id),
            (TOTAL_NUM_POS_REPORTS, total), (POS_REQ_RESULT, result), (POS_REQ_STATUS, status),
            *_parties(shown), (ACCOUNT, shown), (ACCOUNT_TYPE, 1),
        ]  # fmt: skip
        if text:
            fields.append((TEXT, text))
        session.send(MT_REQUEST_FOR_POSITIONS_ACK, encode_fields(fields))

    if msg.get(POS_REQ_TYPE) != b"0":
        ack(_NOT_SUPPORTED, _REJECTED, 0, "only PosReqType 0 (positions) is supported")
        return
    if account is None:
        ack(
            _NOT_AUTHORIZED, _REJECTED, 0, f"account {raw_account!r} is not allowed on this session"
        )
        return
    perps = engine.perps
    if symbol and symbol not in perps.markets:
        ack(_NONE_FOUND, _COMPLETED, 0, f"no perpetual {symbol!r}")
        return
    held = [p for p in perps.of_account(account) if p.size and (not symbol or p.symbol == symbol)]
    if not held:
        ack(_NONE_FOUND, _COMPLETED, 0, "no open positions")
        return
    ack(_VALID, _COMPLETED, len(held))
    for pos in held:
        market = perps.markets[pos.symbol]
        session.send(MT_POSITION_REPORT, _report(market, pos, req_id, report_id(), len(held), date))


def _report(
    market: Market, pos: Position, req_id: str, rpt_id: str, total: int, date: str
) -> bytes:
    inst = market.spec.instrument
    qpt = inst.quote_per_tick_lot
    mark = market.mark or market.index
    size = abs(pos.size)
    entry_ticks = Decimal(pos.entry) / (size * qpt)
    # the entry price: exact, rounded half to even at 4 decimals beyond the tick
    places = Decimal(1).scaleb(inst.tick_size.as_tuple().exponent - 4)  # type: ignore[operator]
    entry = (entry_ticks * inst.tick_size).quantize(places, rounding=ROUND_HALF_EVEN).normalize()
    unrealized = pos.unrealized(mark, qpt) if mark else 0
    fields: Fields = [
        (POS_MAINT_RPT_ID, rpt_id), (POS_REQ_ID, req_id), (POS_REQ_TYPE, 0),
        (TOTAL_NUM_POS_REPORTS, total), (POS_REQ_RESULT, _VALID),
        (CLEARING_BUSINESS_DATE, date), *_parties(pos.account), (ACCOUNT, pos.account),
        (ACCOUNT_TYPE, 1), (SYMBOL, pos.symbol), (CURRENCY, inst.quote),
        (SETTL_PRICE, inst.ticks_to_price(mark) if mark else "0"), (SETTL_PRICE_TYPE, 2),
        (PRIOR_SETTL_PRICE, format(entry, "f")),
        (NO_POSITIONS, 1), (POS_TYPE, "TOT"),
        (LONG_QTY, inst.lots_to_qty(size) if pos.size > 0 else "0"),
        (SHORT_QTY, inst.lots_to_qty(size) if pos.size < 0 else "0"),
        (NO_POS_AMT, 1), (POS_AMT_TYPE, "IMTM"), (POS_AMT, _amount(unrealized)),
    ]  # fmt: skip
    return encode_fields(fields)


def _amount(units: int) -> str:
    text = format((Decimal(abs(units)) / 100_000_000).normalize(), "f")
    return "-" + text if units < 0 else text


def _parties(account: str) -> Fields:
    return [(NO_PARTY_IDS, 1), (PARTY_ID, account), (PARTY_ID_SOURCE, "D"), (PARTY_ROLE, 24)]
