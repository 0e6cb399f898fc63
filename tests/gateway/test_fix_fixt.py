"""FIXT.1.1 sessions (FIX 5.0 SP2 application messages) against a real gateway over
TCP: every answer a FIXT client gets must validate against the dictionaries it loads
(FIXT11.xml + FIX50SP2.xml), and carries no FIX 4.2-only field."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.app import App
from gateway.config import ConfigError, load_config
from gateway.fix.dictionary import load_dictionary
from gateway.fix.settings import FIXT11
from tests.fix.conftest import ClientMessage, FixClient
from tests.gateway.conftest import Connect, gateway_config, password
from tests.gateway.test_fix_orders import TT, order, tags

FIXT_CLIENT = "CLIENT5X"  # the demo FIXT.1.1 order-entry session (ACC3)
_HEADER = frozenset({8, 9, 35, 49, 56, 34, 52, 10})


def fix50(msg: ClientMessage) -> ClientMessage:
    """``msg`` as a FIXT.1.1 + FIX 5.0 SP2 engine sees it: valid, no ExecTransType."""
    assert msg.get(8) == FIXT11.encode()
    rej = load_dictionary(FIXT11).validate(msg.to_fix_message())
    assert rej is None, (rej, msg)
    assert 20 not in msg  # ExecTransType: FIX 4.2 only
    return msg


def fix44(msg: ClientMessage) -> ClientMessage:
    assert msg.get(8) == b"FIX.4.4"
    rej = load_dictionary("FIX.4.4").validate(msg.to_fix_message())
    assert rej is None, (rej, msg)
    return msg


def body(msg: ClientMessage) -> list[tuple[int, bytes]]:
    return [(t, v) for t, v in msg.fields if t not in _HEADER]


async def fixt_connect(app: App, sender: str = FIXT_CLIENT) -> FixClient:
    """A FIXT.1.1 client logged on with 141=Y (FixClient.logon adds 1137=9)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
    client = FixClient(reader, writer, begin_string=FIXT11, sender=sender)
    logon = await client.logon([(553, sender), (554, password(sender))], reset=True)
    assert (logon.get(141), logon.get(1137)) == (b"Y", b"9")
    fix50(logon)
    return client


async def test_fixt_crossing_pair_gets_fix50sp2_execution_reports(
    app: App, fix_login: Connect
) -> None:
    """A FIXT.1.1 taker against a FIX 4.4 maker: both get their reports in their own
    version, the drop copy (FIX 4.4) gets the FIXT taker's reports with the same body."""
    maker = await fix_login("CLIENT1")
    drop = await fix_login("DC1")
    taker = await fixt_connect(app)
    await maker.send("D", order("m1", 2, "0.5", "50000"))
    fix44(await maker.expect("8"))
    await taker.send("D", order("t1", 1, "0.2", "50001", (7928, 0)), header=[(1128, "9")])
    ack = fix50(await taker.expect("8"))
    assert tags(ack, 11, 150, 39, 1, 151) == {11: "t1", 150: "0", 39: "0", 1: "ACC3", 151: "0.2"}
    fill = fix50(await taker.expect("8"))
    # FIX 4.4 rendering (FIX 4.2 would have 150=2 and no 851)
    assert tags(fill, 150, 39, 32, 851) == {150: "F", 39: "2", 32: "0.2", 851: "2"}
    maker_fill = fix44(await maker.expect("8"))
    assert tags(maker_fill, 150, 39, 151) == {150: "F", 39: "1", 151: "0.3"}
    copies = [fix44(await drop.expect("8")) for _ in range(4)]
    assert [(m.get_str(11), m.get_str(150)) for m in copies] == [
        ("m1", "0"),
        ("t1", "0"),
        ("m1", "F"),
        ("t1", "F"),
    ]
    assert body(copies[1]) == body(ack) and body(copies[3]) == body(fill)
    taker.writer.close()


async def test_fixt_unsupported_message_type_gets_business_reject(app: App) -> None:
    client = await fixt_connect(app)
    await client.send(
        "V", [(262, "r1"), (263, 0), (264, 0), (267, 1), (269, 0), (146, 1), (55, "BTC-USD")]
    )
    reject = fix50(await client.expect("j"))
    assert tags(reject, 45, 372, 380) == {45: "2", 372: "V", 380: "3"}
    client.writer.close()


async def test_fixt_logon_without_default_appl_ver_id_refused(app: App) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
    client = FixClient(reader, writer, begin_string=FIXT11, sender=FIXT_CLIENT)
    await client.send("A", [(98, 0), (108, 30), (553, FIXT_CLIENT), (554, password(FIXT_CLIENT))])
    logout = fix50(await client.expect("5"))
    assert logout.get(58) == b"Logon rejected: Required tag missing (tag 1137)"
    await client.expect_closed()
    writer.close()


async def test_fixt_order_entry_answers_validate(app: App, fix_login: Connect) -> None:
    """Every order-entry answer (reject ER, cancel, replace, OrderCancelReject, status,
    mass status, mass cancel report) is valid FIX 5.0 SP2; the OrderMassCancelReport
    carries MassActionReportID (1369), which FIX 5.0 SP2 requires and FIX 4.4 lacks."""
    client = await fixt_connect(app)
    await client.send("D", order("bad-px", 1, "0.1", "40000.001"))
    assert tags(fix50(await client.expect("8")), 150, 103) == {150: "8", 103: "99"}
    for i in range(2):
        await client.send("D", order(f"o{i}", 1, "0.1", f"{40000 + i}"))
        fix50(await client.expect("8"))
    await client.send(
        "G", [(11, "o0r"), (41, "o0"), (55, "BTC-USD"), (54, 1), (38, "0.2"), (40, 2), TT]
    )
    assert tags(fix50(await client.expect("8")), 150, 41) == {150: "5", 41: "o0"}
    await client.send("F", [(11, "c1"), (41, "nope"), (55, "BTC-USD"), (54, 1), TT])
    assert tags(fix50(await client.expect("9")), 434, 102) == {434: "1", 102: "1"}
    await client.send("H", [(11, "o1"), (55, "BTC-USD"), (54, 1), (790, "q1")])
    assert tags(fix50(await client.expect("8")), 150, 790) == {150: "I", 790: "q1"}
    await client.send("AF", [(584, "ms1"), (585, 7)])
    reports = [fix50(await client.expect("8")) for _ in range(2)]
    assert [m.get_str(912) for m in reports] == ["N", "Y"]
    await client.send("q", [(11, "mc0"), (530, 1), TT])  # by symbol without the symbol
    refused = fix50(await client.expect("r"))
    assert tags(refused, 37, 531, 532) == {37: "NONE", 531: "0", 532: "99"}
    assert refused.get(1369)
    await client.send("q", [(11, "mc1"), (530, 7), TT])
    report = fix50(await client.expect("r"))
    assert tags(report, 531, 533) == {531: "7", 533: "2"}
    assert report.get(1369) == report.get(37)
    for _ in range(2):
        assert fix50(await client.expect("8")).get(150) == b"4"
    old = await fix_login("CLIENT1")
    await old.send("q", [(11, "mc2"), (530, 7), TT])
    assert 1369 not in fix44(await old.expect("r"))
    client.writer.close()


async def test_fixt_market_data_security_list_and_drop_copy(tmp_path: Path) -> None:
    """Every demo session on FIXT.1.1: W (with LastUpdateTime 779, required in FIX 5.0
    SP2, and BookSeqNum 7929), X, Y, SecurityList y and the drop copy's reports are
    valid FIX 5.0 SP2."""
    app = App(gateway_config(tmp_path, begin_string=FIXT11))
    await app.start()
    try:
        trader = await fixt_connect(app, "CLIENT1")
        md = await fixt_connect(app, "MD1")
        drop = await fixt_connect(app, "DC1")
        await trader.send("D", order("b1", 1, "0.1", "49990"))
        fix50(await trader.expect("8"))
        assert fix50(await drop.expect("8")).get(11) == b"b1"
        await asyncio.sleep(0.05)
        request = [(262, "r1"), (263, 1), (264, 0), (267, 3), (269, 0), (269, 1), (269, 2)]
        await md.send("V", [*request, (146, 1), (55, "BTC-USD")])
        snap = fix50(await md.expect("W"))
        assert snap.get(779) and snap.get(7929)
        assert snap.get_all(270) == [b"49990"]
        await trader.send("D", order("a1", 2, "0.1", "49990"))
        actions = set()
        while (b"0", b"2") not in actions or (b"2", b"0") not in actions:
            inc = fix50(await md.expect("X"))
            actions |= set(zip(inc.get_all(279), inc.get_all(269), strict=True))
        await md.send(
            "V", [(262, "r2"), (263, 0), (264, 0), (267, 1), (269, 0), (146, 1), (55, "NOPE")]
        )
        assert tags(fix50(await md.expect("Y")), 262, 281) == {262: "r2", 281: "0"}
        await md.send("x", [(320, "sl1"), (559, 4)])
        listing = fix50(await md.expect("y"))
        assert listing.get_all(55) == [b"BTC-USD", b"ETH-USD"]
        for client in (trader, md, drop):
            client.writer.close()
    finally:
        await app.stop()


def test_default_appl_ver_id_other_than_9_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "fixt.toml"
    cfg.write_text(
        '[fix]\n[[fix.sessions]]\ntarget_comp_id = "X"\nbegin_string = "FIXT.1.1"\n'
        'default_appl_ver_id = "8"\n'
    )
    with pytest.raises(ConfigError, match=r"fix\.sessions\[0\]\.default_appl_ver_id: only 9"):
        load_config(cfg)
    cfg.write_text('[fix]\n[[fix.sessions]]\ntarget_comp_id = "X"\nbegin_string = "FIXT.1.1"\n')
    assert load_config(cfg).fix.sessions[0].default_appl_ver_id == "9"


async def test_load_harness_logs_on_to_a_fixt_session(app: App) -> None:
    """`python -m loadtest ... --begin-string FIXT.1.1` must be able to drive a FIXT
    session: its Logon carries DefaultApplVerID(1137)=9, which the gateway requires."""
    from loadtest.fix_client import FixClient as LoadClient
    from loadtest.fix_client import FixSessionConfig
    from loadtest.stats import SessionStats

    cfg = FixSessionConfig(
        port=app.fix.port,
        sender="CLIENT5X",
        password=password("CLIENT5X"),
        begin_string=FIXT11,
        logon_timeout_s=3,
    )
    client = LoadClient(cfg, SessionStats("t", "fix-orders", primary="order_ack"))
    await client.connect()
    assert client.logged_on
    await client.logout()


def test_start_banner_names_every_session_and_the_fixt_application_version() -> None:
    """What `make run` logs is what a new user connects with: every FIX session, and
    for FIXT.1.1 the application version their engine must load."""
    from gateway.app import _log_demo_banner

    config = load_config()
    with capture_logs() as logs:
        _log_demo_banner(config)
    (event,) = logs
    assert event["event"] == "gateway.ready"
    banner = "\n".join(event["banner"])
    for sess in config.fix.sessions:
        assert f"FIX session    {sess.target_comp_id} -> " in banner
    assert "CLIENT5X -> GATEWAY FIXT.1.1 (ApplVerID 9 = FIX50SP2) role=order_entry" in banner


async def test_fixt_mass_cancel_names_its_account_in_parties(tmp_path: Path) -> None:
    """FIX 5.0 SP2 q has no Account (1); a multi-account session names the account as
    PartyRole 24 (Customer account). Without it the default account is meant; an
    account the session may not trade is refused."""
    gateway = App(gateway_config(tmp_path, account=["ACC1", "ACC3"]))
    await gateway.start()
    try:
        client = await fixt_connect(gateway)
        for clordid, account in (("a1", "ACC1"), ("a3", "ACC3")):
            await client.send("D", order(clordid, 1, "0.1", "40000", (1, account)))
            assert fix50(await client.expect("8")).get(150) == b"0"
        parties = [(453, 1), (448, "ACC3"), (447, "D"), (452, 24)]
        await client.send("q", [(11, "mc3"), (530, 7), *parties, TT])
        report = fix50(await client.expect("r"))
        assert tags(report, 531, 533) == {531: "7", 533: "1"}
        canceled = fix50(await client.expect("8"))
        assert tags(canceled, 11, 1, 150) == {11: "a3", 1: "ACC3", 150: "4"}
        await client.expect_nothing()  # ACC1's order stays open

        await client.send("q", [(11, "mc1"), (530, 7), TT])  # no party: the default
        assert tags(fix50(await client.expect("r")), 533) == {533: "1"}
        assert tags(fix50(await client.expect("8")), 11, 150) == {11: "a1", 150: "4"}

        foreign = [(453, 1), (448, "ACC2"), (447, "D"), (452, 24)]
        await client.send("q", [(11, "mc2"), (530, 7), *foreign, TT])
        assert tags(fix50(await client.expect("r")), 531, 532) == {531: "0", 532: "99"}
        await client.close()
    finally:
        await gateway.stop()
