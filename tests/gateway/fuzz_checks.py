"""Invariants shared by the FIX and WebSocket fuzz tests (tests/gateway/test_fix_fuzz.py,
tests/ws/test_ws_fuzz.py): no ERROR log record, a consistent engine, a journal that
replays to the same state."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Any

import structlog
from hypothesis import HealthCheck, Phase, settings

from engine.core import Engine
from engine.journal import recover
from engine.model import Side
from engine.venue.funds import OPEN_WITHDRAWAL
from gateway.app import App

__all__ = ["LogWatch", "check_engine", "check_journal_replays"]


class LogWatch(logging.Handler):
    """Collects ERROR (and worse) records: stdlib logging (the FIX session layer, asyncio's
    "Exception in callback", websockets) through a root handler, and structlog (the
    gateway's own loggers: ``log.exception`` of a failed listener or request), which in
    the test process is not routed to stdlib logging, through ``capture_logs``."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._struct: list[dict[str, Any]] = []
        self._stack = ExitStack()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> LogWatch:
        root = logging.getLogger()
        root.addHandler(self)
        self._stack.callback(root.removeHandler, self)
        self._struct = self._stack.enter_context(
            structlog.testing.capture_logs([structlog.processors.format_exc_info])
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def errors(self) -> list[str]:
        """Every ERROR/CRITICAL so far, formatted (tracebacks included)."""
        out = [f"{r.name}: {r.getMessage()}\n{self.format(r)}" for r in self.records]
        out += [
            repr(e)
            for e in self._struct
            if e.get("log_level") in ("error", "critical", "exception", "fatal")
        ]
        return out


def check_engine(app: App) -> None:
    """The engine, its books, balances (held = open orders' and open withdrawals' holds)
    and the gateway's order tracker agree."""
    eng = app.host.engine
    # A command that was sequenced but never applied (e.g. the journal refused it)
    # would make every later command fail with a sequence gap.
    assert eng.sequencer.last_seq == eng.last_seq, (eng.sequencer.last_seq, eng.last_seq)
    in_books: set[int] = set()
    for symbol, listing in eng.listings.items():
        book = listing.book
        for side in (book.bids, book.asks):
            for level in side.iter_levels():
                orders = list(level)
                assert orders, (symbol, level.price)
                assert level.qty == sum(o.leaves for o in orders), (symbol, level.price)
                for o in orders:
                    assert o.symbol == symbol and o.leaves > 0 and o.filled + o.leaves == o.qty
                    in_books.add(o.order_id)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask, f"{symbol} book crossed"
    assert in_books == set(eng.orders), "an open order is missing from its book (or vice versa)"
    assert set(app.tracker.orders) == set(eng.orders), "tracker and engine disagree"
    for name, account in eng.accounts.items():
        holds: dict[str, int] = {}
        opened = eng.open_orders(name)
        for o in opened:
            inst = eng.listings[o.symbol].instrument
            asset = inst.quote if o.side == Side.BUY else inst.base
            holds[asset] = holds.get(asset, 0) + o.hold
        for w in eng.funds.of_account(name):
            if w.status in OPEN_WITHDRAWAL:
                holds[w.asset] = holds.get(w.asset, 0) + w.amount
        assert account.open_orders == len(opened), name
        for asset, bal in account.balances.items():
            assert 0 <= bal.held <= bal.total, (name, asset, bal.total, bal.held)
            assert bal.held == holds.get(asset, 0), (name, asset)


def check_journal_replays(app: App) -> None:
    """Replaying the journal from scratch gives the live engine's exact state."""
    fresh = Engine()
    report = recover(fresh, app.config.journal.dir)
    live = app.host.engine
    assert report.last_seq == live.last_seq, (report.last_seq, live.last_seq)
    assert report.state_hash == live.state_hash()


#: Hypothesis settings of both fuzzers. Examples share the fixture's gateway and its
#: sessions/connections on purpose (state builds up: orders to cancel, replace, query,
#: subscriptions); shrinking cannot replay that, so there is no shrink phase.
fuzz_settings = settings(
    max_examples=150,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
