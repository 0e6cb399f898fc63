"""One command's events -> the store's rows (orders, fills, ledger, venue events).

Pure: no I/O, no clock. The ledger is double entry: every balance movement is a pair
of legs (account and contra account) that sum to zero per asset, and each leg carries
the account's running balance after it. Trades give exact legs (base and quote between
buyer and seller, each fee from its payer to ``@fees``); what a command moved beyond
those (deposits, withdrawals, transfers, adjustments, fees credited to revenue
accounts) is read from the BalanceChanged totals and booked with the reason the
command's events name. Pseudo accounts start with ``@``: ``@fees`` (fees collected,
not yet credited to an account), ``@external`` (money entering or leaving the venue)
and ``@perp`` (the perpetuals: a perp trade exchanges no notional and no base asset, it
moves positions; what the wallets of the accounts whose positions a command touched
gain or lose beyond fees, realized PnL, funding, margin, liquidation fees and the
insurance fund's cover, comes from or goes to ``@perp``).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from engine.commands import Cancel, MassCancel, NewOrder, Replace
from engine.events import (
    AdminApplied,
    BalanceChanged,
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
from engine.model import Instrument, Side
from engine.venue.operators import AdminRequest
from gateway.follower.audit import AuditRow

__all__ = [
    "EXTERNAL",
    "FEES",
    "PERP",
    "Ledger",
    "Rows",
    "order_rows",
    "origin_of",
]

FEES: Final = "@fees"
EXTERNAL: Final = "@external"
PERP: Final = "@perp"
_BUY: Final = int(Side.BUY)
_ORDER_COMMANDS: Final = (NewOrder, Cancel, Replace, MassCancel)

#: orders row: seq, idx, event, order_id, account, symbol, client_order_id,
#: orig_client_order_id, side, ord_type, tif, price, qty, leaves, filled, notional,
#: code (close reason or reject code), text, request, ts_us, origin
OrderRow = tuple[
    int, int, str, int, str, str, str, str, int, int, int, int, int, int, int, int, int, str,
    str, int, str | None,
]  # fmt: skip
#: fills row: seq, idx, trade_id, liquidity (maker/taker), symbol, order_id, account,
#: client_order_id, side, price, qty, fee, fee_asset, filled, notional, leaves, ts_us
FillRow = tuple[int, int, int, str, str, int, str, str, int, int, int, int, str, int, int, int, int]
#: ledger row: seq, leg, account, asset, amount, balance, reason, contra, trade_id, ts_us
LedgerRow = tuple[int, int, str, str, int, int, str, str, int, int]
#: a balance movement before it is booked: account, asset, amount, reason, contra, trade_id
Leg = tuple[str, str, int, str, str, int]
#: venue_events row: seq, idx, kind, subject, data (JSON text), ts_us
VenueRow = tuple[int, int, str, str, str, int]
#: alerts row: alert_id, seq, rule, kind, severity, owner, instrument, ts_us, first_seq,
#: last_seq, summary, state, body (JSON text); see gateway/follower/surveillance/store.py
AlertRow = tuple[str, int, str, str, str, str, str, int, int, int, str, str, str]
#: sessions row: seq, idx, session, event (logon/logout), protocol, name, account, source,
#: reason, ts_us
SessionRow = tuple[int, int, int, str, str, str, str, str, str, int]


@dataclass
class Rows:
    """What one batch of commands writes, in (seq, idx) order."""

    orders: list[OrderRow] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    venue_events: list[VenueRow] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    #: (state, alert_id) of each review step, applied after the batch's inserts
    alert_states: list[tuple[str, str]] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)

    def count(self) -> int:
        return (
            len(self.orders) + len(self.fills) + len(self.ledger) + len(self.venue_events)
            + len(self.audit) + len(self.alerts) + len(self.alert_states) + len(self.sessions)
        )  # fmt: skip

    def by_table(self) -> list[tuple[str, list[Any]]]:
        """(table, rows) of every table this batch writes to."""
        tables: list[tuple[str, list[Any]]] = [
            ("orders", self.orders),
            ("fills", self.fills),
            ("ledger", self.ledger),
            ("venue_events", self.venue_events),
            ("audit", self.audit),
            ("alerts", self.alerts),
            ("alert_states", self.alert_states),
            ("sessions", self.sessions),
        ]
        return [(table, values) for table, values in tables if values]


def order_rows(events: list[Event], rows: Rows, origin: str | None = None) -> None:
    """Orders, fills and venue-event rows of one command's events (the ledger is Ledger's)."""
    for ev in events:
        build = _ROW_BUILDERS.get(type(ev))
        if build is not None:
            build(ev, rows, origin)


def _accepted(ev: OrderAccepted, rows: Rows, origin: str | None) -> None:
    rows.orders.append(
        (ev.seq, ev.idx, "accepted", ev.order_id, ev.account, ev.symbol, ev.client_order_id,
         "", ev.side, ev.ord_type, ev.tif, ev.price, ev.qty, ev.qty, 0, 0, 0, "", "",
         ev.ts_us, origin)
    )  # fmt: skip


def _canceled(ev: OrderCanceled, rows: Rows, origin: str | None) -> None:
    rows.orders.append(
        (ev.seq, ev.idx, "canceled", ev.order_id, ev.account, ev.symbol, ev.client_order_id,
         "", ev.side, 0, 0, 0, ev.qty, 0, ev.filled, ev.notional, ev.reason, "",
         ev.request_id, ev.ts_us, origin)
    )  # fmt: skip


def _expired(ev: OrderExpired, rows: Rows, origin: str | None) -> None:
    rows.orders.append(
        (ev.seq, ev.idx, "expired", ev.order_id, ev.account, ev.symbol, ev.client_order_id,
         "", ev.side, 0, 0, 0, ev.qty, 0, ev.filled, ev.notional, ev.reason, "", "",
         ev.ts_us, origin)
    )  # fmt: skip


def _replaced(ev: OrderReplaced, rows: Rows, origin: str | None) -> None:
    rows.orders.append(
        (ev.seq, ev.idx, "replaced", ev.order_id, ev.account, ev.symbol, ev.client_order_id,
         ev.orig_client_order_id, ev.side, 0, 0, ev.price, ev.qty, ev.leaves, ev.filled,
         ev.notional, int(ev.priority_kept), "", "", ev.ts_us, origin)
    )  # fmt: skip


def _rejected(ev: OrderRejected, rows: Rows, origin: str | None) -> None:
    if ev.request == "admin":
        _venue(rows, ev, "admin.rejected", ev.account, {"code": ev.code, "text": ev.text})
        return
    rows.orders.append(
        (ev.seq, ev.idx, "rejected", ev.order_id, ev.account, ev.symbol, ev.client_order_id,
         "", 0, 0, 0, 0, 0, 0, 0, 0, ev.code, ev.text, ev.request, ev.ts_us, origin)
    )  # fmt: skip


def _trade(t: Trade, rows: Rows, origin: str | None) -> None:
    maker_side = 3 - t.taker_side  # Side.BUY = 1, Side.SELL = 2
    rows.fills.append(
        (t.seq, t.idx, t.trade_id, "maker", t.symbol, t.maker_order_id, t.maker_account,
         t.maker_client_order_id, maker_side, t.price, t.qty, t.maker_fee, "", t.maker_filled,
         t.maker_notional, t.maker_leaves, t.ts_us)
    )  # fmt: skip
    rows.fills.append(
        (t.seq, t.idx, t.trade_id, "taker", t.symbol, t.taker_order_id, t.taker_account,
         t.taker_client_order_id, t.taker_side, t.price, t.qty, t.taker_fee, "", t.taker_filled,
         t.taker_notional, t.taker_leaves, t.ts_us)
    )  # fmt: skip


def _venue_event(ev: VenueEvent, rows: Rows, origin: str | None) -> None:
    if ev.kind.startswith("session."):
        _session(rows, ev)
    else:
        _venue(rows, ev, ev.kind, ev.subject, ev.data)
    if ev.kind == "alert.reviewed":
        rows.alert_states.append((str(ev.data["to_state"]), ev.subject))


def _admin_applied(ev: AdminApplied, rows: Rows, origin: str | None) -> None:
    _venue(rows, ev, "admin." + ev.command, "", {"detail": ev.detail})


def _stp(ev: SelfTradePrevented, rows: Rows, origin: str | None) -> None:
    _venue(
        rows, ev, "stp.prevented", ev.account,
        {"symbol": ev.symbol, "taker_order_id": ev.taker_order_id,
         "maker_order_id": ev.maker_order_id, "qty": ev.qty, "mode": ev.mode},
    )  # fmt: skip


#: the row builder of each event type that has rows, one dict lookup per event (the most
#: frequent, BalanceChanged, has none: its movements are the ledger's)
_ROW_BUILDERS: Final[dict[type, Callable[[Any, Rows, str | None], None]]] = {
    OrderAccepted: _accepted,
    Trade: _trade,
    OrderCanceled: _canceled,
    OrderExpired: _expired,
    OrderReplaced: _replaced,
    OrderRejected: _rejected,
    VenueEvent: _venue_event,
    AdminApplied: _admin_applied,
    SelfTradePrevented: _stp,
}


def _venue(rows: Rows, ev: Any, kind: str, subject: str, data: Mapping[str, object]) -> None:
    text = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    rows.venue_events.append((ev.seq, ev.idx, kind, subject, text, ev.ts_us))


def _session(rows: Rows, ev: VenueEvent) -> None:
    d = ev.data
    rows.sessions.append(
        (ev.seq, ev.idx, int(ev.subject), ev.kind.removeprefix("session."), str(d["protocol"]),
         str(d["name"]), str(d["account"]), str(d["source"]), str(d.get("reason", "")), ev.ts_us)
    )  # fmt: skip


def origin_of(command: object) -> str | None:
    """The orders.origin of a command's rows: the sending session's id, ``admin:<operator>``
    for an admin request, None when the journal does not say (older records, the
    gateway's own commands)."""
    if type(command) in _ORDER_COMMANDS:
        session: int = command.origin  # type: ignore[attr-defined]
        return str(session) if session else None
    if type(command) is AdminRequest:
        return "admin:" + command.operator
    return None


def _reason(events: list[Event]) -> str:
    """Why a non-trade command moved balances, from the kinds of its venue events."""
    for ev in events:
        if type(ev) is VenueEvent:
            for reason in ("deposit", "withdrawal", "transfer", "rebate", "fee"):
                if ev.kind.startswith(reason):
                    return reason
    return "adjustment"


class Ledger:
    """Running balances of every (account, asset), real and pseudo, and the legs."""

    def __init__(self, balances: Mapping[tuple[str, str], int] | None = None) -> None:
        self.balances: dict[tuple[str, str], int] = dict(balances or {})

    def opening(self, seq: int, ts_us: int, rows: Rows) -> None:
        """Book every balance held at a snapshot as coming from outside (a rebuild that
        starts from a snapshot has no history before it)."""
        leg = 0
        for (account, asset), total in sorted(self.balances.items()):
            if account.startswith("@") or not total:
                continue
            ext = self.balances.get((EXTERNAL, asset), 0) - total
            self.balances[(EXTERNAL, asset)] = ext
            rows.ledger.append(
                (seq, leg, account, asset, total, total, "opening", EXTERNAL, 0, ts_us)
            )
            rows.ledger.append(
                (seq, leg + 1, EXTERNAL, asset, -total, ext, "opening", account, 0, ts_us)
            )
            leg += 2

    def apply(
        self,
        events: list[Event],
        instruments: Mapping[str, Instrument],
        rows: Rows,
        perps: Container[str] = frozenset(),
    ) -> None:
        """The legs of one command. Afterwards every real account's running balance
        equals the total its last BalanceChanged reported. ``perps``: the symbols that
        are perpetuals. Most commands (an order placed or canceled) change only what is
        held and book nothing."""
        if not events:
            return
        changes: list[BalanceChanged] = []
        traded = False
        perp_accounts: set[str] = set()
        seq, ts_us = events[0].seq, events[0].ts_us
        out = rows.ledger
        leg = 0  # trade legs are booked as they come: what the totals show beyond is residual
        for ev in events:
            if type(ev) is BalanceChanged:
                changes.append(ev)
            elif type(ev) is Trade:
                traded = True
                inst = instruments[ev.symbol]
                if ev.symbol not in perps:
                    leg = self._trade(ev, inst, seq, ts_us, leg, out)
                else:
                    perp_accounts.update((ev.maker_account, ev.taker_account))
                leg = self._fees(ev, inst.quote, seq, ts_us, leg, out)
            elif type(ev) is VenueEvent and ev.kind.startswith("perp."):
                perp_accounts.add(ev.subject)  # an account, or a symbol (no balance)
        balances = self.balances
        residual: dict[tuple[str, str], int] = {}
        for change in changes:  # at most one per (account, asset) and command
            key = (change.account, change.asset)
            rest = change.total - balances.get(key, 0)
            if rest:
                residual[key] = rest
        if not residual:
            return
        more: list[Leg] = []
        if perp_accounts:
            perp = {key: v for key, v in residual.items() if key[0] in perp_accounts}
            residual = {key: v for key, v in residual.items() if key[0] not in perp_accounts}
            _residual_legs(perp, PERP, "perp", more)
        if residual:
            reason = "fee" if traded else _reason(events)
            _residual_legs(residual, FEES if traded else EXTERNAL, reason, more)
        self._book(more, leg, events, rows)

    def _post(
        self,
        seq: int,
        leg: int,
        account: str,
        asset: str,
        amount: int,
        reason: str,
        contra: str,
        trade_id: int,
        ts_us: int,
        out: list[LedgerRow],
    ) -> None:
        """One ledger row, with the account's running balance after it."""
        key = (account, asset)
        balance = self.balances.get(key, 0) + amount
        self.balances[key] = balance
        out.append((seq, leg, account, asset, amount, balance, reason, contra, trade_id, ts_us))

    def _trade(
        self, t: Trade, inst: Instrument, seq: int, ts_us: int, leg: int, out: list[LedgerRow]
    ) -> int:
        """A spot trade's legs from leg on: quote from buyer to seller, base from seller
        to buyer. The next leg number."""
        notional = t.price * t.qty * inst.quote_per_tick_lot
        base_units = t.qty * inst.base_per_lot
        if t.taker_side == _BUY:
            buyer, seller = t.taker_account, t.maker_account
        else:
            buyer, seller = t.maker_account, t.taker_account
        quote, base, tid = inst.quote, inst.base, t.trade_id
        self._post(seq, leg, buyer, quote, -notional, "trade", seller, tid, ts_us, out)
        self._post(seq, leg + 1, seller, quote, notional, "trade", buyer, tid, ts_us, out)
        self._post(seq, leg + 2, seller, base, -base_units, "trade", buyer, tid, ts_us, out)
        self._post(seq, leg + 3, buyer, base, base_units, "trade", seller, tid, ts_us, out)
        return leg + 4

    def _fees(
        self, t: Trade, quote: str, seq: int, ts_us: int, leg: int, out: list[LedgerRow]
    ) -> int:
        """Each fee of a trade from its payer to ``@fees`` (a rebate the other way), from
        leg on. The next leg number."""
        tid = t.trade_id
        for payer, fee in ((t.maker_account, t.maker_fee), (t.taker_account, t.taker_fee)):
            if fee:
                reason = "fee" if fee > 0 else "rebate"
                self._post(seq, leg, payer, quote, -fee, reason, FEES, tid, ts_us, out)
                self._post(seq, leg + 1, FEES, quote, fee, reason, payer, tid, ts_us, out)
                leg += 2
        return leg

    def _book(self, legs: list[Leg], first: int, events: list[Event], rows: Rows) -> None:
        """Ledger rows of legs numbered from first, with the running balances."""
        seq, ts_us = events[0].seq, events[0].ts_us
        balances = self.balances
        append = rows.ledger.append
        for leg, (account, asset, amount, reason, contra, trade_id) in enumerate(legs, first):
            key = (account, asset)
            balance = balances.get(key, 0) + amount
            balances[key] = balance
            append((seq, leg, account, asset, amount, balance, reason, contra, trade_id, ts_us))


def _residual_legs(
    residual: dict[tuple[str, str], int],
    pool: str,
    reason: str,
    legs: list[Leg],
) -> None:
    """Book movements the trade legs do not explain. Two accounts whose movements in an
    asset cancel out are each other's contra (a transfer); otherwise each moves against
    ``pool``."""
    by_asset: dict[str, list[tuple[str, int]]] = {}
    for (account, asset), amount in sorted(residual.items()):
        by_asset.setdefault(asset, []).append((account, amount))
    for asset, moves in by_asset.items():
        if len(moves) == 2 and moves[0][1] + moves[1][1] == 0 and pool == EXTERNAL:
            (a, amount_a), (b, amount_b) = moves
            legs.append((a, asset, amount_a, reason, b, 0))
            legs.append((b, asset, amount_b, reason, a, 0))
            continue
        for account, amount in moves:
            legs.append((account, asset, amount, reason, pool, 0))
            legs.append((pool, asset, -amount, reason, account, 0))
