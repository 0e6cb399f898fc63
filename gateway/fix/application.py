"""The FIX edge wired to the engine: order entry, drop copy and market data sessions.

FixGateway is both the acceptor's FixApplication (inbound: FIX -> Commands, through
EngineHost.submit with the session as origin) and an EngineHost listener (outbound:
event batches -> ExecutionReports etc., after the journal flush). Answers that are not
engine commands (status, security list, market-data snapshots) go through
EngineHost.defer so they never overtake acknowledgements still held for the journal.

Routing: an order's reports go to the session that placed it (ownership learned from
its OrderAccepted) and, as the same encoded body, to every drop-copy session that
covers its account. Market data is a sink of the shared MarketDataPublisher
(gateway/fix/marketdata.py): this listener runs before the publisher's, so a batch's
ExecutionReports leave before its market data.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import structlog

from engine.commands import Cancel, MassCancel, NewOrder, Replace
from engine.events import (
    CloseReason,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    SelfTradePrevented,
    Trade,
    VenueEvent,
)
from engine.model import Instrument, OrderStatus, Side, Stp
from gateway.config import Config
from gateway.connguard import ConnectionGuard
from gateway.credentials import LOGOUT_TEXT, logout_target
from gateway.edges import (
    COD_REQUEST_ID,
    OwnerRegistry,
    cancel_on_disconnect,
    close_session,
    fix_reject_text,
    open_session,
    reject_rule,
)
from gateway.fix.acceptor import FixAcceptor
from gateway.fix.codec import FixMessage, encode_fields, format_utc_timestamp
from gateway.fix.marketdata import FixMarketData
from gateway.fix.positions import MT_REQUEST_FOR_POSITIONS, answer_positions
from gateway.fix.session import BusinessRejectReason, FixSession
from gateway.fix.settings import AcceptorSettings, AuthMode, Role, SessionSettings
from gateway.fix.tags import (
    ACCOUNT,
    AVG_PX,
    CL_ORD_ID,
    CUM_QTY,
    EXEC_ID,
    EXEC_TYPE,
    LAST_RPT_REQUESTED,
    LEAVES_QTY,
    MASS_ACTION_REPORT_ID,
    MASS_CANCEL_REJECT_REASON,
    MASS_CANCEL_REQUEST_TYPE,
    MASS_CANCEL_RESPONSE,
    MASS_CANCEL_TOTAL_AFFECTED_ORDERS,
    MASS_STATUS_REQ_ID,
    MASS_STATUS_REQ_TYPE,
    MT_EXECUTION_REPORT,
    MT_MARKET_DATA_REQUEST,
    MT_NEW_ORDER_SINGLE,
    MT_ORDER_CANCEL_REJECT,
    MT_ORDER_CANCEL_REPLACE_REQUEST,
    MT_ORDER_CANCEL_REQUEST,
    MT_ORDER_MASS_CANCEL_REPORT,
    MT_ORDER_MASS_CANCEL_REQUEST,
    MT_ORDER_MASS_STATUS_REQUEST,
    MT_ORDER_STATUS_REQUEST,
    MT_SECURITY_LIST_REQUEST,
    ORD_STATUS,
    ORD_STATUS_REQ_ID,
    ORD_TYPE,
    ORDER_ID,
    ORDER_QTY,
    ORIG_CL_ORD_ID,
    PARTY_ID,
    PARTY_ROLE,
    POSS_DUP_FLAG,
    PRICE,
    SIDE,
    SYMBOL,
    TEXT,
    TOT_NUM_REPORTS,
    TRANSACT_TIME,
)
from gateway.fix.translate import (
    CLOSE_TEXT,
    FixRequestError,
    OrderState,
    cancel_reject_body,
    engine_order_id,
    er_body,
    parse_cancel,
    parse_new_order,
    parse_replace,
    reject_er_body,
)
from gateway.host import EngineHost, EventBatch
from gateway.marketdata import MarketDataPublisher
from gateway.metrics import ACK_LATENCY, ACK_LATENCY_HELP, CONNECTIONS_HELP, SESSIONS_HELP, Registry
from gateway.orders import OrderTracker, OrderView

__all__ = ["FixGateway", "acceptor_settings", "session_settings"]

log = structlog.get_logger("gateway.fix")


def acceptor_settings(config: Config) -> AcceptorSettings:
    fix = config.fix
    host, port = AcceptorSettings.parse_listen(fix.listen)
    return AcceptorSettings(
        host=host,
        port=port,
        sender_comp_id=fix.sender_comp_id,
        sending_time_tolerance_s=float(fix.sending_time_tolerance_s),
        store_dir=Path(fix.store_dir),
        fsync=fix.store_fsync,
        resend_window=fix.resend_window,
        logon_timeout_s=fix.logon_timeout_s,
        slow_consumer_timeout_s=fix.slow_consumer_timeout_s,
        tls_cert=Path(fix.tls_cert) if fix.tls_cert else None,
        tls_key=Path(fix.tls_key) if fix.tls_key else None,
        adaptive_spin_us=fix.adaptive_spin_us,
    )


def session_settings(data: Mapping[str, Any]) -> SessionSettings:
    """A session's settings from its engine record (``FixSessionRecord.data()``, the
    data of a ``fix_session.*`` VenueEvent)."""
    return SessionSettings(
        target_comp_id=data["target_comp_id"],
        sender_comp_id=data["sender_comp_id"],
        begin_string=data["begin_string"],
        default_appl_ver_id=data["default_appl_ver_id"],
        role=Role(data["role"]),
        accounts=tuple(data["accounts"]),
        auth=AuthMode(data["auth"]),
        username=data["username"] or None,
        password_hash=data["password_hash"] or None,
        ed25519_public_keys=dict(data["ed25519_keys"]),
        reset_on_logon=data["reset_on_logon"],
        cancel_on_disconnect=data["cancel_on_disconnect"],
        cancel_on_logout=data["cancel_on_logout"],
        max_msgs_per_s=data["max_msgs_per_s"],
        heartbeat_min_s=data["heartbeat_min_s"],
        heartbeat_max_s=data["heartbeat_max_s"],
        logout_timeout_s=data["logout_timeout_ms"] / 1000,
    )


#: Logout texts when the operator changes a live session (RULES_OF_ENGAGEMENT.md).
_LOGOUT_TEXTS: Final = {
    "fix_session.disabled": "Session disabled by the venue",
    "fix_session.deleted": "Session deleted by the venue",
    "fix_session.updated": "Session credentials changed by the venue; log on again",
}


class FixGateway:
    """Component: the FIX acceptor plus the translation between FIX and the engine."""

    name = "fix"

    def __init__(
        self,
        config: Config,
        host: EngineHost,
        tracker: OrderTracker,
        publisher: MarketDataPublisher,
        registry: Registry,
    ) -> None:
        self.config = config
        self.host = host
        self.tracker = tracker
        # the engine's sessions once, after recovery; then the credential events
        self.acceptor = FixAcceptor(
            acceptor_settings(config),
            [
                session_settings(record.data())
                for record in host.engine.credentials.fix_sessions.values()
                if record.enabled
            ],
            self,
            after_durable=host.defer,
            input_scope=host,
            connection_guard=ConnectionGuard(
                "fix", config.fix.max_connections, config.fix.max_connections_per_source, registry
            ),
        )
        self.owners: OwnerRegistry[FixSession] = OwnerRegistry()
        self.market_data = FixMarketData(host, publisher)
        publisher.sinks.append(self.market_data)
        self._exec_ids = itertools.count(1)
        self._started_us = time.time_ns() // 1000
        self._m_in = registry.counter("gw_fix_messages_in_total", "FIX application messages in")
        self._m_in_keys: dict[str, tuple[tuple[str, str], ...]] = {}
        self._m_ack = registry.durations(ACK_LATENCY, ACK_LATENCY_HELP).labels(protocol="fix")
        #: received_ns of the orders answered in this group commit, observed once written
        self._acked: list[int] = []
        #: the FIX session whose command is the last batch of the group commit being
        #: released (None otherwise): its answers are written before the reports the
        #: same batch owes other sessions (the counterparty's fill, drop copies), which
        #: wait in ``_later`` until :meth:`_end_group` has flushed it
        self._first: FixSession | None = None
        self._later: list[Callable[[], None]] = []
        self._listings_cache: dict[str, Instrument] = {}
        self._listings_len = -1
        #: account -> (drop-copy sessions, order-entry sessions), built once sessions exist
        self._by_account: dict[str, tuple[list[FixSession], list[FixSession]]] = {}
        self._m_sessions = 0
        registry.gauge("gw_sessions_connected", SESSIONS_HELP).set_source(
            lambda: self._m_sessions, protocol="fix"
        )
        registry.gauge("gw_connections", CONNECTIONS_HELP).set_source(
            lambda: self.acceptor.connection_count, protocol="fix"
        )
        self._handlers: dict[str, Callable[[FixSession, FixMessage], None]] = {
            MT_NEW_ORDER_SINGLE: self._on_new_order,
            MT_ORDER_CANCEL_REQUEST: self._on_cancel,
            MT_ORDER_CANCEL_REPLACE_REQUEST: self._on_replace,
            MT_ORDER_STATUS_REQUEST: self._on_status,
            MT_ORDER_MASS_CANCEL_REQUEST: self._on_mass_cancel,
            MT_ORDER_MASS_STATUS_REQUEST: self._on_mass_status,
            MT_MARKET_DATA_REQUEST: self.market_data.on_request,
            MT_SECURITY_LIST_REQUEST: self.market_data.on_security_list,
            MT_REQUEST_FOR_POSITIONS: self._on_positions,
        }

    @property
    def port(self) -> int:
        return self.acceptor.port

    def listen(self) -> None:
        """Register the event listener (App places it by its priority first: acks
        before market data) and the flush that ends each group of batches."""
        if self.on_batch not in self.host.listeners:
            self.host.listeners.append(self.on_batch)
        self.host.group_end[self.on_batch] = self._end_group

    async def start(self) -> None:
        self.listen()
        await self.acceptor.start()

    async def stop(self) -> None:
        await self.acceptor.stop()
        if self.on_batch in self.host.listeners:
            self.host.listeners.remove(self.on_batch)
            self.host.group_end.pop(self.on_batch, None)

    def on_credential(self, event: VenueEvent) -> None:
        """A FIX session was created, changed, enabled, disabled or deleted, or an
        operator logged one live session out (its credentials stay as they are)."""
        kind = event.kind
        target = logout_target(event, "fix")
        if target:
            for session in list(self.acceptor.sessions.values()):
                if session.origin == target:
                    reason = str(event.data.get("reason") or "")
                    session.revoke(f"{LOGOUT_TEXT.capitalize()}: {reason}")
                    log.info("fix.logged_out_by_venue", session=session.session_id)
            return
        if not kind.startswith("fix_session."):
            return
        data = event.data
        reason = str(data.get("status_reason") or "")
        text = _LOGOUT_TEXTS.get(kind, "")
        if text and reason and kind != "fix_session.updated":
            text = f"{text}: {reason}"
        if kind == "fix_session.deleted":
            self.acceptor.drop_session(
                str(data["sender_comp_id"]), str(data["target_comp_id"]), text
            )
        else:
            self.acceptor.put_session(session_settings(data), bool(data["enabled"]), text)
        self._by_account.clear()
        log.info("fix.session_changed", session=event.subject, change=kind)

    # ------------------------------------------------------------ FixApplication

    def on_logon(self, session: FixSession) -> None:
        self._m_sessions += 1
        accounts = session.settings.accounts
        account = accounts[0] if len(accounts) == 1 else ""
        session.origin = open_session(self.host, "fix", session.session_id, account, session.peer)
        session.since_us = self.host.engine.last_ts_us  # the logon's journal time
        log.info("fix.logon", session=session.session_id, origin=session.origin)

    def on_logout(self, session: FixSession, clean: bool) -> None:
        self._m_sessions = max(0, self._m_sessions - 1)
        self.market_data.drop_session(session)
        settings = session.settings
        if settings.cancel_on_disconnect and (not clean or settings.cancel_on_logout):
            cancel_on_disconnect(self.host, self.owners.orders_of(session), session, session.origin)
        close_session(self.host, session.origin, session.logout_reason)
        session.origin = session.since_us = 0
        log.info("fix.logout", session=session.session_id, clean=clean)

    def on_app_message(self, session: FixSession, msg: FixMessage) -> None:
        mt = msg.msg_type
        key = self._m_in_keys.get(mt)
        if key is None:
            key = self._m_in_keys[mt] = (("msg_type", mt),)
        values = self._m_in.values  # == self._m_in.inc(msg_type=mt), without the sorting
        values[key] = values.get(key, 0) + 1
        handler = self._handlers.get(mt)
        if handler is None or mt not in session.settings.app_msg_types:
            session.send_business_reject(
                msg, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE, f"unsupported MsgType {mt}"
            )
            return
        if mt == MT_NEW_ORDER_SINGLE:  # the common message: a native call, not a vectorcall
            self._on_new_order(session, msg)
        else:
            handler(session, msg)

    # ------------------------------------------------------------ inbound

    def _listings(self) -> dict[str, Instrument]:
        # Listings are only ever added (AddInstrument, snapshot load): rebuild on growth.
        listings = self.host.engine.listings
        if len(listings) != self._listings_len:
            self._listings_cache = {s: listing.instrument for s, listing in listings.items()}
            self._listings_len = len(listings)
        return self._listings_cache

    def _account(self, session: FixSession, msg: FixMessage, fallback: str | None = None) -> str:
        """Account (1), else ``fallback``, else the session's first account."""
        raw = msg.get_str(ACCOUNT) or fallback
        account = session.settings.resolve_account(raw)
        if account is None:
            raise FixRequestError(15, f"account {raw!r} is not allowed on this session")
        return account

    def _exec_id(self) -> str:
        """ExecIDs for answers that are not engine events: unique across restarts."""
        return f"R{self._started_us}-{next(self._exec_ids)}"

    def _on_new_order(self, session: FixSession, msg: FixMessage) -> None:
        try:
            account = self._account(session, msg)
            command = parse_new_order(msg, account, self._listings(), session.origin)
        except FixRequestError as err:
            fields = {t: v.decode("utf-8", "replace") for t, v in msg.fields if t in _ECHO_TAGS}
            body = reject_er_body(
                fields, self._exec_id(), _now_us(self.host), session.fix42, err.reason, err.text
            )
            self.host.defer(lambda: session.send(MT_EXECUTION_REPORT, body))
            return
        if msg.get(POSS_DUP_FLAG) == b"Y" and self._answer_resent_order(session, account, msg):
            return
        self.host.submit(command, session, session.received_ns)

    def _answer_resent_order(self, session: FixSession, account: str, msg: FixMessage) -> bool:
        """A NewOrderSingle sent again with PossDupFlag=Y (a resend after a gap or a
        restart) whose ClOrdID names an order this account already placed is not a new
        order: it gets that order's current status (150=I), never a duplicate-ClOrdID
        reject that would tell the client a live order was refused."""
        view = self.tracker.find(account, msg.get_str(CL_ORD_ID) or "")
        if view is None:
            return False
        known = view

        def answer() -> None:
            session.send(MT_EXECUTION_REPORT, self._status_body(session, known, ()))

        self.host.defer(answer)
        return True

    def _status_body(
        self,
        session: FixSession,
        view: OrderView,
        extra: tuple[tuple[int, bytes | str | int], ...],
    ) -> bytes:
        """An ExecutionReport 150=I with the order's state now."""
        inst = self.host.engine.listings[view.symbol].instrument
        return er_body(
            view, _current(view), inst, self._exec_id(), b"I", view.updated_us, session.fix42,
            extra=extra,
        )  # fmt: skip

    def _on_cancel(self, session: FixSession, msg: FixMessage) -> None:
        self._amend(session, msg, parse_cancel, b"1")

    def _on_replace(self, session: FixSession, msg: FixMessage) -> None:
        self._amend(session, msg, parse_replace, b"2")

    def _amend(
        self,
        session: FixSession,
        msg: FixMessage,
        parse: Callable[[FixMessage, str, dict[str, Instrument], int], Cancel | Replace],
        response_to: bytes,
    ) -> None:
        """F and G: refused before the engine -> OrderCancelReject (434 = response_to)."""
        try:
            account = self._account(session, msg)
            command = parse(msg, account, self._listings(), session.origin)
        except FixRequestError as err:
            self._defer_cancel_reject(session, msg, response_to, err.text)
            return
        self.host.submit(command, session, session.received_ns)

    def _defer_cancel_reject(
        self, session: FixSession, msg: FixMessage, response_to: bytes, text: str
    ) -> None:
        body = cancel_reject_body(
            msg.get_str(ORDER_ID) or "NONE",
            msg.get_str(CL_ORD_ID) or "NONE",
            msg.get_str(ORIG_CL_ORD_ID) or "NONE",
            b"8",
            response_to,
            99,
            text,
        )
        self.host.defer(lambda: session.send(MT_ORDER_CANCEL_REJECT, body))

    def _on_status(self, session: FixSession, msg: FixMessage) -> None:
        def answer() -> None:
            view = self._lookup(session, msg)
            extra: tuple[tuple[int, bytes | str | int], ...] = ()
            req_id = msg.get(ORD_STATUS_REQ_ID)
            if req_id and not session.fix42:
                extra = ((ORD_STATUS_REQ_ID, req_id),)
            if view is None:
                fields = {t: v.decode("utf-8", "replace") for t, v in msg.fields if t in _ECHO_TAGS}
                body = reject_er_body(
                    fields, self._exec_id(), _now_us(self.host), session.fix42, 5, "unknown order"
                )
                body = body.replace(b"150=8\x01", b"150=I\x01", 1)
            else:
                body = self._status_body(session, view, extra)
            session.send(MT_EXECUTION_REPORT, body)

        self.host.defer(answer)

    def _on_positions(self, session: FixSession, msg: FixMessage) -> None:
        date = time.strftime("%Y%m%d", time.gmtime(_now_us(self.host) // 1_000_000))
        engine = self.host.engine
        raw = msg.get_str(ACCOUNT) or _party_account(msg)
        self.host.defer(lambda: answer_positions(engine, session, msg, raw, self._exec_id, date))

    def _lookup(self, session: FixSession, msg: FixMessage) -> OrderView | None:
        raw_id = msg.get(ORDER_ID)
        if raw_id and raw_id.isdigit():
            view = self.tracker.get(engine_order_id(raw_id))  # 0 (none) if out of range
        else:
            clordid = msg.get_str(CL_ORD_ID) or ""
            view = None
            for account in session.settings.accounts:
                view = self.tracker.find(account, clordid)
                if view is not None:
                    break
        if view is None or view.account not in session.settings.accounts:
            return None
        return view

    def _on_mass_cancel(self, session: FixSession, msg: FixMessage) -> None:
        req_type = msg.get(MASS_CANCEL_REQUEST_TYPE) or b""
        clordid = msg.get_str(CL_ORD_ID) or "NONE"
        symbol = msg.get_str(SYMBOL) or ""
        try:
            account = self._account(session, msg, _party_account(msg))
            if req_type == b"1" and not symbol:
                raise FixRequestError(99, "Symbol (55) is required for MassCancelRequestType=1")
            if req_type not in (b"1", b"7"):
                raise FixRequestError(99, "MassCancelRequestType (530) must be 1 or 7")
            if symbol and symbol not in self.host.engine.listings:
                raise FixRequestError(1, f"unknown symbol {symbol!r}")
        except FixRequestError as err:
            body = encode_fields(
                [
                    (CL_ORD_ID, clordid),
                    *self._report_ids(session, "NONE"),
                    (MASS_CANCEL_REQUEST_TYPE, req_type or b"0"),
                    (MASS_CANCEL_RESPONSE, b"0"),
                    (MASS_CANCEL_REJECT_REASON, 1 if err.reason == 1 else 99),
                    (TEXT, err.text),
                ]
            )
            self.host.defer(lambda: session.send(MT_ORDER_MASS_CANCEL_REPORT, body))
            return
        self.host.submit(
            MassCancel(account, symbol if req_type == b"1" else "", 0, clordid, session.origin),
            session,
        )

    def _on_mass_status(self, session: FixSession, msg: FixMessage) -> None:
        req_id = msg.get_str(MASS_STATUS_REQ_ID) or "NONE"
        req_type = msg.get(MASS_STATUS_REQ_TYPE) or b"7"
        symbol = msg.get_str(SYMBOL) or ""

        def answer() -> None:
            account = session.settings.resolve_account(msg.get_str(ACCOUNT))
            views = (
                []
                if account is None
                else self.tracker.open_orders(account, symbol if req_type == b"1" else "")
            )
            if not views:
                body = encode_fields(
                    [
                        (ORDER_ID, "NONE"),
                        (CL_ORD_ID, "NONE"),
                        (MASS_STATUS_REQ_ID, req_id),
                        (EXEC_ID, self._exec_id()),
                        (EXEC_TYPE, b"I"),
                        (ORD_STATUS, b"8"),
                        (SYMBOL, symbol or "NA"),
                        (SIDE, b"1"),
                        (LEAVES_QTY, b"0"),
                        (CUM_QTY, b"0"),
                        (AVG_PX, b"0"),
                        (LAST_RPT_REQUESTED, b"Y"),
                        (TEXT, "no open orders"),
                    ]
                )
                session.send(MT_EXECUTION_REPORT, body)
                return
            for i, view in enumerate(views, 1):
                inst = self.host.engine.listings[view.symbol].instrument
                extra = (
                    (MASS_STATUS_REQ_ID, req_id),
                    (TOT_NUM_REPORTS, len(views)),
                    (LAST_RPT_REQUESTED, b"Y" if i == len(views) else b"N"),
                )
                session.send(
                    MT_EXECUTION_REPORT,
                    er_body(
                        view,
                        _current(view),
                        inst,
                        self._exec_id(),
                        b"I",
                        view.updated_us,
                        session.fix42,
                        extra=extra,
                    ),
                )

        self.host.defer(answer)

    # ------------------------------------------------------------ outbound

    def _end_group(self) -> None:
        """Write the group's answers, then time the orders among them from their read.

        The origin of the group's last batch is written first; only then are the
        reports that batch owes other sessions rendered and stored (each session still
        gets its messages in event order: a session other than the origin got nothing
        of this batch before them)."""
        first, self._first = self._first, None
        later = self._later
        if later:
            if first is not None:
                first.flush()
            self._later = []
            for report in later:
                report()
        self.acceptor.run_flushes()
        acked = self._acked
        if acked:
            now = time.perf_counter_ns()
            observe = self._m_ack.observe
            for received_ns in acked:
                observe((now - received_ns) / 1000)
            acked.clear()

    def on_own_batch(self, session: FixSession, batch: EventBatch) -> None:
        """The answer to a command ``session`` submitted (it is the batch's origin; the
        host calls this before :meth:`on_batch`): its ack timing, its mass cancel
        report, the orders it now owns (so that on_batch reports them to it), its
        rejects."""
        if batch.received_ns:
            self._acked.append(batch.received_ns)
        self._first = session if self.host.last_of_group else None
        if type(batch.command) is MassCancel:
            self._mass_cancel_report(session, batch)
        for event in batch.events:
            kind = type(event)
            if kind is OrderAccepted:
                assert isinstance(event, OrderAccepted)
                self.owners.add(event.order_id, session)
            elif kind is OrderRejected:
                assert isinstance(event, OrderRejected)
                self._reject(session, batch, event)

    def on_batch(self, batch: EventBatch) -> None:
        origin = batch.origin
        self._first = origin if self.host.last_of_group and isinstance(origin, FixSession) else None
        for event in batch.events:
            self._report(event, batch)

    def _report(self, event: Event, batch: EventBatch) -> None:
        kind = type(event)
        tracker = self.tracker  # tracker.get(): a native call (a bound method is not)
        if kind is Trade:
            assert isinstance(event, Trade)
            for order_id, filled, notional, leaves, fee, liquidity in (
                (
                    event.maker_order_id,
                    event.maker_filled,
                    event.maker_notional,
                    event.maker_leaves,
                    event.maker_fee,
                    1,
                ),
                (
                    event.taker_order_id,
                    event.taker_filled,
                    event.taker_notional,
                    event.taker_leaves,
                    event.taker_fee,
                    2,
                ),
            ):
                view = tracker.get(order_id)
                if view is not None:
                    status = OrderStatus.FILLED if leaves == 0 else OrderStatus.PARTIALLY_FILLED
                    state = OrderState(
                        status, filled + leaves, view.price, leaves, filled, notional
                    )
                    self._send_order_report(
                        view,
                        state,
                        event,
                        b"F",
                        exec_suffix=f"-{liquidity}",
                        last=(event.price, event.qty, fee, liquidity),
                    )
                if leaves == 0:
                    self._forget(order_id)
        elif kind is OrderAccepted:
            assert isinstance(event, OrderAccepted)
            view = tracker.get(event.order_id)
            if view is not None:
                state = OrderState(OrderStatus.NEW, event.qty, event.price, event.qty, 0, 0)
                self._send_order_report(view, state, event, b"0")
        elif kind is OrderCanceled or kind is OrderExpired:
            assert isinstance(event, (OrderCanceled, OrderExpired))  # no union object per event
            view = tracker.get(event.order_id)
            if view is not None:
                clordid = orig = ""
                if (
                    isinstance(event, OrderCanceled)
                    and event.reason == CloseReason.USER_CANCEL
                    and event.request_id not in ("", COD_REQUEST_ID)
                ):
                    clordid, orig = event.request_id, event.client_order_id
                status = OrderStatus.CANCELED if kind is OrderCanceled else OrderStatus.EXPIRED
                state = OrderState(
                    status, event.filled + event.qty, view.price, 0, event.filled, event.notional
                )
                self._send_order_report(
                    view,
                    state,
                    event,
                    b"4" if kind is OrderCanceled else b"C",
                    clordid=clordid,
                    orig=orig,
                    text=CLOSE_TEXT.get(CloseReason(event.reason), ""),
                )
            self._forget(event.order_id)
        elif kind is OrderReplaced:
            assert isinstance(event, OrderReplaced)
            view = tracker.get(event.order_id)
            if view is not None:
                status = OrderStatus.PARTIALLY_FILLED if event.filled else OrderStatus.NEW
                state = OrderState(
                    status, event.qty, event.price, event.leaves, event.filled, event.notional
                )
                self._send_order_report(view, state, event, b"5", orig=event.orig_client_order_id)
        elif kind is SelfTradePrevented:
            assert isinstance(event, SelfTradePrevented)
            if event.mode == Stp.DECREMENT:
                for order_id in (event.maker_order_id, event.taker_order_id):
                    view = tracker.get(order_id)
                    if view is not None and view.is_open:
                        self._send_order_report(
                            view,
                            _current(view),
                            event,
                            b"D",
                            text="self-trade prevention: decremented",
                        )

    def _send_order_report(
        self,
        view: OrderView,
        state: OrderState,
        event: Event,
        exec_type: bytes,
        *,
        clordid: str = "",
        orig: str = "",
        text: str = "",
        exec_suffix: str = "",
        last: tuple[int, int, int, int] | None = None,
    ) -> None:
        """One ER, encoded once per rendering (FIX 4.2, or FIX 4.4 / FIX 5.0 SP2, whose
        bodies are identical), to the owner and the drop copies."""
        targets = self._targets(view.order_id, view.account)
        if not targets:
            return
        inst = self.host.engine.listings[view.symbol].instrument
        exec_id = f"{event.seq}-{event.idx}{exec_suffix}"
        px, qty, fee, liquidity = last or (0, 0, 0, 0)
        bodies: list[bytes] = [b"", b""]  # by session.fix42: rendered once per version
        first = self._first
        if first is not None and (len(targets) > 1 or targets[0] is not first):
            rest = [session for session in targets if session is not first]
            if len(rest) < len(targets):
                _render_and_send(
                    [first], bodies, view, state, inst, exec_id, exec_type, event.ts_us,
                    clordid, orig, text, px, qty, fee, liquidity,
                )  # fmt: skip
            self._send_later(
                rest, bodies, view, state, inst, exec_id, exec_type, event.ts_us,
                clordid, orig, text, px, qty, fee, liquidity,
            )  # fmt: skip
            return
        _render_and_send(
            targets, bodies, view, state, inst, exec_id, exec_type, event.ts_us,
            clordid, orig, text, px, qty, fee, liquidity,
        )  # fmt: skip

    def _send_later(
        self,
        targets: list[FixSession],
        bodies: list[bytes],
        view: OrderView,
        state: OrderState,
        inst: Instrument,
        exec_id: str,
        exec_type: bytes,
        ts_us: int,
        clordid: str,
        orig: str,
        text: str,
        px: int,
        qty: int,
        fee: int,
        liquidity: int,
    ) -> None:
        """An ExecutionReport for sessions other than the group's origin, rendered
        and sent once the origin's answers are written (:meth:`_end_group`)."""

        def report() -> None:
            _render_and_send(
                targets, bodies, view, state, inst, exec_id, exec_type, ts_us,
                clordid, orig, text, px, qty, fee, liquidity,
            )  # fmt: skip

        self._later.append(report)

    def _targets(self, order_id: int, account: str) -> list[FixSession]:
        """Owner session plus drop copies. An order whose owner is unknown (placed before a
        restart) reports to every order-entry session of its account."""
        owner = self.owners.owner(order_id)
        by_account = self._by_account.get(account)
        if by_account is None:
            drop, entry = [], []
            for session in self.acceptor.sessions.values():
                settings = session.settings
                if account in settings.accounts:
                    if settings.role is Role.DROP_COPY:
                        drop.append(session)
                    elif settings.role is Role.ORDER_ENTRY:
                        entry.append(session)
            by_account = (drop, entry)
            if self.acceptor.sessions:  # cleared when the session set changes
                self._by_account[account] = by_account
        drop, entry = by_account
        if owner is not None:
            return [owner, *drop]
        if order_id > 0:
            # keep the configured session order between order-entry and drop-copy
            return [s for s in self.acceptor.sessions.values() if s in drop or s in entry]
        return list(drop)

    def _forget(self, order_id: int) -> None:
        self.owners.release(order_id)

    def _reject(self, session: FixSession, batch: EventBatch, event: OrderRejected) -> None:
        command = batch.command
        rule = reject_rule(event.code)
        text = fix_reject_text(event.code, event.text)
        exec_id = f"{event.seq}-{event.idx}"
        if event.request == "new" and isinstance(command, NewOrder):
            inst = self.host.engine.listings.get(command.symbol)
            fields = {
                CL_ORD_ID: command.client_order_id,
                ACCOUNT: command.account,
                SYMBOL: command.symbol,
                SIDE: "1" if command.side == Side.BUY else "2",
            }
            if inst is not None and command.qty:
                fields[ORDER_QTY] = inst.instrument.lots_to_qty(command.qty)
            if inst is not None and command.price:
                fields[PRICE] = inst.instrument.ticks_to_price(command.price)
            body = reject_er_body(
                fields, exec_id, event.ts_us, session.fix42, rule.ord_rej_reason, text
            )
            session.send(MT_EXECUTION_REPORT, body)
            copies = [s for s in self._targets(-1, command.account) if s is not session]
            if copies and self._first is session:
                self._later.append(lambda: _send_all(copies, MT_EXECUTION_REPORT, body))
            else:
                _send_all(copies, MT_EXECUTION_REPORT, body)
        elif event.request in ("cancel", "replace") and isinstance(command, Cancel | Replace):
            view = self.tracker.get(event.order_id) if event.order_id else None
            if view is not None and view.account != command.account:
                view = None  # another account's order is answered as an unknown one
            if isinstance(command, Cancel):
                clordid, orig, response_to = command.request_id, command.client_order_id, b"1"
            else:
                clordid, orig, response_to = (
                    command.client_order_id,
                    command.orig_client_order_id,
                    b"2",
                )
            status = _STATUS.get(view.status, b"8") if view is not None else b"8"
            body = cancel_reject_body(
                str(event.order_id or command.order_id or "NONE"),
                clordid,
                orig or (view.client_order_id if view else ""),
                status,
                response_to,
                rule.cxl_rej_reason,
                text,
                command.account,
            )
            session.send(MT_ORDER_CANCEL_REJECT, body)

    def _report_ids(
        self, session: FixSession, order_id: str, report_id: str = ""
    ) -> list[tuple[int, bytes | str | int]]:
        """OrderMassCancelReport ids: OrderID (37); FIX 5.0 SP2 also requires
        MassActionReportID (1369), unique per report (empty: a fresh one)."""
        if not session.fixt:
            return [(ORDER_ID, order_id)]
        return [(ORDER_ID, order_id), (MASS_ACTION_REPORT_ID, report_id or self._exec_id())]

    def _mass_cancel_report(self, session: FixSession, batch: EventBatch) -> None:
        command = batch.command
        assert isinstance(command, MassCancel)
        rejected = [e for e in batch.events if type(e) is OrderRejected]
        canceled = sum(1 for e in batch.events if type(e) is OrderCanceled)
        req_type = b"1" if command.symbol else b"7"
        fields: list[tuple[int, bytes | str | int]] = [
            (CL_ORD_ID, command.request_id or "NONE"),
            *self._report_ids(session, f"MC{batch.seq}", f"MC{batch.seq}"),
            (MASS_CANCEL_REQUEST_TYPE, req_type),
        ]
        if rejected:
            assert isinstance(rejected[0], OrderRejected)
            fields += [
                (MASS_CANCEL_RESPONSE, b"0"),
                (MASS_CANCEL_REJECT_REASON, 99),
                (TEXT, rejected[0].text),
            ]
        else:
            fields += [
                (MASS_CANCEL_RESPONSE, req_type),
                (MASS_CANCEL_TOTAL_AFFECTED_ORDERS, canceled),
            ]
            if command.symbol:
                fields.append((SYMBOL, command.symbol))
        fields.append((TRANSACT_TIME, format_utc_timestamp(batch.ts_us, 6)))
        session.send(MT_ORDER_MASS_CANCEL_REPORT, encode_fields(fields))


def _render_and_send(
    targets: list[FixSession],
    bodies: list[bytes],
    view: OrderView,
    state: OrderState,
    inst: Instrument,
    exec_id: str,
    exec_type: bytes,
    ts_us: int,
    clordid: str,
    orig: str,
    text: str,
    px: int,
    qty: int,
    fee: int,
    liquidity: int,
) -> None:
    """Send one ExecutionReport to ``targets``, its body rendered at most once per
    version in ``bodies`` (indexed by session.fix42; b"" = not rendered yet)."""
    for session in targets:
        fix42 = session.fix42
        body = bodies[fix42]
        if not body:
            body = bodies[fix42] = er_body(
                view,
                state,
                inst,
                exec_id,
                exec_type,
                ts_us,
                fix42,
                clordid=clordid,
                orig_clordid=orig,
                text=text,
                last_px=px,
                last_qty=qty,
                commission=fee,
                liquidity=liquidity,
            )
        session.send(b"8", body)


def _send_all(sessions: list[FixSession], msg_type: str, body: bytes) -> None:
    for session in sessions:
        session.send(msg_type, body)


def _party_account(msg: FixMessage) -> str | None:
    """The PartyID with PartyRole 24 (Customer account) in the Parties group: how a
    message without Account (1) names it, such as FIX 5.0 SP2's q (FIX 4.4's q has no
    Parties)."""
    party = None
    for tag, value in msg.fields:
        if tag == PARTY_ID:
            party = value
        elif tag == PARTY_ROLE and value == b"24" and party is not None:
            return party.decode("utf-8", "replace")
    return None


def _current(view: OrderView) -> OrderState:
    return OrderState(view.status, view.qty, view.price, view.leaves, view.filled, view.notional)


_ECHO_TAGS: Final = frozenset({CL_ORD_ID, ACCOUNT, SYMBOL, SIDE, ORDER_QTY, ORD_TYPE, PRICE})
_STATUS: Final = {
    OrderStatus.NEW: b"0",
    OrderStatus.PARTIALLY_FILLED: b"1",
    OrderStatus.FILLED: b"2",
    OrderStatus.CANCELED: b"4",
    OrderStatus.EXPIRED: b"C",
}


def _now_us(host: EngineHost) -> int:
    """Edge timestamp for answers that never reached the engine (never before its clock)."""
    return max(host.engine.last_ts_us, time.time_ns() // 1000)
