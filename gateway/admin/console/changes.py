"""What changed since a stream's last push: a bounded log that every stream reads from
its own position, so one change costs one append however many browsers watch."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Changes"]

T = TypeVar("T")


class Changes(Generic[T]):
    """Items appended with consecutive numbers; ``since(n)`` is what came after n.

    Only the newest ``size`` are kept: a reader that fell further behind is told it
    missed some (and reloads what it shows)."""

    def __init__(self, size: int) -> None:
        self._items: deque[T] = deque(maxlen=size)
        #: the number of the newest item (0: none yet)
        self.last = 0

    def add(self, item: T) -> None:
        self.last += 1
        self._items.append(item)

    def since(self, position: int) -> tuple[list[T], bool]:
        """The items after ``position``, oldest first, and whether that is all of them."""
        if position >= self.last:
            return [], True
        first = self.last - len(self._items) + 1
        complete = position >= first - 1
        start = max(0, position - first + 1)
        return list(itertools.islice(self._items, start, None)), complete
