"""The sessions view's rates (views.SessionRates): messages per second from two samples
of the edges' counters, a window of at least window_s apart."""

from __future__ import annotations

from gateway.admin.console.views import SessionRates

FIX = ("fix", "GATEWAY->CLIENT1")
WS = ("ws", "('127.0.0.1', 50000)")


def test_rates_are_the_counters_difference_over_the_window() -> None:
    now = [10.0]
    rates = SessionRates(window_s=1.0, clock=lambda: now[0])
    assert rates.rates({FIX: (5, 7)}) == {}  # one sample: no rate yet
    now[0] = 10.5
    assert rates.rates({FIX: (50, 70)}) == {}  # within the window: the same samples
    now[0] = 12.0
    assert rates.rates({FIX: (25, 11), WS: (4, 6)}) == {FIX: (10.0, 2.0), WS: (2.0, 3.0)}
    now[0] = 12.5
    assert rates.rates({FIX: (99, 99)}) == {FIX: (10.0, 2.0), WS: (2.0, 3.0)}  # kept
    now[0] = 13.0
    # FIX logged on again (its counters restarted); WS has gone
    assert rates.rates({FIX: (3, 2)}) == {FIX: (3.0, 2.0)}
