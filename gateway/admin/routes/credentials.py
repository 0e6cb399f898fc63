"""The credentials lane's routes: API keys issued and revoked, FIX sessions created,
changed, disabled, enabled and deleted, all live.

Secrets: an HMAC key's secret is in the answer that issues it (``secret``), once; a
retry with the same Idempotency-Key answers without it, and no list shows it. A FIX
password is hashed (scrypt, off the event loop) before the command is built: neither
the journal nor an answer ever holds it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from engine.venue.credentials import (
    AUTH_MODES,
    BEGIN_STRINGS,
    ROLES,
    SCOPES,
    ApiKey,
    CreateApiKey,
    CreateFixSession,
    DeleteFixSession,
    FixSessionRecord,
    RevokeApiKey,
    SetFixSessionEnabled,
    UpdateFixSession,
    fix_session_key,
)
from gateway.admin.problems import Problem
from gateway.admin.routes import (
    COMPLIANCE,
    OPS,
    STAFF,
    TENANT_ADMIN,
    VENUE_ADMIN,
    Call,
    Outcome,
    Route,
    tenant_of_account,
    tenant_of_account_in_body,
    tenant_of_query_account,
)
from gateway.admin.schema import TEXT, obj
from gateway.credentials import issue_hmac_key
from gateway.fix.auth import hash_password

__all__ = ["ROUTES", "api_key_view", "fix_session_view"]

_NAME: Final = {"type": "string", "pattern": "^[A-Za-z0-9_.:@/-]{1,64}$"}
_HEX32: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Ed25519, hex"}
_TEXT: Final = TEXT
_ISSUERS: Final = frozenset({VENUE_ADMIN, OPS, TENANT_ADMIN})
_REVOKERS: Final = _ISSUERS | {COMPLIANCE}
_READERS: Final = STAFF | {TENANT_ADMIN}
_FIX_ADMINS: Final = frozenset({VENUE_ADMIN, OPS})


def api_key_view(key: ApiKey) -> dict[str, Any]:
    """An API key as operators see it: never a secret, nor the salt it derives from."""
    return {
        "key_id": key.key_id,
        "account": key.account,
        "kind": key.kind,
        "ed25519_public_key": key.ed25519_public_key,
        "scopes": list(key.scopes),
        "ip_allowlist": list(key.ip_allowlist),
        "expires_us": key.expires_us,
        "label": key.label,
        "status": key.status,
        "created_us": key.created_us,
        "revoked_us": key.revoked_us,
        "revoke_reason": key.revoke_reason,
    }


def fix_session_view(record: FixSessionRecord) -> dict[str, Any]:
    """A FIX session as operators see it: whether it has a password, not its hash."""
    view = record.data()
    view["has_password"] = bool(view.pop("password_hash"))
    return view


# ---------------------------------------------------------------- tenant scopes


def _key_tenant(call: Call) -> str | None:
    key = call.host.engine.credentials.api_keys.get(call.request.match_info.get("key_id", ""))
    return None if key is None else tenant_of_account(call, key.account)


# ---------------------------------------------------------------- API keys


async def issue_key(call: Call) -> Outcome:
    b = call.body
    scopes = ",".join(b["scopes"])
    networks = ",".join(b.get("ip_allowlist", []))
    expires_us, label = b.get("expires_us", 0), b.get("label", "")
    if b["kind"] == "ed25519":
        if "ed25519_public_key" not in b:
            raise Problem("invalid-request", "an ed25519 key needs ed25519_public_key")
        command = CreateApiKey(
            b["key_id"], b["account"], "ed25519", b["ed25519_public_key"], scopes, networks,
            expires_us, label,
        )  # fmt: skip
        return await call.submit(command)
    if "ed25519_public_key" in b:
        raise Problem("invalid-request", "ed25519_public_key is for kind ed25519")
    try:
        command, secret = issue_hmac_key(
            call.host.config.ws.key_derivation_secret, b["key_id"], b["account"], scopes,
            networks, expires_us, label,
        )  # fmt: skip
    except ValueError as exc:
        raise Problem("invalid-request", str(exc)) from None
    return await call.submit(command, extra={"secret": secret})


async def revoke_key(call: Call) -> Outcome:
    return await call.submit(RevokeApiKey(call.params["key_id"], call.body.get("reason", "")))


def _visible(call: Call, account: str) -> bool:
    tenant = call.operator.tenant
    return not tenant or tenant_of_account(call, account) == tenant


async def list_keys(call: Call) -> dict[str, Any]:
    account = call.request.query.get("account", "")
    keys = call.host.engine.credentials.api_keys.values()
    return {
        "api_keys": [
            api_key_view(k)
            for k in keys
            if (not account or k.account == account) and _visible(call, k.account)
        ]
    }


async def get_key(call: Call) -> dict[str, Any]:
    key = call.host.engine.credentials.api_keys.get(call.params["key_id"])
    if key is None:
        raise Problem("unknown-object", f"no api key {call.params['key_id']!r}")
    return api_key_view(key)


# ---------------------------------------------------------------- FIX sessions


async def _session_command(
    call: Call, cls: type[CreateFixSession], sender: str, target: str
) -> CreateFixSession:
    b = call.body
    password = b.get("password", "")
    if (b["auth"] == "password") != bool(password):
        raise Problem("invalid-request", "a password is needed for auth=password, and only then")
    digest = ""
    if password:
        # scrypt holds a core for tens of milliseconds: never on the event loop
        digest = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
    keys = ",".join(f"{k}={v}" for k, v in b.get("ed25519_keys", {}).items())
    return cls(
        sender, target, b["begin_string"], b["role"], ",".join(b.get("accounts", [])),
        b["auth"], b.get("username", ""), digest, keys, b.get("max_msgs_per_s", 1000),
        b.get("cancel_on_disconnect", False), b.get("cancel_on_logout", False),
        b.get("reset_on_logon", True), b.get("heartbeat_min_s", 1),
        b.get("heartbeat_max_s", 300), b.get("logout_timeout_ms", 2000),
    )  # fmt: skip


async def create_session(call: Call) -> Outcome:
    sender = call.body.get("sender_comp_id") or call.host.config.fix.sender_comp_id
    target = call.body["target_comp_id"]
    return await call.submit(await _session_command(call, CreateFixSession, sender, target))


async def update_session(call: Call) -> Outcome:
    p = call.params
    sender, target = p["sender_comp_id"], p["target_comp_id"]
    return await call.submit(await _session_command(call, UpdateFixSession, sender, target))


async def disable_session(call: Call) -> Outcome:
    p, reason = call.params, call.body.get("reason", "")
    command = SetFixSessionEnabled(p["sender_comp_id"], p["target_comp_id"], False, reason)
    return await call.submit(command)


async def enable_session(call: Call) -> Outcome:
    p, reason = call.params, call.body.get("reason", "")
    command = SetFixSessionEnabled(p["sender_comp_id"], p["target_comp_id"], True, reason)
    return await call.submit(command)


async def delete_session(call: Call) -> Outcome:
    p = call.params
    return await call.submit(DeleteFixSession(p["sender_comp_id"], p["target_comp_id"]))


async def list_sessions(call: Call) -> dict[str, Any]:
    sessions = call.host.engine.credentials.fix_sessions.values()
    return {"fix_sessions": [fix_session_view(s) for s in sessions]}


async def get_session(call: Call) -> dict[str, Any]:
    p = call.params
    key = fix_session_key(p["sender_comp_id"], p["target_comp_id"])
    record = call.host.engine.credentials.fix_sessions.get(key)
    if record is None:
        raise Problem("unknown-object", f"no FIX session {key}")
    return fix_session_view(record)


# ---------------------------------------------------------------- table

_KEY: Final = obj(
    [
        "key_id", "account", "kind", "ed25519_public_key", "scopes", "ip_allowlist",
        "expires_us", "label", "status", "created_us", "revoked_us", "revoke_reason",
    ],
    key_id={"type": "string"}, account={"type": "string"},
    kind={"type": "string", "enum": ["hmac", "ed25519", "hmac+ed25519"]},
    ed25519_public_key={"type": "string"},
    scopes={"type": "array", "items": {"type": "string", "enum": list(SCOPES)}},
    ip_allowlist={"type": "array", "items": {"type": "string"}},
    expires_us={"type": "integer"}, label={"type": "string"},
    status={"type": "string", "enum": ["active", "revoked"]},
    created_us={"type": "integer"}, revoked_us={"type": "integer"},
    revoke_reason={"type": "string"},
)  # fmt: skip
_SESSION_FIELDS: Final = {
    "begin_string": {"type": "string", "enum": list(BEGIN_STRINGS)},
    "role": {"type": "string", "enum": list(ROLES)},
    "accounts": {"type": "array", "items": _NAME, "maxItems": 100},
    "auth": {"type": "string", "enum": list(AUTH_MODES)},
    "username": {"type": "string", "maxLength": 64},
    "max_msgs_per_s": {"type": "integer", "minimum": 0},
    "cancel_on_disconnect": {"type": "boolean"},
    "cancel_on_logout": {"type": "boolean"},
    "reset_on_logon": {"type": "boolean"},
    "heartbeat_min_s": {"type": "integer", "minimum": 0},
    "heartbeat_max_s": {"type": "integer", "minimum": 0},
    "logout_timeout_ms": {"type": "integer", "minimum": 1},
}
_SESSION_INPUT: Final = {
    **_SESSION_FIELDS,
    "password": {
        "type": "string", "minLength": 8, "maxLength": 128,
        "description": "auth=password only; hashed (scrypt) before anything keeps it",
    },
    "ed25519_keys": {
        "type": "object", "description": "auth=ed25519: key id (Username 553) -> public key hex",
    },
}  # fmt: skip
_SESSION: Final = obj(
    [
        "sender_comp_id", "target_comp_id", "begin_string", "role", "accounts", "auth",
        "username", "has_password", "ed25519_keys", "max_msgs_per_s", "enabled",
        "status_reason",
    ],
    sender_comp_id={"type": "string"}, target_comp_id={"type": "string"},
    has_password={"type": "boolean"}, enabled={"type": "boolean"},
    status_reason={"type": "string"}, default_appl_ver_id={"type": "string"},
    **_SESSION_FIELDS,
    ed25519_keys={"type": "object"},
)  # fmt: skip
_SESSION_PATH: Final = "/fix-sessions/{sender_comp_id}/{target_comp_id}"
_REASON: Final = obj([], reason=_TEXT)

ROUTES: Final = [
    Route(
        "POST", "/api-keys", issue_key, roles=_ISSUERS,
        tenant=tenant_of_account_in_body("account"),
        summary="Issue an API key (an HMAC key's secret is in this answer only)",
        description=(
            "kind hmac: the answer's `secret` (64 hex digits) is the key's HMAC secret,"
            " shown once and kept nowhere (the gateway derives it again from [ws]"
            " key_derivation_secret). kind ed25519: send the client's public key."
            " Scopes: read, trade, transfer, withdraw. ip_allowlist: CIDRs (empty: any"
            " address). expires_us: 0 = never."
        ),
        request=obj(
            ["key_id", "account", "kind", "scopes"],
            key_id=_NAME, account=_NAME,
            kind={"type": "string", "enum": ["hmac", "ed25519"]},
            ed25519_public_key=_HEX32,
            scopes={"type": "array", "items": {"type": "string", "enum": list(SCOPES)},
                    "maxItems": 4},
            ip_allowlist={"type": "array", "items": {"type": "string", "maxLength": 64},
                          "maxItems": 64},
            expires_us={"type": "integer", "minimum": 0},
            label={"type": "string", "maxLength": 128},
        ),
        response={
            "type": "object",
            "properties": {
                "secret": {
                    "type": "string", "pattern": "^[0-9a-f]{64}$",
                    "description": "kind hmac, first answer only: the HMAC secret",
                },
            },
        },
    ),
    Route(
        "POST", "/api-keys/{key_id}/revoke", revoke_key, roles=_REVOKERS, tenant=_key_tenant,
        summary="Revoke an API key: its live WebSocket sessions are closed at once (4003)",
        cli="revoke-key",
        request=_REASON,
    ),
    Route(
        "GET", "/api-keys", list_keys, roles=_READERS, tenant=tenant_of_query_account,
        summary="API keys (never a secret)", cli="api-keys",
        description="Query: account=<id>. A tenant-admin sees its own tenant's only.",
        response=obj(["api_keys"], api_keys={"type": "array", "items": _KEY}),
    ),
    Route(
        "GET", "/api-keys/{key_id}", get_key, roles=_READERS, tenant=_key_tenant,
        summary="One API key (never its secret)", response=_KEY, cli="api-key",
    ),
    Route(
        "POST", "/fix-sessions", create_session, roles=_FIX_ADMINS,
        summary="Create a FIX session: it can log on at once, without a restart",
        cli="create-fix-session",
        description="sender_comp_id defaults to the acceptor's ([fix] sender_comp_id).",
        request=obj(
            ["target_comp_id", "begin_string", "role", "auth"],
            sender_comp_id=_NAME, target_comp_id=_NAME, **_SESSION_INPUT,
        ),
    ),
    Route(
        "PUT", _SESSION_PATH, update_session, roles=_FIX_ADMINS,
        summary="Replace a FIX session's settings (not its CompIDs or BeginString)",
        cli="update-fix-session",
        description=(
            "A live session keeps running with the new settings, unless its credentials"
            " (auth, username, password, keys) changed: then it is logged out."
        ),
        request=obj(["begin_string", "role", "auth"], **_SESSION_INPUT),
    ),
    Route(
        "POST", _SESSION_PATH + "/disable", disable_session, roles=_FIX_ADMINS | {COMPLIANCE},
        summary="Disable a FIX session: a live one is logged out with the reason",
        cli="disable-fix-session",
        request=_REASON,
    ),
    Route(
        "POST", _SESSION_PATH + "/enable", enable_session, roles=_FIX_ADMINS,
        summary="Enable a disabled FIX session", request=_REASON, cli="enable-fix-session",
    ),
    Route(
        "DELETE", _SESSION_PATH, delete_session, roles=_FIX_ADMINS,
        summary="Delete a FIX session: a live one is logged out; its store stays on disk",
        cli="delete-fix-session",
    ),
    Route(
        "GET", "/fix-sessions", list_sessions, roles=STAFF,
        summary="FIX sessions (never a password or its hash)", cli="fix-sessions",
        response=obj(["fix_sessions"], fix_sessions={"type": "array", "items": _SESSION}),
    ),
    Route(
        "GET", _SESSION_PATH, get_session, roles=STAFF, summary="One FIX session",
        cli="fix-session",
        response=_SESSION,
    ),
]  # fmt: skip
