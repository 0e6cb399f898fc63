"""API keys and FIX sessions: created, changed and revoked live.

Journal codes 60-69. No secret is ever part of this state (it is journaled and
snapshotted): an HMAC key keeps only a salt from which the gateway re-derives its
secret (``HMAC-SHA256(master, key_id "\\n" salt)``, see gateway/credentials.py), or
the marker :data:`CONFIG_SECRET` when its secret stays in the config file; an Ed25519
key, its public key; a FIX password session, its scrypt hash.

The gateway follows this state through the VenueEvents the handlers emit
(``api_key.*``, ``fix_session.*``), whose data is the record's new state.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

from engine.events import RejectCode
from engine.venue import VenueCommand, emit, reject

if TYPE_CHECKING:
    from engine.core import Engine
    from engine.venue import Handler

__all__ = [
    "AUTH_MODES",
    "BEGIN_STRINGS",
    "COMMANDS",
    "CONFIG_SECRET",
    "HANDLERS",
    "ROLES",
    "SCOPES",
    "ApiKey",
    "CreateApiKey",
    "CreateFixSession",
    "Credentials",
    "DeleteFixSession",
    "FixSessionRecord",
    "RevokeApiKey",
    "SetFixSessionEnabled",
    "UpdateFixSession",
    "fix_session_key",
]

SCOPES: Final = ("read", "trade", "transfer", "withdraw")
ROLES: Final = ("order_entry", "market_data", "drop_copy")
AUTH_MODES: Final = ("none", "password", "ed25519")
BEGIN_STRINGS: Final = ("FIX.4.2", "FIX.4.4", "FIXT.1.1")
#: The hmac_salt of a key whose HMAC secret is the config file's (the demo keys, and
#: keys an operator keeps in ``[[ws.api_keys]]``): nothing is derived for it.
CONFIG_SECRET: Final = "config"

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_SALT: Final = re.compile(r"[0-9a-f]{16,64}")
_SCRYPT: Final = re.compile(r"scrypt\$[0-9a-f]{2,128}\$[0-9a-f]{64}")
#: key ids, CompIDs, FIX key ids: printable ASCII without separators
_NAME: Final = re.compile(r"[A-Za-z0-9_.:@/-]{1,64}")


def fix_session_key(sender_comp_id: str, target_comp_id: str) -> str:
    """A FIX session's id: ``SENDER->TARGET`` (our CompID first)."""
    return f"{sender_comp_id}->{target_comp_id}"


# ------------------------------------------------------------------- state


@dataclass(slots=True)
class ApiKey:
    key_id: str
    account: str
    hmac_salt: str  # "" = no HMAC secret; CONFIG_SECRET = the config file's
    ed25519_public_key: str  # hex; "" = none
    scopes: list[str]
    ip_allowlist: list[str]  # normalized CIDRs; empty = any address
    expires_us: int  # 0 = never
    label: str
    status: str = "active"  # active | revoked
    created_us: int = 0
    revoked_us: int = 0
    revoke_reason: str = ""

    @property
    def kind(self) -> str:
        kinds = [
            k for k, v in (("hmac", self.hmac_salt), ("ed25519", self.ed25519_public_key)) if v
        ]
        return "+".join(kinds)

    def data(self) -> dict[str, object]:
        """The record as VenueEvent data (no secret exists to leave out)."""
        return {
            "key_id": self.key_id,
            "account": self.account,
            "key_kind": self.kind,
            "hmac_salt": self.hmac_salt,
            "ed25519_public_key": self.ed25519_public_key,
            "scopes": list(self.scopes),
            "ip_allowlist": list(self.ip_allowlist),
            "expires_us": self.expires_us,
            "label": self.label,
            "status": self.status,
            "created_us": self.created_us,
            "revoked_us": self.revoked_us,
            "revoke_reason": self.revoke_reason,
        }


@dataclass(slots=True)
class FixSessionRecord:
    sender_comp_id: str
    target_comp_id: str
    begin_string: str
    role: str
    accounts: list[str]
    auth: str
    username: str
    password_hash: str  # scrypt$<salt hex>$<hash hex>; "" unless auth = password
    ed25519_keys: dict[str, str]  # key id -> public key hex
    max_msgs_per_s: int
    cancel_on_disconnect: bool
    cancel_on_logout: bool
    reset_on_logon: bool
    heartbeat_min_s: int
    heartbeat_max_s: int
    logout_timeout_ms: int
    default_appl_ver_id: str = "9"
    enabled: bool = True
    status_reason: str = ""

    @property
    def key(self) -> str:
        return fix_session_key(self.sender_comp_id, self.target_comp_id)

    def data(self) -> dict[str, object]:
        values = {name: getattr(self, name) for name in _FIX_FIELDS}
        values["accounts"] = list(self.accounts)
        values["ed25519_keys"] = dict(self.ed25519_keys)
        return values


_FIX_FIELDS: Final = tuple(FixSessionRecord.__dataclass_fields__)
_KEY_FIELDS: Final = tuple(ApiKey.__dataclass_fields__)


@dataclass(slots=True)
class Credentials:
    """Every API key (revoked ones stay: an id is never reused) and FIX session."""

    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    fix_sessions: dict[str, FixSessionRecord] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        return {
            "api_keys": {k: _key_row(v) for k, v in self.api_keys.items()},
            "fix_sessions": {
                k: [_copy(getattr(v, n)) for n in _FIX_FIELDS] for k, v in self.fix_sessions.items()
            },
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.api_keys = {k: ApiKey(*map(_copy, v)) for k, v in state.get("api_keys", {}).items()}
        self.fix_sessions = {
            k: FixSessionRecord(*map(_copy, v)) for k, v in state.get("fix_sessions", {}).items()
        }


#: An ApiKey's field values in field order, as one C call (a venue holds many keys: the
#: state is built at every snapshot and state hash).
_KEY_VALUES: Final = attrgetter(*_KEY_FIELDS)
_KEY_LIST_FIELDS: Final = tuple(
    i for i, name in enumerate(_KEY_FIELDS) if name in ("scopes", "ip_allowlist")
)


def _key_row(key: ApiKey) -> list[Any]:
    """An ApiKey as a state row: its values in field order, its lists copied."""
    row = list(_KEY_VALUES(key))
    for i in _KEY_LIST_FIELDS:
        row[i] = list(row[i])
    return row


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


# ------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class CreateApiKey(VenueCommand):
    """A new API key of ``kind`` "hmac" (``key`` is its salt: 16-64 hex digits, or
    CONFIG_SECRET) or "ed25519" (``key`` is its public key in hex). ``scopes`` and
    ``ip_allowlist`` are comma-separated. An HMAC key may also accept Ed25519
    signatures from ``ed25519_public_key`` (the demo key ``demo-acc1`` does)."""

    key_id: str
    account: str
    kind: str
    key: str
    scopes: str
    ip_allowlist: str = ""
    expires_us: int = 0
    label: str = ""
    ed25519_public_key: str = ""


@dataclass(frozen=True, slots=True)
class RevokeApiKey(VenueCommand):
    key_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CreateFixSession(VenueCommand):
    """A new FIX session. ``accounts`` is comma-separated, ``ed25519_keys``
    ``id=hex,id=hex``."""

    sender_comp_id: str
    target_comp_id: str
    begin_string: str
    role: str
    accounts: str
    auth: str
    username: str = ""
    password_hash: str = ""
    ed25519_keys: str = ""
    max_msgs_per_s: int = 1000
    cancel_on_disconnect: bool = False
    cancel_on_logout: bool = False
    reset_on_logon: bool = True
    heartbeat_min_s: int = 1
    heartbeat_max_s: int = 300
    logout_timeout_ms: int = 2000
    default_appl_ver_id: str = "9"


@dataclass(frozen=True, slots=True)
class UpdateFixSession(CreateFixSession):
    """Replace a session's settings; its CompIDs and BeginString (its identity and
    its message store) cannot change, and its enabled status stays."""


@dataclass(frozen=True, slots=True)
class SetFixSessionEnabled(VenueCommand):
    sender_comp_id: str
    target_comp_id: str
    enabled: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeleteFixSession(VenueCommand):
    sender_comp_id: str
    target_comp_id: str
    reason: str = ""


# ------------------------------------------------------------------- handlers


class _Invalid(Exception):
    def __init__(self, code: RejectCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _scopes(text: str) -> list[str]:
    scopes = _split(text)
    if not scopes:
        raise _Invalid(RejectCode.INVALID_COMMAND, "a key needs at least one scope")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise _Invalid(
            RejectCode.INVALID_COMMAND,
            f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})",
        )
    return [s for s in SCOPES if s in scopes]


def _networks(text: str) -> list[str]:
    networks: list[str] = []
    for part in _split(text):
        try:
            network = ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise _Invalid(RejectCode.INVALID_COMMAND, f"bad CIDR {part!r}") from None
        if str(network) not in networks:
            networks.append(str(network))
    return networks


def _check_account(engine: Engine, account: str) -> None:
    if account not in engine.accounts:
        raise _Invalid(RejectCode.UNKNOWN_ACCOUNT, f"unknown account {account!r}")


def _key_material(cmd: CreateApiKey) -> tuple[str, str]:
    """(hmac salt, Ed25519 public key) of a new key, or _Invalid."""
    if cmd.kind == "hmac":
        salt, public_key = cmd.key, cmd.ed25519_public_key
        if salt != CONFIG_SECRET and not _SALT.fullmatch(salt):
            raise _Invalid(RejectCode.INVALID_COMMAND, "hmac key: 16-64 lower-case hex digits")
    elif cmd.kind == "ed25519":
        if cmd.ed25519_public_key:
            raise _Invalid(RejectCode.INVALID_COMMAND, "an ed25519 key has one public key")
        salt, public_key = "", cmd.key
    else:
        raise _Invalid(RejectCode.INVALID_COMMAND, "kind: hmac or ed25519")
    if public_key and not _HEX64.fullmatch(public_key):
        raise _Invalid(RejectCode.INVALID_COMMAND, "ed25519 public key: 32 bytes in hex")
    return salt, public_key


def _create_api_key(engine: Engine, cmd: CreateApiKey) -> None:
    creds = engine.credentials
    try:
        if not _NAME.fullmatch(cmd.key_id):
            raise _Invalid(RejectCode.INVALID_COMMAND, "key_id: 1-64 of A-Z a-z 0-9 _ . : @ / -")
        if cmd.key_id in creds.api_keys:
            raise _Invalid(RejectCode.ALREADY_EXISTS, f"api key {cmd.key_id!r} exists")
        _check_account(engine, cmd.account)
        salt, public_key = _key_material(cmd)
        scopes = _scopes(cmd.scopes)
        networks = _networks(cmd.ip_allowlist)
        if cmd.expires_us < 0 or 0 < cmd.expires_us <= engine.ts_us:
            raise _Invalid(RejectCode.INVALID_COMMAND, "expires_us: 0 (never) or in the future")
        if len(cmd.label) > 128:
            raise _Invalid(RejectCode.INVALID_COMMAND, "label: at most 128 characters")
    except _Invalid as bad:
        reject(engine, cmd.key_id, bad.code, bad.text)
        return
    key = ApiKey(
        cmd.key_id, cmd.account, salt, public_key, scopes, networks,
        cmd.expires_us, cmd.label, created_us=engine.ts_us,
    )  # fmt: skip
    creds.api_keys[key.key_id] = key
    emit(engine, "api_key.created", key.key_id, **key.data())


def _revoke_api_key(engine: Engine, cmd: RevokeApiKey) -> None:
    key = engine.credentials.api_keys.get(cmd.key_id)
    if key is None:
        reject(engine, cmd.key_id, RejectCode.UNKNOWN_CREDENTIAL, f"unknown api key {cmd.key_id!r}")
        return
    if key.status == "revoked":
        reject(engine, cmd.key_id, RejectCode.INVALID_TRANSITION, "api key already revoked")
        return
    key.status = "revoked"
    key.revoked_us = engine.ts_us
    key.revoke_reason = cmd.reason[:256]
    emit(engine, "api_key.revoked", key.key_id, **key.data())


def _ed25519_keys(text: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for part in _split(text):
        key_id, sep, key_hex = part.partition("=")
        if not sep or not _NAME.fullmatch(key_id) or not _HEX64.fullmatch(key_hex):
            raise _Invalid(
                RejectCode.INVALID_COMMAND, f"ed25519_keys: {part!r} is not <id>=<64 hex digits>"
            )
        keys[key_id] = key_hex
    return keys


def _fix_record(engine: Engine, cmd: CreateFixSession) -> FixSessionRecord:
    """The record ``cmd`` describes, or _Invalid."""
    for name in ("sender_comp_id", "target_comp_id"):
        if not _NAME.fullmatch(getattr(cmd, name)):
            raise _Invalid(RejectCode.INVALID_COMMAND, f"{name}: 1-64 of A-Z a-z 0-9 _ . : @ / -")
    if cmd.begin_string not in BEGIN_STRINGS:
        raise _Invalid(
            RejectCode.INVALID_COMMAND, f"begin_string: one of {', '.join(BEGIN_STRINGS)}"
        )
    if cmd.default_appl_ver_id != "9":
        raise _Invalid(RejectCode.INVALID_COMMAND, "default_appl_ver_id: only 9 (FIX50SP2)")
    if cmd.role not in ROLES:
        raise _Invalid(RejectCode.INVALID_COMMAND, f"role: one of {', '.join(ROLES)}")
    accounts = _split(cmd.accounts)
    for account in accounts:
        _check_account(engine, account)
    if cmd.auth not in AUTH_MODES:
        raise _Invalid(RejectCode.INVALID_COMMAND, f"auth: one of {', '.join(AUTH_MODES)}")
    keys = _ed25519_keys(cmd.ed25519_keys)
    if cmd.auth == "password" and not _SCRYPT.fullmatch(cmd.password_hash):
        raise _Invalid(
            RejectCode.INVALID_COMMAND, "auth=password needs password_hash scrypt$<hex>$<hex>"
        )
    if cmd.auth != "password" and cmd.password_hash:
        raise _Invalid(RejectCode.INVALID_COMMAND, "password_hash is for auth=password only")
    if cmd.auth == "ed25519" and not keys:
        raise _Invalid(RejectCode.INVALID_COMMAND, "auth=ed25519 needs ed25519_keys")
    if cmd.auth != "ed25519" and keys:
        raise _Invalid(RejectCode.INVALID_COMMAND, "ed25519_keys are for auth=ed25519 only")
    if len(cmd.username) > 64:
        raise _Invalid(RejectCode.INVALID_COMMAND, "username: at most 64 characters")
    if cmd.max_msgs_per_s < 0:
        raise _Invalid(RejectCode.INVALID_COMMAND, "max_msgs_per_s: >= 0 (0 = unlimited)")
    if not 0 <= cmd.heartbeat_min_s <= cmd.heartbeat_max_s:
        raise _Invalid(RejectCode.INVALID_COMMAND, "need 0 <= heartbeat_min_s <= heartbeat_max_s")
    if cmd.logout_timeout_ms <= 0:
        raise _Invalid(RejectCode.INVALID_COMMAND, "logout_timeout_ms: > 0")
    return FixSessionRecord(
        cmd.sender_comp_id, cmd.target_comp_id, cmd.begin_string, cmd.role, accounts,
        cmd.auth, cmd.username, cmd.password_hash, keys, cmd.max_msgs_per_s,
        cmd.cancel_on_disconnect, cmd.cancel_on_logout, cmd.reset_on_logon,
        cmd.heartbeat_min_s, cmd.heartbeat_max_s, cmd.logout_timeout_ms,
        cmd.default_appl_ver_id,
    )  # fmt: skip


def _create_fix_session(engine: Engine, cmd: CreateFixSession) -> None:
    sessions = engine.credentials.fix_sessions
    key = fix_session_key(cmd.sender_comp_id, cmd.target_comp_id)
    try:
        record = _fix_record(engine, cmd)
        if key in sessions:
            raise _Invalid(RejectCode.ALREADY_EXISTS, f"FIX session {key} exists")
    except _Invalid as bad:
        reject(engine, key, bad.code, bad.text)
        return
    sessions[key] = record
    emit(engine, "fix_session.created", key, **record.data())


def _update_fix_session(engine: Engine, cmd: UpdateFixSession) -> None:
    sessions = engine.credentials.fix_sessions
    key = fix_session_key(cmd.sender_comp_id, cmd.target_comp_id)
    try:
        old = sessions.get(key)
        if old is None:
            raise _Invalid(RejectCode.UNKNOWN_CREDENTIAL, f"unknown FIX session {key}")
        record = _fix_record(engine, cmd)
        if record.begin_string != old.begin_string:
            raise _Invalid(RejectCode.INVALID_COMMAND, "begin_string cannot change")
    except _Invalid as bad:
        reject(engine, key, bad.code, bad.text)
        return
    record.enabled = old.enabled
    record.status_reason = old.status_reason
    sessions[key] = record
    emit(engine, "fix_session.updated", key, **record.data())


def _set_fix_session_enabled(engine: Engine, cmd: SetFixSessionEnabled) -> None:
    key = fix_session_key(cmd.sender_comp_id, cmd.target_comp_id)
    record = engine.credentials.fix_sessions.get(key)
    if record is None:
        reject(engine, key, RejectCode.UNKNOWN_CREDENTIAL, f"unknown FIX session {key}")
        return
    if record.enabled == cmd.enabled:
        state = "enabled" if record.enabled else "disabled"
        reject(engine, key, RejectCode.INVALID_TRANSITION, f"FIX session {key} is already {state}")
        return
    record.enabled = cmd.enabled
    record.status_reason = cmd.reason[:256]
    kind = "fix_session.enabled" if cmd.enabled else "fix_session.disabled"
    emit(engine, kind, key, **record.data())


def _delete_fix_session(engine: Engine, cmd: DeleteFixSession) -> None:
    key = fix_session_key(cmd.sender_comp_id, cmd.target_comp_id)
    record = engine.credentials.fix_sessions.pop(key, None)
    if record is None:
        reject(engine, key, RejectCode.UNKNOWN_CREDENTIAL, f"unknown FIX session {key}")
        return
    record.enabled = False
    record.status_reason = cmd.reason[:256]
    emit(engine, "fix_session.deleted", key, **record.data())


COMMANDS: dict[int, type[Any]] = {
    60: CreateApiKey,
    61: RevokeApiKey,
    62: CreateFixSession,
    63: UpdateFixSession,
    64: SetFixSessionEnabled,
    65: DeleteFixSession,
}
HANDLERS: dict[type[Any], Handler] = {
    CreateApiKey: _create_api_key,
    RevokeApiKey: _revoke_api_key,
    CreateFixSession: _create_fix_session,
    UpdateFixSession: _update_fix_session,
    SetFixSessionEnabled: _set_fix_session_enabled,
    DeleteFixSession: _delete_fix_session,
}
