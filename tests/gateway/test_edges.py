"""gateway/edges.py: the policies every edge shares."""

from __future__ import annotations

import asyncio

import pytest

from engine.commands import Cancel, NewOrder
from engine.events import OrderAccepted, RejectCode
from engine.model import OrdType, Side
from gateway.app import App
from gateway.edges import (
    COD_REQUEST_ID,
    REJECTS,
    OwnerRegistry,
    RateLimiter,
    cancel_on_disconnect,
    fix_reject_text,
    reject_rule,
)
from gateway.host import EventBatch
from tests.gateway.conftest import Connect
from tests.ws.helpers import connect_client, limit

# ------------------------------------------------------------------- reject table


@pytest.mark.parametrize("code", list(RejectCode), ids=lambda c: c.name)
def test_every_engine_reject_code_has_a_row(code: RejectCode) -> None:
    rule = REJECTS[code]  # a new RejectCode without a row fails here
    assert rule.ws_code == 2000 + code
    assert rule.ws_status in (400, 403, 404, 409)
    assert 0 <= rule.ord_rej_reason <= 99 and rule.cxl_rej_reason in (1, 99)


def test_the_table_has_no_row_for_a_code_the_engine_does_not_have() -> None:
    assert set(REJECTS) == {int(c) for c in RejectCode}


def test_documented_rows() -> None:
    """Rows that clients see (RULES_OF_ENGAGEMENT, WS_API): spot checks of each column."""
    unknown_order = reject_rule(RejectCode.UNKNOWN_ORDER)
    assert (unknown_order.ord_rej_reason, unknown_order.cxl_rej_reason) == (5, 1)
    assert (unknown_order.ws_code, unknown_order.ws_status) == (2020, 404)
    balance = reject_rule(RejectCode.INSUFFICIENT_BALANCE)
    assert (balance.ord_rej_reason, balance.cxl_rej_reason, balance.ws_status) == (3, 99, 400)
    assert reject_rule(RejectCode.DUPLICATE_CLIENT_ORDER_ID).ws_status == 409
    assert reject_rule(RejectCode.UNKNOWN_INSTRUMENT).ord_rej_reason == 1


def test_a_code_this_build_does_not_know_is_other() -> None:
    rule = reject_rule(77)
    assert (rule.ord_rej_reason, rule.cxl_rej_reason, rule.ws_code, rule.ws_status) == (
        99,
        99,
        2077,
        400,
    )


def test_fix_text_carries_the_engine_code() -> None:
    assert fix_reject_text(15, "insufficient balance") == "E15: insufficient balance"


# ------------------------------------------------------------------- rate limiter


def test_rate_limiter_allows_a_burst_of_rate_then_refuses() -> None:
    limiter = RateLimiter(3, now=100.0)
    assert [limiter.take(100.0) for _ in range(4)] == [True, True, True, False]


def test_rate_limiter_refills_at_rate_per_second() -> None:
    limiter = RateLimiter(4, now=0.0)
    assert all(limiter.take(0.0) for _ in range(4))
    assert not limiter.take(0.1)  # 0.4 of a token
    assert limiter.take(0.25)  # 1.0 token (0.4 + 0.6)
    assert not limiter.take(0.25)


def test_rate_limiter_never_stores_more_than_one_burst() -> None:
    limiter = RateLimiter(2, now=0.0)
    assert [limiter.take(3600.0) for _ in range(3)] == [True, True, False]


def test_refused_messages_cost_no_token() -> None:
    limiter = RateLimiter(1, now=0.0)
    assert limiter.take(0.0)
    assert not limiter.take(0.5) and not limiter.take(0.5)
    assert limiter.take(1.0)


# ------------------------------------------------------------------- owner registry


def test_owner_registry_routes_and_releases() -> None:
    owners: OwnerRegistry[str] = OwnerRegistry()
    owners.add(7, "a")
    owners.add(3, "a")
    owners.add(5, "b")
    assert (owners.owner(7), owners.owner(5), owners.owner(9), len(owners)) == ("a", "b", None, 3)
    assert owners.orders_of("a") == [3, 7]
    owners.release(7)
    owners.release(9)  # unknown: nothing
    assert owners.owner(7) is None and owners.orders_of("a") == [3] and len(owners) == 2


def test_dropping_a_session_forgets_its_orders_only() -> None:
    owners: OwnerRegistry[str] = OwnerRegistry()
    for order_id, session in ((4, "a"), (2, "a"), (6, "b")):
        owners.add(order_id, session)
    assert owners.drop("a") == [2, 4]
    assert owners.drop("a") == []
    assert (owners.owner(2), owners.owner(6), owners.orders_of("b")) == (None, "b", [6])


# ------------------------------------------------------------------- cancel-on-disconnect


def _place(app: App, client_order_id: str) -> int:
    order = NewOrder(
        "ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 1_000, 10_000, client_order_id=client_order_id
    )
    events = app.host.submit(order)
    accepted = events[0]
    assert isinstance(accepted, OrderAccepted)
    return accepted.order_id


class RecordingOrigin:
    """An Origin that keeps the batches it is handed."""

    def __init__(self) -> None:
        self.batches: list[EventBatch] = []

    def on_batch(self, batch: EventBatch) -> None:
        self.batches.append(batch)

    async def wait_for(self, n: int) -> None:
        for _ in range(1000):  # the batches leave after the journal commit
            if len(self.batches) >= n:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{len(self.batches)} batches, expected {n}")


async def test_cancel_on_disconnect_cancels_the_live_orders_only(gateway: App) -> None:
    first, done, last = (_place(gateway, f"cod{i}") for i in range(3))
    gateway.host.submit(Cancel("ACC1", "BTC-USD", done))
    gone = RecordingOrigin()
    assert cancel_on_disconnect(gateway.host, [first, done, last, 999_999], gone) == 2
    assert first not in gateway.host.engine.orders and last not in gateway.host.engine.orders
    await gone.wait_for(2)
    cancels = [batch.command for batch in gone.batches]
    assert [(c.order_id, c.request_id) for c in cancels if isinstance(c, Cancel)] == [
        (first, COD_REQUEST_ID),
        (last, COD_REQUEST_ID),
    ]


# ------------------------------------------------------------------- typed origins


async def test_a_batch_reaches_its_origin_once_before_the_listeners(gateway: App) -> None:
    """Routing is one call: the host hands each batch to the Origin that submitted it,
    then to the listeners; a batch without an origin reaches only the listeners."""
    heard: list[tuple[str, int]] = []

    class Named(RecordingOrigin):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def on_batch(self, batch: EventBatch) -> None:
            super().on_batch(batch)
            heard.append((self.name, batch.seq))

    def listener(batch: EventBatch) -> None:
        heard.append(("listener", batch.seq))

    gateway.host.listeners.append(listener)
    a, b = Named("a"), Named("b")
    order = NewOrder("ACC1", "BTC-USD", Side.BUY, OrdType.LIMIT, 1_000, 10_000)
    gateway.host.submit(order, a)
    gateway.host.submit(Cancel("ACC1", "BTC-USD", 999_999), b)
    gateway.host.submit(Cancel("ACC1", "BTC-USD", 999_998))
    await b.wait_for(1)
    for _ in range(100):
        if len(heard) >= 5:
            break
        await asyncio.sleep(0.01)
    seq_a, seq_b = a.batches[0].seq, b.batches[0].seq
    assert heard == [
        ("a", seq_a),
        ("listener", seq_a),
        ("b", seq_b),
        ("listener", seq_b),
        ("listener", seq_b + 1),
    ]


async def test_a_failing_origin_does_not_stop_the_listeners(gateway: App) -> None:
    class Broken:
        def on_batch(self, batch: EventBatch) -> None:
            raise RuntimeError("a broken session")

    after = RecordingOrigin()
    seen: list[int] = []
    gateway.host.listeners.append(lambda batch: seen.append(batch.seq))
    gateway.host.submit(Cancel("ACC1", "BTC-USD", 999_999), Broken())
    gateway.host.submit(Cancel("ACC1", "BTC-USD", 999_998), after)
    await after.wait_for(1)
    assert seen[-2:] == [after.batches[0].seq - 1, after.batches[0].seq]


async def test_a_ws_cancel_on_disconnect_reaches_fix_drop_copy_without_a_request_id(
    app: App, fix_login: Connect
) -> None:
    """One sentinel for every edge: the cancel a WS connection's cancel_on_disconnect
    submits is no client's request, so the FIX drop copy reports it with the order's
    own ClOrdID, as it does for a FIX session's, not with a made-up ClOrdID (11)."""
    drop = await fix_login("DC1")
    ws = await connect_client(app)
    await ws.logon("demo-acc1", cancel_on_disconnect=True)
    await ws.ok("order.place", limit("BTC-USD", "buy", "0.1", "100", client_order_id="w1"))
    ack = await drop.expect("8")
    assert (ack.get_str(11), ack.get_str(150)) == ("w1", "0")
    await ws.close()
    canceled = await drop.expect("8")
    assert (canceled.get_str(150), canceled.get_str(11), canceled.get(41)) == ("4", "w1", None)
