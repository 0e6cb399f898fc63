"""Single-use credentials: a signed logon is accepted once within its validity window.

FIX Ed25519 Logons and WebSocket ``session.logon`` signatures are valid for a time
window around their timestamp; a captured one could be replayed within it. Both edges
remember each payload they accepted until it expires and refuse it again.
"""

from __future__ import annotations

import heapq

__all__ = ["SingleUse"]


class SingleUse:
    """Tokens claimed and not yet expired; at most ``capacity`` of them.

    Times are plain integers in the caller's unit (the same for ``expires`` and
    ``now``). Memory is bounded by ``capacity``: when that many unexpired tokens are
    held, a new claim is refused (only holders of valid credentials can fill it).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._expires: dict[bytes, int] = {}
        self._heap: list[tuple[int, bytes]] = []

    def __len__(self) -> int:
        return len(self._expires)

    def claim(self, token: bytes, expires: int, now: int) -> bool:
        """True the first time ``token`` is claimed before it expires; False if it
        was claimed already (and has not expired) or the memory is full."""
        heap, held = self._heap, self._expires
        while heap and heap[0][0] <= now:
            _, old = heapq.heappop(heap)
            if held.get(old, now + 1) <= now:
                del held[old]
        if token in held or len(held) >= self.capacity:
            return False
        held[token] = expires
        heapq.heappush(heap, (expires, token))
        return True
