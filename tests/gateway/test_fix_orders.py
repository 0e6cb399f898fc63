"""FIX order entry against a real gateway over TCP: every answer checked tag by tag."""

from __future__ import annotations

import asyncio

from gateway.app import App
from tests.fix.conftest import ClientMessage, FixClient, now_ts
from tests.gateway.conftest import TT, Connect, order


def tags(msg: ClientMessage, *wanted: int) -> dict[int, str]:
    return {t: (msg.get_str(t) or "") for t in wanted}


async def test_limit_order_ack_then_fill_for_both_sides_and_drop_copy(fix_login: Connect) -> None:
    maker = await fix_login("CLIENT1")
    taker = await fix_login("CLIENT2")
    drop = await fix_login("DC1")
    await maker.send("D", order("m1", 2, "0.5", "50000.00"))
    ack = await maker.expect("8")
    assert tags(ack, 11, 150, 39, 38, 44, 151, 14, 1, 55, 54) == {
        11: "m1",
        150: "0",
        39: "0",
        38: "0.5",
        44: "50000",
        151: "0.5",
        14: "0",
        1: "ACC1",
        55: "BTC-USD",
        54: "2",
    }
    assert (await drop.expect("8")).get(11) == b"m1"

    await taker.send("D", order("t1", 1, "0.2", "50001.00"))
    taker_ack = await taker.expect("8")
    assert tags(taker_ack, 150, 39, 151) == {150: "0", 39: "0", 151: "0.2"}
    taker_fill = await taker.expect("8")
    assert tags(taker_fill, 150, 39, 31, 32, 151, 14, 6, 851, 12) == {
        150: "F",
        39: "2",
        31: "50000",
        32: "0.2",
        151: "0",
        14: "0.2",
        6: "50000",
        851: "2",
        12: "2",  # taker fee 2 bps of 10,000 USD
    }
    maker_fill = await maker.expect("8")
    assert tags(maker_fill, 11, 150, 39, 32, 151, 14, 851, 12) == {
        11: "m1",
        150: "F",
        39: "1",
        32: "0.2",
        151: "0.3",
        14: "0.2",
        851: "1",
        12: "1",
    }
    assert maker_fill.get(37) == ack.get(37)
    # The drop copy sees the taker's ack and both fills, in engine order.
    seen = [(m.get_str(11), m.get_str(150)) for m in [await drop.expect("8") for _ in range(3)]]
    assert seen == [("t1", "0"), ("m1", "F"), ("t1", "F")]
    assert maker_fill.get(17) != taker_fill.get(17)  # ExecIDs are unique per side


async def test_rejects_carry_reason_and_text(fix_login: Connect) -> None:
    client = await fix_login()
    await client.send("D", order("bad-px", 1, "0.1", "50000.001"))
    reject = await client.expect("8")
    assert tags(reject, 11, 150, 39, 103) == {11: "bad-px", 150: "8", 39: "8", 103: "99"}
    assert "not a multiple of 0.01" in (reject.get_str(58) or "")

    unknown = order("bad-sym", 1, "0.1", "100")
    unknown[1] = (55, "DOGE-USD")
    await client.send("D", unknown)
    assert tags(await client.expect("8"), 150, 103) == {150: "8", 103: "1"}

    await client.send("D", order("dup", 1, "0.1", "40000"))
    assert (await client.expect("8")).get(150) == b"0"
    await client.send("D", order("dup", 1, "0.1", "40000"))
    dup = await client.expect("8")
    assert tags(dup, 150, 103) == {150: "8", 103: "6"}
    assert (dup.get_str(58) or "").startswith("E16:")

    await client.send("D", order("rich", 1, "100000", "40000"))  # 4e9 USD > balance
    broke = await client.expect("8")
    assert tags(broke, 150, 103) == {150: "8", 103: "3"}
    assert (broke.get_str(58) or "").startswith("E15: insufficient USD")

    await client.send("D", order("acct", 1, "0.1", "40000", (1, "ACC2")))
    assert tags(await client.expect("8"), 150, 103) == {150: "8", 103: "15"}


async def test_cancel_and_cancel_reject(fix_login: Connect) -> None:
    client = await fix_login()
    await client.send("D", order("o1", 1, "0.1", "40000"))
    ack = await client.expect("8")
    await client.send("F", [(11, "c1"), (41, "o1"), (55, "BTC-USD"), (54, 1), TT])
    canceled = await client.expect("8")
    assert tags(canceled, 11, 41, 150, 39, 151, 37) == {
        11: "c1",
        41: "o1",
        150: "4",
        39: "4",
        151: "0",
        37: ack.get_str(37),
    }
    await client.send("F", [(11, "c2"), (41, "o1"), (55, "BTC-USD"), (54, 1), TT])
    rejected = await client.expect("9")
    assert tags(rejected, 11, 41, 434, 102, 39) == {
        11: "c2",
        41: "o1",
        434: "1",
        102: "1",
        39: "8",
    }


async def test_replace_keeps_order_id_and_reports_new_values(fix_login: Connect) -> None:
    client = await fix_login()
    await client.send("D", order("r1", 1, "0.5", "40000"))
    ack = await client.expect("8")
    await client.send(
        "G",
        [
            (11, "r2"),
            (41, "r1"),
            (55, "BTC-USD"),
            (54, 1),
            (38, "0.3"),
            (40, 2),
            (44, "40000.50"),
            TT,
        ],
    )
    replaced = await client.expect("8")
    assert tags(replaced, 11, 41, 150, 39, 38, 44, 151, 37) == {
        11: "r2",
        41: "r1",
        150: "5",
        39: "0",
        38: "0.3",
        44: "40000.5",
        151: "0.3",
        37: ack.get_str(37),
    }
    await client.send(
        "G",
        [
            (11, "r3"),
            (41, "nope"),
            (55, "BTC-USD"),
            (54, 1),
            (38, "0.3"),
            (40, 2),
            (44, "40000"),
            TT,
        ],
    )
    rejected = await client.expect("9")
    assert tags(rejected, 11, 434, 102) == {11: "r3", 434: "2", 102: "1"}


async def test_order_status_and_mass_status_and_mass_cancel(fix_login: Connect) -> None:
    client = await fix_login()
    for i in range(3):
        await client.send("D", order(f"s{i}", 1, "0.1", f"{40000 + i}"))
        await client.expect("8")
    await client.send("H", [(11, "s1"), (55, "BTC-USD"), (54, 1), (790, "q1")])
    status = await client.expect("8")
    assert tags(status, 11, 150, 39, 790, 44) == {
        11: "s1",
        150: "I",
        39: "0",
        790: "q1",
        44: "40001",
    }
    await client.send("H", [(11, "ghost"), (55, "BTC-USD"), (54, 1)])
    assert tags(await client.expect("8"), 150, 39) == {150: "I", 39: "8"}

    await client.send("AF", [(584, "ms1"), (585, 7)])
    reports = [await client.expect("8") for _ in range(3)]
    assert [m.get_str(11) for m in reports] == ["s0", "s1", "s2"]
    assert [m.get_str(912) for m in reports] == ["N", "N", "Y"]
    assert {m.get_str(584) for m in reports} == {"ms1"}

    await client.send("q", [(11, "mc1"), (530, 7), TT])
    report = await client.expect("r")  # the direct answer first, then one ER per order
    assert tags(report, 11, 530, 531, 533) == {11: "mc1", 530: "7", 531: "7", 533: "3"}
    canceled = [await client.expect("8") for _ in range(3)]
    assert [(m.get_str(11), m.get_str(150)) for m in canceled] == [
        ("s0", "4"),
        ("s1", "4"),
        ("s2", "4"),
    ]

    await client.send("q", [(11, "mc2"), (530, 1), TT])  # by security without a symbol
    bad = await client.expect("r")
    assert tags(bad, 531, 532) == {531: "0", 532: "99"}


async def test_unsupported_message_type_for_role_gets_business_reject(fix_login: Connect) -> None:
    md = await fix_login("MD1")
    await md.send("D", order("x", 1, "0.1", "40000"))
    reject = await md.expect("j")
    assert tags(reject, 372, 380) == {372: "D", 380: "3"}


async def test_market_data_snapshot_then_incrementals_with_increasing_rptseq(
    fix_login: Connect,
) -> None:
    trader = await fix_login("CLIENT1")
    md = await fix_login("MD1")
    await trader.send("D", order("b1", 1, "0.1", "49990"))
    await trader.expect("8")
    await asyncio.sleep(0.05)
    await md.send(
        "V",
        [
            (262, "r1"),
            (263, 1),
            (264, 0),
            (267, 3),
            (269, 0),
            (269, 1),
            (269, 2),
            (146, 1),
            (55, "BTC-USD"),
        ],
    )
    snap = await md.expect("W")
    assert tags(snap, 262, 55, 268) == {262: "r1", 55: "BTC-USD", 268: "1"}
    assert snap.get_all(270) == [b"49990"] and snap.get_all(271) == [b"0.1"]
    book_seq = int(snap.get(7929) or b"0")

    await trader.send("D", order("b2", 1, "0.2", "49990"))
    await trader.expect("8")
    inc = await md.expect("X")
    assert tags(inc, 262, 279, 269, 270, 271) == {
        262: "r1",
        279: "1",
        269: "0",
        270: "49990",
        271: "0.3",
    }
    first_seq = int(inc.get(83) or b"0")
    assert first_seq > book_seq  # continues from the W's BookSeqNum

    await trader.send("D", order("a1", 2, "0.3", "49990"))  # trades away the level
    seqs = []
    actions = []
    while True:
        inc = await md.expect("X")
        seqs += [int(v) for v in inc.get_all(83)]
        actions += [(a, t) for a, t in zip(inc.get_all(279), inc.get_all(269), strict=True)]
        if (b"2", b"0") in actions:
            break
    # increasing per instrument, not gapless: one X covers all the levels a command
    # changed, and trades consume market-data sequence numbers too
    assert seqs == sorted(seqs) and seqs[0] > first_seq
    assert (b"0", b"2") in actions  # trades are published

    await md.send(
        "V", [(262, "r2"), (263, 1), (264, 0), (267, 1), (269, 0), (146, 1), (55, "NOPE")]
    )
    reject = await md.expect("Y")
    assert tags(reject, 262, 281) == {262: "r2", 281: "0"}


async def test_security_list(fix_login: Connect) -> None:
    md = await fix_login("MD1")
    await md.send("x", [(320, "sl1"), (559, 4)])
    answer = await md.expect("y")
    assert answer.get_all(55) == [b"BTC-USD", b"ETH-USD"]
    assert tags(answer, 320, 560, 146) == {320: "sl1", 560: "0", 146: "2"}


async def test_cancel_on_disconnect_cancels_the_sessions_orders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.gateway.conftest import gateway_config, password

    app = App(gateway_config(tmp_path, cancel_on_disconnect=True))
    await app.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
        client = FixClient(reader, writer)
        await client.send(
            "A", [(98, 0), (108, 30), (141, "Y"), (553, "CLIENT1"), (554, password("CLIENT1"))]
        )
        await client.expect("A")
        await client.send("D", order("cod1", 1, "0.1", "40000"))
        await client.expect("8")
        assert len(app.host.engine.orders) == 1
        writer.close()  # drop the connection without Logout

        def canceled() -> bool:
            # the engine drops the order when it applies the cancel; the tracker sees the
            # cancel only when the batch is published, a step later
            view = app.tracker.find("ACC1", "cod1")
            return view is not None and view.status.name == "CANCELED"

        for _ in range(250):
            await asyncio.sleep(0.02)
            if not app.host.engine.orders and canceled():
                break
        assert app.host.engine.orders == {}
        assert canceled()
    finally:
        await app.stop()


async def test_orders_survive_restart_and_report_after_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.gateway.conftest import gateway_config, password

    cfg = gateway_config(tmp_path)
    app = App(cfg)
    await app.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
    client = FixClient(reader, writer)
    await client.send(
        "A", [(98, 0), (108, 30), (141, "Y"), (553, "CLIENT1"), (554, password("CLIENT1"))]
    )
    await client.expect("A")
    await client.send("D", order("keep", 2, "0.1", "60000"))
    ack = await client.expect("8")
    writer.close()
    await app.stop()
    hash_before = app.host.engine.state_hash()  # the session's logout is journaled too

    app2 = App(cfg)
    await app2.start()
    try:
        assert app2.host.engine.state_hash() == hash_before
        reader, writer = await asyncio.open_connection("127.0.0.1", app2.fix.port)
        client = FixClient(reader, writer)
        await client.send(
            "A", [(98, 0), (108, 30), (141, "Y"), (553, "CLIENT1"), (554, password("CLIENT1"))]
        )
        await client.expect("A")
        await client.send("H", [(11, "keep"), (55, "BTC-USD"), (54, 2)])
        status = await client.expect("8")
        assert tags(status, 37, 150, 39, 151) == {
            37: ack.get_str(37),
            150: "I",
            39: "0",
            151: "0.1",
        }
        await client.send("F", [(11, "kc"), (41, "keep"), (55, "BTC-USD"), (54, 2), TT])
        assert tags(await client.expect("8"), 150, 11) == {150: "4", 11: "kc"}
        writer.close()
    finally:
        await app2.stop()


def _unused() -> None:  # keep now_ts import meaningful for future tests
    now_ts()


async def test_fix42_session_gets_fix42_execution_reports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.gateway.conftest import gateway_config, password

    app = App(gateway_config(tmp_path, begin_string="FIX.4.2"))
    await app.start()
    try:
        clients = []
        for sender in ("CLIENT1", "CLIENT2"):
            reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
            client = FixClient(reader, writer, begin_string="FIX.4.2", sender=sender)
            await client.send(
                "A", [(98, 0), (108, 30), (141, "Y"), (553, sender), (554, password(sender))]
            )
            await client.expect("A")
            clients.append(client)
        maker, taker = clients
        # HandlInst (21) is required on a FIX 4.2 NewOrderSingle (dictionary-driven).
        await maker.send("D", [*order("m42", 2, "0.3", "50000"), (21, 1)])
        ack = await maker.expect("8")
        assert tags(ack, 20, 150, 39) == {20: "0", 150: "0", 39: "0"}
        await taker.send("D", [*order("t42", 1, "0.1", "50000"), (21, 1)])
        await taker.expect("8")
        taker_fill = await taker.expect("8")
        maker_fill = await maker.expect("8")
        # FIX 4.2 has no ExecType F: 2 = fill, 1 = partial fill; no LastLiquidityInd.
        assert tags(taker_fill, 20, 150, 39, 32) == {20: "0", 150: "2", 39: "2", 32: "0.1"}
        assert tags(maker_fill, 150, 39, 151) == {150: "1", 39: "1", 151: "0.2"}
        assert taker_fill.get(851) is None
        for client in clients:
            client.writer.close()
    finally:
        await app.stop()


async def test_possdup_resend_of_a_placed_order_gets_its_status_not_a_reject(
    fix_login: Connect, app: App
) -> None:
    """A NewOrderSingle resent with PossDupFlag=Y (after a gap or a restart) whose
    ClOrdID this account already used is answered with the order's status (150=I),
    not a second order and not a duplicate-ClOrdID reject; a resent order the gateway
    never received is placed as usual."""
    client = await fix_login("CLIENT1")
    await client.send("D", order("pd1", 1, "0.1", "40000"))
    ack = await client.expect("8")
    assert ack.get(150) == b"0"
    open_before = len(app.host.engine.orders)

    resend = [(43, "Y"), (122, now_ts(-1))]
    await client.send("D", order("pd1", 1, "0.1", "40000"), header=resend)
    status = await client.expect("8")
    assert tags(status, 11, 37, 150, 39, 151) == {
        11: "pd1",
        37: ack.get_str(37) or "",
        150: "I",
        39: "0",
        151: "0.1",
    }
    assert len(app.host.engine.orders) == open_before

    await client.send("D", order("pd2", 1, "0.1", "40000"), header=resend)
    assert tags(await client.expect("8"), 11, 150) == {11: "pd2", 150: "0"}
    assert len(app.host.engine.orders) == open_before + 1
