"""The open-file limit is raised to the hard limit at start, with a warning when low."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from gateway.fdlimit import _ceiling, raise_fd_limit
from tests.conftest import MakeGateway


@pytest.fixture
def low_soft_limit() -> Iterator[int]:
    """The soft limit lowered to 256 for the test (restored after); the ceiling."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = _ceiling(hard)
    if ceiling <= 256:
        pytest.skip("hard limit too low to lower the soft one")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    yield ceiling
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_gateway_start_raises_the_soft_limit(
    make_gateway: MakeGateway, low_soft_limit: int
) -> None:
    await make_gateway()
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == low_soft_limit


def test_a_limit_below_the_caps_is_a_warning(low_soft_limit: int) -> None:
    with capture_logs() as logs:
        assert raise_fd_limit(needed=low_soft_limit + 1) == low_soft_limit
    assert [e["event"] for e in logs] == ["fd_limit.low"]
    with capture_logs() as logs:
        raise_fd_limit(needed=low_soft_limit)
    assert logs == []
