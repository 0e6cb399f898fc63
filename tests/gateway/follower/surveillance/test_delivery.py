"""However the follower hands the events over (one command at a time, many at once,
or resuming from an earlier point), the alerts are the same."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import Event
from gateway.follower.surveillance import Alert, Surveillance
from tests.gateway.follower.surveillance.floor import (
    EVENTFUL_CONFIG,
    EVENTFUL_OWNERS,
    Floor,
    eventful_day,
)


def recorded_day() -> tuple[list[list[Event]], list[Alert], dict[str, int], int]:
    """Each command's events of an eventful day, the alerts raised live, the instrument
    grid and the last command's time (a Tick, which has no events)."""
    floor = Floor(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS)
    eventful_day(floor)
    commands = [c for c in floor.commands if c]
    return commands, floor.alerts, floor.grid, floor.engine.last_ts_us


COMMANDS, LIVE, GRID, END_US = recorded_day()


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(0, len(COMMANDS)), max_size=12),
    rewinds=st.lists(st.integers(0, 5), max_size=12),
)
def test_batches_and_resumed_deliveries_raise_the_same_alerts(
    cuts: list[int], rewinds: list[int]
) -> None:
    """Batches end at the cut points; each batch after the first may start up to a few
    commands before the previous one ended (delivered again, as after a restart)."""
    surv = Surveillance(EVENTFUL_CONFIG, owners=EVENTFUL_OWNERS, quote_per_tick_lot=GRID)
    alerts: list[Alert] = []
    start = 0
    for n, end in enumerate([*sorted(set(cuts)), len(COMMANDS)]):
        back = rewinds[n] if n < len(rewinds) else 0
        batch = COMMANDS[max(start - back, 0) : end]
        alerts += surv.feed([ev for events in batch for ev in events])
        start = max(start, end)
    alerts += surv.advance(END_US)
    assert [a.to_dict() for a in alerts] == [a.to_dict() for a in LIVE]
