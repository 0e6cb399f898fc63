"""Asyncio FIX 4.4 initiator for load generation.

One :class:`FixClient` is one FIX session over one TCP connection.  It logs on
(password in Username 553 / Password 554, or Ed25519: signature in RawData 96 with
RawDataLength 95, key id in 553), answers TestRequest and ResendRequest (with a
gap fill: a load client keeps no message store), sends heartbeats when idle and
logs out at the end.

Orders go out from pre-encoded :class:`~loadtest.fixproto.Template` objects in
which only MsgSeqNum, SendingTime, ClOrdID, side, price, quantity (and TIF) are
patched.  Writes issued in the same event-loop iteration are coalesced into one
``transport.write``.  Answers are correlated by ClOrdID: each ``send_*`` returns a
future that completes with an :class:`Answer` when the first answer to that request
arrives, and the latency (answer receipt minus the ``start_ns`` given by the pacer)
is recorded in the session's :class:`~loadtest.stats.SessionStats`:

* ``order_ack``   NewOrderSingle -> first ExecutionReport for its ClOrdID
* ``fill``        NewOrderSingle sent as a taker -> first fill ExecutionReport
* ``cancel_ack``  OrderCancelRequest -> ER 150=4 or OrderCancelReject 9
* ``replace_ack`` OrderCancelReplaceRequest -> ER 150=5 or OrderCancelReject 9

Rejects (ER 150=8, 9, BusinessMessageReject j) are business answers: the future
completes normally with ``outcome="rejected"`` and the reason is counted.  A session
Reject (3) or a lost connection fails the future (counted as an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from loadtest.fixproto import (
    Template,
    encode,
    fix_logon_signature_payload,
    frame,
    parse,
    sending_time,
    sign_logon_ed25519,
)
from loadtest.stats import SessionStats

__all__ = ["Answer", "FixClient", "FixError", "FixSessionConfig"]

K_NEW, K_CANCEL, K_REPLACE = 0, 1, 2
_METRIC = ("order_ack", "cancel_ack", "replace_ack")
_LIVE_STATUS = frozenset((b"0", b"1", b"5", b"A", b"E", b"6"))
_DONE_STATUS = frozenset((b"2", b"4", b"8", b"C", b"3"))


class FixError(Exception):
    """A session-level failure (logon refused, disconnect, session Reject)."""


class Answer(NamedTuple):
    clid: bytes
    outcome: str  # new | filled | partial | rejected | canceled | replaced
    reason: str = ""


@dataclass
class FixSessionConfig:
    host: str = "127.0.0.1"
    port: int = 9878
    sender: str = "CLIENT1"
    target: str = "GATEWAY"
    begin_string: str = "FIX.4.4"
    heartbeat_s: int = 30
    reset_on_logon: bool = True
    username: str | None = None
    password: str | None = None
    ed25519_key: Any = None  # Ed25519PrivateKey
    key_id: str | None = None
    sig_encoding: str = "base64"
    account: str | None = None
    stp: str | None = None  # custom tag 7928
    logon_timeout_s: float = 5.0
    extra_logon: list[tuple[int, str]] = field(default_factory=list)


class _Req:
    __slots__ = ("fut", "kind", "orig", "seq", "side", "start_ns", "symbol", "taker")

    def __init__(
        self,
        kind: int,
        start_ns: int,
        fut: asyncio.Future[Answer],
        orig: bytes,
        symbol: bytes,
        side: bytes,
        taker: bool,
        seq: int,
    ) -> None:
        self.kind = kind
        self.start_ns = start_ns
        self.fut = fut
        self.orig = orig
        self.symbol = symbol
        self.side = side
        self.taker = taker
        self.seq = seq


_run_tag = format(int(time.time() * 1000) % 36**6, "x")
_client_ids = itertools.count(1)


class FixClient(asyncio.Protocol):
    """One FIX initiator session; see the module docstring."""

    def __init__(self, cfg: FixSessionConfig, stats: SessionStats) -> None:
        self.cfg = cfg
        self.stats = stats
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._rbuf = bytearray()
        self._wbuf: list[bytes] = []
        self._seq = 0
        self._in_seq = 0
        self._gaps_reported = 0
        self._pending: dict[bytes, _Req] = {}
        self._taker_start: dict[bytes, int] = {}
        #: resting orders by current ClOrdID -> (symbol, side)
        self.open_orders: dict[bytes, tuple[bytes, bytes]] = {}
        self._logon_fut: asyncio.Future[None] | None = None
        self._logout_fut: asyncio.Future[None] | None = None
        self._closed = self._loop.create_future()
        self._last_send = time.monotonic()
        self._hb_task: asyncio.Task[None] | None = None
        self._clid_prefix = b"L%s%x." % (_run_tag.encode(), next(_client_ids))
        self._clid_n = 0
        self._templates: dict[tuple[int, bytes], Template] = {}
        self._b = cfg.begin_string.encode()
        self._s = cfg.sender.encode()
        self._t = cfg.target.encode()
        self.logged_on = False

    # -- connection ------------------------------------------------------------
    async def connect(self) -> None:
        await self._loop.create_connection(lambda: self, self.cfg.host, self.cfg.port)
        await self.logon()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = tr
        sock = tr.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        was_on = self.logged_on
        self.logged_on = False
        err = FixError(f"connection lost: {exc}" if exc else "connection closed by peer")
        for fut in (self._logon_fut, self._logout_fut):
            if fut is not None and not fut.done():
                if fut is self._logout_fut:
                    fut.set_result(None)
                else:
                    fut.set_exception(err)
        if self._pending:
            self.stats.error("disconnected with requests pending")
            for r in self._pending.values():
                if not r.fut.done():
                    r.fut.set_exception(err)
            self._pending.clear()
        elif was_on and (self._logout_fut is None):
            self.stats.error("disconnected")
        if self._hb_task is not None:
            self._hb_task.cancel()
        if not self._closed.done():
            self._closed.set_result(None)

    # -- writing ---------------------------------------------------------------
    def _write(self, msg: bytes) -> None:
        if not self._wbuf:
            self._loop.call_soon(self._flush)
        self._wbuf.append(msg)

    def _flush(self) -> None:
        buf, self._wbuf = self._wbuf, []
        if self._transport is not None and buf:
            self._transport.write(b"".join(buf))
            self._last_send = time.monotonic()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _admin(self, msg_type: bytes, fields: list[tuple[int, bytes | str | int]]) -> None:
        seq = self._next_seq()
        head: list[tuple[int, bytes | str | int]] = [
            (35, msg_type),
            (49, self._s),
            (56, self._t),
            (34, seq),
            (52, sending_time()),
        ]
        self._write(encode(self._b, head + fields))

    # -- session ---------------------------------------------------------------
    async def logon(self) -> None:
        cfg = self.cfg
        self._logon_fut = self._loop.create_future()
        if cfg.reset_on_logon:
            self._seq = 0
            self._in_seq = 0
        seq = self._next_seq()
        st = sending_time()
        fields: list[tuple[int, bytes | str | int]] = [
            (35, b"A"),
            (49, self._s),
            (56, self._t),
            (34, seq),
            (52, st),
            (98, 0),
            (108, cfg.heartbeat_s),
        ]
        if cfg.reset_on_logon:
            fields.append((141, b"Y"))
        if cfg.begin_string == "FIXT.1.1":
            fields.append((1137, b"9"))  # DefaultApplVerID: we speak FIX 5.0 SP2
        if cfg.ed25519_key is not None:
            fields.append((553, cfg.key_id or cfg.username or cfg.sender))
        elif cfg.password is not None:
            fields += [(553, cfg.username or cfg.sender), (554, cfg.password)]
        elif cfg.username is not None:
            fields.append((553, cfg.username))
        fields += list(cfg.extra_logon)
        if cfg.ed25519_key is not None:  # signs every field above: goes last
            payload = fix_logon_signature_payload(self._b, fields)
            sig = sign_logon_ed25519(cfg.ed25519_key, payload, cfg.sig_encoding)
            fields += [(95, len(sig)), (96, sig)]
        self._write(encode(self._b, fields))
        try:
            await asyncio.wait_for(asyncio.shield(self._logon_fut), cfg.logon_timeout_s)
        except TimeoutError:
            self.close()
            raise FixError("logon timeout") from None
        self.logged_on = True
        self._hb_task = self._loop.create_task(self._heartbeats())

    async def _heartbeats(self) -> None:
        hb = self.cfg.heartbeat_s
        while self.logged_on:
            await asyncio.sleep(max(0.2, hb / 4))
            if time.monotonic() - self._last_send >= hb * 0.9:
                self._admin(b"0", [])

    async def logout(self, timeout_s: float = 2.0) -> None:
        """Send Logout and wait (bounded) for the answer, then close."""
        if self._transport is None:
            return
        self._logout_fut = self._loop.create_future()
        self._admin(b"5", [])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._logout_fut), timeout_s)
        self.logged_on = False
        self.close()

    def close(self) -> None:
        self._flush()
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        await self._closed

    # -- order entry ------------------------------------------------------------
    def _template(self, kind: int, symbol: bytes) -> Template:
        key = (kind, symbol)
        t = self._templates.get(key)
        if t is not None:
            return t
        head: list[tuple[int, bytes | str | None]] = [
            (35, (b"D", b"F", b"G")[kind]),
            (49, self._s),
            (56, self._t),
            (34, None),
            (52, None),
            (11, None),
        ]
        acct: list[tuple[int, bytes | str | None]] = (
            [(1, self.cfg.account)] if self.cfg.account else []
        )
        body: list[tuple[int, bytes | str | None]]
        if kind == K_NEW:
            body = [*acct, (55, symbol), (54, None), (38, None), (40, b"2"), (44, None)]
            body += [(59, None), (60, None)]
            if self.cfg.stp:
                body.append((7928, self.cfg.stp))
        elif kind == K_CANCEL:
            body = [(41, None), *acct, (55, symbol), (54, None), (60, None)]
        else:
            body = [(41, None), *acct, (55, symbol), (54, None), (38, None), (40, b"2")]
            body += [(44, None), (60, None)]
        t = self._templates[key] = Template(self._b, head + body)
        return t

    def next_clid(self) -> bytes:
        self._clid_n += 1
        return b"%b%x" % (self._clid_prefix, self._clid_n)

    def _register(
        self,
        kind: int,
        clid: bytes,
        start_ns: int,
        orig: bytes,
        symbol: bytes,
        side: bytes,
        taker: bool,
        seq: int,
    ) -> asyncio.Future[Answer]:
        fut: asyncio.Future[Answer] = self._loop.create_future()
        if self._transport is None:
            fut.set_exception(FixError("not connected"))
            self.stats.error("send while disconnected")
            return fut
        self._pending[clid] = _Req(kind, start_ns, fut, orig, symbol, side, taker, seq)
        return fut

    def send_new(
        self,
        symbol: bytes,
        side: bytes,
        price: bytes,
        qty: bytes,
        start_ns: int,
        tif: bytes = b"1",
        taker: bool = False,
    ) -> asyncio.Future[Answer]:
        """NewOrderSingle, limit. side b"1" buy / b"2" sell; tif b"1" GTC, b"3" IOC."""
        clid = self.next_clid()
        seq = self._next_seq()
        fut = self._register(K_NEW, clid, start_ns, b"", symbol, side, taker, seq)
        st = sending_time()
        self._write(self._template(K_NEW, symbol).render(seq, st, clid, side, qty, price, tif, st))
        self.stats.count("sent.new")
        return fut

    def send_cancel(
        self, orig: bytes, symbol: bytes, side: bytes, start_ns: int
    ) -> asyncio.Future[Answer]:
        clid = self.next_clid()
        seq = self._next_seq()
        fut = self._register(K_CANCEL, clid, start_ns, orig, symbol, side, False, seq)
        st = sending_time()
        self._write(self._template(K_CANCEL, symbol).render(seq, st, clid, orig, side, st))
        self.stats.count("sent.cancel")
        return fut

    def send_replace(
        self, orig: bytes, symbol: bytes, side: bytes, price: bytes, qty: bytes, start_ns: int
    ) -> asyncio.Future[Answer]:
        clid = self.next_clid()
        seq = self._next_seq()
        fut = self._register(K_REPLACE, clid, start_ns, orig, symbol, side, False, seq)
        st = sending_time()
        msg = self._template(K_REPLACE, symbol).render(seq, st, clid, orig, side, qty, price, st)
        self._write(msg)
        self.stats.count("sent.replace")
        return fut

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- reading ---------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        buf = self._rbuf
        buf += data
        if len(buf) < 20:
            return
        now = time.perf_counter_ns()
        for raw in frame(buf):
            try:
                self._on_message(parse(raw), now)
            except Exception as exc:  # a harness bug must not kill the session silently
                self.stats.error(f"client error: {type(exc).__name__}: {exc}"[:120])

    def _report_gap(self, seq: int, msg_type: bytes) -> None:
        """Say which numbers were missing (the first few per session): the count alone
        cannot tell a gateway that skipped a number from a harness that lost a frame."""
        self._gaps_reported += 1
        if self._gaps_reported <= 5:
            print(
                f"[fix_client] MsgSeqNum {self._in_seq + 1} expected, {seq} received"
                f" (MsgType {msg_type.decode(errors='replace')})",
                file=sys.stderr,
                flush=True,
            )

    def _on_message(self, f: dict[bytes, bytes], now: int) -> None:
        mt = f.get(b"35", b"")
        seq_b = f.get(b"34")
        if seq_b is not None and mt != b"4":
            seq = int(seq_b)
            if self._in_seq and seq != self._in_seq + 1 and f.get(b"43") != b"Y":
                self.stats.error("inbound sequence gap" if seq > self._in_seq else "seq too low")
                self._report_gap(seq, mt)
            self._in_seq = seq
        if mt == b"8":
            self._on_exec_report(f, now)
        elif mt == b"9":
            self._on_cancel_reject(f, now)
        elif mt == b"0":
            pass
        elif mt == b"1":
            self._admin(b"0", [(112, f.get(b"112", b""))])
        elif mt == b"2":
            begin = int(f.get(b"7", b"1"))
            self._gap_fill(begin)
        elif mt == b"4":
            new = int(f.get(b"36", b"0"))
            if new:
                self._in_seq = new - 1
        elif mt == b"A":
            if self._logon_fut is not None and not self._logon_fut.done():
                self._logon_fut.set_result(None)
        elif mt == b"5":
            if self._logout_fut is not None:
                if not self._logout_fut.done():
                    self._logout_fut.set_result(None)
            else:
                text = f.get(b"58", b"").decode(errors="replace")
                if self._logon_fut is not None and not self._logon_fut.done():
                    self._logon_fut.set_exception(FixError(f"logon refused: {text}"))
                    self.stats.error(f"logon refused: {text}"[:120])
                else:
                    self.stats.error(f"unsolicited logout: {text}"[:120])
                self._admin(b"5", [])
                self.close()
        elif mt == b"3":
            self._on_session_reject(f)
        elif mt == b"j":
            ref = f.get(b"379", b"")
            r = self._pending.pop(ref, None)
            reason = (
                f"business reject {f.get(b'380', b'?').decode()}: "
                f"{f.get(b'58', b'').decode(errors='replace')}"
            )
            self.stats.reject(reason[:120])
            if r is not None:
                self._answer(r, ref, now, "rejected", reason)
        else:
            self.stats.count("other." + mt.decode(errors="replace"))

    def _gap_fill(self, begin: int) -> None:
        """Answer a ResendRequest: we keep no store, so gap-fill everything."""
        nxt = self._seq + 1
        msg = encode(
            self._b,
            [
                (35, b"4"),
                (49, self._s),
                (56, self._t),
                (34, begin),
                (43, b"Y"),
                (52, sending_time()),
                (122, sending_time()),
                (123, b"Y"),
                (36, nxt),
            ],
        )
        self._write(msg)

    def _answer(self, r: _Req, clid: bytes, now: int, outcome: str, reason: str = "") -> None:
        self.stats.record(_METRIC[r.kind], (now - r.start_ns) // 1000)
        self.stats.count("answers")
        if not r.fut.done():
            r.fut.set_result(Answer(clid, outcome, reason))

    def _on_exec_report(self, f: dict[bytes, bytes], now: int) -> None:
        clid = f.get(b"11", b"")
        et = f.get(b"150", b"")
        status = f.get(b"39", b"")
        stats = self.stats
        if et in (b"F", b"1", b"2"):  # Trade (4.4) / Partial fill, Fill (4.2)
            stats.count("fills")
            t0 = self._taker_start.pop(clid, None)
            if t0 is not None:
                stats.record("fill", (now - t0) // 1000)
        r = self._pending.pop(clid, None)
        if r is not None:
            if et == b"8":
                reason = f.get(b"58", b"") or b"OrdRejReason " + f.get(b"103", b"?")
                text = "order reject: " + reason.decode(errors="replace")
                stats.reject(text[:120])
                self._answer(r, clid, now, "rejected", text)
            elif r.kind == K_NEW:
                stats.count("ack.new")
                if r.taker and status not in (b"2",) and et not in (b"F", b"1", b"2"):
                    self._taker_start[clid] = r.start_ns
                elif r.taker and et in (b"F", b"1", b"2"):
                    stats.record("fill", (now - r.start_ns) // 1000)
                self._answer(r, clid, now, _outcome(status))
            elif r.kind == K_CANCEL:
                stats.count("ack.cancel")
                self.open_orders.pop(r.orig, None)
                self._answer(r, clid, now, "canceled")
            else:
                stats.count("ack.replace")
                self.open_orders.pop(r.orig, None)
                self._answer(r, clid, now, "replaced")
        elif et == b"5" and f.get(b"41") is not None:
            self.open_orders.pop(f[b"41"], None)
        # Track resting orders by their current ClOrdID.
        if status in _LIVE_STATUS:
            sym = f.get(b"55", b"")
            side = f.get(b"54", b"")
            if clid not in self.open_orders:
                self.open_orders[clid] = (sym, side)
        elif status in _DONE_STATUS:
            self.open_orders.pop(clid, None)
            if status == b"2":
                self._taker_start.pop(clid, None)
            if et == b"4":
                orig = f.get(b"41")
                if orig is not None:
                    self.open_orders.pop(orig, None)

    def _on_cancel_reject(self, f: dict[bytes, bytes], now: int) -> None:
        clid = f.get(b"11", b"")
        orig = f.get(b"41", b"")
        reason = (
            f"cancel reject {f.get(b'102', b'?').decode()}: "
            f"{f.get(b'58', b'').decode(errors='replace')}"
        )
        self.stats.reject(reason[:120])
        # An unknown / already-closed order is not resting any more.
        if f.get(b"102") == b"1":
            self.open_orders.pop(orig, None)
        r = self._pending.pop(clid, None)
        if r is not None:
            self._answer(r, clid, now, "rejected", reason)

    def _on_session_reject(self, f: dict[bytes, bytes]) -> None:
        ref = int(f.get(b"45", b"0") or 0)
        text = (
            f"session reject {f.get(b'373', b'?').decode()}: "
            f"{f.get(b'58', b'').decode(errors='replace')}"
        )
        self.stats.error(text[:120])
        for clid, r in list(self._pending.items()):
            if r.seq == ref:
                del self._pending[clid]
                if not r.fut.done():
                    r.fut.set_exception(FixError(text))
                break


def _outcome(status: bytes) -> str:
    if status == b"2":
        return "filled"
    if status == b"1":
        return "partial"
    if status in (b"4", b"C", b"3"):
        return "canceled"
    return "new"
