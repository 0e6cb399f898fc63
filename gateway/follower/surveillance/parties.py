"""Who stands behind an account: its owner (a sub-account's parent) and declared groups.

Rules about one person (spoofing, ramping, marking the close) key on the owner; the
wash-trade rule keys on the link, which is the owner's declared group when it has one
(accounts known to act together), otherwise the owner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from engine.events import VenueEvent

__all__ = ["Parties"]


class Parties:
    """The owner map and declared groups, both inputs (config or the operator side).

    owners maps an account to its owner; an account not in it owns itself. groups maps
    a group name to its members (accounts or owners); a member belongs to one group only.
    """

    def __init__(
        self,
        owners: Mapping[str, str] | None = None,
        groups: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._owners: dict[str, str] = dict(owners or {})
        #: a live lookup of an account's parent ("" for none) for accounts the map does
        #: not name: the replaying engine's tenancy, in the follower
        self.parent_of: Callable[[str], str] | None = None
        self._group_of: dict[str, str] = {}
        for name in sorted(groups or {}):
            for member in (groups or {})[name]:
                if self._group_of.setdefault(member, name) != name:
                    raise ValueError(
                        f"{member!r} is in groups {self._group_of[member]!r} and {name!r}"
                    )

    def owner(self, account: str) -> str:
        owner = self._owners.get(account)
        if owner is not None:
            return owner
        parent = self.parent_of(account) if self.parent_of is not None else ""
        return parent or account

    def link(self, account: str) -> str:
        """The wash-trade key: "group:<name>" for a grouped account or owner, else the owner."""
        owner = self.owner(account)
        group = self._group_of.get(account) or self._group_of.get(owner)
        return f"group:{group}" if group else owner

    def set_owner(self, account: str, owner: str) -> None:
        self._owners[account] = owner

    def learn(self, event: VenueEvent) -> None:
        """A sub-account opened on the operator side (engine/venue/tenancy): its parent
        is its owner."""
        if event.kind.startswith(("account.", "subaccount.")):
            parent = event.data.get("parent")
            if isinstance(parent, str) and parent:
                self._owners[event.subject] = parent
