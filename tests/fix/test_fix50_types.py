"""FIX 5.0 SP2 field types with a format of their own (TZTimestamp, TZTimeOnly,
LocalMktTime, LocalMktDate, TagNum, MultipleCharValue, MultipleStringValue) and the
ranges of the date/time types: a value in the wrong format is SessionRejectReason 6
(Incorrect data format for value) with RefTagID, over the full check and the cached
per-shape plans alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fix.codec import FieldValue
from gateway.fix.dictionary import REJECT_TEXTS, DataDictionary, FieldDef, load_dictionary
from gateway.fix.settings import FIXT11
from tests.fix.conftest import Harness
from tests.fix.test_dictionary_rejects import NOS

fixt = pytest.mark.parametrize("harness", [FIXT11], indirect=True)

# One field of each type, in FIX50SP2.xml (none of them enumerated).
TZTIMESTAMP = 1132  # TZTransactTime, TradeCaptureReport (AE)
TZTIMEONLY = 1079  # MaturityTime, Instrument
LOCALMKTTIME = 41235  # PricingTime, NewOrderSingle
LOCALMKTDATE = 64  # SettlDate, NewOrderSingle
TAGNUM = 1626  # MatchAttribTagID, NoMatchInst (1624) group
MULTIPLECHARVALUE = 1308  # ExecInstValue
MULTIPLESTRINGVALUE = 1035  # DeskOrderHandlingInst
UTCDATEONLY = 1492  # ComplexEventStartDate
UTCTIMEONLY = 1495  # ComplexEventStartTime
MONTHYEAR = 200  # MaturityMonthYear

VALID: list[tuple[int, bytes]] = [
    (TZTIMESTAMP, b"20060901-07:39Z"),
    (TZTIMESTAMP, b"20060901-02:39-05"),
    (TZTIMESTAMP, b"20060901-15:39+08"),
    (TZTIMESTAMP, b"20060901-13:09+05:30"),
    (TZTIMESTAMP, b"20060901-13:09"),
    (TZTIMESTAMP, b"20060901-13:09:30"),
    (TZTIMESTAMP, b"20060901-13:09:30.123456789-14:00"),
    (TZTIMESTAMP, b"20161231-23:59:60Z"),  # leap second, as UTCTimestamp
    (TZTIMEONLY, b"07:39Z"),
    (TZTIMEONLY, b"02:39-05"),
    (TZTIMEONLY, b"13:09+05:30"),
    (TZTIMEONLY, b"00:00"),
    (TZTIMEONLY, b"23:59:59"),
    (TZTIMEONLY, b"23:59:59.5+14"),
    (LOCALMKTTIME, b"09:30:00"),
    (LOCALMKTTIME, b"16:00:00.250"),
    (LOCALMKTDATE, b"20240229"),
    (LOCALMKTDATE, b"20241231"),
    (TAGNUM, b"1"),
    (TAGNUM, b"7928"),
    (MULTIPLECHARVALUE, b"A"),
    (MULTIPLECHARVALUE, b"A B 6"),
    (MULTIPLESTRINGVALUE, b"ADD"),
    (MULTIPLESTRINGVALUE, b"ADD BAS DNR"),
    (UTCDATEONLY, b"20240101"),
    (UTCTIMEONLY, b"12:00:00.000"),
    (MONTHYEAR, b"202412"),
    (MONTHYEAR, b"20241231"),
    (MONTHYEAR, b"202412w5"),
]

INVALID: list[tuple[int, bytes]] = [
    (TZTIMESTAMP, b"20060901"),  # no time
    (TZTIMESTAMP, b"20060901 07:39Z"),  # not '-'
    (TZTIMESTAMP, b"2006-09-01-07:39Z"),
    (TZTIMESTAMP, b"20061301-07:39Z"),  # month 13
    (TZTIMESTAMP, b"20060900-07:39Z"),  # day 0
    (TZTIMESTAMP, b"20060932-07:39Z"),  # day 32
    (TZTIMESTAMP, b"20060901-24:00Z"),  # hour 24
    (TZTIMESTAMP, b"20060901-07:60Z"),  # minute 60
    (TZTIMESTAMP, b"20060901-07:39:61Z"),  # second 61
    (TZTIMESTAMP, b"20060901-07:39:5Z"),  # one-digit second
    (TZTIMESTAMP, b"20060901-07:39:00.Z"),  # '.' without digits
    (TZTIMESTAMP, b"20060901-07:39:00.1234567890Z"),  # 10 fraction digits
    (TZTIMESTAMP, b"20060901-07:39.5Z"),  # fraction without seconds
    (TZTIMESTAMP, b"20060901-07:39z"),
    (TZTIMESTAMP, b"20060901-07:39+5"),  # one-digit offset hour
    (TZTIMESTAMP, b"20060901-07:39+15"),  # offset beyond +14
    (TZTIMESTAMP, b"20060901-07:39+05:60"),
    (TZTIMESTAMP, b"20060901-07:39+0530"),
    (TZTIMESTAMP, b"20060901-07:39Z+01"),
    (TZTIMEONLY, b"7:39"),
    (TZTIMEONLY, b"07"),
    (TZTIMEONLY, b"25:00"),
    (TZTIMEONLY, b"07:39:00:00"),
    (TZTIMEONLY, b"07:39 Z"),
    (TZTIMEONLY, b"20060901-07:39Z"),  # a TZTimestamp
    (LOCALMKTTIME, b"09:30"),  # seconds required
    (LOCALMKTTIME, b"09:30:00Z"),  # local time: no zone
    (LOCALMKTTIME, b"24:00:00"),
    (LOCALMKTTIME, b"09:30:00.1234567890"),
    (LOCALMKTDATE, b"2024010"),
    (LOCALMKTDATE, b"20241301"),
    (LOCALMKTDATE, b"20240001"),
    (LOCALMKTDATE, b"20240100"),
    (LOCALMKTDATE, b"2024-01-01"),
    (TAGNUM, b"0"),
    (TAGNUM, b"01"),
    (TAGNUM, b"-1"),
    (TAGNUM, b"+1"),
    (TAGNUM, b"1.0"),
    (TAGNUM, b"x"),
    (MULTIPLECHARVALUE, b"AB"),
    (MULTIPLECHARVALUE, b"A  B"),
    (MULTIPLECHARVALUE, b"A "),
    (MULTIPLECHARVALUE, b" "),
    (MULTIPLESTRINGVALUE, b"ADD  BAS"),
    (MULTIPLESTRINGVALUE, b" ADD"),
    (MULTIPLESTRINGVALUE, b"ADD "),
    (UTCDATEONLY, b"20241301"),
    (UTCTIMEONLY, b"12:60:00"),
    (MONTHYEAR, b"202413"),
    (MONTHYEAR, b"20241232"),
    (MONTHYEAR, b"202412w6"),
]


def _id(case: tuple[int, bytes]) -> str:
    tag, value = case
    return f"{load_dictionary(FIXT11).fields[tag].type}-{value.decode()}"


def test_the_fields_have_the_types_under_test() -> None:
    d = load_dictionary(FIXT11)
    types = {
        TZTIMESTAMP: "TZTIMESTAMP",
        TZTIMEONLY: "TZTIMEONLY",
        LOCALMKTTIME: "LOCALMKTTIME",
        LOCALMKTDATE: "LOCALMKTDATE",
        TAGNUM: "TAGNUM",
        MULTIPLECHARVALUE: "MULTIPLECHARVALUE",
        MULTIPLESTRINGVALUE: "MULTIPLESTRINGVALUE",
        UTCDATEONLY: "UTCDATEONLY",
        UTCTIMEONLY: "UTCTIMEONLY",
        MONTHYEAR: "MONTHYEAR",
    }
    for tag, type_ in types.items():
        assert (d.fields[tag].type, d.fields[tag].values) == (type_, None)


@pytest.mark.parametrize("case", VALID, ids=_id)
def test_valid_values_pass_full_and_fast_checks(case: tuple[int, bytes]) -> None:
    d = load_dictionary(FIXT11)
    tag, value = case
    assert d.check_value(tag, value) is None
    check = d._check_for(tag)
    assert check is not None and check(value)  # the cached plan passes it too


@pytest.mark.parametrize("case", INVALID, ids=_id)
def test_invalid_values_are_reason_6_in_full_and_fast_checks(case: tuple[int, bytes]) -> None:
    d = load_dictionary(FIXT11)
    tag, value = case
    rej = d.check_value(tag, value)
    assert rej is not None and (rej.reason, rej.ref_tag) == (6, tag)
    check = d._check_for(tag)
    assert check is not None and not check(value)


def test_enumerated_multiple_char_value_format_before_enumeration() -> None:
    """ExecInst (18) is an enumerated MultipleCharValue in FIX 5.0 SP2: values of the
    enumeration one space apart pass; a multi-character item is a format error (6), a
    well-formed item outside the enumeration is out of range (5)."""
    d = load_dictionary(FIXT11)
    assert d.check_value(18, b"6 A") is None
    rej = d.check_value(18, b"6A")
    assert rej is not None and (rej.reason, rej.ref_tag) == (6, 18)
    rej = d.check_value(18, b"6 !")
    assert rej is not None and (rej.reason, rej.ref_tag) == (5, 18)


# -- the fast (cached) checks are never looser than the full check -------------------------


def _representatives(d: DataDictionary) -> list[FieldDef]:
    """One field per (type, enumerated or not): the per-tag checks depend on nothing else
    (CHAR fields with only one-character values aside, covered by the first one)."""
    seen: dict[tuple[str, bool], FieldDef] = {}
    for fd in d.fields.values():
        seen.setdefault((fd.type, fd.values is not None), fd)
    return list(seen.values())


_DICTS = (FIXT11, "FIX.4.4", "FIX.4.2")
_date = st.from_regex(rb"\A\d{8}\Z")
_time = st.from_regex(rb"\A\d{1,2}:\d{1,2}(:\d{1,2}(\.\d{0,10})?)?\Z")
_zone = st.from_regex(rb"\A(Z|z|[+-]\d{1,2}(:\d{1,2})?)?\Z")
_timeish = st.one_of(
    st.tuples(_time, _zone).map(b"".join),
    st.tuples(_date, st.just(b"-"), _time, _zone).map(b"".join),
    _date,
    st.text(alphabet="0123456789:.-+Z w", max_size=24).map(str.encode),
    st.binary(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(_timeish)
def test_fast_value_checks_are_never_looser_than_the_full_check_all_types(value: bytes) -> None:
    """Extends the numeric-only property of test_dictionary_rejects to every type of every
    dictionary (FIXT.1.1 + FIX 5.0 SP2, FIX 4.4, FIX 4.2), with values shaped like the
    date/time/tag types: a cached check that passes a value implies the full check does."""
    for begin_string in _DICTS:
        d = load_dictionary(begin_string)
        for fd in _representatives(d):
            check = d._check_for(fd.number)
            if check is None or check(value):
                assert d.check_value(fd.number, value) is None, (begin_string, fd.type, value)


# -- over a real socket, FIXT.1.1 ------------------------------------------------------------

_EXTRA: list[tuple[int, FieldValue]] = [
    (TZTIMEONLY, "09:30+05:30"),
    (LOCALMKTTIME, "16:00:00"),
    (LOCALMKTDATE, "20240102"),
]


def _order(tag: int = 0, value: FieldValue = "") -> list[tuple[int, FieldValue]]:
    """NOS plus the fields of _EXTRA, ``tag`` (if one of them) set to ``value``."""
    return [*NOS, *((t, value if t == tag else v) for t, v in _EXTRA)]


@fixt
@pytest.mark.parametrize(
    ("tag", "bad"),
    [
        pytest.param(TZTIMEONLY, "25:00", id="TZTIMEONLY"),
        pytest.param(TZTIMEONLY, "09:30+5", id="TZTIMEONLY-offset"),
        pytest.param(LOCALMKTTIME, "16:00", id="LOCALMKTTIME"),
        pytest.param(LOCALMKTDATE, "20241301", id="LOCALMKTDATE-month-13"),
    ],
)
async def test_bad_format_in_new_order_single_rejected_over_socket(
    harness: Harness, tag: int, bad: str
) -> None:
    """A NewOrderSingle with valid TZTimeOnly/LocalMktTime/LocalMktDate fields is
    accepted (and its shape cached); the same shape with one of them badly formatted is
    Reject 373=6 with 371 = that tag, the sequence number consumed, the session going on."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", _order())  # seq 2: all valid
    assert (await c.expect("8")).get(11) == b"C1"
    await c.send("D", _order(tag, bad))  # seq 3: the cached plan refuses, the full check says
    rj = await c.expect("3")
    assert (rj.get_int(45), rj.get(372), rj.get_int(373), rj.get_int(371)) == (3, b"D", 6, tag)
    assert rj.get_str(58) == REJECT_TEXTS[6]
    assert len(harness.app.messages) == 1
    await c.send("1", [(112, "alive")])  # seq 4
    assert (await c.expect("0")).get(112) == b"alive"


@fixt
async def test_bad_tagnum_in_group_rejected_over_socket(harness: Harness) -> None:
    """TagNum MatchAttribTagID (1626) inside the NoMatchInst (1624) group of a
    NewOrderSingle: a tag number is accepted, a leading zero is Reject 373=6 371=1626."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", [*NOS, (1624, 1), (1625, 1), (1626, 55), (1627, "x")])
    assert (await c.expect("8")).get(11) == b"C1"
    await c.send("D", [*NOS, (1624, 1), (1625, 1), (1626, "055"), (1627, "x")])
    rj = await c.expect("3")
    assert (rj.get_int(45), rj.get_int(373), rj.get_int(371)) == (3, 6, TAGNUM)


@fixt
async def test_bad_tztimestamp_rejected_before_the_role_check(harness: Harness) -> None:
    """TZTransactTime (1132, TZTimestamp) on a TradeCaptureReport (AE, not accepted on an
    order-entry session): validation comes first, so a bad value is Reject 373=6
    371=1132, a good one the BusinessMessageReject for the unsupported message type."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("AE", [(TZTIMESTAMP, "20240101-12:00:00.000+01:00")])
    bmr = await c.expect("j")
    assert (bmr.get_int(45), bmr.get_int(380)) == (2, 3)
    await c.send("AE", [(TZTIMESTAMP, "20240101-12:00:00.000+1")])
    rj = await c.expect("3")
    assert (rj.get_int(45), rj.get(372), rj.get_int(373), rj.get_int(371)) == (3, b"AE", 6, 1132)
