"""The benches' CPU reader tells the main thread's CPU (an asyncio server's event loop)
from its worker threads'."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from loadtest.proccpu import CpuSample, cpu_sample, proc_cpu_s

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _burn_until(done: threading.Event) -> None:
    while not done.is_set():
        sum(range(10_000))


def test_worker_thread_cpu_is_not_the_main_threads() -> None:
    before = cpu_sample(os.getpid())
    done = threading.Event()
    worker = threading.Thread(target=_burn_until, args=(done,))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while (cpu_sample(os.getpid()) - before).threads_s < 0.2:
            assert time.monotonic() < deadline, "the worker's CPU was never counted"
            time.sleep(0.01)
    finally:
        done.set()
        worker.join()
    spent = cpu_sample(os.getpid()) - before
    assert spent.main_s < spent.threads_s  # the main thread mostly slept
    assert spent.total_s == pytest.approx(spent.main_s + spent.threads_s)


def test_a_gone_process_costs_nothing() -> None:
    assert proc_cpu_s(2**22 + 1) == 0.0  # above any pid_max
    assert cpu_sample(2**22 + 1) == CpuSample()
