"""Asyncio client for the gateway's WebSocket JSON API, for load generation.

Requests are ``{"id", "method", "params"}``; answers ``{"id", "status", "result"}`` or
``{"id", "status", "error": {"code", "msg"}}``; pushes ``{"channel", "seq", "data"}``.

* ``request()`` returns a future completing with the answer (rejects are answers:
  status != 200 completes normally and the reason is counted); the latency
  (answer receipt minus ``start_ns``) goes to the session's stats under the
  request's metric (``order_ack``, ``cancel_ack``, ``replace_ack``, ``logon``).
  Requests are queued to one writer task so a pacer never blocks on a socket.
* Pushes with an event time ``ts_us`` (microseconds since the epoch) record
  ``md_delivery`` = local wall-clock receipt time minus ``ts_us``; book channels are
  checked for gapless ``seq`` / ``prev_seq``.  Both clocks are the same host's
  when the target runs on loopback; across hosts the figure includes clock offset.

The logon signing payload is :func:`ws_logon_payload` (docs/WS_API.md: the UTF-8
bytes of ``f"{api_key}\n{timestamp_ms}"``), signed by :func:`ws_sign` (HMAC-SHA256 as
64 hex digits, or Ed25519 as 128 hex digits); each logon uses a new timestamp, since
the gateway accepts each (api_key, timestamp_ms) once.

Book channels are followed as docs/WS_API.md "Keeping a local order book" says: a
``snapshot`` replaces the local book, a ``delta`` must chain (``prev_seq`` equal to
the last ``seq`` of the channel) and its absolute level quantities are applied
(``"0"`` deletes), and the ``checksum`` (CRC-32 of the interleaved top-10 levels,
:func:`book_checksum`) is verified after every message.  A broken chain or a checksum
mismatch is counted as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import itertools
import socket
import struct
import termios
import time
import zlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loadtest.stats import SessionStats

__all__ = [
    "WsAnswer",
    "WsClient",
    "WsConfig",
    "WsError",
    "book_checksum",
    "classify_push",
    "ws_logon_payload",
    "ws_sign",
]


class WsError(Exception):
    pass


class WsAnswer(NamedTuple):
    status: int
    result: Any
    reason: str = ""
    code: int = 0  # the error code of a refusal


@dataclass
class WsConfig:
    url: str = "ws://127.0.0.1:8765/ws"
    api_key: str | None = None
    hmac_secret: str | None = None
    ed25519_key: Any = None  # Ed25519PrivateKey
    open_timeout_s: float = 10.0
    #: SO_RCVBUF of the socket (None: the kernel autotunes it, up to tcp_rmem's max)
    recv_buffer_bytes: int | None = None


def ws_logon_payload(api_key: str, timestamp_ms: int) -> bytes:
    """The bytes a ``session.logon`` signature covers: ``<api_key>\n<timestamp_ms>``."""
    return f"{api_key}\n{timestamp_ms}".encode()


def ws_sign(cfg: WsConfig, timestamp_ms: int) -> str:
    """Ed25519 signature (128 hex digits) if a key is set, else HMAC-SHA256 (64 hex)."""
    assert cfg.api_key is not None
    payload = ws_logon_payload(cfg.api_key, timestamp_ms)
    if cfg.ed25519_key is not None:
        return bytes(cfg.ed25519_key.sign(payload)).hex()
    if cfg.hmac_secret is not None:
        return hmac.new(cfg.hmac_secret.encode(), payload, hashlib.sha256).hexdigest()
    raise WsError("session.logon needs an Ed25519 key or an HMAC secret")


def book_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """CRC-32 of ``b1p:b1q:a1p:a1q:b2p:...`` over the top 10 levels, best first."""
    parts: list[str] = []
    for i in range(10):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return zlib.crc32(":".join(parts).encode())


class LocalBook:
    """One book channel's levels (price string -> quantity string), both sides."""

    __slots__ = ("asks", "bids", "seq")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, data: dict[str, Any]) -> None:
        for side, levels in (
            (self.bids, data.get("bids") or ()),
            (self.asks, data.get("asks") or ()),
        ):
            for px, qty in levels:
                if qty == "0":
                    side.pop(px, None)
                else:
                    side[px] = qty

    def checksum(self) -> int:
        bids = sorted(self.bids.items(), key=lambda kv: float(kv[0]), reverse=True)[:10]
        asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:10]
        return book_checksum([list(kv) for kv in bids], [list(kv) for kv in asks])


def classify_push(msg: dict[str, Any]) -> tuple[str, int | None, int | None, int | None, bool]:
    """(channel, seq, prev_seq, ts_us, is_snapshot) of a push message.

    ``seq`` is the top-level one (or ``data.seq``); ``prev_seq`` and ``ts_us`` come from
    ``data`` (or the top level).  A book message without ``prev_seq`` or with
    ``data.type == "snapshot"`` is a snapshot.
    """
    ch = str(msg.get("channel", ""))
    data = msg.get("data")
    if not isinstance(data, dict):
        data = {}
    seq = msg.get("seq", data.get("seq"))
    prev = data.get("prev_seq", msg.get("prev_seq"))
    ts = data.get("ts_us", msg.get("ts_us"))
    snap = data.get("type") == "snapshot" or (ch.startswith("book.") and prev is None)
    return ch, seq, prev, ts, snap


_METRIC = {"order.place": "order_ack", "order.cancel": "cancel_ack", "order.replace": "replace_ack"}
_run_tag = format(int(time.time() * 1000) % 36**6, "x")
_client_ids = itertools.count(1)
#: WS_API.md: each (api_key, timestamp_ms) logs on once (error 1015 otherwise)
_LOGON_REPLAYED = 1015
_LOGON_TRIES = 5
_last_logon_ms = 0


def _fresh_timestamp_ms() -> int:
    """Now in ms, but after every logon timestamp this process used."""
    global _last_logon_ms
    _last_logon_ms = max(int(time.time() * 1000), _last_logon_ms + 1)
    return _last_logon_ms


class WsClient:
    """One WebSocket connection: order entry and/or market-data subscriber."""

    def __init__(self, cfg: WsConfig, stats: SessionStats) -> None:
        self.cfg = cfg
        self.stats = stats
        self.ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, int, asyncio.Future[WsAnswer], dict[str, Any]]] = {}
        self._out: list[bytes] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._books: dict[str, LocalBook] = {}
        #: verify book checksums (the gateway's CRC-32 over the top 10 levels)
        self.verify_checksum = True
        self._closing = False
        self._clid_prefix = f"W{_run_tag}{next(_client_ids):x}."
        self._clid_n = 0
        #: resting orders: client_order_id -> (symbol, side)
        self.open_orders: dict[str, tuple[str, str]] = {}
        self._taker_start: dict[str, int] = {}

    async def connect(self) -> None:
        self.ws = await connect(
            self.cfg.url,
            compression=None,
            max_queue=64,  # bounded: a flooded reader must not starve the event loop
            max_size=16 * 1024 * 1024,
            open_timeout=self.cfg.open_timeout_s,
            ping_interval=20,
            ping_timeout=60,
            proxy=None,
        )
        if self.cfg.recv_buffer_bytes:
            sock = self.ws.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.cfg.recv_buffer_bytes)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._reader()), loop.create_task(self._writer())]

    async def logon(self) -> None:
        if self.cfg.api_key is None:
            return
        for _ in range(_LOGON_TRIES):
            ts = _fresh_timestamp_ms()
            params = {
                "api_key": self.cfg.api_key,
                "timestamp_ms": ts,
                "signature": ws_sign(self.cfg, ts),
            }
            ans = await asyncio.wait_for(
                self.request("session.logon", params, time.perf_counter_ns()), 10
            )
            if ans.status != 401 or ans.code != _LOGON_REPLAYED:
                break  # 1015: another process used this key and ms: sign a new one
        if ans.status != 200:
            self.stats.error(f"logon refused: {ans.reason}"[:120])
            raise WsError(f"logon refused: {ans.reason}")

    async def close(self) -> None:
        self._closing = True
        if len(self._tasks) > 1:
            self._tasks[1].cancel()  # the writer; the reader ends with the connection
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def unread_bytes(self) -> int:
        """Bytes the kernel holds for this connection that we have not read yet.

        With the frames websockets has parsed but the reader task has not processed
        (at most ``max_queue``), that is this client's own backlog: time a push spends
        there is client-side lag, not the server's (Linux FIONREAD; 0 elsewhere).
        """
        ws = self.ws
        if ws is None or ws.transport is None:
            return 0
        sock = ws.transport.get_extra_info("socket")
        if sock is None:
            return 0
        try:
            raw = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except (OSError, ValueError):
            return 0
        return int(struct.unpack("i", raw)[0])

    def stop_reading(self) -> None:
        """Stop processing incoming messages (the end of a subscriber's measurement)."""
        self._closing = True

    async def abort(self) -> None:
        """Drop the connection at once, discarding unread data (no close handshake).

        For subscribers at the end of a run: a graceful close would first read the
        whole backlog of pushes still in flight.
        """
        self._closing = True
        if self.ws is not None:
            self.ws.transport.abort()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- requests --------------------------------------------------------------
    def next_clid(self) -> str:
        self._clid_n += 1
        return f"{self._clid_prefix}{self._clid_n:x}"

    def request(
        self, method: str, params: dict[str, Any], start_ns: int
    ) -> asyncio.Future[WsAnswer]:
        fut: asyncio.Future[WsAnswer] = asyncio.get_running_loop().create_future()
        if self.ws is None or self._closing:
            fut.set_exception(WsError("not connected"))
            return fut
        rid = next(self._ids)
        self._pending[rid] = (method, start_ns, fut, params)
        self._out.append(orjson.dumps({"id": rid, "method": method, "params": params}))
        self._wake.set()
        self.stats.count("sent." + method)
        return fut

    def place(
        self,
        symbol: str,
        side: str,
        price: str,
        qty: str,
        start_ns: int,
        tif: str = "gtc",
        taker: bool = False,
    ) -> asyncio.Future[WsAnswer]:
        clid = self.next_clid()
        params = {
            "symbol": symbol,
            "side": side,
            "type": "limit",
            "price": price,
            "quantity": qty,
            "time_in_force": tif.lower(),
            "client_order_id": clid,
        }
        if taker:
            self._taker_start[clid] = start_ns
        return self.request("order.place", params, start_ns)

    def cancel(self, symbol: str, clid: str, start_ns: int) -> asyncio.Future[WsAnswer]:
        return self.request("order.cancel", {"symbol": symbol, "client_order_id": clid}, start_ns)

    def replace(
        self, symbol: str, clid: str, price: str, qty: str, start_ns: int
    ) -> asyncio.Future[WsAnswer]:
        params = {
            "symbol": symbol,
            "orig_client_order_id": clid,
            "client_order_id": self.next_clid(),
            "price": price,
            "quantity": qty,
        }
        return self.request("order.replace", params, start_ns)

    def subscribe(self, channels: list[str]) -> asyncio.Future[WsAnswer]:
        return self.request("subscribe", {"channels": channels}, time.perf_counter_ns())

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- tasks -----------------------------------------------------------------
    async def _writer(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch, self._out = self._out, []
                for m in batch:
                    await ws.send(m, text=True)
        except ConnectionClosed:
            pass

    async def _reader(self) -> None:
        ws = self.ws
        assert ws is not None
        n = 0
        try:
            async for raw in ws:
                if self._closing:
                    break
                n += 1
                if n & 31 == 0:
                    # websockets hands over queued messages without suspending: yield
                    # now and then, so that hundreds of flooded subscribers in one
                    # process take turns in short loop iterations and timers (the end
                    # of the run, progress, setup timeouts) still fire on time.
                    await asyncio.sleep(0)
                    if self._closing:
                        break
                try:
                    msg = orjson.loads(raw)
                    if "id" in msg and "channel" not in msg:
                        self._on_answer(msg)
                    elif "channel" in msg:
                        self.stats.count("md.bytes", len(raw))
                        self._on_push(msg)
                except Exception as exc:  # count harness/protocol surprises, keep reading
                    self.stats.error(f"client error: {type(exc).__name__}: {exc}"[:120])
        except ConnectionClosed as exc:
            if not self._closing:
                self.stats.error(f"connection closed: {exc.rcvd.code if exc.rcvd else ''}")
        finally:
            err = WsError("connection closed")
            if self._pending and not self._closing:
                self.stats.error("disconnected with requests pending")
            for _m, _s, fut, _p in self._pending.values():
                if not fut.done():
                    fut.set_exception(err)
            self._pending.clear()

    def _on_answer(self, msg: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        rid = msg.get("id")
        entry = self._pending.pop(rid, None) if isinstance(rid, int) else None
        if entry is None:
            self.stats.error("answer to unknown request id")
            return
        method, start_ns, fut, params = entry
        status = int(msg.get("status", 0))
        stats = self.stats
        stats.record(_METRIC.get(method, method.replace(".", "_")), (now - start_ns) // 1000)
        stats.count("answers")
        clid = params.get("client_order_id", "")
        if status != 200:
            err = msg.get("error") or {}
            reason = f"{status} {err.get('code', '')}: {err.get('msg', '')}"[:120]
            stats.reject(f"{method} {reason}")
            self._taker_start.pop(clid, None)
            if not fut.done():
                code = err.get("code")
                fut.set_result(WsAnswer(status, None, reason, code if isinstance(code, int) else 0))
            return
        result = msg.get("result")
        if method == "order.place":
            stats.count("ack.new")
            self._track(result, clid, params, now)
        elif method == "order.cancel":
            stats.count("ack.cancel")
        elif method == "order.replace":
            stats.count("ack.replace")
            self._track(result, clid, params, now)
        if not fut.done():
            fut.set_result(WsAnswer(status, result))

    def _track(self, order: Any, clid: str, params: dict[str, Any], now: int) -> None:
        st = order.get("status", "") if isinstance(order, dict) else ""
        t0 = self._taker_start.pop(clid, None)
        fills = order.get("fills") if isinstance(order, dict) else None
        if isinstance(fills, list):
            filled = bool(fills)  # the trades this command made (docs/WS_API.md)
        else:
            filled = isinstance(order, dict) and str(order.get("filled", "0")).strip("0.") != ""
        if filled:
            self.stats.count("fills", len(fills) if isinstance(fills, list) else 1)
            if t0 is not None:
                self.stats.record("fill", (now - t0) // 1000)
        if st in ("new", "open", "partially_filled", "partial"):
            assert isinstance(order, dict)
            self.open_orders[clid] = (
                str(order.get("symbol") or params.get("symbol", "")),
                str(order.get("side") or params.get("side", "")),
            )

    def _on_push(self, msg: dict[str, Any]) -> None:
        ch, seq, prev, ts, snap = classify_push(msg)
        stats = self.stats
        if ch.startswith("book."):
            data = msg.get("data")
            if not isinstance(data, dict):
                data = {}
            book = self._books.get(ch)
            if snap:
                stats.count("md.snapshots")
                book = self._books[ch] = LocalBook(seq if isinstance(seq, int) else -1)
                book.apply(data)
                self._check(book, data)
                return
            if book is None:
                stats.error("book delta before snapshot")
            else:
                if (prev is not None and prev != book.seq) or (
                    prev is None and isinstance(seq, int) and seq != book.seq + 1
                ):
                    stats.error("book sequence gap")
                if isinstance(seq, int):
                    book.seq = seq
                book.apply(data)
                self._check(book, data)
        stats.count("md.msgs")
        if isinstance(ts, int):
            stats.record("md_delivery", time.time_ns() // 1000 - ts)

    def _check(self, book: LocalBook, data: dict[str, Any]) -> None:
        want = data.get("checksum")
        if not self.verify_checksum or not isinstance(want, int):
            return
        if book.checksum() != want:
            self.stats.error("book checksum mismatch")
        else:
            self.stats.count("md.checksum_ok")
