"""Which API key scope each authenticated WS (and REST) method needs.

Scopes: ``read`` (state of one's own account), ``trade`` (orders), ``transfer``
(between an account and its sub-accounts), ``withdraw`` (withdrawal requests). A
method that needs a logon and is missing here is refused to every key (default deny):
adding a method means adding its row.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["METHOD_SCOPES", "PUBLIC_METHODS", "READ", "TRADE", "TRANSFER", "WITHDRAW"]

READ: Final = "read"
TRADE: Final = "trade"
TRANSFER: Final = "transfer"
WITHDRAW: Final = "withdraw"

#: Methods without a logon (a ``user`` or ``positions`` subscription needs ``read``).
PUBLIC_METHODS: Final = frozenset({"session.logon", "instruments", "subscribe", "unsubscribe"})

METHOD_SCOPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "order.place": TRADE,
        "order.cancel": TRADE,
        "order.replace": TRADE,
        "orders.cancel_all": TRADE,
        "position.close": TRADE,
        "position.leverage": TRADE,
        "position.margin_mode": TRADE,
        "position.margin": TRADE,
        "order.status": READ,
        "orders.open": READ,
        "account.balances": READ,
        "account.positions": READ,
        "subaccount.list": READ,
        "withdrawal.status": READ,
        "withdrawal.list": READ,
        "orders.history": READ,
        "fills.history": READ,
        "ledger.history": READ,
        "liabilities.proof": READ,
        "transfer": TRANSFER,
        "withdrawal.request": WITHDRAW,
        "withdrawal.cancel": WITHDRAW,
    }
)
