"""Versioned migrations and the row statements, one text for SQLite and PostgreSQL.

The SQL here is the common subset of both: BIGINT, INTEGER, SMALLINT and TEXT
columns, no booleans (0/1) and JSON as text. Statements use ``?`` placeholders; the
PostgreSQL store numbers them. A migration is applied once, in a transaction with
its row in schema_migrations; append new ones, never edit an applied one. Both
backends run every migration; a step that only one of them can express (a SQLite
table rebuild) is a Dialects pair, each backend running its own statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "INSERTS",
    "MIGRATIONS",
    "PSEUDO_BALANCE",
    "PSEUDO_PAIRS",
    "STATEMENTS",
    "TABLE_COLUMNS",
    "UPDATES",
    "Dialects",
    "migration_statements",
]


@dataclass(frozen=True)
class Dialects:
    """A migration step whose text differs between the backends (a table rebuild that
    only SQLite needs, or can do): each runs its own statements, in order."""

    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]


#: a migration step: one statement for both backends, or each its own
Step = str | Dialects


def migration_statements(steps: tuple[Step, ...], dialect: str) -> list[str]:
    """The statements a migration's steps run on ``dialect`` ("sqlite", "postgresql")."""
    out: list[str] = []
    for step in steps:
        if isinstance(step, Dialects):
            out += getattr(step, dialect)
        else:
            out.append(step)
    return out


_ORDERS: Final = """CREATE TABLE orders (
                seq BIGINT NOT NULL,
                idx INTEGER NOT NULL,
                event TEXT NOT NULL,
                order_id BIGINT NOT NULL,
                account TEXT NOT NULL,
                symbol TEXT NOT NULL,
                client_order_id TEXT NOT NULL,
                orig_client_order_id TEXT NOT NULL,
                side SMALLINT NOT NULL,
                ord_type SMALLINT NOT NULL,
                tif SMALLINT NOT NULL,
                price BIGINT NOT NULL,
                qty BIGINT NOT NULL,
                leaves BIGINT NOT NULL,
                filled BIGINT NOT NULL,
                notional BIGINT NOT NULL,
                code INTEGER NOT NULL,
                text TEXT NOT NULL,
                request TEXT NOT NULL,
                ts_us BIGINT NOT NULL,
                origin TEXT,
                PRIMARY KEY (seq, idx)
            )"""

_FILLS: Final = """CREATE TABLE fills (
                seq BIGINT NOT NULL,
                idx INTEGER NOT NULL,
                trade_id BIGINT NOT NULL,
                liquidity TEXT NOT NULL,
                symbol TEXT NOT NULL,
                order_id BIGINT NOT NULL,
                account TEXT NOT NULL,
                client_order_id TEXT NOT NULL,
                side SMALLINT NOT NULL,
                price BIGINT NOT NULL,
                qty BIGINT NOT NULL,
                fee BIGINT NOT NULL,
                fee_asset TEXT NOT NULL,
                filled BIGINT NOT NULL,
                notional BIGINT NOT NULL,
                leaves BIGINT NOT NULL,
                ts_us BIGINT NOT NULL,
                PRIMARY KEY (seq, idx, liquidity)
            )"""

_LEDGER: Final = """CREATE TABLE ledger (
                seq BIGINT NOT NULL,
                leg INTEGER NOT NULL,
                account TEXT NOT NULL,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL,
                balance BIGINT NOT NULL,
                reason TEXT NOT NULL,
                contra TEXT NOT NULL,
                trade_id BIGINT NOT NULL,
                ts_us BIGINT NOT NULL,
                PRIMARY KEY (seq, leg)
            )"""


def _without_rowid(table: str, create: str, indexes: tuple[str, ...]) -> tuple[str, ...]:
    """SQLite: rebuild ``table`` (created by ``create``) as a WITHOUT ROWID table, its rows
    stored in its primary key's B-tree: one B-tree fewer to update per row. ``indexes``:
    the secondary indexes it keeps (dropping the table dropped them all)."""
    new = f"{table}_rebuilt"
    return (
        create.replace(f"CREATE TABLE {table} (", f"CREATE TABLE {new} (", 1) + " WITHOUT ROWID",
        f"INSERT INTO {new} SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {new} RENAME TO {table}",
        *indexes,
    )


MIGRATIONS: Final[tuple[tuple[int, str, tuple[Step, ...]], ...]] = (
    (
        1,
        "history tables",
        (
            """CREATE TABLE follower_state (
                id INTEGER PRIMARY KEY,
                seq BIGINT NOT NULL,
                crc BIGINT NOT NULL,
                ts_us BIGINT NOT NULL
            )""",
            "INSERT INTO follower_state (id, seq, crc, ts_us) VALUES (1, 0, 0, 0)",
            _ORDERS,
            "CREATE INDEX orders_account_ts ON orders (account, ts_us)",
            "CREATE INDEX orders_order_id ON orders (order_id)",
            _FILLS,
            "CREATE INDEX fills_account_ts ON fills (account, ts_us)",
            _LEDGER,
            "CREATE INDEX ledger_account_asset ON ledger (account, asset, seq)",
            """CREATE TABLE venue_events (
                seq BIGINT NOT NULL,
                idx INTEGER NOT NULL,
                kind TEXT NOT NULL,
                subject TEXT NOT NULL,
                data TEXT NOT NULL,
                ts_us BIGINT NOT NULL,
                PRIMARY KEY (seq, idx)
            )""",
            "CREATE INDEX venue_events_kind ON venue_events (kind, seq)",
        ),
    ),
    (
        2,
        "history pages by account in seq order",
        (
            "CREATE INDEX orders_account_seq ON orders (account, seq, idx)",
            "CREATE INDEX fills_account_seq ON fills (account, seq, idx)",
            "CREATE INDEX ledger_account_seq ON ledger (account, seq, leg)",
        ),
    ),
    (
        3,
        "admin audit trail, hash chained",
        (
            """CREATE TABLE audit (
                seq BIGINT PRIMARY KEY,
                ts_us BIGINT NOT NULL,
                operator TEXT NOT NULL,
                role TEXT NOT NULL,
                source TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                digest TEXT NOT NULL,
                action TEXT NOT NULL,
                record TEXT NOT NULL,
                result TEXT NOT NULL,
                detail TEXT NOT NULL,
                prev TEXT NOT NULL,
                hash TEXT NOT NULL
            )""",
            "CREATE INDEX audit_ts ON audit (ts_us)",
        ),
    ),
    (
        4,
        "proofs of liabilities",
        (
            """CREATE TABLE liabilities (
                seq BIGINT PRIMARY KEY,
                published_us BIGINT NOT NULL,
                root TEXT NOT NULL,
                totals TEXT NOT NULL,
                accounts INTEGER NOT NULL,
                levels INTEGER NOT NULL
            )""",
            """CREATE TABLE liability_nodes (
                seq BIGINT NOT NULL,
                level INTEGER NOT NULL,
                pos BIGINT NOT NULL,
                hash TEXT NOT NULL,
                sums TEXT NOT NULL,
                PRIMARY KEY (seq, level, pos)
            )""",
            """CREATE TABLE liability_leaves (
                seq BIGINT NOT NULL,
                account TEXT NOT NULL,
                pos BIGINT NOT NULL,
                salt TEXT NOT NULL,
                PRIMARY KEY (seq, account)
            )""",
        ),
    ),
    (
        5,
        "surveillance alerts",
        (
            # seq: the command whose replay raised it; state: the latest alert.reviewed
            # step (its notes are those venue_events); body: Alert.to_dict() as JSON.
            """CREATE TABLE alerts (
                alert_id TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                rule TEXT NOT NULL,
                kind TEXT NOT NULL,
                severity TEXT NOT NULL,
                owner TEXT NOT NULL,
                instrument TEXT NOT NULL,
                ts_us BIGINT NOT NULL,
                first_seq BIGINT NOT NULL,
                last_seq BIGINT NOT NULL,
                summary TEXT NOT NULL,
                state TEXT NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX alerts_seq ON alerts (seq)",
            "CREATE INDEX alerts_state_seq ON alerts (state, seq)",
            "CREATE INDEX venue_events_subject ON venue_events (subject, kind, seq)",
        ),
    ),
    (
        6,
        "client sessions: logons and logouts",
        (
            """CREATE TABLE sessions (
                seq BIGINT NOT NULL,
                idx INTEGER NOT NULL,
                session BIGINT NOT NULL,
                event TEXT NOT NULL,
                protocol TEXT NOT NULL,
                name TEXT NOT NULL,
                account TEXT NOT NULL,
                source TEXT NOT NULL,
                reason TEXT NOT NULL,
                ts_us BIGINT NOT NULL,
                PRIMARY KEY (seq, idx)
            )""",
            "CREATE INDEX sessions_session ON sessions (session)",
            "CREATE INDEX sessions_account_ts ON sessions (account, ts_us)",
        ),
    ),
    (
        7,
        "fewer B-trees per history row",
        # Every query of these tables goes by the primary key or by (account, seq): the
        # (account, ts_us) and order_id indexes served none (EXPLAIN QUERY PLAN), yet
        # each cost every row an insert. On SQLite the three tables also keep their rows
        # in the primary key (no rowid B-tree beside it).
        (
            Dialects(
                sqlite=(
                    *_without_rowid(
                        "orders",
                        _ORDERS,
                        ("CREATE INDEX orders_account_seq ON orders (account, seq, idx)",),
                    ),
                    *_without_rowid(
                        "fills",
                        _FILLS,
                        ("CREATE INDEX fills_account_seq ON fills (account, seq, idx)",),
                    ),
                    *_without_rowid(
                        "ledger",
                        _LEDGER,
                        (
                            "CREATE INDEX ledger_account_asset ON ledger (account, asset, seq)",
                            "CREATE INDEX ledger_account_seq ON ledger (account, seq, leg)",
                        ),
                    ),
                ),
                postgresql=(
                    "DROP INDEX orders_account_ts",
                    "DROP INDEX orders_order_id",
                    "DROP INDEX fills_account_ts",
                ),
            ),
        ),
    ),
    (
        8,
        "one index fewer per ledger leg",
        # The ledger is most of the rows (five legs per trade) and each leg updated three
        # B-trees. (account, seq, leg) served only the history page over all assets,
        # which now merges the account's per-asset ranges of (account, asset, seq)
        # (gateway/follower/history.py); everything else already read that index.
        ("DROP INDEX ledger_account_seq",),
    ),
)

TABLE_COLUMNS: Final = {
    "orders": (
        "seq", "idx", "event", "order_id", "account", "symbol", "client_order_id",
        "orig_client_order_id", "side", "ord_type", "tif", "price", "qty", "leaves", "filled",
        "notional", "code", "text", "request", "ts_us", "origin",
    ),
    "fills": (
        "seq", "idx", "trade_id", "liquidity", "symbol", "order_id", "account",
        "client_order_id", "side", "price", "qty", "fee", "fee_asset", "filled", "notional",
        "leaves", "ts_us",
    ),
    "ledger": (
        "seq", "leg", "account", "asset", "amount", "balance", "reason", "contra", "trade_id",
        "ts_us",
    ),
    "venue_events": ("seq", "idx", "kind", "subject", "data", "ts_us"),
    "audit": (
        "seq", "ts_us", "operator", "role", "source", "idempotency_key", "digest", "action",
        "record", "result", "detail", "prev", "hash",
    ),
    "liabilities": ("seq", "published_us", "root", "totals", "accounts", "levels"),
    "liability_nodes": ("seq", "level", "pos", "hash", "sums"),
    "liability_leaves": ("seq", "account", "pos", "salt"),
    "alerts": (
        "alert_id", "seq", "rule", "kind", "severity", "owner", "instrument", "ts_us",
        "first_seq", "last_seq", "summary", "state", "body",
    ),
    "sessions": (
        "seq", "idx", "session", "event", "protocol", "name", "account", "source", "reason",
        "ts_us",
    ),
}  # fmt: skip

#: a replay after a restart or a rebuild raises an alert again: it is stored once
_ONCE: Final = {"alerts": " ON CONFLICT (alert_id) DO NOTHING"}

INSERTS: Final = {
    table: f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    + _ONCE.get(table, "")
    for table, cols in TABLE_COLUMNS.items()
}
#: written after a batch's inserts: (state, alert_id) of each alert.reviewed step
UPDATES: Final = {"alert_states": "UPDATE alerts SET state = ? WHERE alert_id = ?"}

#: every statement a batch runs, by the name Rows.by_table() gives it
STATEMENTS: Final = {**INSERTS, **UPDATES}

#: the pseudo accounts' (account, asset) pairs, and each one's latest running balance
PSEUDO_PAIRS: Final = "SELECT DISTINCT account, asset FROM ledger WHERE account LIKE '@%'"
PSEUDO_BALANCE: Final = (
    "SELECT balance FROM ledger WHERE account = ? AND asset = ? ORDER BY seq DESC, leg DESC LIMIT 1"
)
