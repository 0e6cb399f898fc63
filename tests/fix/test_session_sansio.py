"""The session state machine without sockets: bytes in, bytes out, fake clocks."""

from __future__ import annotations

from pathlib import Path

from gateway.fix.codec import FixMessage, FrameReader, build_message, format_utc_timestamp
from gateway.fix.dictionary import load_dictionary
from gateway.fix.session import FixSession, SessionState, Timer
from gateway.fix.settings import SessionSettings
from gateway.fix.store import FileStore
from tests.fix.conftest import CLIENT, GATEWAY, RecordingApp

T0_US = 1_718_440_215_000_000


class FakeTransport:
    def __init__(self) -> None:
        self.frames = FrameReader()
        self.out: list[FixMessage] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.out += [m for m in self.frames.feed(data) if isinstance(m, FixMessage)]

    def close(self) -> None:
        self.closed = True

    def deadline_changed(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.mono = 100.0

    def wall_us(self) -> int:
        return T0_US + int((self.mono - 100.0) * 1_000_000)


def make(
    tmp_path: Path, settings: SessionSettings | None = None
) -> tuple[FixSession, FakeTransport, Clock, RecordingApp]:
    clock = Clock()
    app = RecordingApp()
    s = FixSession(
        settings or SessionSettings(target_comp_id=CLIENT),
        FileStore(tmp_path / "store"),
        load_dictionary("FIX.4.4"),
        app,
        wall_clock_us=clock.wall_us,
        clock=lambda: clock.mono,
    )
    t = FakeTransport()
    s.attach(t, clock.mono)
    return s, t, clock, app


def msg(clock: Clock, mt: str, seq: int, *body: tuple[int, object]) -> FixMessage:
    raw = build_message(
        "FIX.4.4",
        [(35, mt), (49, CLIENT), (56, GATEWAY), (34, seq),
         (52, format_utc_timestamp(clock.wall_us())), *body],  # type: ignore[list-item]
    )  # fmt: skip
    [m] = FrameReader().feed(raw)
    assert isinstance(m, FixMessage)
    return m


def test_timers_heartbeat_test_request_disconnect(tmp_path: Path) -> None:
    s, t, clock, app = make(tmp_path)
    s.on_message(msg(clock, "A", 1, (98, 0), (108, 10)), clock.mono)
    assert s.state is SessionState.LOGGED_ON and [m.msg_type for m in t.out] == ["A"]
    assert s.next_deadline() == 110.0  # HEARTBEAT first
    clock.mono = 110.0
    assert s.due_timers(clock.mono) == [Timer.HEARTBEAT]
    s.on_timer(clock.mono)
    assert t.out[-1].msg_type == "0"
    assert s.next_deadline() == 112.0  # TEST_REQUEST at HeartBtInt * 1.2
    clock.mono = 112.0
    s.on_timer(clock.mono)
    assert t.out[-1].msg_type == "1" and t.out[-1].get(112) == b"TEST1"
    # while the TestRequest is unanswered no regular Heartbeat: the next deadline is
    # the disconnect, though nothing will have been sent for HeartBtInt at 122.0
    assert s.next_deadline() == 124.0
    clock.mono = 122.0
    assert s.due_timers(clock.mono) == []
    s.on_timer(clock.mono)
    assert t.out[-1].msg_type == "1"
    clock.mono = 124.0
    s.on_timer(clock.mono)
    assert t.out[-1].msg_type == "5"
    assert t.out[-1].get(58) == b"Timed out waiting for heartbeat"
    assert t.closed and not s.is_connected  # state DISCONNECTED (no mypy narrowing)
    assert app.logouts == [(s, False)]


def test_any_message_clears_test_request(tmp_path: Path) -> None:
    s, t, clock, _ = make(tmp_path)
    s.on_message(msg(clock, "A", 1, (98, 0), (108, 10)), clock.mono)
    clock.mono = 112.0
    s.on_timer(clock.mono)  # heartbeat (due at 110) and test request (due at 112)
    assert [m.msg_type for m in t.out[1:]] == ["1"]  # the TestRequest is the traffic
    clock.mono = 113.0
    s.on_message(msg(clock, "0", 2, (112, "TEST1")), clock.mono)
    assert s.next_deadline() == 122.0  # answered: regular Heartbeats again
    clock.mono = 124.0
    s.on_timer(clock.mono)
    assert s.is_logged_on and t.out[-1].msg_type == "0"


def test_logout_timer(tmp_path: Path) -> None:
    s, t, clock, app = make(tmp_path)
    s.on_message(msg(clock, "A", 1, (98, 0), (108, 30)), clock.mono)
    s.logout("bye")
    assert s.state is SessionState.LOGOUT_SENT and t.out[-1].get(58) == b"bye"
    assert s.next_deadline() == 102.0
    clock.mono = 102.0
    s.on_timer(clock.mono)
    assert t.closed and app.logouts == [(s, True)]


def test_first_message_not_logon(tmp_path: Path) -> None:
    s, t, clock, app = make(tmp_path)
    s.on_message(msg(clock, "0", 1), clock.mono)
    assert t.closed and t.out == [] and app.logouts == []


def test_sending_time_is_read_when_the_loop_clock_moves(tmp_path: Path) -> None:
    """Reports sent in one loop pass share one wall-clock reading (uvloop's clock moves
    once per pass); the next pass reads it again."""
    s, t, clock, _ = make(tmp_path)
    s.on_message(msg(clock, "A", 1, (98, 0), (108, 30)), clock.mono)
    wall = [T0_US]
    s._wall_clock_us = lambda: wall[0]
    s.send("8", b"58=a\x01")
    wall[0] += 7_000  # 7 ms of work in the same pass: the loop clock stands still
    s.send("8", b"58=b\x01")
    clock.mono += 0.007
    s.send("8", b"58=c\x01")
    times = [m.get(52) for m in t.out[-3:]]
    assert times == [
        format_utc_timestamp(T0_US),
        format_utc_timestamp(T0_US),
        format_utc_timestamp(T0_US + 7_000),
    ]


def test_throttle_is_a_token_bucket_not_a_window_that_restarts_each_second(
    tmp_path: Path,
) -> None:
    """A burst at the end of one second and another at the start of the next is twice
    the rate: the bucket refuses the second (a fixed window would accept both)."""
    s, t, clock, app = make(tmp_path, SessionSettings(target_comp_id=CLIENT, max_msgs_per_s=2))
    s.on_message(msg(clock, "A", 1, (98, 0), (108, 30)), clock.mono)
    order = (
        (11, "X"),
        (55, "BTC-USD"),
        (54, 1),
        (38, 1),
        (40, 2),
        (44, 1),
        (60, "20240615-08:30:15"),
    )
    seq = 2
    for clock.mono in (100.9, 100.9, 101.05, 101.05, 101.6):
        s.on_message(msg(clock, "D", seq, *order), clock.mono)
        seq += 1
    assert len(app.messages) == 3  # two of the burst, then one token refilled by 101.6
    rejects = [m for m in t.out if m.msg_type == "j"]
    assert [m.get(58) for m in rejects] == [b"Throttle limit exceeded"] * 2
