"""GcPacer: with CPython's automatic collection off, young objects and reference cycles
are still collected, in small steps; old cycles only by a full collection when idle."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.gcpacer import GcPacer


class _Node:
    """A weak-referenceable object that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.peer: _Node | None = None


def _garbage_cycle() -> weakref.ref[_Node]:
    """Two objects referring to each other, unreachable: only the collector frees them."""
    a, b = _Node(), _Node()
    a.peer, b.peer = b, a
    return weakref.ref(a)


@pytest.fixture
async def started() -> AsyncIterator[Callable[[GcPacer], Awaitable[GcPacer]]]:
    pacers: list[GcPacer] = []

    async def start(pacer: GcPacer) -> GcPacer:
        await pacer.start()
        pacers.append(pacer)
        return pacer

    yield start
    for pacer in pacers:
        await pacer.stop()
    assert gc.isenabled()


def _young() -> int:
    return len(gc.get_objects(0)) + len(gc.get_objects(1))


async def test_the_pacer_collects_the_young_generation_cpython_no_longer_does(
    started: Callable[[GcPacer], Awaitable[GcPacer]],
) -> None:
    pacer = GcPacer(lambda: 0, interval_s=0.01, idle_s=3600)
    await started(pacer)
    assert not gc.isenabled()
    cycle = _garbage_cycle()
    survivors = [[i] for i in range(20_000)]  # tracked objects that stay alive
    assert _young() >= 20_000
    await asyncio.sleep(0.05)
    assert pacer.young_collections >= 2 and pacer.full_collections == 0
    assert cycle() is None  # the cycle was collected although gc is disabled
    assert _young() < 5_000  # the survivors moved on to generation 2
    assert len(survivors) == 20_000


async def test_an_old_cycle_waits_for_a_full_collection_while_idle(
    started: Callable[[GcPacer], Awaitable[GcPacer]],
) -> None:
    work = [0]
    pacer = GcPacer(lambda: work[0], interval_s=0.01, idle_s=0.05, full_every_s=0)
    await started(pacer)
    a, b = _Node(), _Node()
    a.peer, b.peer = b, a
    old_cycle = weakref.ref(a)
    gc.collect(1)  # still referenced: promoted to generation 2
    del a, b
    for _ in range(15):  # busy: work keeps arriving, no full collection
        work[0] += 1
        await asyncio.sleep(0.01)
    assert pacer.full_collections == 0 and old_cycle() is not None
    await asyncio.sleep(0.15)  # idle for longer than idle_s
    assert pacer.full_collections >= 1 and old_cycle() is None


async def test_stop_gives_the_collector_back() -> None:
    pacer = GcPacer(lambda: 0)
    await pacer.stop()  # never started: changes nothing
    assert gc.isenabled()
    await pacer.start()
    await pacer.stop()
    assert gc.isenabled() and gc.get_freeze_count() == 0
