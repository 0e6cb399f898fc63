"""A real gateway (App) on ephemeral ports with a temp journal, and FIX clients for it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway.app import App
from gateway.config import Config, load_config
from tests.fix.conftest import FixClient

#: The demo config's FIX passwords (gateway/demo.toml): each session has its own.
DEMO_PASSWORDS = {c: f"demo-{c.lower()}" for c in ("CLIENT1", "CLIENT2", "CLIENT5X", "MD1", "DC1")}


def password(comp_id: str) -> str:
    """The demo password of the session whose client CompID is ``comp_id``."""
    return DEMO_PASSWORDS[comp_id]


#: TransactTime(60) for the orders tests send
TT = (60, "20261123-00:00:00")


def order(clordid: str, side: int, qty: str, price: str, *extra: tuple[int, object]) -> list:
    """The body of a GTC limit NewOrderSingle on BTC-USD."""
    return [
        (11, clordid),
        (55, "BTC-USD"),
        (54, side),
        (38, qty),
        (40, 2),
        (44, price),
        (59, 1),
        TT,
        *extra,
    ]


def gateway_config(tmp: Path, **fix_overrides: object) -> Config:
    """The demo venue with every port ephemeral and every file under tmp."""
    cfg = load_config()
    sessions = [dataclasses.replace(s, **fix_overrides) for s in cfg.fix.sessions]  # type: ignore[arg-type]
    return dataclasses.replace(
        cfg,
        journal=dataclasses.replace(cfg.journal, dir=str(tmp / "journal")),
        fix=dataclasses.replace(
            cfg.fix, listen="127.0.0.1:0", store_dir=str(tmp / "fix"), sessions=sessions
        ),
        ws=dataclasses.replace(cfg.ws, listen="127.0.0.1:0"),
        http=dataclasses.replace(cfg.http, listen="127.0.0.1:0"),
        admin=dataclasses.replace(cfg.admin, listen="127.0.0.1:0"),
    )


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    gateway = App(gateway_config(tmp_path))
    await gateway.start()
    yield gateway
    await gateway.stop()


Connect = Callable[..., Awaitable[FixClient]]


@pytest.fixture
async def fix_login(app: App) -> AsyncIterator[Connect]:
    """Connect and log on a demo session (CLIENT1, CLIENT2, MD1, DC1: their passwords)."""
    clients: list[FixClient] = []

    async def connect(sender: str = "CLIENT1", begin_string: str = "FIX.4.4") -> FixClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", app.fix.port)
        client = FixClient(reader, writer, begin_string=begin_string, sender=sender)
        await client.send(
            "A", [(98, 0), (108, 30), (141, "Y"), (553, sender), (554, password(sender))]
        )
        logon = await client.expect("A")
        assert logon.get(141) == b"Y"
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.writer.close()
