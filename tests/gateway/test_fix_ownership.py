"""Another account's order is, to a FIX session, an order that does not exist.

Order-entry sessions on different accounts over real TCP: every refusal that names the
other account's OrderID (37) must be the refusal for an OrderID that never existed,
field for field, except the fields that change per message anyway (header sequence and
time, ExecID, TransactTime) and OrderID itself, which echoes the request. The snoop is
a FIX 4.4 session (OrigClOrdID 41 required: it sends a guess) or a FIXT.1.1 one (41
optional: it sends none, which once let the victim's ClOrdID fill the answer's 41)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.app import App
from gateway.fix.codec import FieldValue
from gateway.fix.settings import FIXT11
from tests.fix.conftest import ClientMessage, FixClient
from tests.gateway.conftest import Connect, password

TT = (60, "20261123-00:00:00")
#: BodyLength, MsgSeqNum, SendingTime, CheckSum; OrderID (echoes the request), ExecID
#: and TransactTime (fresh per answer)
_PER_MESSAGE = frozenset({9, 34, 52, 10, 37, 17, 60})
UNKNOWN_ID = "987654321"
#: (snoop session, its BeginString, what it sends for OrigClOrdID 41)
SNOOPS = pytest.mark.parametrize(
    "snoop_of",
    [("CLIENT2", "FIX.4.4", [(41, "guess")]), ("CLIENT5X", FIXT11, [])],
    ids=["fix44", "fixt"],
)
Snoop = tuple[str, str, list[tuple[int, FieldValue]]]


def comparable(msg: ClientMessage) -> list[tuple[int, bytes]]:
    return [(tag, value) for tag, value in msg.fields if tag not in _PER_MESSAGE]


@pytest.fixture
async def snoop_login(app: App) -> AsyncIterator[Connect]:
    """Log on any demo password session, FIXT.1.1 ones included (DefaultApplVerID)."""
    clients: list[FixClient] = []

    async def connect(sender: str, begin_string: str) -> FixClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
        client = FixClient(reader, writer, begin_string=begin_string, sender=sender)
        clients.append(client)
        await client.logon([(553, sender), (554, password(sender))], reset=True)
        return client

    yield connect
    for client in clients:
        await client.close()


async def victim_order(
    fix_login: Connect, snoop_login: Connect, snoop_of: Snoop
) -> tuple[FixClient, FixClient, str]:
    """CLIENT1 (ACC1) rests a buy, partly filled by the snoop so that its status is
    neither New nor Rejected; returns (victim, snoop, the victim order's OrderID)."""
    victim = await fix_login("CLIENT1")
    snoop = await snoop_login(snoop_of[0], snoop_of[1])
    await victim.send("D", [(11, "victim-secret"), (55, "BTC-USD"), (54, 1), (38, "0.5"),
                            (40, 2), (44, "40000"), (59, 1), TT])  # fmt: skip
    ack = await victim.expect("8")
    order_id = ack.get_str(37)
    assert order_id and ack.get(150) == b"0"
    await snoop.send("D", [(11, "fill"), (55, "BTC-USD"), (54, 2), (38, "0.1"), (40, 2),
                           (44, "40000"), (59, 3), TT])  # fmt: skip
    assert (await snoop.expect("8")).get(150) == b"0"
    assert (await snoop.expect("8")).get(150) == b"F"
    assert (await victim.expect("8")).get(39) == b"1"
    return victim, snoop, order_id


async def refusals(
    snoop: FixClient, msg_type: str, answer_type: str, order_id: str,
    body: list[tuple[int, FieldValue]],
) -> tuple[ClientMessage, ClientMessage]:  # fmt: skip
    """The answers to one request naming the victim's order, then an unknown one."""
    answers = []
    for target in (order_id, UNKNOWN_ID):
        await snoop.send(msg_type, [(11, "probe"), (37, target), *body])
        answers.append(await snoop.expect(answer_type))
    return answers[0], answers[1]


#: F and G, with the fields each takes besides 11, 37 and 41
AMENDS = pytest.mark.parametrize(
    ("msg_type", "fields"),
    [("F", []), ("G", [(38, "0.3"), (40, 2), (44, "40000")])],
    ids=["cancel", "replace"],
)


@SNOOPS
@AMENDS
async def test_cancel_or_replace_of_another_accounts_order_is_refused_as_unknown(
    fix_login: Connect,
    snoop_login: Connect,
    snoop_of: Snoop,
    msg_type: str,
    fields: list[tuple[int, FieldValue]],
) -> None:
    """The OrderCancelReject carried the victim's real OrdStatus (39) and, without
    OrigClOrdID in the request, the victim's ClOrdID in 41."""
    victim, snoop, order_id = await victim_order(fix_login, snoop_login, snoop_of)
    body = [*snoop_of[2], (55, "BTC-USD"), (54, 1), *fields, TT]
    not_owned, unknown = await refusals(snoop, msg_type, "9", order_id, body)
    assert (not_owned.get(37), unknown.get(37)) == (order_id.encode(), UNKNOWN_ID.encode())
    assert comparable(not_owned) == comparable(unknown)
    assert not_owned.get(39) == b"8" and not_owned.get(41) == b"NONE"
    await victim.expect_nothing()


@SNOOPS
async def test_status_of_another_accounts_order_is_refused_as_unknown(
    fix_login: Connect, snoop_login: Connect, snoop_of: Snoop
) -> None:
    _, snoop, order_id = await victim_order(fix_login, snoop_login, snoop_of)
    body: list[tuple[int, FieldValue]] = [(55, "BTC-USD"), (54, 1)]
    not_owned, unknown = await refusals(snoop, "H", "8", order_id, body)
    assert comparable(not_owned) == comparable(unknown)
    assert (not_owned.get(150), not_owned.get(39)) == (b"I", b"8")


async def test_mass_cancel_and_mass_status_never_reach_another_account(
    fix_login: Connect,
) -> None:
    victim = await fix_login("CLIENT1")
    snoop = await fix_login("CLIENT2")
    await victim.send("D", [(11, "victim-secret"), (55, "BTC-USD"), (54, 1), (38, "0.5"),
                            (40, 2), (44, "40000"), (59, 1), TT])  # fmt: skip
    assert (await victim.expect("8")).get(150) == b"0"
    await snoop.send("AF", [(584, "ms"), (585, 7), (1, "ACC1")])
    assert (await snoop.expect("8")).get(58) == b"no open orders"
    await snoop.send("q", [(11, "mc"), (530, 7), TT])  # FIX 4.4's q has no Account
    report = await snoop.expect("r")
    assert (report.get(531), report.get(533)) == (b"7", b"0")
    await victim.expect_nothing()
