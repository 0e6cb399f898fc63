"""Withdrawals as the client edges show them: a view of the committed state.

The engine's record changes the moment a command is applied; a client must only see
what is journaled (nothing acknowledged is ever lost). :class:`WithdrawalView` is a
host listener that copies each withdrawal's record from the ``withdrawal.*`` events of
durable batches, seeded from the engine at start (after recovery).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.events import VenueEvent
from engine.model import units_to_decimal

if TYPE_CHECKING:
    from engine.core import Engine
    from gateway.host import EventBatch

__all__ = ["WithdrawalView", "client_withdrawal"]


def client_withdrawal(record: Mapping[str, Any]) -> dict[str, Any]:
    """The client's view of a withdrawal record (``Withdrawal.to_data()``): no operator
    ids or internal reasons."""
    return {
        "withdrawal_id": record["withdrawal_id"],
        "client_id": record["client_id"],
        "asset": record["asset"],
        "amount": units_to_decimal(record["amount"]),
        "destination": record["destination"],
        "status": record["status"],
        "custody_reference": record["custody_reference"],
        "created_us": record["created_us"],
        "updated_us": record["updated_us"],
    }


class WithdrawalView:
    """Committed withdrawal records by id and by account (oldest first)."""

    def __init__(self, engine: Engine) -> None:
        self.records: dict[str, Mapping[str, Any]] = {}
        self.by_account: dict[str, list[str]] = {}
        self.client_ids: dict[tuple[str, str], str] = {}
        for withdrawal in engine.funds.withdrawals.values():
            self._put(withdrawal.to_data())

    def __call__(self, batch: EventBatch) -> None:
        for event in batch.events:
            if type(event) is VenueEvent and event.kind.startswith("withdrawal."):
                self._put(event.data)

    def _put(self, record: Mapping[str, Any]) -> None:
        withdrawal_id = record["withdrawal_id"]
        if withdrawal_id not in self.records:
            account = record["account"]
            self.by_account.setdefault(account, []).append(withdrawal_id)
            if record["client_id"]:
                self.client_ids[(account, record["client_id"])] = withdrawal_id
        self.records[withdrawal_id] = record

    def find(self, account: str, withdrawal_id: str, client_id: str) -> Mapping[str, Any] | None:
        """An account's withdrawal by id or by its client id (None: not this account's)."""
        if not withdrawal_id:
            withdrawal_id = self.client_ids.get((account, client_id), "")
        record = self.records.get(withdrawal_id)
        return record if record is not None and record["account"] == account else None

    def of_account(
        self, account: str, status: str = "", limit: int = 100
    ) -> list[Mapping[str, Any]]:
        """An account's withdrawals, newest first, optionally of one status."""
        found: list[Mapping[str, Any]] = []
        for withdrawal_id in reversed(self.by_account.get(account, ())):
            record = self.records[withdrawal_id]
            if not status or record["status"] == status:
                found.append(record)
                if len(found) == limit:
                    break
        return found
