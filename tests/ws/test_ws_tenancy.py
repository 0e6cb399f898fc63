"""subaccount.list and transfer over a real WebSocket against a running gateway."""

from __future__ import annotations

from engine.venue.tenancy_commands import CreateSubAccount, SetAccountStatus
from gateway.app import App
from tests.ws.helpers import connect_client


async def test_list_sub_accounts_and_transfer_both_ways(gateway: App) -> None:
    gateway.host.submit(CreateSubAccount("ACC1.hedge", "ACC1", "hedge"))
    gateway.host.submit(CreateSubAccount("ACC1.spot", "ACC1"))
    c = await connect_client(gateway)
    await c.logon("demo-acc1")
    listed = (await c.ok("subaccount.list"))["sub_accounts"]
    assert listed == [
        {"account": "ACC1.hedge", "label": "hedge", "status": "active", "balances": []},
        {"account": "ACC1.spot", "label": "", "status": "active", "balances": []},
    ]
    done = await c.ok(
        "transfer",
        {"to_account": "ACC1.hedge", "asset": "USD", "amount": "250.5", "transfer_id": "t1"},
    )
    assert done == {
        "transfer_id": "t1", "from_account": "ACC1", "to_account": "ACC1.hedge",
        "asset": "USD", "amount": "250.5",
    }  # fmt: skip
    # between two sub-accounts, and back to the parent
    await c.ok(
        "transfer",
        {"from_account": "ACC1.hedge", "to_account": "ACC1.spot", "asset": "USD", "amount": "50"},
    )
    await c.ok(
        "transfer",
        {"from_account": "ACC1.spot", "to_account": "ACC1", "asset": "USD", "amount": "50"},
    )
    listed = (await c.ok("subaccount.list"))["sub_accounts"]
    assert listed[0]["balances"] == [
        {"asset": "USD", "total": "200.5", "available": "200.5", "held": "0"}
    ]
    balances = {b["asset"]: b["total"] for b in (await c.ok("account.balances"))["balances"]}
    assert balances["USD"] == "999999799.5"
    await c.close()


async def test_transfer_refusals(gateway: App) -> None:
    gateway.host.submit(CreateSubAccount("ACC1.a", "ACC1"))
    gateway.host.submit(CreateSubAccount("ACC2.a", "ACC2"))
    gateway.host.submit(CreateSubAccount("ACC1.closed", "ACC1"))
    gateway.host.submit(SetAccountStatus("ACC1.closed", 3))
    c = await connect_client(gateway)
    cases = [
        ({"to_account": "ACC1.a", "asset": "USD", "amount": "1"}, 401, 1010),  # not logged on
    ]
    for params, status, code in cases:
        answer = await c.call("transfer", params)
        assert (answer["status"], answer["error"]["code"]) == (status, code), answer
    await c.logon("demo-acc1")
    cases = [
        # another account's sub-account, and another account: unknown to this session
        ({"to_account": "ACC2.a", "asset": "USD", "amount": "1"}, 400, 2002),
        ({"from_account": "ACC2", "to_account": "ACC1", "asset": "USD", "amount": "1"}, 400, 2002),
        ({"to_account": "ACC1.a", "asset": "USD", "amount": "2000000000"}, 400, 2015),
        ({"to_account": "ACC1.a", "asset": "USD", "amount": "0"}, 400, 1005),
        ({"to_account": "ACC1.a", "asset": "USD", "amount": "0.000000001"}, 400, 1005),
        ({"to_account": "ACC1.a", "asset": "USD"}, 400, 1004),
        ({"to_account": "ACC1.a", "asset": "USD", "amount": "1", "x": 1}, 400, 1004),
        ({"to_account": "ACC1.closed", "asset": "USD", "amount": "1"}, 403, 2037),
        ({"to_account": "ACC1", "asset": "USD", "amount": "1"}, 400, 2025),  # to itself
    ]
    for params, status, code in cases:
        answer = await c.call("transfer", params)
        assert (answer["status"], answer["error"]["code"]) == (status, code), (params, answer)
    sub = (await c.ok("subaccount.list"))["sub_accounts"]
    assert [s["balances"] for s in sub] == [[], []]
    await c.close()
