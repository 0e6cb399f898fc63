"""Typed FIX settings: one :class:`SessionSettings` per ``[[fix.sessions]]`` entry and
one :class:`AcceptorSettings` for the ``[fix]`` table.

Every setting, its default and its meaning:

AcceptorSettings
  host, port              listen address (``listen = "host:port"``; default 0.0.0.0:9878;
                          port 0 = ephemeral, see ``FixAcceptor.port``)
  sender_comp_id          our CompID, default for sessions (default "GATEWAY")
  sending_time_tolerance_s  max |SendingTime - now| before Reject 10 + Logout (120)
  store_dir               directory of the per-session message stores ("var/fix")
  fsync                   fsync the store on every flush (False: flush to the OS only,
                          which survives a process crash but not a power loss)
  resend_window           how many of a session's latest MsgSeqNums stay resendable
                          (1,000,000); older application messages are gap-filled, so
                          a store's disk and memory stay bounded (see fix/store.py)
  logon_timeout_s         a connection must log on within this time (10)
  tls_cert, tls_key       PEM files; both set = the acceptor speaks TLS
  spec_dir                directory of FIX42.xml/FIX44.xml/FIXT11.xml/FIX50SP2.xml
                          (default: fix_specs/)
  max_message_size        larger BodyLength values are garbled (1 MiB)
  send_buffer_bytes       kernel send buffer per connection (256 KiB): without a cap
                          Linux grows it to megabytes and a reader that stopped reading
                          never looks slow
  write_buffer_high       transport buffer above which writing pauses (1 MiB)
  slow_consumer_timeout_s a connection paused this long is disconnected (5 s); nothing
                          is lost: every message is in the store for the ResendRequest
                          after the next Logon
  max_write_buffer        a transport buffer above this disconnects at once (16 MiB);
                          a resend of any length stays under it: it is paced in steps
                          of 2,000 messages, each when the buffer has drained
  adaptive_spin_us        the longest the loop keeps polling after answering a client
                          that sends its next order as soon as it has our answer
                          (500; 0 = never): see gateway/busypoll.py

SessionSettings
  target_comp_id          the client's SenderCompID (required)
  sender_comp_id          our CompID on this session (default: the acceptor's)
  begin_string            "FIX.4.2", "FIX.4.4" or "FIXT.1.1"
  default_appl_ver_id     FIXT.1.1 only: the DefaultApplVerID (1137) the client's Logon
                          must carry and ApplVerID (1128) must equal when present; only
                          "9" (FIX 5.0 SP2, dictionary FIX50SP2.xml) is supported
  role                    order_entry | market_data | drop_copy
  accounts                accounts the session may trade; tag 1 picks one, absent = first
  auth                    none | password | ed25519
  username                if set, Username(553) must equal it (password auth)
  password_hash           "scrypt$<salt hex>$<hash hex>" (see auth.hash_password)
  ed25519_public_keys     key id (553) -> raw 32-byte public key as hex
  reset_on_logon          honour ResetSeqNumFlag(141)=Y; False refuses such a Logon
  cancel_on_disconnect    app hint: cancel open orders when the connection drops
  cancel_on_logout        app hint: also cancel on a clean Logout
  max_msgs_per_s          application messages per second (0 = unlimited)
  heartbeat_min_s/max_s   accepted HeartBtInt(108) range
  test_request_factor     silence of HeartBtInt * factor triggers a TestRequest (1.2)
  logout_timeout_s        how long to wait for the Logout answer (2)
  sending_time_tolerance_s  per-session override of the acceptor's tolerance
  supported_msg_types     inbound application MsgTypes (default: by role)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "APPL_VER_IDS",
    "FIXT11",
    "ROLE_MSG_TYPES",
    "SUPPORTED_BEGIN_STRINGS",
    "AcceptorSettings",
    "AuthMode",
    "Role",
    "SessionSettings",
]

FIXT11 = "FIXT.1.1"
SUPPORTED_BEGIN_STRINGS = ("FIX.4.2", "FIX.4.4", FIXT11)
#: The ApplVerID values a FIXT.1.1 session may use, with the name of the version.
APPL_VER_IDS: Mapping[str, str] = MappingProxyType({"9": "FIX50SP2"})


class Role(enum.StrEnum):
    ORDER_ENTRY = "order_entry"
    MARKET_DATA = "market_data"
    DROP_COPY = "drop_copy"


class AuthMode(enum.StrEnum):
    NONE = "none"
    PASSWORD = "password"
    ED25519 = "ed25519"


#: Inbound application MsgTypes each role accepts; others get BusinessMessageReject 380=3.
ROLE_MSG_TYPES: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.ORDER_ENTRY: frozenset({"D", "F", "G", "H", "q", "AF", "AN"}),
        Role.MARKET_DATA: frozenset({"V", "x"}),
        Role.DROP_COPY: frozenset(),
    }
)


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Settings of one FIX session (see the module docstring for each key)."""

    target_comp_id: str
    sender_comp_id: str = "GATEWAY"
    begin_string: str = "FIX.4.4"
    default_appl_ver_id: str = "9"
    role: Role = Role.ORDER_ENTRY
    accounts: tuple[str, ...] = ()
    auth: AuthMode = AuthMode.NONE
    username: str | None = None
    password_hash: str | None = field(default=None, repr=False)
    ed25519_public_keys: Mapping[str, str] = field(default_factory=dict)
    reset_on_logon: bool = True
    cancel_on_disconnect: bool = False
    cancel_on_logout: bool = False
    max_msgs_per_s: int = 1000
    heartbeat_min_s: int = 1
    heartbeat_max_s: int = 300
    test_request_factor: float = 1.2
    logout_timeout_s: float = 2.0
    sending_time_tolerance_s: float | None = None
    supported_msg_types: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.target_comp_id or not self.sender_comp_id:
            raise ValueError("target_comp_id and sender_comp_id must be non-empty")
        if self.begin_string not in SUPPORTED_BEGIN_STRINGS:
            raise ValueError(
                f"begin_string {self.begin_string!r} not supported "
                f"(expected one of {', '.join(SUPPORTED_BEGIN_STRINGS)})"
            )
        if self.default_appl_ver_id not in APPL_VER_IDS:
            raise ValueError(
                f"default_appl_ver_id {self.default_appl_ver_id!r} not supported "
                f"(expected one of {', '.join(APPL_VER_IDS)})"
            )
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "auth", AuthMode(self.auth))
        object.__setattr__(self, "accounts", tuple(self.accounts))
        if self.auth is AuthMode.PASSWORD and not self.password_hash:
            raise ValueError(f"session {self.target_comp_id}: auth=password needs password_hash")
        if self.auth is AuthMode.ED25519:
            if not self.ed25519_public_keys:
                raise ValueError(
                    f"session {self.target_comp_id}: auth=ed25519 needs ed25519_public_keys"
                )
            for key_id, key_hex in self.ed25519_public_keys.items():
                try:
                    raw = bytes.fromhex(key_hex)
                except ValueError:
                    raw = b""
                if len(raw) != 32:
                    raise ValueError(f"ed25519 public key {key_id!r} must be 32 bytes in hex")
        if self.max_msgs_per_s < 0:
            raise ValueError("max_msgs_per_s must be >= 0")
        if not 0 <= self.heartbeat_min_s <= self.heartbeat_max_s:
            raise ValueError("need 0 <= heartbeat_min_s <= heartbeat_max_s")

    @property
    def session_id(self) -> str:
        """``BeginString:SenderCompID->TargetCompID``, our side first."""
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"

    @property
    def fixt(self) -> bool:
        """A FIXT.1.1 session (application messages per ``default_appl_ver_id``)."""
        return self.begin_string == FIXT11

    @property
    def app_msg_types(self) -> frozenset[str]:
        if self.supported_msg_types is not None:
            return self.supported_msg_types
        return ROLE_MSG_TYPES[self.role]

    def resolve_account(self, account: str | None) -> str | None:
        """Account(1) -> the account to use: absent = the first configured one,
        unknown = ``None`` (the caller rejects)."""
        if account is None:
            return self.accounts[0] if self.accounts else None
        return account if account in self.accounts else None

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, Any], defaults: AcceptorSettings | None = None
    ) -> SessionSettings:
        """Build from one ``[[fix.sessions]]`` TOML table. ``account`` may be a string
        or a list (alias of ``accounts``)."""
        data = dict(raw)
        acc = data.pop("account", None)
        if acc is not None:
            data.setdefault("accounts", [acc] if isinstance(acc, str) else list(acc))
        if "accounts" in data:
            data["accounts"] = tuple(data["accounts"])
        if "supported_msg_types" in data:
            data["supported_msg_types"] = frozenset(data["supported_msg_types"])
        if defaults is not None:
            data.setdefault("sender_comp_id", defaults.sender_comp_id)
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown FIX session setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class AcceptorSettings:
    """Acceptor-wide settings (the ``[fix]`` table minus ``sessions``)."""

    host: str = "0.0.0.0"
    port: int = 9878
    sender_comp_id: str = "GATEWAY"
    sending_time_tolerance_s: float = 120.0
    store_dir: Path = Path("var/fix")
    fsync: bool = False
    resend_window: int = 1_000_000
    logon_timeout_s: float = 10.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    spec_dir: Path | None = None
    max_message_size: int = 1 << 20
    send_buffer_bytes: int = 256 << 10
    write_buffer_high: int = 1 << 20
    max_write_buffer: int = 16 << 20
    slow_consumer_timeout_s: float = 5.0
    adaptive_spin_us: int = 500

    def __post_init__(self) -> None:
        object.__setattr__(self, "store_dir", Path(self.store_dir))
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be set together")
        if self.resend_window < 1:
            raise ValueError("resend_window must be at least 1")
        if not 0 <= self.adaptive_spin_us <= 1_000_000:
            raise ValueError("adaptive_spin_us must be within 0..1000000")

    @staticmethod
    def parse_listen(listen: str) -> tuple[str, int]:
        """``"host:port"`` -> (host, port); ``"[::1]:9878"`` works for IPv6."""
        host, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"listen must be 'host:port', got {listen!r}")
        return host.strip("[]") or "0.0.0.0", int(port)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> AcceptorSettings:
        """Build from the ``[fix]`` TOML table (``listen`` and ``sessions`` handled)."""
        data = {k: v for k, v in raw.items() if k != "sessions"}
        listen = data.pop("listen", None)
        if listen is not None:
            data["host"], data["port"] = cls.parse_listen(str(listen))
        for key in ("store_dir", "tls_cert", "tls_key", "spec_dir"):
            if data.get(key) is not None:
                data[key] = Path(data[key])
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown [fix] setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)
