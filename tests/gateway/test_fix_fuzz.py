"""Fuzzing the FIX order-entry application layer over a real socket against a real App.

One logged-on order-entry session (CLIENT1) receives correctly framed application
messages (D, F, G, H, q, AF and MsgTypes the session does not take) whose body fields
are adversarial: each value valid, empty, very long, negative, zero, huge, with many
decimals, non-ASCII, with '=' inside, or of the wrong type; fields omitted, repeated,
reordered, unknown tags added. After every message (RULES_OF_ENGAGEMENT.md, 2.3, 2.10, 3):

(a) the answer is the one the rules allow for that input: Reject (3) with 45 = our
    MsgSeqNum and 373; BusinessMessageReject (j) 380=3 for a MsgType of another role;
    for D an ExecutionReport 150=0 or 150=8 (with 103 and 58); for F/G an
    ExecutionReport 150=4/150=5 or an OrderCancelReject (9); for H and AF
    ExecutionReports 150=I; for q an OrderMassCancelReport (r). Never silence: no
    rule allows it for these messages. Every message we get is valid per FIX44.xml;
(b) the session is alive: TestRequest -> Heartbeat with our TestReqID;
(c) no ERROR log record (stdlib or structlog);
(d) the gateway's MsgSeqNums are gapless and it sent nothing we did not read; the
    engine is consistent (books, holds, tracker) and every order acknowledged with
    150=0 is open in the engine or was reported closed; the journal replays to the
    engine's exact state.

Two drivers: a Hypothesis property (random combinations and structural mutations)
and a deterministic sweep (every field of every message type with every adversarial
value class, one at a time), plus regression tests for the bugs the fuzzing found.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.app import App
from gateway.fix.codec import FieldValue
from gateway.fix.dictionary import load_dictionary
from tests.fix.conftest import ClientMessage, FixClient, field_bytes, frame, now_ts
from tests.gateway.conftest import Connect
from tests.gateway.fuzz_checks import (
    LogWatch,
    check_engine,
    check_journal_replays,
    fuzz_settings,
)

DICT = load_dictionary("FIX.4.4")
ORDER_ENTRY = ("D", "F", "G", "H", "q", "AF")
#: not in FIX44.xml (Reject 373=11), or in it but for another role (j 380=3)
OTHER_TYPES = ("ZZ", "U9", "XYZ", "V", "x", "R", "8", "j", "AE")
#: SessionRejectReason values RULES_OF_ENGAGEMENT 2.10 lists for a body we send
SESSION_REASONS = {0, 1, 2, 4, 5, 6, 11, 13, 14, 15, 16}

# ------------------------------------------------------------------ values

#: valid values per field kind (the fuzz picks one; "state" kinds name live orders)
POOLS: dict[str, tuple[str, ...]] = {
    "account": ("ACC1", "ACC1", "ACC2"),  # ACC2 is valid FIX but not this session's
    "symbol": ("BTC-USD", "ETH-USD"),
    "side": ("1", "2"),
    "qty": ("0.5", "1", "0.01", "2.5", "0.0001"),
    "cash": ("100", "10.5", "0.00000001"),
    "ordtype": ("2", "2", "2", "1"),
    "price": ("50000", "49999.99", "50000.01", "50100", "49900"),
    "tif": ("1", "0", "3", "4", "6"),
    "execinst": ("6", "6 1", "1"),
    "stp": ("0", "1", "2", "3", "4"),
    "expire": ("20991231-23:59:59.000",),
    "masstype": ("1", "1", "7"),
    "statustype": ("7", "1"),
    "text": ("hello",),
    "zero": ("0",),
    "one": ("1",),
    "all": ("4",),
    "D": ("D",),
}

#: Adversarial values by class (all without SOH, so the message stays well framed).
ADVERSARIAL: dict[str, tuple[bytes, ...]] = {
    "empty": (b"",),
    "long": (b"A" * 2000, b"9" * 2000, b"0." + b"0" * 1997 + b"1", b"9" * 5000),
    "negative": (b"-1", b"-0.0001", b"-50000"),
    "zero": (b"0", b"0.000", b"000"),
    "huge": (b"1" + b"0" * 30, b"9223372036854775808", b"99999999999999999999"),
    "decimals": (b"1." + b"0" * 30 + b"1", b"50000.123456789", b"0.00000000001"),
    "non-ascii": ("é€🚀".encode(), b"\xff\xfe\x80", b"\x00\x7f"),
    "equals": (b"a=b", b"=", b"1=1=1"),
    "wrong type": (b"abc", b"1e5", b"NaN", b"Infinity", b" 1", b"1.2.3", b"Y", b"12"),
}
ALL_ADVERSARIAL = tuple(v for values in ADVERSARIAL.values() for v in values)
#: the deterministic sweep: every class, the most troublesome values of "long" and "huge"
SWEEP_VALUES = (
    *(values[0] for values in ADVERSARIAL.values()),
    b"9" * 2000,
    b"9" * 5000,
    b"9223372036854775808",
    b"\xff\xfe\x80",
)

#: (tag, kind, in the base message); the other fields are optional extras
SPECS: dict[str, tuple[tuple[int, str, bool], ...]] = {
    "D": (
        (11, "clordid", True), (1, "account", False), (55, "symbol", True),
        (54, "side", True), (60, "time", True), (38, "qty", True), (40, "ordtype", True),
        (44, "price", True), (59, "tif", False), (18, "execinst", False),
        (7928, "stp", False), (126, "expire", False), (152, "cash", False),
    ),
    "F": (
        (11, "clordid", True), (41, "orig", True), (37, "orderid", False),
        (55, "symbol", True), (54, "side", True), (60, "time", True), (1, "account", False),
    ),
    "G": (
        (11, "clordid", True), (41, "orig", True), (37, "orderid", False),
        (55, "symbol", True), (54, "side", True), (60, "time", True), (38, "qty", True),
        (40, "ordtype", True), (44, "price", True), (1, "account", False),
        (7928, "stp", False),
    ),
    "H": (
        (11, "orig", True), (37, "orderid", False), (55, "symbol", True),
        (54, "side", True), (790, "reqid", False), (1, "account", False),
    ),
    "q": (  # Account (1) is not a field of q in FIX44.xml
        (11, "clordid", True), (530, "masstype", True), (55, "symbol", True),
        (60, "time", True),
    ),
    "AF": (
        (584, "reqid", True), (585, "statustype", True), (55, "symbol", False),
        (1, "account", False),
    ),
    # valid messages of the market-data role: BusinessMessageReject 380=3 here
    "x": ((320, "reqid", True), (559, "all", True)),
    "V": (
        (262, "reqid", True), (263, "zero", True), (264, "zero", True), (267, "one", True),
        (269, "zero", True), (146, "one", True), (55, "symbol", True),
    ),
    "j": ((45, "one", True), (372, "D", True), (380, "zero", True), (58, "text", False)),
    "other": ((11, "clordid", True), (55, "symbol", True), (58, "text", False)),
}  # fmt: skip

#: tags to add: undefined (373=0), defined but not in these messages (373=2), and
#: Text (58), which D/F/G/q/AF allow
EXTRA_TAGS = (9999, 5001, 8888, 262, 112, 320, 7929, 58)

#: NumInGroup fields: the dictionary turns their value into an int; see
#: test_numingroup_count_beyond_int_limits for why the fuzz keeps them under 4300 digits

Body = list[tuple[int, FieldValue]]


# ------------------------------------------------------------------ the session


@dataclass
class FixFuzz:
    """The fuzzing client's side of one logged-on CLIENT1 session."""

    app: App
    client: FixClient
    logs: LogWatch
    next_in: int  # the MsgSeqNum the gateway must use next
    uid: itertools.count[int] = field(default_factory=itertools.count)
    clordids: list[str] = field(default_factory=list)  # of orders acknowledged to us
    order_ids: list[str] = field(default_factory=list)
    acked: set[bytes] = field(default_factory=set)  # OrderIDs we got 150=0 for
    closed: set[bytes] = field(default_factory=set)  # OrderIDs reported filled/canceled/...
    messages: int = 0
    broken: str | None = None  # the first failure

    def valid(self, kind: str, pick: int) -> FieldValue:
        """A valid value of ``kind``; ``pick`` chooses among the candidates."""
        if kind == "clordid":
            return f"fz{next(self.uid)}"
        if kind == "reqid":
            return f"rq{next(self.uid)}"
        if kind == "time":
            return now_ts().decode()  # valid values are str, adversarial ones bytes
        if kind in ("orig", "orderid"):
            known = self.clordids if kind == "orig" else self.order_ids
            return known[-1 - pick % len(known)] if known else "no-such-order"
        pool = POOLS[kind]
        return pool[pick % len(pool)]

    async def recv(self, timeout: float = 3.0) -> ClientMessage:
        m = await self.client.recv(timeout)
        assert m.begin_string == "FIX.4.4", m
        assert (m.get(49), m.get(56)) == (b"GATEWAY", b"CLIENT1"), m
        assert m.get_int(34) == self.next_in, f"MsgSeqNum gap: expected {self.next_in}, {m!r}"
        self.next_in += 1
        assert m.get(43) is None, m  # nothing is resent on this session
        rejection = DICT.validate(m.to_fix_message())
        assert rejection is None, f"outbound message invalid per FIX44.xml: {rejection} {m!r}"
        if m.msg_type == "8":
            order_id, exec_type, clordid = m.get(37), m.get(150), m.get_str(11)
            assert order_id is not None and exec_type is not None and clordid is not None
            if exec_type == b"0":
                self.acked.add(order_id)
                self.order_ids.append(order_id.decode())
            if exec_type in (b"0", b"5"):
                self.clordids.append(clordid)
            if m.get(39) in (b"2", b"4", b"C") and order_id != b"NONE":
                self.closed.add(order_id)
        return m

    async def exchange(self, msg_type: str, body: Body) -> tuple[int, list[ClientMessage]]:
        """Send one message; return its MsgSeqNum and everything the gateway sent until
        the Heartbeat that answers our TestRequest (which proves the session alive)."""
        seq = self.client.seq
        errors_before = len(self.logs.errors())
        await self.client.send(msg_type, body)
        self.messages += 1
        try:
            got = [await self.recv()]
        except TimeoutError:
            raise AssertionError(f"no answer to 35={msg_type} {body!r}") from None
        except ConnectionError:
            raise AssertionError(f"session killed by 35={msg_type} {body!r}") from None
        test_req_id = f"alive-{seq}"
        await self.client.send("1", [(112, test_req_id)])
        while True:
            m = await self.recv()
            if m.msg_type == "0" and m.get_str(112) == test_req_id:
                break
            got.append(m)
        new_errors = self.logs.errors()[errors_before:]
        assert not new_errors, f"35={msg_type} {body!r} logged errors:\n" + "\n".join(new_errors)
        return seq, got

    def check_orders(self) -> None:
        """(d): every acknowledged order is open in the engine or was reported closed."""
        live = self.app.host.engine.orders
        for order_id in self.acked:
            is_open = int(order_id) in live
            assert is_open != (order_id in self.closed), (order_id, is_open)


@pytest.fixture
async def fuzz(app: App, fix_login: Connect) -> AsyncIterator[FixFuzz]:
    with LogWatch() as logs:
        client = await fix_login("CLIENT1")
        session = app.fix.acceptor.session("CLIENT1")
        state = FixFuzz(app, client, logs, next_in=session.next_sender_seq)
        yield state
        if state.broken is not None:
            return  # already reported
        # (d) at the end: the gateway sent exactly what we read, and the journal holds
        # exactly the engine's state
        assert session.next_sender_seq == state.next_in
        assert session.is_logged_on
        check_engine(app)
        state.check_orders()
        check_journal_replays(app)
        assert not logs.errors()


# ------------------------------------------------------------------ the oracle


def _sent(body: Body, tag: int) -> bytes | None:
    """The value of ``tag`` if it was sent exactly once as valid UTF-8, else None."""
    values = [v for t, v in body if t == tag]
    if len(values) != 1:
        return None
    v = values[0]
    raw = v if isinstance(v, bytes) else str(v).encode()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return raw


def check_answer(
    msg_type: str, seq: int, body: Body, got: list[ClientMessage], pristine: bool
) -> None:
    """(a): what RULES_OF_ENGAGEMENT allows as the answer to this message."""
    what = f"35={msg_type} {body!r} -> {got!r}"
    first, rest = got[0], got[1:]
    mt = first.msg_type
    if mt == "3":  # session-level Reject (2.10, 2.3)
        assert first.get_int(45) == seq, what
        assert first.get_str(372) == msg_type, what
        assert first.get_int(373) in SESSION_REASONS, what
        assert first.get_str(58), what
        if msg_type not in DICT.messages:
            assert (first.get_int(373), first.get_int(371)) == (11, 35), what
        assert not (pristine and msg_type in SPECS), f"valid message refused: {what}"
        assert not rest, what
        return
    if mt == "j":  # a MsgType of another role (3)
        assert msg_type in DICT.messages and msg_type not in ORDER_ENTRY, what
        assert (first.get_int(45), first.get_str(372)) == (seq, msg_type), what
        assert first.get_int(380) == 3 and first.get_str(58), what
        assert not rest, what
        return
    assert msg_type in ORDER_ENTRY, what
    assert all(m.msg_type == "8" for m in rest), what  # further ERs (fills, expiries...)
    clordid = _sent(body, 11)
    if msg_type == "D":
        assert mt == "8" and first.get(150) in (b"0", b"8"), what
        if first.get(150) == b"8":
            assert first.get(39) == b"8" and first.get(103) and first.get_str(58), what
    elif msg_type in ("F", "G"):
        assert mt in ("8", "9"), what
        if mt == "8":
            assert first.get(150) == (b"4" if msg_type == "F" else b"5"), what
        else:
            assert first.get(434) == (b"1" if msg_type == "F" else b"2"), what
            assert first.get(102) in (b"1", b"99") and first.get_str(58), what
            assert not rest, what
    elif msg_type == "q":
        assert mt == "r", what
        if first.get(531) == b"0":
            assert first.get(532) and first.get_str(58), what
        else:
            assert first.get(533) is not None, what
    else:  # H, AF: status reports
        assert mt == "8" and all(m.get(150) == b"I" for m in got), what
        req_id = _sent(body, 584)
        if msg_type == "AF" and req_id is not None:
            assert all(m.get(584) == req_id for m in got), what
        clordid = None  # a status report carries the order's ClOrdID
    if clordid is not None:
        assert first.get(11) == clordid, what


async def send_and_check(fuzz: FixFuzz, msg_type: str, body: Body, pristine: bool) -> None:
    # Hypothesis replays a failing example to report it; the session is broken by then,
    # so the replay reports the first failure.
    assert fuzz.broken is None, f"an earlier message broke the session: {fuzz.broken}"
    try:
        seq, got = await fuzz.exchange(msg_type, body)
        check_answer(msg_type, seq, body, got, pristine)
        check_engine(fuzz.app)
        fuzz.check_orders()
    except AssertionError as exc:
        fuzz.broken = str(exc)[:3000]
        raise


# ------------------------------------------------------------------ Hypothesis

adversarial = st.sampled_from(ALL_ADVERSARIAL) | st.binary(min_size=1, max_size=12).map(
    lambda b: b"\xff" + b.replace(b"\x01", b"\x02")
)
structural = st.sampled_from(("omit", "duplicate", "shuffle", "extra tag", "group"))
EDGE_TIMESTAMPS = (b"00000101-00:00:00", b"99991231-23:59:60.999999999", b"20240229-12:00:00")


@functools.cache
def deep(tag: int) -> st.SearchStrategy[bytes]:
    """Adversarial values of ``tag`` that pass the dictionary's type check, so that the
    message reaches the application (enumerated values it does not take, edge dates)."""
    fd = DICT.fields[tag]
    extra = tuple(sorted(fd.values or ())) + (EDGE_TIMESTAMPS if fd.type == "UTCTIMESTAMP" else ())
    values = [v for v in ALL_ADVERSARIAL + extra if v and DICT.check_value(tag, v) is None]
    strategy = st.sampled_from(values) if values else st.nothing()
    return strategy | adversarial.filter(bool) if fd.type == "STRING" else strategy


def draw_message(fuzz: FixFuzz, draw: Callable[..., Any]) -> tuple[str, Body, bool]:
    """(MsgType, body, pristine): a message from SPECS, mutated either "deep" (values of
    the right type that the application must refuse) or anyhow (values of any kind, and
    fields omitted, repeated, reordered, added)."""
    msg_type = draw(st.sampled_from(("D", "D", "D", "F", "F", "G", "G", "H", "q", "AF", "?")))
    if msg_type == "?":
        msg_type = draw(st.sampled_from(OTHER_TYPES))
    spec = SPECS.get(msg_type, SPECS["other"])
    body: Body = []
    for tag, kind, base in spec:
        if base or draw(st.booleans()):
            body.append((tag, fuzz.valid(kind, draw(st.integers(0, 7)))))
    if draw(st.booleans()):  # deep: about a third of the fields, each with its own value
        for i, (tag, _) in enumerate(body):
            if draw(st.integers(0, 2)) == 0:
                body[i] = (tag, draw(deep(tag) | st.just(body[i][1])))
        return msg_type, body, False
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(body) - 1))
        body[i] = (body[i][0], draw(adversarial))
    ops = draw(st.lists(structural, max_size=2))
    for op in ops:
        if op == "omit" and body:
            del body[draw(st.integers(0, len(body) - 1))]
        elif op == "duplicate" and body:
            tag, value = body[draw(st.integers(0, len(body) - 1))]
            body.insert(draw(st.integers(0, len(body))), (tag, draw(st.just(value) | adversarial)))
        elif op == "shuffle":
            body = draw(st.permutations(body))
        elif op == "extra tag":
            tag = draw(st.sampled_from(EXTRA_TAGS) | st.integers(5000, 9999))
            value = draw(st.just(b"x") | adversarial)
            body.insert(draw(st.integers(0, len(body))), (tag, value))
        elif op == "group":  # Parties: NoPartyIDs (453) and one instance, count fuzzed
            count = draw(st.sampled_from((b"1", b"0", b"2", b"-1", b"1" + b"0" * 30, b"x")))
            body += [(453, count), (448, "P1"), (447, "D"), (452, "3")]
    pristine = not ops and all(not isinstance(v, bytes) for _, v in body)
    return msg_type, body, pristine


@fuzz_settings
@given(data=st.data())
async def test_fuzzed_application_messages(fuzz: FixFuzz, data: st.DataObject) -> None:
    # A few messages in a row per example, all drawn before any is sent: a replay of a
    # failing example then draws the same data even though the session's state moved on.
    count = data.draw(st.integers(1, 4))
    messages = [draw_message(fuzz, data.draw) for _ in range(count)]
    for msg_type, body, pristine in messages:
        await send_and_check(fuzz, msg_type, body, pristine)


# ------------------------------------------------------------------ the sweep


async def test_every_field_with_every_adversarial_class(fuzz: FixFuzz) -> None:
    """Deterministic: each field of each order-entry message (base fields plus the
    optional one being tested), one adversarial value at a time."""
    pick = itertools.count()
    for msg_type in ORDER_ENTRY:
        spec = SPECS[msg_type]
        for target, _, _ in spec:
            for bad in SWEEP_VALUES:
                body: Body = [
                    (tag, bad if tag == target else fuzz.valid(kind, next(pick)))
                    for tag, kind, base in spec
                    if base or tag == target
                ]
                await send_and_check(fuzz, msg_type, body, pristine=False)
    assert fuzz.messages == sum(len(SPECS[mt]) for mt in ORDER_ENTRY) * len(SWEEP_VALUES)


# ------------------------------------------------------------------ regressions
# Bugs the fuzzing found; each test fails without its fix.


def order(clordid: str, qty: str = "0.5", price: str = "50000") -> Body:
    return [(11, clordid), (55, "BTC-USD"), (54, "1"), (60, now_ts()), (38, qty), (40, "2"),
            (44, price)]  # fmt: skip


async def expect_reject_er(fuzz: FixFuzz, body: Body, reason: bytes, text: str) -> None:
    seq, got = await fuzz.exchange("D", body)
    check_answer("D", seq, body, got, pristine=False)
    assert (got[0].get(150), got[0].get(103)) == (b"8", reason), got
    assert text in (got[0].get_str(58) or ""), got


async def test_quantity_beyond_decimal_precision_is_rejected(fuzz: FixFuzz) -> None:
    """38=1e30: Decimal's divmod raised InvalidOperation (DivisionImpossible) out of the
    application; asyncio dropped the connection (ERROR "Fatal error: protocol.
    data_received() call failed"). Fix: engine/model.py _exact_multiple -> GridError."""
    await expect_reject_er(fuzz, order("big", qty="1" + "0" * 30), b"13", "is too large")
    await expect_reject_er(fuzz, order("bigpx", price="9" * 30), b"99", "is too large")
    # longer than any grid count needs: refused unparsed (gateway/decimals.py)
    await expect_reject_er(fuzz, order("longpx", price="9" * 2000), b"99", "at most 64")


async def test_quantity_beyond_64_bits_does_not_stop_the_engine(
    fuzz: FixFuzz, fix_login: Connect
) -> None:
    """38=1e20 is 1e24 lots: orjson refused to journal the NewOrder after the sequencer
    had stamped it, the session died, and from then on every command of every session
    failed with "sequence gap" -- the venue stopped trading. Fix: grid counts must fit
    64 bits (engine/model.py MAX_COUNT)."""
    await expect_reject_er(fuzz, order("huge", qty="1" + "0" * 20), b"13", "is too large")
    market: Body = [(11, "cash"), (55, "BTC-USD"), (54, "1"), (60, now_ts()), (40, "1"),
                    (152, "1" + "0" * 20)]  # fmt: skip
    await expect_reject_er(fuzz, market, b"13", "is too large")
    other = await fix_login("CLIENT2")
    await other.send("D", order("after"))
    assert (await other.expect("8")).get(150) == b"0"
    check_engine(fuzz.app)
    check_journal_replays(fuzz.app)


async def test_order_id_beyond_64_bits_or_int_limits(fuzz: FixFuzz) -> None:
    """OrderID (37) of 31 digits on F: the Cancel could not be journaled (as above); of
    5000 digits on F, G or H: int() raised ValueError out of the application. Fix:
    gateway/fix/translate.py engine_order_id: such an OrderID is no engine id."""
    for raw in ("1" + "0" * 30, "9" * 5000):
        cancel: Body = [(11, "c"), (41, "nope"), (37, raw), (55, "BTC-USD"), (54, "1"),
                        (60, now_ts())]  # fmt: skip
        seq, got = await fuzz.exchange("F", cancel)
        check_answer("F", seq, cancel, got, pristine=False)
        assert (got[0].msg_type, got[0].get(102)) == ("9", b"1"), got  # unknown order
        replace = [*cancel, (38, "1"), (40, "2"), (44, "50000")]
        seq, got = await fuzz.exchange("G", replace)
        check_answer("G", seq, replace, got, pristine=False)
        status: Body = [(11, "nope"), (37, raw), (55, "BTC-USD"), (54, "1")]
        seq, got = await fuzz.exchange("H", status)
        check_answer("H", seq, status, got, pristine=False)
        assert got[0].get_str(58) == "unknown order", got


def raw_message(client: FixClient, msg_type: bytes, body: bytes, seq: int | None = None) -> bytes:
    """A correctly framed message whose body is given as bytes (for fields that
    an encoder cannot format, such as a 5000-digit tag number)."""
    if seq is None:
        seq, client.seq = client.seq, client.seq + 1
    head = field_bytes([(35, msg_type), (49, client.sender), (56, client.target), (34, seq),
                        (52, now_ts())])  # fmt: skip
    return frame(head + body)


async def test_tag_number_beyond_int_limits(fuzz: FixFuzz) -> None:
    """A 5000-digit tag number: int() raised ValueError inside the framer, which dropped
    the connection. Fix: gateway/fix/codec.py reads it as an invalid tag (0)."""
    seq = fuzz.client.seq
    await fuzz.client.send_raw(raw_message(fuzz.client, b"D", b"9" * 5000 + b"=x\x01"))
    reject = await fuzz.recv()
    assert reject.msg_type == "3" and reject.get_int(45) == seq, reject
    assert (reject.get(373), reject.get(371)) == (b"0", b"0"), reject
    await fuzz.exchange("H", [(11, "nope"), (55, "BTC-USD"), (54, "1")])  # still alive


async def test_data_length_beyond_int_limits(fuzz: FixFuzz) -> None:
    """RawDataLength (95) of 5000 digits: int() raised ValueError inside the framer.
    Fix: such a length runs past the end of the message: garbled, ignored (2.3), and
    the sequence number is not consumed."""
    seq = fuzz.client.seq
    body = b"95=" + b"9" * 5000 + b"\x0196=x\x01"
    await fuzz.client.send_raw(raw_message(fuzz.client, b"D", body, seq=seq))
    await fuzz.client.send("1", [(112, "after-garbled")], seq=seq)
    heartbeat = await fuzz.recv()
    assert (heartbeat.msg_type, heartbeat.get(112)) == ("0", b"after-garbled"), heartbeat
    fuzz.client.seq = seq + 1
    assert not fuzz.logs.errors()


async def test_msg_seq_num_beyond_int_limits(app: App, fix_login: Connect) -> None:
    """MsgSeqNum (34) of 5000 digits: int() raised ValueError in the session layer.
    Fix: gateway/fix/codec.py get_int: not a usable integer, so 2.3 applies: Logout
    "MsgSeqNum(34) missing or invalid" + disconnect; a new Logon works."""
    with LogWatch() as logs:
        client = await fix_login("CLIENT1")
        head = field_bytes([(35, "1"), (49, "CLIENT1"), (56, "GATEWAY")])
        body = b"%s34=%s\x0152=%s\x01112=x\x01" % (head, b"9" * 5000, now_ts())
        await client.send_raw(frame(body))
        logout = await client.expect("5")
        assert logout.get_str(58) == "MsgSeqNum(34) missing or invalid"
        await client.expect_closed()
        again = await fix_login("CLIENT1")
        await again.send("1", [(112, "back")])
        assert (await again.expect("0")).get(112) == b"back"
        assert not logs.errors()


async def test_numingroup_count_beyond_int_limits(app: App, fix_login: Connect) -> None:
    """NoPartyIDs (453) of 5000 digits passes the NUMINGROUP pattern; int() of it raised
    in the dictionary's group walk and dropped the session. Now: Reject 373=16."""
    client = await fix_login("CLIENT1")
    seq = client.seq
    await client.send("D", [*order("grp"), (453, b"9" * 5000), (448, "P1"), (447, "D"),
                            (452, "3")])  # fmt: skip
    reject = await client.expect("3")
    assert reject.get_int(45) == seq and reject.get(373) == b"16", reject
    assert reject.get_int(371) == 453, reject
