"""The admin API server: aiohttp under /admin/v1 on its own listener.

Every request goes through one pipeline, in this order: body read (413), operator
authentication (401), the route's role rule (403), Idempotency-Key for mutations (400),
media type and JSON (415, 400), the route's request schema (422), the tenant scope of
a tenant-admin (403), the idempotency memory (replay or 409), then the handler. Each
request, whatever its fate, leaves one audit line. Errors are problem+json throughout.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any, Final

import orjson
import structlog
from aiohttp import web

from engine.commands import Command, command_to_record
from engine.events import RejectCode
from engine.venue.operators import AdminRequest, Operator
from gateway.admin.audit import AuditLog, audit_path
from gateway.admin.console.feed import ConsoleFeed
from gateway.admin.console.views import MARKET_DATA, SESSION_STATS
from gateway.admin.openapi import build_document
from gateway.admin.problems import Problem
from gateway.admin.refusals import RefusalJournal
from gateway.admin.routes import TENANT_ADMIN, Call, Outcome, Route, all_routes
from gateway.admin.schema import errors
from gateway.admin.signing import (
    HEADER_NONCE,
    HEADER_OPERATOR,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_PATTERN,
    canonical,
    verify,
)
from gateway.config import Config, parse_listen
from gateway.connguard import ConnectionGuard
from gateway.host import EngineHost
from gateway.marketdata import MarketDataPublisher
from gateway.metrics import Registry
from gateway.readstore import READSTORE, ReadStore
from gateway.reconciliation import RECONCILE, ReconcileMetrics
from gateway.rest.server import serve
from gateway.single_use import SingleUse

__all__ = ["PREFIX", "AdminServer", "request_digest"]

log = structlog.get_logger("gateway.admin")

PREFIX: Final = "/admin/v1"
_AUTH_HEADERS: Final = (HEADER_OPERATOR, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
_UNKNOWN: Final = frozenset(
    int(code)
    for code in (
        RejectCode.UNKNOWN_INSTRUMENT, RejectCode.UNKNOWN_ACCOUNT, RejectCode.UNKNOWN_ORDER,
        RejectCode.UNKNOWN_TENANT, RejectCode.UNKNOWN_CREDENTIAL, RejectCode.UNKNOWN_OPERATOR,
        RejectCode.UNKNOWN_REQUEST,
    )
)  # fmt: skip
_MAX_KEY: Final = 128


def request_digest(method: str, path_qs: str, body: bytes) -> str:
    """What makes two requests "the same" for an Idempotency-Key."""
    return hashlib.sha256(canonical(method, path_qs, 0, "", body)).hexdigest()


def _printable(text: str) -> str:
    """text as printable ASCII, whatever bytes a client sent (aiohttp keeps undecodable
    header bytes as surrogates, which JSON cannot hold)."""
    if text.isascii() and text.isprintable():
        return text
    ascii_text = text.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in ascii_text)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class _Trail:
    """The audit record of one request, filled in as the pipeline learns things."""

    __slots__ = (
        "actor", "body_sha256", "digest", "key", "operator", "problem", "reason", "refusal",
        "role", "seq",
    )  # fmt: skip

    def __init__(self) -> None:
        self.actor: str | None = None
        #: the authenticated operator (None until the signature verified)
        self.operator: Operator | None = None
        self.digest = ""  # request_digest of the request
        #: (problem name, detail) of a refusal
        self.refusal: tuple[str, str] | None = None
        self.role: str | None = None
        self.key: str | None = None
        self.body_sha256: str | None = None
        self.problem: str | None = None
        self.seq: int | None = None
        #: the operator's stated reason (a body's ``reason``): why a switch was thrown
        self.reason: str | None = None

    def record(self, request: web.Request, status: int) -> dict[str, Any]:
        return {
            "ts_ms": time.time_ns() // 1_000_000,
            "actor": None if self.actor is None else _printable(self.actor),
            "role": self.role,
            "source": request.remote,
            "method": _printable(request.method),
            "path": _printable(request.raw_path),
            "idempotency_key": self.key,
            "body_sha256": self.body_sha256,
            "status": status,
            "problem": self.problem,
            "seq": self.seq,
            "reason": self.reason,
        }


class AdminServer:
    """The admin component; ``port`` is the bound port once started."""

    name = "admin"

    def __init__(
        self,
        config: Config,
        host: EngineHost,
        registry: Registry,
        readstore: ReadStore,
        publisher: MarketDataPublisher,
        reconciled: ReconcileMetrics | None = None,
    ) -> None:
        self.config = config
        self.settings = config.admin
        self.host = host
        self.port = 0
        self.routes = all_routes()
        self.nonces = SingleUse(self.settings.nonce_capacity)
        self.connection_guard = ConnectionGuard(
            "admin",
            self.settings.max_connections,
            self.settings.max_connections_per_source,
            registry,
        )
        self.audit = AuditLog(audit_path(config))
        self.refusals = RefusalJournal(host, registry, self.settings.journal_refusals_per_min)
        self.openapi = orjson.dumps(build_document(self.routes, PREFIX))
        self._runner: web.AppRunner | None = None
        app = web.Application(
            client_max_size=self.settings.max_body_bytes, middlewares=[self._unrouted]
        )
        app[READSTORE] = readstore
        app[MARKET_DATA] = publisher  # the 24 h read's fallback
        app[RECONCILE] = reconciled or ReconcileMetrics(registry)
        app.router.add_get(PREFIX + "/openapi.json", self._openapi)
        #: the browser console (/console) and its live stream
        self.console = ConsoleFeed(self)
        self.console.mount(app, PREFIX)
        app[SESSION_STATS] = self.console.sessions
        for route in self.routes:
            app.router.add_route(route.method, PREFIX + route.path, self._endpoint(route))
        self.app = app

    async def start(self) -> None:
        await self.audit.start()
        settings = self.settings
        self._runner, self.port = await serve(
            self.app, settings.listen, settings.header_timeout_s, self.connection_guard
        )
        host = parse_listen(settings.listen)[0]
        log.info("admin.listening", host=host, port=self.port, audit_log=str(self.audit.path))

    async def stop(self) -> None:
        self.console.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.audit.stop()

    # ---------------------------------------------------------------- pipeline

    @web.middleware
    async def _unrouted(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """aiohttp's own refusals (no route, wrong method) as problems, audited."""
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except web.HTTPException as exc:
            if exc.status == 405:
                problem = Problem("method-not-allowed", f"{request.method} is not allowed here")
            elif exc.status == 404:
                problem = Problem("not-found", f"no route {request.path}")
            elif exc.status == 413:
                problem = Problem("body-too-large", str(exc.reason))
            else:
                problem = Problem("malformed-request", str(exc.reason))
            trail = _Trail()
            trail.problem = problem.type
            self.refusals.unauthenticated()
            self.audit.write(trail.record(request, problem.status))
            answer = problem.response(request.path)
            if exc.status == 405:
                answer.headers["Allow"] = exc.headers.get("Allow", "")
            return answer

    async def _openapi(self, request: web.Request) -> web.Response:
        return web.Response(body=self.openapi, content_type="application/json")

    def _endpoint(self, route: Route) -> Any:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            trail = _Trail()
            try:
                response = await self._serve(route, request, trail)
            except Problem as refused:
                trail.problem = refused.type
                trail.refusal = (refused.name, refused.detail)
                response = refused.response(request.path)
            except Exception:
                log.exception("admin.handler_failed", method=route.method, path=route.path)
                failed = Problem("internal-error", "the gateway log has the details")
                trail.problem = failed.type
                trail.refusal = (failed.name, failed.detail)
                response = failed.response(request.path)
            await self._journal_refusal(request, trail, response.status)
            self.audit.write(trail.record(request, response.status))
            return response

        endpoint.__name__ = route.handler.__name__
        return endpoint

    async def _serve(self, route: Route, request: web.Request, trail: _Trail) -> web.StreamResponse:
        body = await self._read(request)
        trail.body_sha256 = hashlib.sha256(body).hexdigest()
        trail.digest = request_digest(request.method, request.raw_path, body)
        trail.actor = request.headers.get(HEADER_OPERATOR)
        operator = self._authenticate(request, body)
        trail.operator = operator
        trail.role = operator.role
        if not route.allows(operator.role):
            raise Problem(
                "role-forbidden", f"role {operator.role} may not call {route.method} {route.path}"
            )
        key = ""
        if route.mutation:
            key = _idempotency_key(request)
            trail.key = key
        parsed = _parse(route, request, body)
        if isinstance(parsed, dict) and isinstance(parsed.get("reason"), str):
            trail.reason = parsed["reason"]
        submit = _Submitter(self, operator, request.remote or "", key, trail.digest, trail)
        call = Call(request, operator, parsed, self.host, submit)
        if operator.role == TENANT_ADMIN:
            assert route.tenant is not None  # Route refuses tenant-admin without a scope
            if route.tenant(call) != operator.tenant:
                raise Problem("tenant-forbidden", f"outside tenant {operator.tenant}")
        if route.mutation:
            replay = submit.remembered()
            if replay is not None:
                await self.durable()  # the original may still be on its way to disk
                return _render(replay, trail)
        result = await route.handler(call)
        if isinstance(result, Outcome):
            return _render(result, trail)
        if isinstance(result, web.StreamResponse):
            return result  # streamed from the store: written already
        await self.durable()  # a read shows nothing that is not yet in the journal
        return _json(result)

    async def authorize(self, request: web.Request, roles: frozenset[str]) -> Operator:
        """Authenticate a signed read outside the route table (the console's stream)
        and check its role rule; audited like a route. Raises :class:`Problem`."""
        trail = _Trail()
        try:
            body = await self._read(request)
            trail.body_sha256 = hashlib.sha256(body).hexdigest()
            trail.digest = request_digest(request.method, request.raw_path, body)
            trail.actor = request.headers.get(HEADER_OPERATOR)
            operator = self._authenticate(request, body)
            trail.operator = operator
            trail.role = operator.role
            if operator.role not in roles:
                raise Problem(
                    "role-forbidden", f"role {operator.role} may not call GET {request.path}"
                )
        except Problem as refused:
            trail.problem = refused.type
            trail.refusal = (refused.name, refused.detail)
            await self._journal_refusal(request, trail, refused.status)
            self.audit.write(trail.record(request, refused.status))
            raise
        self.audit.write(trail.record(request, 200))
        return operator

    async def _journal_refusal(self, request: web.Request, trail: _Trail, status: int) -> None:
        """A refusal of an authenticated request for which no command was journaled goes
        into the journal, so into the store's audit chain (gateway/admin/refusals.py);
        one that nobody signed is only counted (and in the audit file)."""
        if trail.refusal is None or trail.seq is not None:
            return
        operator = trail.operator
        if operator is None:
            self.refusals.unauthenticated()
            return
        problem, text = trail.refusal
        seq = self.refusals.journal(
            operator, request.remote or "", _printable(request.method),
            _printable(request.raw_path), trail.key or "", trail.digest, status, problem, text,
        )  # fmt: skip
        if seq is not None:
            trail.seq = seq
            await self.durable()  # answered once it is in the journal

    async def _read(self, request: web.Request) -> bytes:
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Problem(
                "body-too-large", f"the body is over {self.settings.max_body_bytes} bytes"
            ) from None

    def _authenticate(self, request: web.Request, body: bytes) -> Operator:
        values = [request.headers.get(name) for name in _AUTH_HEADERS]
        if all(value is None for value in values):
            raise Problem("credentials-missing", f"sign the request ({', '.join(_AUTH_HEADERS)})")
        if any(value is None or not value.isascii() for value in values):
            raise Problem("credentials-malformed", f"all of {', '.join(_AUTH_HEADERS)}, ASCII")
        operator_id, ts_text, nonce, signature_hex = (str(v) for v in values)
        if not ts_text.isdigit() or len(ts_text) > 15:
            raise Problem("credentials-malformed", f"{HEADER_TIMESTAMP}: Unix milliseconds")
        if not NONCE_PATTERN.fullmatch(nonce):
            raise Problem("credentials-malformed", f"{HEADER_NONCE}: 16..64 of [A-Za-z0-9_-]")
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            signature = b""
        if len(signature) != 64:
            raise Problem("credentials-malformed", f"{HEADER_SIGNATURE}: 128 hex digits")
        ts = int(ts_text)
        now = time.time_ns() // 1_000_000
        window = self.settings.signature_window_s * 1000
        if abs(now - ts) > window:
            raise Problem(
                "timestamp-out-of-window",
                f"the timestamp must be within {self.settings.signature_window_s} s of the"
                " gateway's clock",
            )
        operator = self.host.engine.operators.get(operator_id)
        if operator is None:
            raise Problem("unknown-operator", f"no operator {operator_id!r}")
        message = canonical(request.method, request.raw_path, ts, nonce, body)
        if not verify(operator.keys, message, signature):
            raise Problem("bad-signature", "the signature does not verify with the operator's keys")
        if not operator.enabled:
            raise Problem("operator-disabled", f"operator {operator_id!r} is disabled")
        if not self.nonces.claim(f"{operator_id}\0{nonce}".encode(), ts + window, now):
            raise Problem("nonce-reused", "use a fresh nonce for every request")
        return operator

    async def durable(self) -> None:
        """Wait until everything submitted so far is journaled (and its events out)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def release() -> None:
            if not done.done():
                done.set_result(None)

        self.host.defer(release)
        await done


class _Submitter:
    """Call.submit for one request: the envelope, journaled once, and its outcome."""

    def __init__(
        self,
        server: AdminServer,
        operator: Operator,
        source: str,
        key: str,
        digest: str,
        trail: _Trail,
    ) -> None:
        self.server = server
        self.operator = operator
        self.source = source
        self.key = key
        self.digest = digest
        self.trail = trail
        self.used = False

    def remembered(self) -> Outcome | None:
        """The remembered outcome of this operator's key: this request's, or a 409."""
        found = self.server.host.engine.operators.recall(self.operator.operator_id, self.key)
        if found is None:
            return None
        if found.digest != self.digest:
            raise Problem(
                "idempotency-key-reused",
                f"Idempotency-Key {self.key!r} was used for another request (seq {found.seq})",
                seq=found.seq,
            )
        return Outcome(found.seq, found.result, replayed=True)

    async def __call__(self, command: Command, extra: dict[str, Any] | None) -> Outcome:
        if self.used:
            raise RuntimeError("one command per admin request")
        self.used = True
        if not self.key:
            raise RuntimeError("submit() is for mutations")
        replay = self.remembered()  # a twin request may have landed while we awaited
        if replay is not None:
            await self.server.durable()
            return replay
        op = self.operator
        envelope = AdminRequest(
            op.operator_id,
            op.role,
            self.source,
            self.key,
            self.digest,
            orjson.dumps(command_to_record(command)).decode(),
        )
        host = self.server.host
        events = host.submit(envelope)
        seq = host.engine.last_seq
        self.trail.seq = seq
        found = host.engine.operators.recall(op.operator_id, self.key)
        await self.server.durable()
        if found is None or found.seq != seq:  # the envelope itself was refused
            text = str(getattr(events[0], "text", "refused")) if events else "refused"
            raise Problem("command-rejected", text, seq=seq)
        return Outcome(seq, found.result, extra=extra or {})


def _idempotency_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise Problem("idempotency-key-missing", "send an Idempotency-Key header (1..128 chars)")
    if not (0 < len(key) <= _MAX_KEY and key.isascii() and key.isprintable() and " " not in key):
        raise Problem("malformed-request", "Idempotency-Key: 1..128 printable ASCII, no spaces")
    return key


def _parse(route: Route, request: web.Request, body: bytes) -> Any:
    if not route.mutation:
        return None
    if route.request is None:
        if body:
            raise Problem("invalid-request", "this route takes no body")
        return None
    if request.content_type != "application/json":
        raise Problem("unsupported-media-type", "send Content-Type: application/json")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem("malformed-json", str(exc)) from None
    found = errors(route.request, parsed)
    if found:
        raise Problem("invalid-request", "; ".join(found[:10]), errors=found[:10])
    return parsed


def _render(outcome: Outcome, trail: _Trail) -> web.Response:
    trail.seq = outcome.seq
    result = outcome.result
    rejected = result.get("rejected")
    if rejected is not None:
        code = int(rejected["code"])
        if code in _UNKNOWN:
            name = "unknown-object"
        elif code == RejectCode.ALREADY_EXISTS:
            name = "already-exists"
        else:
            name = "command-rejected"
        raise Problem(
            name,
            str(rejected["text"]),
            seq=outcome.seq,
            code=_code_name(code),
            replayed=outcome.replayed,
        )
    body = {
        "seq": outcome.seq,
        "replayed": outcome.replayed,
        "events": result.get("events", []),
        "orders_canceled": result.get("orders_canceled", 0),
        **outcome.extra,
    }
    return _json(body)


def _code_name(code: int) -> str:
    try:
        return RejectCode(code).name.lower()
    except ValueError:
        return str(code)
