"""API keys and FIX sessions in the engine: validation, state machine, snapshot, replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.commands import AddInstrument, Command
from engine.core import Engine
from engine.events import OrderRejected, RejectCode, VenueEvent
from engine.journal import JournalWriter, recover, write_snapshot
from engine.sequencer import Sequencer
from engine.venue.credentials import (
    CONFIG_SECRET,
    CreateApiKey,
    CreateFixSession,
    DeleteFixSession,
    RevokeApiKey,
    SetFixSessionEnabled,
    UpdateFixSession,
)
from tests.engine.helpers import Clock, make_engine, open_account

PUB = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
SALT = "00112233445566778899aabbccddeeff"
HASH = "scrypt$0efa8a66cb5be7809ece213706f2f75e$" + "ab" * 32


def venue() -> Engine:
    eng, _ = make_engine()
    open_account(eng, "ACC1")
    open_account(eng, "ACC2")
    return eng


def key(key_id: str = "k1", **kw: Any) -> CreateApiKey:
    values: dict[str, Any] = {
        "account": "ACC1", "kind": "hmac", "key": SALT, "scopes": "read,trade",
    }  # fmt: skip
    values.update(kw)
    return CreateApiKey(key_id, **values)


def session(target: str = "C1", cls: type[CreateFixSession] = CreateFixSession, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "begin_string": "FIX.4.4", "role": "order_entry", "accounts": "ACC1",
        "auth": "password", "password_hash": HASH,
    }  # fmt: skip
    values.update(kw)
    return cls("GATEWAY", target, **values)


def venue_event(events: list[Any]) -> VenueEvent:
    assert len(events) == 1 and isinstance(events[0], VenueEvent), events
    event: VenueEvent = events[0]
    return event


def refused(eng: Engine, command: Command, code: RejectCode, text: str) -> None:
    """``command`` is rejected with ``code`` and a text containing ``text``, and the
    state did not change."""
    before = eng.credentials.to_state()
    events = eng.submit(command)
    assert len(events) == 1 and isinstance(events[0], OrderRejected), events
    assert events[0].request == "admin" and events[0].code == code, events
    assert text in events[0].text
    assert eng.credentials.to_state() == before


def test_a_key_is_created_with_its_scopes_networks_and_expiry() -> None:
    eng = venue()
    event = venue_event(
        eng.submit(key(scopes="trade, read", ip_allowlist="10.1.2.3/8,::1", label="bot"))
    )
    assert (event.kind, event.subject) == ("api_key.created", "k1")
    assert event.data["scopes"] == ["read", "trade"]  # canonical order
    assert event.data["ip_allowlist"] == ["10.0.0.0/8", "::1/128"]
    assert event.data["key_kind"] == "hmac" and event.data["status"] == "active"
    assert eng.credentials.api_keys["k1"].label == "bot"


@pytest.mark.parametrize(
    ("command", "code", "text"),
    [
        (key(ip_allowlist="10.0.0.0/33"), RejectCode.INVALID_COMMAND, "bad CIDR"),
        (key(ip_allowlist="localhost"), RejectCode.INVALID_COMMAND, "bad CIDR"),
        (key(scopes="read,admin"), RejectCode.INVALID_COMMAND, "unknown scope 'admin'"),
        (key(scopes=""), RejectCode.INVALID_COMMAND, "at least one scope"),
        (key(account="NOPE"), RejectCode.UNKNOWN_ACCOUNT, "unknown account"),
        (key(kind="rsa"), RejectCode.INVALID_COMMAND, "kind: hmac or ed25519"),
        (key(key=""), RejectCode.INVALID_COMMAND, "hmac key"),
        (key(key="xyz"), RejectCode.INVALID_COMMAND, "hmac key"),
        (key(kind="ed25519", key="ab"), RejectCode.INVALID_COMMAND, "public key"),
        (key(ed25519_public_key="ab"), RejectCode.INVALID_COMMAND, "public key"),
        (
            key(kind="ed25519", key=PUB, ed25519_public_key=PUB),
            RejectCode.INVALID_COMMAND,
            "one public key",
        ),
        (key("bad id"), RejectCode.INVALID_COMMAND, "key_id"),
        (key(expires_us=5), RejectCode.INVALID_COMMAND, "expires_us"),
        (key(expires_us=-1), RejectCode.INVALID_COMMAND, "expires_us"),
    ],
)
def test_bad_keys_are_refused_and_change_nothing(
    command: Command, code: RejectCode, text: str
) -> None:
    refused(venue(), command, code, text)


def test_a_duplicate_key_id_is_refused_even_after_revoke() -> None:
    eng = venue()
    eng.submit(key())
    refused(eng, key(account="ACC2"), RejectCode.ALREADY_EXISTS, "exists")
    eng.submit(RevokeApiKey("k1", "leaked"))
    refused(eng, key(), RejectCode.ALREADY_EXISTS, "exists")


def test_revoke_once() -> None:
    eng = venue()
    eng.submit(key(ed25519_public_key=PUB))
    event = venue_event(eng.submit(RevokeApiKey("k1", "leaked")))
    assert event.kind == "api_key.revoked" and event.data["status"] == "revoked"
    assert event.data["revoke_reason"] == "leaked" and event.data["key_kind"] == "hmac+ed25519"
    refused(eng, RevokeApiKey("k1"), RejectCode.INVALID_TRANSITION, "already revoked")
    refused(eng, RevokeApiKey("nope"), RejectCode.UNKNOWN_CREDENTIAL, "unknown api key")


def test_a_config_secret_key_keeps_no_salt() -> None:
    eng = venue()
    eng.submit(key(key=CONFIG_SECRET))
    assert eng.credentials.api_keys["k1"].hmac_salt == CONFIG_SECRET


def test_fix_session_lifecycle() -> None:
    eng = venue()
    created = venue_event(eng.submit(session(max_msgs_per_s=5)))
    assert (created.kind, created.subject) == ("fix_session.created", "GATEWAY->C1")
    assert created.data["accounts"] == ["ACC1"] and created.data["enabled"] is True
    refused(eng, session(), RejectCode.ALREADY_EXISTS, "exists")
    off = venue_event(eng.submit(SetFixSessionEnabled("GATEWAY", "C1", False, "audit")))
    assert off.kind == "fix_session.disabled" and off.data["status_reason"] == "audit"
    refused(
        eng, SetFixSessionEnabled("GATEWAY", "C1", False), RejectCode.INVALID_TRANSITION, "already"
    )
    updated = venue_event(eng.submit(session(cls=UpdateFixSession, accounts="ACC1,ACC2")))
    assert updated.kind == "fix_session.updated" and updated.data["enabled"] is False
    assert updated.data["accounts"] == ["ACC1", "ACC2"]
    on = venue_event(eng.submit(SetFixSessionEnabled("GATEWAY", "C1", True)))
    assert on.kind == "fix_session.enabled"
    gone = venue_event(eng.submit(DeleteFixSession("GATEWAY", "C1", "closed")))
    assert gone.kind == "fix_session.deleted" and not eng.credentials.fix_sessions
    refused(eng, DeleteFixSession("GATEWAY", "C1"), RejectCode.UNKNOWN_CREDENTIAL, "unknown")
    refused(eng, session(cls=UpdateFixSession), RejectCode.UNKNOWN_CREDENTIAL, "unknown")
    # the CompIDs may be used again after a delete
    assert venue_event(eng.submit(session())).kind == "fix_session.created"


@pytest.mark.parametrize(
    ("kw", "code", "text"),
    [
        ({"accounts": "ACC1,NOPE"}, RejectCode.UNKNOWN_ACCOUNT, "unknown account 'NOPE'"),
        ({"begin_string": "FIX.4.0"}, RejectCode.INVALID_COMMAND, "begin_string"),
        ({"role": "admin"}, RejectCode.INVALID_COMMAND, "role"),
        ({"auth": "token"}, RejectCode.INVALID_COMMAND, "auth"),
        ({"password_hash": "plain"}, RejectCode.INVALID_COMMAND, "password_hash"),
        ({"auth": "ed25519", "password_hash": ""}, RejectCode.INVALID_COMMAND, "ed25519_keys"),
        (
            {"auth": "ed25519", "password_hash": "", "ed25519_keys": "k=zz"},
            RejectCode.INVALID_COMMAND,
            "ed25519_keys",
        ),
        ({"max_msgs_per_s": -1}, RejectCode.INVALID_COMMAND, "max_msgs_per_s"),
        ({"heartbeat_min_s": 9, "heartbeat_max_s": 3}, RejectCode.INVALID_COMMAND, "heartbeat"),
    ],
)
def test_bad_fix_sessions_are_refused(kw: dict[str, Any], code: RejectCode, text: str) -> None:
    eng = venue()
    refused(eng, session(**kw), code, text)
    eng.submit(session())
    refused(eng, session(cls=UpdateFixSession, **kw), code, text)


def test_update_keeps_the_begin_string() -> None:
    eng = venue()
    eng.submit(session())
    refused(
        eng, session(cls=UpdateFixSession, begin_string="FIX.4.2"), RejectCode.INVALID_COMMAND,
        "begin_string cannot change",
    )  # fmt: skip


def _commands() -> list[Command]:
    return [
        key(),
        key("k2", kind="ed25519", key=PUB, ip_allowlist="127.0.0.0/8"),
        key("k3", expires_us=10**18, scopes="withdraw"),
        RevokeApiKey("k2", "leaked"),
        session(),
        session("C2", auth="ed25519", password_hash="", ed25519_keys=f"a={PUB},b={PUB}"),
        session(cls=UpdateFixSession, max_msgs_per_s=7),
        SetFixSessionEnabled("GATEWAY", "C2", False),
        DeleteFixSession("GATEWAY", "C1"),
        key("bad", scopes="nope"),  # a reject, journaled like any command
    ]


def test_snapshot_restore_and_replay_give_the_same_state_hash(tmp_path: Path) -> None:
    clock = Clock()
    live = Engine(Sequencer(clock))
    writer = JournalWriter(tmp_path, fsync="never")
    live.on_command = writer.append
    live.submit(AddInstrument("BTC-USD", "BTC", "USD", "0.01", "0.01", "0", "0", "0"))
    open_account(live, "ACC1")
    open_account(live, "ACC2")
    for i, command in enumerate(_commands()):
        clock.now += 10
        live.submit(command)
        if i == 4:
            writer.flush()
            write_snapshot(live, tmp_path)
    writer.close()
    assert live.credentials.api_keys["k2"].status == "revoked"
    assert list(live.credentials.fix_sessions) == ["GATEWAY->C2"]

    replayed = Engine()
    report = recover(replayed, tmp_path)
    assert report.snapshot_seq > 0
    assert replayed.state_hash() == live.state_hash()
    assert replayed.credentials == live.credentials

    only_journal = Engine()
    for path in tmp_path.glob("snapshot-*"):
        path.unlink()
    recover(only_journal, tmp_path)
    assert only_journal.state_hash() == live.state_hash()


def test_credentials_change_the_state_hash() -> None:
    eng = venue()
    before = eng.state_hash()
    eng.submit(key())
    assert eng.state_hash() != before


def test_an_ed25519_key_positionally_as_the_operator_bench_builds_it() -> None:
    eng = venue()
    command = CreateApiKey("key-1", "ACC1", "ed25519", bytes(32).hex(), "read,trade", "", 0, "b")
    event = venue_event(eng.submit(command))
    assert event.data["key_kind"] == "ed25519" and event.data["hmac_salt"] == ""
