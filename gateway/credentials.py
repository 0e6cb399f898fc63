"""The gateway's side of credentials: HMAC secret derivation, the config seed, and the
host listener that keeps the WS key ring and the FIX session table live.

HMAC secrets are never stored. The venue must compute the HMAC, so it cannot keep a
slow hash; instead a key's secret is derived from the venue's master secret (``[ws]
key_derivation_secret``) and the key's public salt::

    secret = hex(HMAC-SHA256(master, key_id "\\n" salt))

The admin API derives it once to show it at creation; the journal holds the salt
only; the gateway derives it again to verify a logon. Rotating the master therefore
invalidates every HMAC key at once (Ed25519 keys and config-secret keys are not
affected). A key whose salt is ``CONFIG_SECRET`` uses the ``hmac_secret`` of the
same key id in ``[[ws.api_keys]]`` instead (the demo keys).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from engine.events import VenueEvent
from engine.venue.credentials import (
    COMMANDS,
    CONFIG_SECRET,
    SCOPES,
    CreateApiKey,
    CreateFixSession,
)
from engine.venue.operators import AdminRequest

if TYPE_CHECKING:
    from engine.commands import Command
    from gateway.config import Config
    from gateway.host import EventBatch

__all__ = [
    "LOGOUT_TEXT",
    "CredentialListener",
    "CredentialSink",
    "derive_hmac_secret",
    "issue_hmac_key",
    "logout_target",
    "new_salt",
    "secret_source",
    "seed_credentials",
]

#: the commands whose events the listener reads: ours, and the admin API's envelope
#: (whose events are its inner command's)
_CREDENTIAL_COMMANDS: Final = frozenset((*COMMANDS.values(), AdminRequest))


def new_salt() -> str:
    """A fresh random salt for an HMAC key (16 bytes, hex)."""
    return os.urandom(16).hex()


def derive_hmac_secret(master: str, key_id: str, salt: str) -> str:
    """The HMAC secret of key ``key_id`` (see the module docstring): 64 hex digits,
    used by the client as the text of its HMAC key."""
    payload = f"{key_id}\n{salt}".encode()
    return hmac.new(master.encode(), payload, hashlib.sha256).hexdigest()


def issue_hmac_key(
    master: str,
    key_id: str,
    account: str,
    scopes: str,
    ip_allowlist: str = "",
    expires_us: int = 0,
    label: str = "",
) -> tuple[CreateApiKey, str]:
    """The command creating a new HMAC key (with a fresh salt), and its secret: to be
    shown once, to whoever asked for the key, and never kept."""
    if not master:
        raise ValueError("no [ws] key_derivation_secret is configured: HMAC keys cannot be issued")
    salt = new_salt()
    command = CreateApiKey(key_id, account, "hmac", salt, scopes, ip_allowlist, expires_us, label)
    return command, derive_hmac_secret(master, key_id, salt)


def secret_source(config: Config) -> Callable[[str, str], bytes]:
    """(key id, salt) -> the key's HMAC secret as bytes; b"" when it has none (no salt,
    no master secret configured, or a config-secret key the config no longer has)."""
    master = config.ws.key_derivation_secret
    configured = {k.key: k.hmac_secret for k in config.ws.api_keys if k.hmac_secret}

    def secret(key_id: str, salt: str) -> bytes:
        if salt == CONFIG_SECRET:
            return configured.get(key_id, "").encode()
        if not salt or not master:
            return b""
        return derive_hmac_secret(master, key_id, salt).encode()

    return secret


def seed_credentials(config: Config, submit: Callable[[Command], object]) -> None:
    """The config's API keys (every scope; HMAC secrets stay in the config) and FIX
    sessions, as commands: called for an empty journal only."""
    for key in config.ws.api_keys:
        if key.hmac_secret:
            kind, material, extra = "hmac", CONFIG_SECRET, key.ed25519_public_key
        else:
            kind, material, extra = "ed25519", key.ed25519_public_key, ""
        submit(
            CreateApiKey(
                key.key, key.account, kind, material, ",".join(SCOPES), "", 0, "config", extra
            )
        )
    for sess in config.fix.sessions:
        submit(
            CreateFixSession(
                sess.sender_comp_id or config.fix.sender_comp_id, sess.target_comp_id,
                sess.begin_string, sess.role, ",".join(sess.account), sess.auth, sess.username,
                sess.password_hash,
                ",".join(f"{k}={v}" for k, v in sess.ed25519_keys.items()),
                sess.max_msgs_per_s, sess.cancel_on_disconnect, sess.cancel_on_logout,
                sess.reset_on_logon, sess.heartbeat_min_s, sess.heartbeat_max_s,
                round(sess.logout_timeout_s * 1000), sess.default_appl_ver_id,
            )
        )  # fmt: skip


#: credential changes, and an operator's logout of one session (which the edge holding
#: it carries out)
_KINDS: Final = ("api_key.", "fix_session.", "session.logout_requested")


class CredentialSink(Protocol):
    """An edge that follows credential changes (the WS venue, the FIX gateway)."""

    def on_credential(self, event: VenueEvent) -> None: ...


#: the start of a logged-out session's FIX Text / WS close reason
LOGOUT_TEXT: Final = "logged out by the venue"


def logout_target(event: VenueEvent, protocol: str) -> int:
    """The id of the session an operator logged out, if ``event`` is such a logout of
    a ``protocol`` session; else 0."""
    if event.kind != "session.logout_requested" or event.data.get("protocol") != protocol:
        return 0
    return int(event.subject)


class CredentialListener:
    """Host listener: hands every credential VenueEvent (``api_key.*``,
    ``fix_session.*``, ``session.logout_requested``) to the sinks, after the journal
    commit like any answer. Other commands cost one set lookup."""

    def __init__(self, sinks: list[CredentialSink]) -> None:
        self.sinks = sinks

    def __call__(self, batch: EventBatch) -> None:
        if type(batch.command) not in _CREDENTIAL_COMMANDS:
            return
        for event in batch.events:
            if type(event) is VenueEvent and event.kind.startswith(_KINDS):
                for sink in self.sinks:
                    sink.on_credential(event)
