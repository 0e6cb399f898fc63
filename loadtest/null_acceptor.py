"""Null targets for ``--self-test``: they answer at once and do nothing else.

* :class:`NullFixAcceptor`: a FIX acceptor that answers Logon, acknowledges every
  NewOrderSingle with an ExecutionReport 39=0, every OrderCancelRequest with 39=4,
  every OrderCancelReplaceRequest with 39=5, answers TestRequest and Logout.
* :func:`start_null_ws`: a WebSocket server (path ``/ws``) that acknowledges
  ``session.logon`` / ``order.*`` at once, answers ``subscribe`` with a book snapshot
  and pushes synthetic book deltas (with ``seq``, ``prev_seq`` and ``ts_us``) to every
  book subscriber at a fixed rate, serialized once per update.

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
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve

from loadtest.fixproto import (
    Template,
    encode,
    fix_logon_signature_payload,
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
            self.on_message(parse(raw))
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

    def on_message(self, f: dict[bytes, bytes]) -> None:
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
            self._on_logon(f)
        elif mt == b"1":
            self._admin(b"0", [(112, f.get(b"112", b""))])
        elif mt == b"5":
            self._admin(b"5", [])
            if self.t is not None:
                self.t.write(b"".join(self.out))
                self.out.clear()
                self.t.close()

    def _on_logon(self, f: dict[bytes, bytes]) -> None:
        self.begin = f.get(b"8", b"FIX.4.4")
        self.sender = f.get(b"56", b"GATEWAY")
        self.target = f.get(b"49", b"CLIENT1")
        verify = self.acc.verify_key
        if verify is not None:
            from cryptography.exceptions import InvalidSignature

            payload = fix_logon_signature_payload(
                b"A",
                f.get(b"49", b""),
                f.get(b"56", b""),
                int(f.get(b"34", b"0")),
                f.get(b"52", b""),
            )
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
class NullWsState:
    """Subscribers and counters of the null WebSocket server."""

    def __init__(self, md_rate: float) -> None:
        self.md_rate = md_rate
        self.book_subs: dict[str, set[ServerConnection]] = {}
        self.seq: dict[str, int] = {}
        self.books: dict[str, list[list[list[str]]]] = {}
        self.ids = itertools.count(1)
        self.counts: dict[str, int] = {}
        self.server: Server | None = None
        self.pub_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(next(iter(self.server.sockets)).getsockname()[1])

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
    subs: list[str] = []
    try:
        async for raw in ws:
            try:
                req = orjson.loads(raw)
                rid = req.get("id")
                method = req.get("method", "")
                params = req.get("params") or {}
            except (orjson.JSONDecodeError, AttributeError):
                await ws.send(orjson.dumps({"id": None, "status": 400, "error": {"code": 400}}))
                continue
            state.counts[method] = state.counts.get(method, 0) + 1
            result: Any
            push: list[bytes] = []
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
                result = {"channels": chans}
                for ch in chans:
                    if not ch.startswith("book."):
                        continue
                    if method == "subscribe":
                        state.book_subs.setdefault(ch, set()).add(ws)
                        subs.append(ch)
                        push.append(orjson.dumps({"channel": ch, **state.snapshot(ch)}))
                    else:
                        state.book_subs.get(ch, set()).discard(ws)
            else:
                await ws.send(
                    orjson.dumps(
                        {"id": rid, "status": 404, "error": {"code": 404, "msg": "unknown method"}}
                    )
                )
                continue
            await ws.send(orjson.dumps({"id": rid, "status": 200, "result": result}))
            for p in push:
                await ws.send(p)
    except Exception:  # a dropped client must not take the server down
        pass
    finally:
        for ch in subs:
            state.book_subs.get(ch, set()).discard(ws)


async def _publisher(state: NullWsState) -> None:
    """Push synthetic deltas to every book subscriber at ``md_rate`` updates/s."""
    if state.md_rate <= 0:
        return
    interval = 1.0 / state.md_rate
    t0 = time.perf_counter()
    n = 0
    while True:
        due = int((time.perf_counter() - t0) / interval) + 1
        while n < due:
            n += 1
            for ch, conns in list(state.book_subs.items()):
                if not conns:
                    continue
                data = state.delta(ch, n)
                seq = data["seq"]
                broadcast(conns, orjson.dumps({"channel": ch, "seq": seq, "data": data}).decode())
                state.counts["pushed"] = state.counts.get("pushed", 0) + len(conns)
        wait = t0 + n * interval - time.perf_counter()
        await asyncio.sleep(max(0.0, wait - 0.001) if wait > 0.0012 else 0.0005)


async def start_null_ws(
    host: str = "127.0.0.1", port: int = 0, md_rate: float = 0.0
) -> NullWsState:
    state = NullWsState(md_rate)

    async def handler(ws: ServerConnection) -> None:
        await _ws_handler(state, ws)

    state.server = await serve(handler, host, port, compression=None, max_queue=None)
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
