"""Client withdrawals over a real WebSocket: request, cancel, status and list, the
hold they place, their errors, and their state after a restart."""

from __future__ import annotations

from typing import Any

from engine.model import decimal_to_units
from engine.venue.funds import ApproveWithdrawal
from gateway.app import App
from tests.conftest import MakeGateway
from tests.ws.helpers import Client, connect_client


async def logged_on(app: App, key: str = "demo-acc1") -> Client:
    c = await connect_client(app)
    await c.logon(key)
    return c


async def btc(c: Client) -> dict[str, str]:
    balances = (await c.ok("account.balances"))["balances"]
    (found,) = [b for b in balances if b["asset"] == "BTC"]
    return {"total": found["total"], "held": found["held"]}


async def error(c: Client, method: str, params: dict[str, Any]) -> tuple[int, int]:
    answer = await c.call(method, params)
    assert "result" not in answer, answer
    return answer["status"], answer["error"]["code"]


REQUEST = {"asset": "BTC", "amount": "1.5", "destination": "bc1qclient", "client_id": "w-1"}


async def test_request_holds_and_cancel_releases(gateway: App) -> None:
    c = await logged_on(gateway)
    before = await btc(c)
    held = await c.ok("withdrawal.request", REQUEST)
    assert held == {
        "withdrawal_id": held["withdrawal_id"],
        "client_id": "w-1",
        "asset": "BTC",
        "amount": "1.5",
        "destination": "bc1qclient",
        "status": "held",
        "custody_reference": "",
        "created_us": held["created_us"],
        "updated_us": held["created_us"],
    }
    assert await btc(c) == {"total": before["total"], "held": "1.5"}
    by_id = await c.ok("withdrawal.status", {"withdrawal_id": held["withdrawal_id"]})
    by_client_id = await c.ok("withdrawal.status", {"client_id": "w-1"})
    assert by_id == by_client_id == held
    canceled = await c.ok("withdrawal.cancel", {"withdrawal_id": held["withdrawal_id"]})
    assert canceled["status"] == "canceled"
    assert await btc(c) == before
    # Canceled is final.
    assert await error(c, "withdrawal.cancel", {"withdrawal_id": held["withdrawal_id"]}) == (
        409,
        2027,
    )
    await c.close()


async def test_same_client_id_answers_the_same_withdrawal(gateway: App) -> None:
    c = await logged_on(gateway)
    first = await c.ok("withdrawal.request", REQUEST)
    again = await c.ok("withdrawal.request", REQUEST)
    assert again == first
    assert (await btc(c))["held"] == "1.5"
    other = {**REQUEST, "amount": "2"}
    assert await error(c, "withdrawal.request", other) == (400, 2023)
    await c.close()


async def test_an_approved_withdrawal_cannot_be_canceled_by_the_client(gateway: App) -> None:
    c = await logged_on(gateway)
    wid = (await c.ok("withdrawal.request", REQUEST))["withdrawal_id"]
    gateway.host.submit(ApproveWithdrawal(wid, "ops", "checked"))
    assert await error(c, "withdrawal.cancel", {"withdrawal_id": wid}) == (409, 2027)
    status = await c.ok("withdrawal.status", {"withdrawal_id": wid})
    assert status["status"] == "approved"
    assert (await btc(c))["held"] == "1.5"
    await c.close()


async def test_list_is_newest_first_and_filters_by_status(gateway: App) -> None:
    c = await logged_on(gateway)
    first = await c.ok("withdrawal.request", {**REQUEST, "client_id": "a"})
    second = await c.ok("withdrawal.request", {**REQUEST, "client_id": "b", "amount": "1"})
    await c.ok("withdrawal.cancel", {"withdrawal_id": first["withdrawal_id"]})
    listed = (await c.ok("withdrawal.list"))["withdrawals"]
    assert [w["withdrawal_id"] for w in listed] == [second["withdrawal_id"], first["withdrawal_id"]]
    held = (await c.ok("withdrawal.list", {"status": "held"}))["withdrawals"]
    assert [w["withdrawal_id"] for w in held] == [second["withdrawal_id"]]
    assert len((await c.ok("withdrawal.list", {"limit": 1}))["withdrawals"]) == 1
    # Another account sees none of them, and cannot read or cancel them.
    d = await logged_on(gateway, "demo-acc2")
    assert (await d.ok("withdrawal.list"))["withdrawals"] == []
    wid = second["withdrawal_id"]
    assert await error(d, "withdrawal.status", {"withdrawal_id": wid}) == (404, 2036)
    assert await error(d, "withdrawal.cancel", {"withdrawal_id": wid}) == (404, 2036)
    assert (await c.ok("withdrawal.status", {"withdrawal_id": wid}))["status"] == "held"
    await c.close()
    await d.close()


async def test_bad_requests_are_refused_and_hold_nothing(gateway: App) -> None:
    c = await logged_on(gateway)
    before = await btc(c)
    too_much = str(decimal_to_units(before["total"]) // 100_000_000 + 1)
    assert await error(c, "withdrawal.request", {**REQUEST, "amount": too_much}) == (400, 2015)
    assert await error(c, "withdrawal.request", {**REQUEST, "amount": "0.000000001"}) == (
        400,
        1005,
    )
    assert await error(c, "withdrawal.request", {**REQUEST, "amount": "0"}) == (400, 1005)
    no_destination = {k: v for k, v in REQUEST.items() if k != "destination"}
    assert await error(c, "withdrawal.request", no_destination) == (400, 1004)
    assert await error(c, "withdrawal.request", {**REQUEST, "fee": "1"}) == (400, 1004)
    assert await error(c, "withdrawal.status", {}) == (400, 1004)
    assert await error(c, "withdrawal.status", {"withdrawal_id": "W1", "client_id": "x"}) == (
        400,
        1004,
    )
    assert await error(c, "withdrawal.list", {"status": "lost"}) == (400, 1004)
    assert await error(c, "withdrawal.list", {"limit": 0}) == (400, 1004)
    assert await btc(c) == before
    assert (await c.ok("withdrawal.list"))["withdrawals"] == []
    anonymous = await connect_client(gateway)
    assert await error(anonymous, "withdrawal.request", REQUEST) == (401, 1010)
    assert await error(anonymous, "withdrawal.list", {}) == (401, 1010)
    await c.close()
    await anonymous.close()


async def test_withdrawals_are_found_after_a_restart(make_gateway: MakeGateway) -> None:
    app = await make_gateway()
    c = await logged_on(app)
    held = await c.ok("withdrawal.request", REQUEST)
    await c.close()
    await app.stop()
    again = await make_gateway()
    d = await logged_on(again)
    assert await d.ok("withdrawal.status", {"client_id": "w-1"}) == held
    assert (await btc(d))["held"] == "1.5"
    await d.close()
