"""The demo config's FIX credentials: every password session has its own password."""

from __future__ import annotations

from gateway.config import load_config
from gateway.fix.auth import verify_password
from tests.gateway.conftest import DEMO_PASSWORDS


def test_each_demo_session_has_its_own_password() -> None:
    hashes = {
        s.target_comp_id: s.password_hash
        for s in load_config().fix.sessions
        if s.auth == "password"
    }
    assert set(hashes) == set(DEMO_PASSWORDS)
    for comp_id, stored in hashes.items():
        assert stored is not None and verify_password(stored, DEMO_PASSWORDS[comp_id])
    # one session's password opens no other session
    assert not any(verify_password(h, DEMO_PASSWORDS["CLIENT1"]) for c, h in hashes.items()
                   if c != "CLIENT1" and h)  # fmt: skip
