"""The null fan-out server: ``ws_bench fanout --targets null`` measures the harness with it.

::

    python -m loadtest.ws_null --rate 200

prints ``READY <port> <pid>`` and serves ``/ws`` on 127.0.0.1 until SIGTERM or stdin
closes, then prints one JSON line of counters. It does as little as a WebSocket
server can: a hand-made handshake, ``subscribe`` answered as the gateway answers it
(``{"id":..,"status":200,"result":{"subscribed":[..]}}`` then a book snapshot), and
``--rate`` book deltas per second in the gateway's format (docs/WS_API.md: ``seq``,
``prev_seq`` and ``ts_us``, correctly chained), each serialized and framed once and
written to every subscriber, one ``transport.write`` per subscriber per tick, with the
gateway's capped socket send buffer. A subscriber whose transport holds more than
:data:`BACKLOG_BYTES` gets no more deltas until it has drained, then one fresh snapshot
(a conflation, which the subscribers count). Against it the subscribers' delivered
rate and latency are the harness's own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import sys
import time
from typing import Any, cast

import orjson

from loadtest.null_acceptor import NullWsState, ws_frame

__all__ = ["BACKLOG_BYTES", "NullFanout", "main"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: SO_SNDBUF of each connection, as the gateway sets it (gateway/ws/server.py).
SEND_BUFFER_BYTES = 32 * 1024
#: Bytes a transport may hold before its subscriber is conflated.
BACKLOG_BYTES = 256 * 1024
#: The publisher writes at most this often; deltas due in between share one write.
MIN_TICK_S = 0.001


class NullConn(asyncio.Protocol):
    """One subscriber connection: handshake, masked client frames, subscribe."""

    def __init__(self, server: NullFanout) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.stale = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.subscribers.pop(self, None)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self._handshake(bytes(buf[:end]))
            pos = end + 4
        while len(buf) - pos >= 6:
            n, off = buf[pos + 1] & 0x7F, pos + 2
            if n == 126:
                n, off = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif n == 127:
                n, off = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            end = off + 4 + n
            if end > len(buf):
                break
            mask = buf[off : off + 4] * (n // 4 + 1)
            payload = bytes(b ^ m for b, m in zip(buf[off + 4 : end], mask, strict=False))
            self._frame(buf[pos] & 0x0F, payload)
            pos = end
        del buf[:pos]

    def _handshake(self, request: bytes) -> None:
        key = b""
        for line in request.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True

    def _frame(self, opcode: int, payload: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if opcode == 8:  # close: echo it and hang up
            transport.write(b"\x88\x02\x03\xe8")
            transport.close()
        elif opcode == 9:  # ping
            transport.write(bytes((0x8A, len(payload))) + payload)
        elif opcode == 1:
            request = orjson.loads(payload)
            channels = [str(c) for c in request.get("params", {}).get("channels", [])]
            answer = {"id": request.get("id"), "status": 200, "result": {"subscribed": channels}}
            transport.write(ws_frame(orjson.dumps(answer)) + self.server.snapshot())
            self.server.subscribers[self] = None


class NullFanout:
    """Subscribers and the publisher of one book channel at ``rate`` deltas/s."""

    def __init__(self, rate: float, channel: str = "book.BTC-USD.10", drop_every: int = 0) -> None:
        self.rate = rate
        #: a planted fault for the harness's tests: every Nth delta is built but not sent
        self.drop_every = drop_every
        self.channel = channel
        self.book = NullWsState(rate)
        self.subscribers: dict[NullConn, None] = {}
        self.published = 0
        self.frames_sent = 0
        self.conflated = 0

    def snapshot(self) -> bytes:
        return ws_frame(orjson.dumps({"channel": self.channel, **self.book.snapshot(self.channel)}))

    def _deltas(self, first: int, last: int) -> tuple[bytes, int]:
        """Deltas ``first..last``, serialized and framed once for every subscriber, and
        how many frames that is."""
        parts = []
        for n in range(first, last + 1):
            data = self.book.delta(self.channel, n)
            if self.drop_every and n % self.drop_every == 0:
                continue
            parts.append(ws_frame(orjson.dumps({"channel": self.channel, "seq": data["seq"],
                                                "data": data})))  # fmt: skip
        return b"".join(parts), len(parts)

    def publish(self, first: int, last: int) -> None:
        blob, count = self._deltas(first, last)
        self.published += last - first + 1
        snapshot: bytes | None = None
        for conn in self.subscribers:
            transport = conn.transport
            if transport is None:
                continue
            buffered = transport.get_write_buffer_size()
            if conn.stale:
                if buffered:
                    continue
                conn.stale = False
                if snapshot is None:
                    snapshot = self.snapshot()
                transport.write(snapshot)  # the state after this blob: it replaces it
                self.frames_sent += 1
                continue
            if buffered > BACKLOG_BYTES:
                conn.stale = True
                self.conflated += 1
                continue
            transport.write(blob)
            self.frames_sent += count

    async def run(self) -> None:
        """Publish each delta when due; at high rates, those due within MIN_TICK_S together."""
        if self.rate <= 0:
            return
        t0 = time.perf_counter()
        done = 0
        while True:
            now = time.perf_counter() - t0
            due = int(now * self.rate)
            if due > done:
                self.publish(done + 1, due)
                done = due
            wake = max((done + 1) / self.rate, now + MIN_TICK_S)
            await asyncio.sleep(max(0.0, wake - (time.perf_counter() - t0)))

    def counters(self) -> dict[str, Any]:
        return {
            "deltas_published": self.published,
            "frames_sent": self.frames_sent,
            "conflated": self.conflated,
        }


async def serve(rate: float, port: int, drop_every: int = 0) -> NullFanout:
    null = NullFanout(rate, drop_every=drop_every)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: NullConn(null), "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.run_in_executor(None, sys.stdin.buffer.read).add_done_callback(lambda _f: stop.set())
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound} {os.getpid()}", flush=True)
    publisher = loop.create_task(null.run())
    await stop.wait()
    publisher.cancel()
    server.close()
    return null


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.ws_null", description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="book deltas per second")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--drop-every", type=int, default=0, help="leave out every Nth delta")
    args = parser.parse_args(argv)
    import uvloop

    null = uvloop.run(serve(args.rate, args.port, args.drop_every))
    print(json.dumps(null.counters()), flush=True)
    os._exit(0)  # the stdin reader thread may still be blocked


if __name__ == "__main__":
    sys.exit(main())
