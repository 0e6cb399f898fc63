"""A journal written by a live engine, and what the live engine answered.

The live side of the follower tests: the same Engine + JournalWriter the gateway
uses, fed a command stream; every event it produced is kept to compare the store with.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from engine.commands import Command
from engine.core import Engine
from engine.events import Event
from engine.journal import JournalWriter, write_snapshot
from gateway.follower.follower import Follower, FollowerSettings
from tests.engine.streams import random_command, setup_commands

__all__ = ["LiveVenue", "catch_up", "follow_flow", "random_flow"]


class LiveVenue:
    """An engine journaling into ``directory``; ``events`` is everything it answered."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.engine = Engine()
        self.writer = JournalWriter(directory, fsync="never")
        self.engine.on_command = self.writer.append
        self.events: list[Event] = []

    def submit(self, commands: list[Command]) -> None:
        for command in commands:
            self.events += self.engine.submit(command)
        self.writer.flush()

    def roll(self) -> None:
        self.writer.roll(self.engine.last_seq + 1)

    def snapshot(self) -> None:
        """A snapshot as the gateway takes it: roll, then write (pruning old segments)."""
        self.roll()
        write_snapshot(self.engine, self.directory)

    def close(self) -> None:
        self.writer.close()


def random_flow(rng: random.Random, venue: LiveVenue, count: int) -> list[Command]:
    """Setup (if the venue is new) and ``count`` random commands, submitted."""
    commands: list[Command] = []
    if venue.engine.last_seq == 0:
        commands = setup_commands()
        venue.submit(commands)
    for _ in range(count):
        command = random_command(rng, venue.engine.last_ts_us, venue.engine.last_seq)
        venue.submit([command])
        commands.append(command)
    return commands


async def catch_up(f: Follower) -> None:
    """Step the follower until it has stored all the journal holds."""
    while await f.step(asyncio.Event()):
        pass


async def follow_flow(
    directory: Path, store_url: str, seed: int, count: int
) -> tuple[LiveVenue, Follower]:
    """A venue journaling a seeded random flow into ``directory``, and a started
    follower that stored all of it."""
    venue = LiveVenue(directory)
    random_flow(random.Random(seed), venue, count)
    f = Follower(FollowerSettings(directory, store_url=store_url))
    await f.start(asyncio.Event())
    await catch_up(f)
    return venue, f
