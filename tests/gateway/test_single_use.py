"""SingleUse: each token once until it expires, memory bounded."""

from __future__ import annotations

from gateway.single_use import SingleUse


def test_a_token_is_accepted_once_until_it_expires() -> None:
    used = SingleUse(capacity=10)
    assert used.claim(b"a", expires=100, now=0)
    assert not used.claim(b"a", expires=100, now=50)
    assert used.claim(b"b", expires=100, now=50)
    assert used.claim(b"a", expires=200, now=100)  # expired: forgotten
    assert len(used) == 1


def test_full_memory_refuses_until_tokens_expire() -> None:
    used = SingleUse(capacity=2)
    assert used.claim(b"a", expires=10, now=0)
    assert used.claim(b"b", expires=20, now=0)
    assert not used.claim(b"c", expires=30, now=5)
    assert used.claim(b"c", expires=30, now=10)
    assert len(used) == 2
