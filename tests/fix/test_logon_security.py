"""Logon authentication over real sockets: password edge cases, mid-session Logons,
work kept off the event loop, failure throttling and Ed25519 replays."""

from __future__ import annotations

from gateway.fix.auth import hash_password
from gateway.fix.session import SessionState
from gateway.fix.settings import AuthMode, SessionSettings
from tests.fix.conftest import CLIENT, Harness

PASSWORD = "s3cret"


def password_session(**kw: object) -> SessionSettings:
    return SessionSettings(
        target_comp_id=CLIENT,
        auth=AuthMode.PASSWORD,
        password_hash=hash_password(PASSWORD, salt=b"\x01" * 16),
        **kw,  # type: ignore[arg-type]
    )


async def test_password_with_trailing_nul_refused(harness: Harness) -> None:
    # scrypt keys HMAC with the password, and HMAC pads short keys with zero bytes:
    # "s3cret\0" hashed the same as "s3cret"
    await harness.start(password_session())
    c = await harness.connect()
    await c.send("A", [(98, 0), (108, 30), (553, "u"), (554, PASSWORD + "\x00")])
    lo = await c.expect("5")
    assert lo.get(58) == b"Authentication failed"
    await c.expect_closed()
    assert harness.session().state is SessionState.DISCONNECTED
    c2 = await harness.connect()
    await c2.logon([(553, "u"), (554, PASSWORD)])
