"""FIXT.1.1 sessions with FIX 5.0 SP2 application messages: the transport + application
dictionary pair, DefaultApplVerID (1137) on Logon and ApplVerID (1128) on application
messages. The session behaviours shared with FIX 4.4 run through the FIX44_AND_FIXT
parametrization of the socket tests."""

from __future__ import annotations

import pytest

from gateway.fix.codec import FieldValue, FixMessage, FrameReader, build_message
from gateway.fix.dictionary import load_dictionary
from gateway.fix.settings import FIXT11, SessionSettings
from tests.fix.conftest import CLIENT, GATEWAY, Harness, now_ts
from tests.fix.test_dictionary_rejects import NOS

fixt = pytest.mark.parametrize("harness", [FIXT11], indirect=True)


def _parse(msg_type: str, fields: list[tuple[int, FieldValue]]) -> FixMessage:
    raw = build_message(
        FIXT11, [(35, msg_type), (49, CLIENT), (56, GATEWAY), (34, 2), (52, now_ts()), *fields]
    )
    [msg] = FrameReader().feed(raw)
    assert isinstance(msg, FixMessage)
    return msg


# -- dictionary ----------------------------------------------------------------------


def test_fixt_dictionary_is_transport_plus_application() -> None:
    """FIXT11.xml gives the header, trailer and session messages, FIX50SP2.xml the
    application messages (with the venue's custom tags)."""
    d = load_dictionary(FIXT11)
    assert d.begin_string == FIXT11
    assert d.is_admin("A") and 1137 in d.messages["A"].required
    assert not d.is_admin("D") and 7928 in d.messages["D"].fields
    assert 1128 in d.header.fields  # ApplVerID, a FIXT header field
    assert d.fields[1128].values is not None and b"10" not in d.fields[1128].values
    assert 7929 in d.messages["W"].fields and 779 in d.messages["W"].required
    assert d is load_dictionary(FIXT11, appl_ver_id="9")  # cached
    with pytest.raises(ValueError, match="ApplVerID '8'"):
        load_dictionary(FIXT11, appl_ver_id="8")


def test_fixt_dictionary_validates_through_cached_plans() -> None:
    """The fast path (cached plan per message shape) works on the merged dictionary:
    a shape seen valid is checked by its plan, and a bad value in that shape still gets
    the full check's answer."""
    d = load_dictionary(FIXT11)
    header: list[tuple[int, FieldValue]] = [(1128, "9")]
    ok = _parse("D", [*header, *NOS, (7928, 1)])
    assert d.validate(ok) is None
    key = ("D", tuple(t for t, _ in ok.fields))
    assert key in d._plans
    assert d.validate(_parse("D", [*header, *NOS, (7928, 1)])) is None
    bad = d.validate(_parse("D", [(1128, "9"), *NOS[:2], (54, "Z"), *NOS[3:], (7928, 1)]))
    assert bad is not None and (bad.reason, bad.ref_tag) == (5, 54)
    bad = d.validate(_parse("D", [(1128, "X"), *NOS, (7928, 1)]))
    assert bad is not None and (bad.reason, bad.ref_tag) == (5, 1128)
    logon = d.validate(_parse("A", [(98, 0), (108, 30)]))
    assert logon is not None and (logon.reason, logon.ref_tag) == (1, 1137)


def test_fixt_settings() -> None:
    s = SessionSettings(target_comp_id=CLIENT, begin_string=FIXT11)
    assert s.fixt and s.default_appl_ver_id == "9"
    assert not SessionSettings(target_comp_id=CLIENT).fixt
    with pytest.raises(ValueError, match="default_appl_ver_id '8' not supported"):
        SessionSettings(target_comp_id=CLIENT, begin_string=FIXT11, default_appl_ver_id="8")


# -- session ---------------------------------------------------------------------------


@fixt
async def test_fixt_logon_answer_carries_default_appl_ver_id(harness: Harness) -> None:
    await harness.start()
    c = await harness.connect()
    resp = await c.logon([(789, 1)])
    assert (resp.get(8), resp.get(1137), resp.get(789)) == (b"FIXT.1.1", b"9", b"2")
    assert load_dictionary(FIXT11).validate(resp.to_fix_message()) is None


@fixt
@pytest.mark.parametrize(
    ("appl_ver", "text"),
    [
        pytest.param((), b"Logon rejected: Required tag missing (tag 1137)", id="missing"),
        pytest.param(
            ((1137, "7"),), b"DefaultApplVerID(1137) must be 9 (FIX50SP2), got 7", id="wrong"
        ),
    ],
)
async def test_fixt_logon_without_supported_default_appl_ver_id_refused(
    harness: Harness, appl_ver: tuple[tuple[int, FieldValue], ...], text: bytes
) -> None:
    """A Logon without DefaultApplVerID(1137)=9 gets Logout with the reason and a
    disconnect; even with 141=Y the stored sequence numbers are untouched (only the
    Logout uses our next number)."""
    sess = await harness.log_on_and_out()
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30), (141, "Y"), *appl_ver], seq=1)
    lo = await c.expect("5")
    assert (lo.get(58), lo.get(34)) == (text, b"3")
    await c.expect_closed()
    assert (sess.next_sender_seq, sess.next_target_seq) == (4, 3)
    assert len(harness.app.logons) == 1


@fixt
async def test_fixt_appl_ver_id_on_application_message(harness: Harness) -> None:
    """ApplVerID(1128) on an application message: 9 is accepted, another defined value
    is Reject 373=18 (FIXT's Invalid/Unsupported Application Version) 371=1128 with the
    reason, an undefined one the dictionary's Reject (373=5);
    the sequence number is consumed and the session goes on."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("D", NOS, header=[(1128, "9")])
    assert (await c.expect("8")).get(11) == b"C1"
    await c.send("D", NOS, header=[(1128, "8")])
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(372), rj.get(373), rj.get(371)) == (b"3", b"D", b"18", b"1128")
    assert rj.get(58) == b"ApplVerID(1128) must be 9 (FIX50SP2), got 8"
    await c.send("D", NOS, header=[(1128, "X")])
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(373), rj.get(371)) == (b"4", b"5", b"1128")
    assert rj.get(58) == b"Value is incorrect (out of range) for this tag"
    assert len(harness.app.messages) == 1
    await c.send("1", [(112, "alive")], header=[(1128, "8")])  # admin: 1128 not checked
    assert (await c.expect("0")).get(112) == b"alive"


@fixt
async def test_fixt_mid_session_reset_logon_with_wrong_appl_ver_rejected(
    harness: Harness,
) -> None:
    """A 141=Y Logon while logged on with DefaultApplVerID other than 9: Reject
    373=18 371=1137, nothing reset."""
    await harness.start()
    c = await harness.connect()
    await c.logon()
    await c.send("A", [(98, 0), (108, 30), (141, "Y"), (1137, "8")], seq=1)
    rj = await c.expect("3")
    assert (rj.get(45), rj.get(373), rj.get(371)) == (b"1", b"18", b"1137")
    sess = harness.session()
    assert (sess.next_sender_seq, sess.next_target_seq) == (3, 2)
    await c.send("1", [(112, "still-on")], seq=2)
    assert (await c.expect("0")).get(112) == b"still-on"


@fixt
async def test_fixt_logon_with_length_prefixed_data_containing_soh(harness: Harness) -> None:
    """EncryptedPassword (1402, length in 1401) is a FIXT.1.1 DATA field and may hold
    SOH bytes: the acceptor frames with every loaded dictionary's DATA fields, so the
    Logon is parsed (and answered), not dropped as garbled."""
    await harness.start()
    c = await harness.connect()
    resp = await c.logon([(1401, 5), (1402, b"a\x01b\x01c")])
    assert (resp.get(35), resp.get(1137)) == (b"A", b"9")
