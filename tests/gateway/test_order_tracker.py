"""OrderTracker: lookups by client id stay exact and its memory stays bounded.

A soak (new/cancel/replace at 3,000/s) grew the gateway's memory for hours: every
replace left the order's previous client id in ``by_client_id`` and nothing ever
removed it. These tests drive a real Engine and feed its events to a tracker with a
tiny closed-order window, so a key that outlives its order shows up at once.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commands import Cancel, Command, Replace
from engine.model import Side
from gateway.orders import OrderTracker
from tests.engine.helpers import limit, make_engine, open_account

WINDOW = 3

# An op: (kind, order pick, price offset); kinds: 0 add, 1 cancel, 2 replace, 3 cross.
_ops = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 1_000), st.integers(0, 20)),
    min_size=1,
    max_size=80,
)


def _check(tracker: OrderTracker) -> None:
    kept = {**tracker.orders, **tracker.closed}
    for (account, clid), order_id in tracker.by_client_id.items():
        view = kept.get(order_id)
        assert view is not None, f"{clid!r} names order {order_id}, which is no longer kept"
        assert (view.account, view.client_order_id) == (account, clid), (
            f"{clid!r} still names order {order_id}, now {view.client_order_id!r}"
        )
    assert len(tracker.by_client_id) <= len(kept)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_client_id_index_only_names_kept_orders(ops: list[tuple[int, int, int]]) -> None:
    eng, _ = make_engine()
    open_account(eng, "A")
    open_account(eng, "B")
    tracker = OrderTracker(closed_window=WINDOW)
    live: list[str] = []
    for n, (kind, pick, offset) in enumerate(ops):
        clid = f"c{n}"
        if kind == 0 or not live:
            command: Command = limit("A", Side.BUY, 1_000 + offset, 1, client_order_id=clid)
            live.append(clid)
        elif kind == 1:
            command = Cancel("A", "BTC-USD", client_order_id=live.pop(pick % len(live)))
        elif kind == 2:
            orig = live.pop(pick % len(live))
            command = Replace("A", "BTC-USD", 2, 1_000 + offset, 0, orig, clid)
            live.append(clid)
        else:  # another account sells into the bids: fills close orders
            command = limit("B", Side.SELL, 1_000, 1 + offset % 3)
        for event in eng.submit(command):
            tracker.apply(event)
        live = [c for c in live if (v := tracker.find("A", c)) is not None and v.is_open]
        _check(tracker)


def test_replaced_order_is_found_by_its_current_client_id_only() -> None:
    eng, _ = make_engine()
    open_account(eng, "A")
    tracker = OrderTracker(closed_window=WINDOW)
    for command in (
        limit("A", Side.BUY, 1_000, 1, client_order_id="first"),
        Replace("A", "BTC-USD", 2, 1_001, 0, "first", "second"),
    ):
        for event in eng.submit(command):
            tracker.apply(event)
    view = tracker.find("A", "second")
    assert view is not None and view.qty == 2
    assert tracker.find("A", "first") is None


def test_the_closed_window_keeps_the_most_recently_closed() -> None:
    eng, _ = make_engine()
    open_account(eng, "A")
    tracker = OrderTracker(closed_window=WINDOW)
    clids = [f"c{n}" for n in range(WINDOW + 4)]
    for clid in clids:  # placed, then canceled: closed in this order
        for command in (
            limit("A", Side.BUY, 1_000, 1, client_order_id=clid),
            Cancel("A", "BTC-USD", client_order_id=clid),
        ):
            for event in eng.submit(command):
                tracker.apply(event)
    kept = [clid for clid in clids if tracker.find("A", clid) is not None]
    assert kept == clids[-WINDOW:]
    assert len(tracker.closed) == WINDOW
