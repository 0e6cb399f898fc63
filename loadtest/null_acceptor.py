"""Null targets for ``--self-test``: they answer at once and do nothing else.

* :class:`NullFixAcceptor`: a FIX acceptor that answers Logon, acknowledges every
  NewOrderSingle with an ExecutionReport 39=0, every OrderCancelRequest with 39=4,
  every OrderCancelReplaceRequest with 39=5, answers TestRequest and Logout.
* :func:`start_null_ws`: a WebSocket server (path ``/ws``) that acknowledges
  ``session.logon`` / ``order.*`` at once, answers ``subscribe`` with a book snapshot
  and pushes synthetic book deltas (with ``seq``, ``prev_seq`` and ``ts_us``) to every
  book subscriber at a fixed rate.  It writes the way the gateway does: each update is
  serialized and framed once and shared by every subscriber, each connection gets one
  ``transport.write`` per loop iteration, socket send buffers are capped and each
  connection's outbox is bounded: a subscriber that falls behind is conflated (its
  deltas are dropped, then ONE fresh snapshot, then deltas again) instead of being
  queued for without limit.  On exit the standalone server prints its counters.

Running the harness against them measures the harness's own ceiling (the null
targets do as little as possible; on a small box they share the CPU with the
harness, which the report notes).  Run standalone::

    python -m loadtest.null_acceptor --fix-port 0 --ws-port 0 --md-rate 1000

prints ``{"fix_port": ..., "ws_port": ..., "pid": ...}`` on one line and serves
until stdin closes (so it dies with the harness that started it) or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.protocol import State

from loadtest.fixproto import (
    Template,
    encode,
    fix_logon_signed_bytes,
    frame,
    parse,
    sending_time,
)
from loadtest.ws_client import book_checksum

__all__ = ["NullFixAcceptor", "NullWsState", "start_null_fix", "start_null_ws"]


class NullFixSession(asyncio.Protocol):
    def __init__(self, acceptor: NullFixAcceptor) -> None:
        self.acc = acceptor
        self.t: asyncio.Transport | None = None
        self.buf = bytearray()
        self.seq = 0
        self.begin = b"FIX.4.4"
        self.sender = b"GATEWAY"
        self.target = b"CLIENT1"
        self.er_new: Template | None = None
        self.er_cxl: Template | None = None
        self.er_rpl: Template | None = None
        self.out: list[bytes] = []
        self.logged_on = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.t = tr
        sock = tr.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.acc.sessions.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.acc.sessions.discard(self)
        self.t = None

    def _templates(self) -> None:
        h: list[tuple[int, bytes | str | None]] = [
            (35, b"8"),
            (49, self.sender),
            (56, self.target),
            (34, None),
            (52, None),
            (37, None),
            (17, None),
            (11, None),
        ]
        common: list[tuple[int, bytes | str | None]] = [(55, None), (54, None)]
        self.er_new = Template(
            self.begin,
            [
                *h,
                (150, b"0"),
                (39, b"0"),
                *common,
                (38, None),
                (44, None),
                (151, None),
                (14, b"0"),
                (6, b"0"),
                (60, None),
            ],
        )
        self.er_cxl = Template(
            self.begin,
            [
                *h,
                (41, None),
                (150, b"4"),
                (39, b"4"),
                *common,
                (151, b"0"),
                (14, b"0"),
                (6, b"0"),
                (60, None),
            ],
        )
        self.er_rpl = Template(
            self.begin,
            [
                *h,
                (41, None),
                (150, b"5"),
                (39, b"5"),
                *common,
                (38, None),
                (44, None),
                (151, None),
                (14, b"0"),
                (6, b"0"),
                (60, None),
            ],
        )

    def data_received(self, data: bytes) -> None:
        self.buf += data
        for raw in frame(self.buf):
            self.on_message(parse(raw), raw)
        if self.out and self.t is not None:
            self.t.write(b"".join(self.out))
            self.out.clear()

    def _admin(self, mt: bytes, fields: list[tuple[int, bytes | str | int]]) -> None:
        self.seq += 1
        head: list[tuple[int, bytes | str | int]] = [
            (35, mt),
            (49, self.sender),
            (56, self.target),
            (34, self.seq),
            (52, sending_time()),
        ]
        self.out.append(encode(self.begin, head + fields))

    def on_message(self, f: dict[bytes, bytes], raw: bytes) -> None:
        mt = f.get(b"35", b"")
        acc = self.acc
        key = mt.decode(errors="replace")
        acc.counts[key] = acc.counts.get(key, 0) + 1
        if mt == b"D":
            assert self.er_new is not None
            self.seq += 1
            oid = b"%d" % next(acc.ids)
            st = sending_time()
            qty = f.get(b"38", b"0")
            self.out.append(
                self.er_new.render(
                    self.seq,
                    st,
                    oid,
                    oid,
                    f.get(b"11", b""),
                    f.get(b"55", b""),
                    f.get(b"54", b""),
                    qty,
                    f.get(b"44", b"0"),
                    qty,
                    st,
                )
            )
        elif mt == b"F":
            assert self.er_cxl is not None
            self.seq += 1
            oid = b"%d" % next(acc.ids)
            st = sending_time()
            self.out.append(
                self.er_cxl.render(
                    self.seq,
                    st,
                    oid,
                    oid,
                    f.get(b"11", b""),
                    f.get(b"41", b""),
                    f.get(b"55", b""),
                    f.get(b"54", b""),
                    st,
                )
            )
        elif mt == b"G":
            assert self.er_rpl is not None
            self.seq += 1
            oid = b"%d" % next(acc.ids)
            st = sending_time()
            qty = f.get(b"38", b"0")
            self.out.append(
                self.er_rpl.render(
                    self.seq,
                    st,
                    oid,
                    oid,
                    f.get(b"11", b""),
                    f.get(b"41", b""),
                    f.get(b"55", b""),
                    f.get(b"54", b""),
                    qty,
                    f.get(b"44", b"0"),
                    qty,
                    st,
                )
            )
        elif mt == b"A":
            self._on_logon(f, raw)
        elif mt == b"1":
            self._admin(b"0", [(112, f.get(b"112", b""))])
        elif mt == b"5":
            self._admin(b"5", [])
            if self.t is not None:
                self.t.write(b"".join(self.out))
                self.out.clear()
                self.t.close()

    def _on_logon(self, f: dict[bytes, bytes], raw: bytes) -> None:
        self.begin = f.get(b"8", b"FIX.4.4")
        self.sender = f.get(b"56", b"GATEWAY")
        self.target = f.get(b"49", b"CLIENT1")
        verify = self.acc.verify_key
        if verify is not None:
            from cryptography.exceptions import InvalidSignature

            payload = fix_logon_signed_bytes(raw)
            try:
                verify.verify(base64.b64decode(f.get(b"96", b"")), payload)
            except (InvalidSignature, ValueError):
                self._admin(b"5", [(58, b"invalid signature")])
                return
        if f.get(b"141") == b"Y":
            self.seq = 0
        self._templates()
        fields: list[tuple[int, bytes | str | int]] = [(98, 0), (108, f.get(b"108", b"30"))]
        if f.get(b"141") == b"Y":
            fields.append((141, b"Y"))
        self._admin(b"A", fields)
        self.logged_on = True


class NullFixAcceptor:
    def __init__(self, verify_key: Any = None) -> None:
        self.sessions: set[NullFixSession] = set()
        self.counts: dict[str, int] = {}
        self.ids = itertools.count(1)
        self.verify_key = verify_key
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for s in list(self.sessions):
            if s.t is not None:
                s.t.close()


async def start_null_fix(
    host: str = "127.0.0.1", port: int = 0, verify_key: Any = None
) -> NullFixAcceptor:
    acc = NullFixAcceptor(verify_key)
    loop = asyncio.get_running_loop()
    acc.server = await loop.create_server(lambda: NullFixSession(acc), host, port)
    return acc


# -- WebSocket -------------------------------------------------------------------
#: SO_SNDBUF of each null WS socket and the transport write-buffer limit: the gateway's
#: values (gateway/ws/server.py), so a subscriber that cannot keep up backs up into a
#: small bounded outbox here instead of megabytes of kernel send buffer.
SEND_BUFFER_BYTES = 32 * 1024
WRITE_LIMIT_BYTES = 32 * 1024
#: Frames queued for one connection before its book subscriptions are conflated (each
#: stale channel later gets ONE fresh snapshot, then deltas resume), as the gateway does
#: at half its 1024-frame send queue.
SOFT_LIMIT_FRAMES = 512
#: Must-deliver frames (answers) queued for one connection before it is dropped.
HARD_LIMIT_FRAMES = 4096
#: The publisher wakes at most this often and pushes every delta due since.
PUBLISH_TICK_S = 0.002

_OPEN = State.OPEN
_SMALL_HEADERS = [bytes((0x81, n)) for n in range(126)]


def ws_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented RFC 6455 text frame (server to client)."""
    n = len(payload)
    if n < 126:
        return _SMALL_HEADERS[n] + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


class NullWsConn:
    """Write side of one null WS connection: a bounded outbox of ready frames.

    Frames (answers, snapshots, deltas serialized and framed once per update and
    shared by every subscriber) are queued and written with ONE ``transport.write``
    per connection per loop iteration, the gateway's write path.  While the transport
    holds more than ``WRITE_LIMIT_BYTES`` nothing more is written; book deltas then
    accumulate up to ``SOFT_LIMIT_FRAMES`` and beyond that the channel is conflated.
    """

    __slots__ = ("frames", "queue", "stale", "state", "transport", "ws")

    def __init__(self, state: NullWsState, ws: ServerConnection) -> None:
        self.state = state
        self.ws = ws
        self.transport = ws.transport
        self.queue: list[bytes] = []
        self.frames = 0
        self.stale: dict[str, None] = {}
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def push(self, payload: bytes) -> None:
        """Queue a must-deliver frame (an answer, a snapshot)."""
        if self.frames >= HARD_LIMIT_FRAMES:
            self.state.count("overflow_closed")
            self.queue.clear()
            self.frames = 0
            self.transport.abort()
            return
        self.queue.append(ws_frame(payload))
        self.frames += 1
        self.state.mark(self)

    def offer(self, ch: str, blob: bytes, n: int) -> None:
        """Queue ``n`` shared delta frames of ``ch``, or conflate the channel."""
        if ch in self.stale:
            self.state.dropped += n
            return
        if self.frames >= SOFT_LIMIT_FRAMES:
            self.stale[ch] = None
            self.state.dropped += n
            self.state.count("conflated")
            return
        self.queue.append(blob)
        self.frames += n
        self.state.sent += n
        self.state.mark(self)

    def flush(self) -> bool:
        """Write the queue if the socket takes it; True while something still waits."""
        t = self.transport
        if t.is_closing() or self.ws.protocol.state is not _OPEN:
            self.queue.clear()
            self.frames = 0
            self.stale.clear()
            return False
        if t.get_write_buffer_size() >= WRITE_LIMIT_BYTES:
            return True
        if self.queue:
            t.write(b"".join(self.queue))
            self.queue.clear()
            self.frames = 0
        if self.stale:
            if t.get_write_buffer_size():
                return True  # resync once the backlog has drained completely
            state = self.state
            t.write(
                b"".join(
                    ws_frame(orjson.dumps({"channel": ch, **state.snapshot(ch)}))
                    for ch in self.stale
                )
            )
            state.count("resynced", len(self.stale))
            self.stale.clear()
        return False


class NullWsState:
    """Subscribers, outboxes and counters of the null WebSocket server."""

    def __init__(self, md_rate: float) -> None:
        self.md_rate = md_rate
        self.book_subs: dict[str, dict[NullWsConn, None]] = {}
        self.seq: dict[str, int] = {}
        self.books: dict[str, list[list[list[str]]]] = {}
        self.ids = itertools.count(1)
        self.counts: dict[str, int] = {}
        self.server: Server | None = None
        self.pub_task: asyncio.Task[None] | None = None
        #: connections with something queued (or waiting for their transport to drain)
        self.dirty: dict[NullWsConn, None] = {}
        self._scheduled = False
        #: delta frames queued for / dropped from subscribers (conflation)
        self.sent = 0
        self.dropped = 0

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(next(iter(self.server.sockets)).getsockname()[1])

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def mark(self, conn: NullWsConn) -> None:
        self.dirty[conn] = None
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """One pass over the connections with something to send: one write each."""
        self._scheduled = False
        dirty, self.dirty = self.dirty, {}
        for conn in dirty:
            if conn.flush():
                self.dirty[conn] = None  # paused: retried at the next publisher tick

    def _book(self, ch: str) -> list[list[list[str]]]:
        book = self.books.get(ch)
        if book is None:
            bids = [[f"{49_999.99 - k / 100:.2f}", "1"] for k in range(10)]
            asks = [[f"{50_000.01 + k / 100:.2f}", "1"] for k in range(10)]
            book = self.books[ch] = [bids, asks]
        return book

    def snapshot(self, ch: str) -> dict[str, Any]:
        """A book snapshot push (``seq`` and ``data``) in the gateway's format."""
        bids, asks = self._book(ch)
        seq = self.seq.get(ch, 0)
        data: dict[str, Any] = {
            "type": "snapshot",
            "symbol": ch.split(".")[1] if "." in ch else ch,
            "seq": seq,
            "ts_us": time.time_ns() // 1000,
            "bids": bids,
            "asks": asks,
            "checksum": book_checksum(bids, asks),
        }
        return {"seq": seq, "data": data}

    def delta(self, ch: str, n: int) -> dict[str, Any]:
        """The next synthetic delta of ``ch``: one bid level's quantity changes."""
        bids, asks = self._book(ch)
        level = bids[n % 10]
        level[1] = str(1 + n % 5)
        prev = self.seq.get(ch, 0)
        seq = self.seq[ch] = prev + 1
        return {
            "type": "delta",
            "symbol": ch.split(".")[1] if "." in ch else ch,
            "seq": seq,
            "prev_seq": prev,
            "ts_us": time.time_ns() // 1000,
            "bids": [list(level)],
            "asks": [],
            "checksum": book_checksum(bids, asks),
        }

    def subscribe(self, conn: NullWsConn, ch: str) -> None:
        """Queue the snapshot, then register: every later delta chains onto it."""
        conn.push(orjson.dumps({"channel": ch, **self.snapshot(ch)}))
        self.book_subs.setdefault(ch, {})[conn] = None

    def unsubscribe(self, conn: NullWsConn, ch: str) -> None:
        self.book_subs.get(ch, {}).pop(conn, None)
        conn.stale.pop(ch, None)

    def publish(self, first: int, last: int) -> None:
        """Push deltas ``first..last`` of every subscribed channel (one blob each)."""
        for ch, conns in self.book_subs.items():
            if not conns:
                continue
            blob = b"".join(
                ws_frame(
                    orjson.dumps({"channel": ch, "seq": (d := self.delta(ch, n))["seq"], "data": d})
                )
                for n in range(first, last + 1)
            )
            k = last - first + 1
            for conn in conns:
                conn.offer(ch, blob, k)

    def close(self) -> None:
        if self.pub_task is not None:
            self.pub_task.cancel()
        if self.server is not None:
            self.server.close()


def _order(params: dict[str, Any], oid: int, status: str) -> dict[str, Any]:
    qty = str(params.get("quantity", "0"))
    return {
        "id": str(oid),
        "client_order_id": params.get("client_order_id"),
        "symbol": params.get("symbol"),
        "side": params.get("side"),
        "type": params.get("type", "limit"),
        "status": status,
        "price": params.get("price"),
        "quantity": qty,
        "filled": "0",
        "remaining": qty if status == "new" else "0",
        "average_price": "0",
        "fee": "0",
        "ts_us": time.time_ns() // 1000,
    }


async def _ws_handler(state: NullWsState, ws: ServerConnection) -> None:
    conn = NullWsConn(state, ws)
    subs: list[str] = []
    try:
        async for raw in ws:
            try:
                req = orjson.loads(raw)
                rid = req.get("id")
                method = req.get("method", "")
                params = req.get("params") or {}
            except (orjson.JSONDecodeError, AttributeError):
                conn.push(orjson.dumps({"id": None, "status": 400, "error": {"code": 400}}))
                continue
            state.count(method)
            result: Any
            if method == "order.place":
                result = _order(params, next(state.ids), "new")
                result["fills"] = []
            elif method == "order.cancel":
                result = _order(params, next(state.ids), "canceled")
            elif method == "order.replace":
                result = _order(params, next(state.ids), "new")
                result["fills"] = []
            elif method == "session.logon":
                result = {"api_key": params.get("api_key"), "account": "NULL"}
            elif method in ("subscribe", "unsubscribe"):
                chans = [str(c) for c in params.get("channels", [])]
                conn.push(orjson.dumps({"id": rid, "status": 200, "result": {"channels": chans}}))
                for ch in chans:
                    if not ch.startswith("book."):
                        continue
                    if method == "subscribe":
                        state.subscribe(conn, ch)
                        subs.append(ch)
                    else:
                        state.unsubscribe(conn, ch)
                continue
            else:
                err = {"code": 404, "msg": "unknown method"}
                conn.push(orjson.dumps({"id": rid, "status": 404, "error": err}))
                continue
            conn.push(orjson.dumps({"id": rid, "status": 200, "result": result}))
    except Exception:  # a dropped client must not take the server down
        pass
    finally:
        for ch in subs:
            state.unsubscribe(conn, ch)
        state.dirty.pop(conn, None)


async def _publisher(state: NullWsState) -> None:
    """Push synthetic deltas to every book subscriber at ``md_rate`` updates/s.

    Wakes every ``PUBLISH_TICK_S`` (or 1/md_rate if longer), serializes the deltas due
    since the last wake-up once per channel, offers them to each subscriber's outbox
    and flushes: one write per connection per tick, whatever the rate.  It also retries
    the connections whose transport was full.
    """
    interval = 1.0 / state.md_rate if state.md_rate > 0 else 0.0
    tick = max(PUBLISH_TICK_S, interval)
    t0 = time.perf_counter()
    n = 0
    while True:
        now = time.perf_counter()
        if interval:
            due = int((now - t0) / interval)
            if due > n:
                state.publish(n + 1, due)
                n = due
        if state.dirty:
            state.flush()
        await asyncio.sleep(max(0.0, tick - (time.perf_counter() - now)))


async def start_null_ws(
    host: str = "127.0.0.1", port: int = 0, md_rate: float = 0.0
) -> NullWsState:
    state = NullWsState(md_rate)

    async def handler(ws: ServerConnection) -> None:
        await _ws_handler(state, ws)

    state.server = await serve(
        handler, host, port, compression=None, max_queue=None, write_limit=WRITE_LIMIT_BYTES
    )
    state.pub_task = asyncio.get_running_loop().create_task(_publisher(state))
    return state


# -- standalone ------------------------------------------------------------------
async def serve_forever(
    host: str,
    fix_port: int,
    ws_port: int,
    md_rate: float,
    on_ready: Callable[[dict[str, Any]], None],
) -> None:
    acc = await start_null_fix(host, fix_port)
    ws = await start_null_ws(host, ws_port, md_rate)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    on_ready({"fix_port": acc.port, "ws_port": ws.port, "pid": os.getpid()})
    watch: Awaitable[Any] = loop.run_in_executor(None, sys.stdin.buffer.read)
    watcher = asyncio.ensure_future(watch)
    watcher.add_done_callback(lambda _f: stop.set())
    await stop.wait()
    acc.close()
    ws.close()
    # What the null WS server did (conflation shows that subscribers fell behind).
    on_ready(
        {
            "ws_counts": dict(sorted(ws.counts.items())),
            "md_frames_queued": ws.sent,
            "md_frames_conflated": ws.dropped,
        }
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m loadtest.null_acceptor", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--fix-port", type=int, default=0)
    ap.add_argument("--ws-port", type=int, default=0)
    ap.add_argument("--md-rate", type=float, default=1000.0, help="book deltas/s per channel")
    args = ap.parse_args(argv)

    def ready(info: dict[str, Any]) -> None:
        print(json.dumps(info), flush=True)

    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    runner(serve_forever(args.host, args.fix_port, args.ws_port, args.md_rate, ready))
    os._exit(0)  # the stdin watcher thread may still be blocked in read()


if __name__ == "__main__":
    main()
