"""The change log the console's streams read from their own positions."""

from __future__ import annotations

from gateway.admin.console.changes import Changes


def test_each_reader_gets_what_came_after_its_position() -> None:
    changes: Changes[str] = Changes(size=3)
    assert changes.since(0) == ([], True)
    changes.add("a")
    changes.add("b")
    assert changes.since(0) == (["a", "b"], True)
    assert changes.since(1) == (["b"], True)
    assert changes.since(changes.last) == ([], True)


def test_a_reader_that_fell_behind_the_kept_items_is_told() -> None:
    changes: Changes[int] = Changes(size=3)
    for n in range(1, 6):
        changes.add(n)
    assert changes.since(2) == ([3, 4, 5], True)  # nothing lost
    assert changes.since(1) == ([3, 4, 5], False)  # 2 is gone
    assert changes.since(0) == ([3, 4, 5], False)
