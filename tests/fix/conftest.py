"""Shared fixtures: an acceptor on 127.0.0.1 with an ephemeral port, a raw FIX
test client speaking over a real TCP socket, and a recording application.

The client builds and parses with simplefix, not with gateway.fix.codec: a codec bug
must not be able to hide behind the same codec on the other end of the socket."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import simplefix
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.fix.acceptor import FixAcceptor
from gateway.fix.auth import logon_payload
from gateway.fix.codec import FieldValue, FixMessage
from gateway.fix.session import FixSession
from gateway.fix.settings import FIXT11, AcceptorSettings, SessionSettings
from gateway.host import EventBatch

CLIENT = "CLIENT1"
GATEWAY = "GATEWAY"

#: Run a harness test once per transport: FIX.4.4, and FIXT.1.1 with FIX 5.0 SP2.
FIX44_AND_FIXT = pytest.mark.parametrize("harness", ["FIX.4.4", FIXT11], indirect=True)


def new_order_single(cl_ord_id: str = "C1") -> list[tuple[int, FieldValue]]:
    """The body of a valid limit NewOrderSingle (D) with this ClOrdID."""
    return [
        (11, cl_ord_id),
        (55, "BTC-USD"),
        (54, "1"),
        (60, "20240101-00:00:00.000"),
        (38, "1"),
        (40, "2"),
        (44, "100"),
    ]


def now_ts(offset_s: float = 0.0) -> bytes:
    """SendingTime now (plus ``offset_s``): UTCTimestamp with milliseconds."""
    ms = time.time_ns() // 1_000_000 + int(offset_s * 1000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(ms // 1000)).encode() + b".%03d" % (
        ms % 1000
    )


class RecordingApp:
    """FixApplication that records callbacks; answers D with a minimal ExecutionReport."""

    def __init__(self) -> None:
        self.logons: list[FixSession] = []
        self.logouts: list[tuple[FixSession, bool]] = []
        self.messages: list[FixMessage] = []

    def on_logon(self, session: FixSession) -> None:
        self.logons.append(session)

    def on_logout(self, session: FixSession, clean: bool) -> None:
        self.logouts.append((session, clean))

    def on_app_message(self, session: FixSession, msg: FixMessage) -> None:
        self.messages.append(msg)
        if msg.msg_type == "D":
            session.send(
                "8",
                [
                    (37, f"O{len(self.messages)}"),
                    (11, msg.get(11) or b""),
                    (17, f"E{len(self.messages)}"),
                    (150, "0"),
                    (39, "0"),
                    (55, msg.get(55) or b""),
                    (54, msg.get(54) or b""),
                    (151, msg.get(38) or b"0"),
                    (14, "0"),
                    (6, "0"),
                ],
            )

    def on_own_batch(self, session: FixSession, batch: EventBatch) -> None:
        """Never called: this application submits nothing to a host."""


class ClientMessage:
    """A message from the acceptor as simplefix parsed it, after the client checked
    BodyLength and CheckSum itself; the accessors tests use on a FixMessage."""

    def __init__(self, pairs: list[tuple[int, bytes]]) -> None:
        self.fields = pairs
        wire = b"".join(b"%d=%s\x01" % pair for pair in pairs)
        self.raw = wire
        assert pairs[0][0] == 8 and pairs[1][0] == 9 and pairs[2][0] == 35, pairs[:3]
        assert pairs[-1][0] == 10, pairs[-1]
        body_start = wire.index(b"\x01", wire.index(b"\x019=") + 1) + 1
        trailer = len(wire) - len(b"10=%s\x01" % pairs[-1][1])
        assert int(pairs[1][1]) == trailer - body_start, f"BodyLength(9) wrong: {wire!r}"
        assert int(pairs[-1][1]) == sum(wire[:trailer]) % 256, f"CheckSum(10) wrong: {wire!r}"

    @property
    def tags(self) -> tuple[int, ...]:
        return tuple(tag for tag, _ in self.fields)

    @property
    def values(self) -> list[bytes]:
        return [value for _, value in self.fields]

    def get(self, tag: int) -> bytes | None:
        """The first occurrence, as FixMessage.get."""
        return next((value for t, value in self.fields if t == tag), None)

    def get_all(self, tag: int) -> list[bytes]:
        return [value for t, value in self.fields if t == tag]

    def get_str(self, tag: int) -> str | None:
        value = self.get(tag)
        return None if value is None else value.decode()

    def get_int(self, tag: int) -> int | None:
        value = self.get(tag)
        return None if value is None else int(value)

    def __contains__(self, tag: object) -> bool:
        return any(t == tag for t, _ in self.fields)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.fields)

    @property
    def msg_type(self) -> str:
        return self.fields[2][1].decode()

    @property
    def begin_string(self) -> str:
        return self.fields[0][1].decode()

    def to_fix_message(self) -> FixMessage:
        """The same fields as the gateway's message type, for its dictionary's checks."""
        return FixMessage(list(self.fields), self.raw)

    def __repr__(self) -> str:
        return "ClientMessage(" + "|".join(f"{t}={v!r}" for t, v in self.fields) + ")"


def encode(begin_string: str | bytes, fields: Iterable[tuple[int, FieldValue]]) -> bytes:
    """A complete message (8, 9 and 10 added by simplefix); ``fields`` start at 35."""
    fields = list(fields)
    # simplefix moves 35 first and drops other 8, 9, 10: a malformed layout needs frame()
    assert fields[0][0] == 35 and not {8, 9, 10, 35} & {t for t, _ in fields[1:]}, fields
    msg = simplefix.FixMessage()
    msg.append_pair(8, begin_string, header=True)
    for tag, value in fields:
        msg.append_pair(tag, value)
    return bytes(msg.encode())


def frame(body: bytes, begin_string: bytes = b"FIX.4.4") -> bytes:
    """``body`` (from 35=, as bytes: for fields no encoder would write) framed by hand:
    BeginString and BodyLength before, CheckSum after."""
    msg = b"8=%s\x019=%d\x01%s" % (begin_string, len(body), body)
    return msg + b"10=%03d\x01" % (sum(msg) % 256)


def field_bytes(fields: Iterable[tuple[int, FieldValue]]) -> bytes:
    """``tag=value<SOH>`` for each field, values as given (str, bytes or int)."""
    return b"".join(
        b"%d=%s\x01" % (tag, v if isinstance(v, bytes) else str(v).encode()) for tag, v in fields
    )


def parse_one(data: bytes) -> ClientMessage:
    """The one whole message in ``data``, parsed by simplefix (and checked)."""
    parser = simplefix.FixParser()
    parser.append_buffer(data)
    msg = parser.get_message()
    assert msg is not None and not parser.get_buffer(), data
    return ClientMessage([(int(tag), value) for tag, value in msg.pairs])


class FixClient:
    """Minimal counterparty for tests: builds and parses with simplefix (see above)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        begin_string: str = "FIX.4.4",
        sender: str = CLIENT,
        target: str = GATEWAY,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.begin_string = begin_string
        self.sender = sender
        self.target = target
        self.seq = 1
        self._parser = simplefix.FixParser()
        self._pending: list[ClientMessage] = []

    def build(
        self,
        msg_type: str,
        body: Iterable[tuple[int, FieldValue]] = (),
        *,
        seq: int | None = None,
        header: Iterable[tuple[int, FieldValue]] = (),
        sending_time: bytes | None = None,
        sender: str | None = None,
        target: str | None = None,
        begin_string: str | None = None,
    ) -> bytes:
        if seq is None:
            seq = self.seq
            self.seq += 1
        fields: list[tuple[int, FieldValue]] = [
            (35, msg_type),
            (49, sender or self.sender),
            (56, target or self.target),
            (34, seq),
            (52, sending_time or now_ts()),
            *header,
            *body,
        ]
        return encode(begin_string or self.begin_string, fields)

    async def send(
        self, msg_type: str, body: Iterable[tuple[int, FieldValue]] = (), **kw: Any
    ) -> None:
        self.writer.write(self.build(msg_type, body, **kw))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = 2.0) -> ClientMessage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("no message")
            data = await asyncio.wait_for(self.reader.read(65536), remaining)
            if not data:
                raise ConnectionError("closed by acceptor")
            self._parser.append_buffer(data)
            while (msg := self._parser.get_message()) is not None:
                self._pending.append(ClientMessage([(int(t), v) for t, v in msg.pairs]))
        return self._pending.pop(0)

    async def expect(self, msg_type: str, timeout: float = 2.0) -> ClientMessage:
        msg = await self.recv(timeout)
        assert msg.msg_type == msg_type, f"expected 35={msg_type}, got {msg!r}"
        return msg

    async def expect_nothing(self, timeout: float = 0.3) -> None:
        try:
            msg = await self.recv(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {msg!r}")

    async def expect_closed(self, timeout: float = 2.0) -> None:
        """All remaining messages must have been read: the socket must hit EOF."""
        assert not self._pending, self._pending
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        assert data == b"", f"expected EOF, got {data!r}"

    async def logon(
        self,
        body: Iterable[tuple[int, FieldValue]] = (),
        heartbeat: int = 30,
        reset: bool = False,
        **kw: Any,
    ) -> ClientMessage:
        fields: list[tuple[int, FieldValue]] = [(98, 0), (108, heartbeat)]
        if reset:
            fields.append((141, "Y"))
        if self.begin_string == FIXT11:
            fields.append((1137, "9"))  # DefaultApplVerID: FIX 5.0 SP2
        await self.send("A", [*fields, *body], **kw)
        return await self.expect("A")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def signed_logon(
    client: FixClient,
    key: Ed25519PrivateKey,
    key_id: str,
    body: Iterable[tuple[int, FieldValue]] = ((98, 0), (108, 30)),
    *,
    seq: int | None = None,
) -> bytes:
    """A Logon from ``client`` signed with ``key`` as fix_specs/RULES_OF_ENGAGEMENT.md
    (2.2) says: every field but 9, 95, 96 and 10; the signature (base64) goes last."""
    if seq is None:
        seq = client.seq
    client.seq = seq + 1
    signed = [*body, (553, key_id)]
    st = now_ts()
    msg = parse_one(client.build("A", signed, seq=seq, sending_time=st))
    sig = base64.b64encode(key.sign(logon_payload(msg.to_fix_message())))
    return client.build("A", [*signed, (95, len(sig)), (96, sig)], seq=seq, sending_time=st)


class Harness:
    def __init__(self, tmp_path: Path, begin_string: str = "FIX.4.4") -> None:
        self.tmp_path = tmp_path
        #: of the default session and of the clients (both may be overridden)
        self.begin_string = begin_string
        self.app = RecordingApp()
        self.acceptor: FixAcceptor | None = None
        self.clients: list[FixClient] = []

    async def start(
        self, *sessions: SessionSettings, tolerance: float = 120.0, **acceptor_kw: Any
    ) -> FixAcceptor:
        if not sessions:
            sessions = (
                SessionSettings(
                    target_comp_id=CLIENT, accounts=("ACC1",), begin_string=self.begin_string
                ),
            )
        settings = AcceptorSettings(
            host="127.0.0.1",
            port=0,
            store_dir=self.tmp_path / "store",
            sending_time_tolerance_s=tolerance,
            **acceptor_kw,
        )
        self.acceptor = FixAcceptor(settings, sessions, self.app)
        await self.acceptor.start()
        return self.acceptor

    async def restart(self, *sessions: SessionSettings) -> FixAcceptor:
        assert self.acceptor is not None
        await self.acceptor.stop(timeout=0.5)
        return await self.start(*sessions)

    async def connect(self, rcvbuf: int | None = None, **kw: Any) -> FixClient:
        """A client connection; ``rcvbuf`` pins its kernel receive buffer (which turns
        off autotuning), so a client that stops reading backs up deterministically."""
        assert self.acceptor is not None
        if rcvbuf is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.acceptor.port)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.acceptor.port))
            reader, writer = await asyncio.open_connection(sock=sock)
        kw.setdefault("begin_string", self.begin_string)
        client = FixClient(reader, writer, **kw)
        self.clients.append(client)
        return client

    async def log_on_and_out(self) -> FixSession:
        """Start with the default session, log on and out cleanly: both stored sequence
        numbers of the returned session are then 3."""
        await self.start()
        c = await self.connect()
        await c.logon()
        await c.send("5")
        await c.expect("5")
        await c.expect_closed()
        sess = self.session()
        assert (sess.next_sender_seq, sess.next_target_seq) == (3, 3)
        return sess

    def session(self, target: str = CLIENT) -> FixSession:
        assert self.acceptor is not None
        return self.acceptor.session(target)

    async def wait_for(self, cond: Callable[[], bool], timeout: float = 2.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            if loop.time() > deadline:
                raise AssertionError("condition not reached")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        for c in self.clients:
            await c.close()
        if self.acceptor is not None:
            await self.acceptor.stop(timeout=0.2)


@pytest.fixture
async def harness(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """A Harness; FIX.4.4 unless parametrized indirectly with a BeginString."""
    h = Harness(tmp_path, getattr(request, "param", "FIX.4.4"))
    yield h
    await h.close()


AsyncFn = Callable[..., Awaitable[Any]]


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async FIX test runs on the default loop and on uvloop (production)."""
    import uvloop

    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
