"""A throwaway PostgreSQL cluster from the distribution's binaries, for the store tests.

CI runs as root and PostgreSQL refuses to: the cluster then belongs to ``nobody``, in
a directory of its own, listening on a unix socket there only (no TCP port to clash
on). Without the binaries the tests skip, except under CI=true, where they fail: CI
must test both stores.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest import pg_cluster
from loadtest.pg_cluster import pg_bin

__all__ = ["PgCluster", "pg_bin_or_skip", "running_cluster"]


def pg_bin_or_skip() -> Path:
    """The PostgreSQL server binaries; skip (fail under CI) without them."""
    found = pg_bin()
    if found is None or not (found / "initdb").exists():
        reason = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + ": CI must run the PostgreSQL store tests")
        pytest.skip(reason)
    return found


class PgCluster(pg_cluster.PgCluster):
    """A cluster of the installed binaries; skips the test without them."""

    def __init__(self) -> None:
        super().__init__(pg_bin_or_skip())


@contextlib.contextmanager
def running_cluster() -> Iterator[PgCluster]:
    """A started cluster of its own, destroyed at the end (stopping it mid-test
    disturbs no other test)."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
