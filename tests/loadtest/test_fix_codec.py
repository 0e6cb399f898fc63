"""FIX codec pieces of the harness, checked against simplefix, and the FIX client."""

from __future__ import annotations

import asyncio

import pytest
import simplefix
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loadtest.fix_client import FixClient, FixError, FixSessionConfig
from loadtest.fixproto import Template, encode, frame, parse, sending_time
from loadtest.null_acceptor import start_null_fix
from loadtest.stats import SessionStats


def _simplefix_parse(raw: bytes) -> simplefix.FixMessage:
    p = simplefix.FixParser()
    p.append_buffer(raw)
    msg = p.get_message()
    assert msg is not None
    return msg


def test_template_renders_valid_fix_that_simplefix_reads() -> None:
    t = Template(
        b"FIX.4.4",
        [
            (35, b"D"),
            (49, "CLIENT1"),
            (56, "GATEWAY"),
            (34, None),
            (52, None),
            (11, None),
            (55, "BTC-USD"),
            (54, None),
            (38, None),
            (40, b"2"),
            (44, None),
        ],
    )
    st = sending_time()
    raw = t.render(42, st, b"ord-1", b"1", b"0.0010", b"50000.01")
    # checksum and body length are right: rebuild with simplefix and compare bytes
    ref = simplefix.FixMessage()
    ref.append_pair(8, "FIX.4.4")
    for tag, val in [
        (35, "D"),
        (49, "CLIENT1"),
        (56, "GATEWAY"),
        (34, "42"),
        (52, st.decode()),
        (11, "ord-1"),
        (55, "BTC-USD"),
        (54, "1"),
        (38, "0.0010"),
        (40, "2"),
        (44, "50000.01"),
    ]:
        ref.append_pair(tag, val)
    assert raw == ref.encode()
    msg = _simplefix_parse(raw)
    assert msg.get(11) == b"ord-1"
    assert msg.get(44) == b"50000.01"


def test_percent_signs_in_constants_survive() -> None:
    t = Template(b"FIX.4.4", [(35, b"D"), (58, "100% sure"), (11, None)])
    assert parse(t.render(b"x"))[b"58"] == b"100% sure"


def test_frame_handles_split_and_coalesced_messages() -> None:
    a = encode(b"FIX.4.4", [(35, b"0"), (34, 1)])
    b = encode(b"FIX.4.4", [(35, b"8"), (34, 2), (11, b"abc")])
    buf = bytearray(b"garbage" + a + b[:10])
    got = frame(buf)
    assert got == [a]
    buf += b[10:]
    assert frame(buf) == [b]
    assert buf == bytearray()
    assert parse(b)[b"11"] == b"abc"


def test_frame_yields_the_same_messages_wherever_a_read_is_cut() -> None:
    """A stream cut into two reads at any byte (under load, reads end where the
    socket buffer did, not at message ends) frames into the same messages. A cut
    just after the "8" of "8=FIX" once made the framer drop that "8", lose the
    message and report an inbound sequence gap the gateway never made."""
    msgs = [
        encode(b"FIX.4.4", [(35, b"8"), (34, n), (11, b"c%d" % n), (38, b"5")]) for n in (1, 2, 3)
    ]
    stream = b"".join(msgs)
    for cut in range(len(stream) + 1):
        buf = bytearray(stream[:cut])
        got = frame(buf)
        buf += stream[cut:]
        got += frame(buf)
        assert got == msgs, f"cut at {cut}: {stream[max(0, cut - 5) : cut]!r}|"
        assert buf == bytearray()


def test_frame_uses_body_length_so_raw_data_may_hold_soh() -> None:
    raw = encode(b"FIX.4.4", [(35, b"A"), (95, 5), (96, b"a\x01b=c"), (34, 1)])
    buf = bytearray(raw + raw)
    assert frame(buf) == [raw, raw]


async def _logon(cfg: FixSessionConfig) -> tuple[FixClient, SessionStats]:
    st = SessionStats("t", "fix-orders", primary="order_ack")
    c = FixClient(cfg, st)
    await c.connect()
    return c, st


async def test_ed25519_logon_is_verified_by_the_null_acceptor() -> None:
    key = Ed25519PrivateKey.generate()
    acc = await start_null_fix(verify_key=key.public_key())
    try:
        c, _st = await _logon(FixSessionConfig(port=acc.port, ed25519_key=key, key_id="k1"))
        assert c.logged_on
        await c.logout()
        wrong = Ed25519PrivateKey.generate()
        with pytest.raises(FixError):
            await _logon(FixSessionConfig(port=acc.port, ed25519_key=wrong, logon_timeout_s=2))
    finally:
        acc.close()


async def test_orders_cancels_replaces_are_correlated() -> None:
    acc = await start_null_fix()
    try:
        c, st = await _logon(FixSessionConfig(port=acc.port, password="pw"))
        a1 = await c.send_new(b"BTC-USD", b"1", b"49999.00", b"0.0010", 0)
        assert a1.outcome == "new"
        assert a1.clid in c.open_orders
        a2 = await c.send_replace(a1.clid, b"BTC-USD", b"1", b"49998.00", b"0.0020", 0)
        assert a2.outcome == "replaced"
        assert a1.clid not in c.open_orders
        assert a2.clid in c.open_orders
        a3 = await c.send_cancel(a2.clid, b"BTC-USD", b"1", 0)
        assert a3.outcome == "canceled"
        assert c.open_orders == {}
        futs = [c.send_new(b"BTC-USD", b"2", b"50001.00", b"0.0001", 0) for _ in range(100)]
        await asyncio.gather(*futs)
        assert st.counts["ack.new"] == 101
        assert st.hist("order_ack").count == 101
        assert st.hist("cancel_ack").count == 1
        assert st.hist("replace_ack").count == 1
        assert not st.errors
        assert acc.counts["D"] == 101
        await c.logout()
    finally:
        acc.close()


async def test_an_inbound_gap_is_counted_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    stats = SessionStats("gap", "fix-orders")
    client = FixClient(FixSessionConfig(), stats)
    for seq in (1, 2, 5):
        client._on_message({b"35": b"0", b"34": b"%d" % seq}, 0)
    assert stats.errors["inbound sequence gap"] == 1
    assert "MsgSeqNum 3 expected, 5 received (MsgType 0)" in capsys.readouterr().err
