"""The open-file limit: raised to the hard limit at start, with a warning when even that
is below what the configured connection caps may use.

Every connection is a file descriptor. A soft limit of 1024 (a common default) is used up
by about a thousand idle connections, and then FIX logons, WebSocket connects and
``/health`` all fail at accept.
"""

from __future__ import annotations

import resource
from pathlib import Path

import structlog

from gateway.config import Config

__all__ = ["RESERVED_DESCRIPTORS", "needed_descriptors", "raise_fd_limit"]

log = structlog.get_logger("gateway.fdlimit")

#: Descriptors besides connections: journal, snapshots, listeners, stdio, a forked child.
RESERVED_DESCRIPTORS = 256
#: Per FIX session: its store's files.
_PER_FIX_SESSION = 4


def needed_descriptors(config: Config) -> int:
    """What the gateway may open with every connection cap reached (a cap of 0 counts 0)."""
    caps = config.fix.max_connections + config.ws.max_connections + config.http.max_connections
    if config.admin.listen:
        caps += config.admin.max_connections
    return caps + RESERVED_DESCRIPTORS + _PER_FIX_SESSION * len(config.fix.sessions)


def _ceiling(hard: int) -> int:
    """The highest soft limit the kernel takes: the hard limit, or fs.nr_open if unlimited."""
    if hard != resource.RLIM_INFINITY:
        return hard
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return 1 << 20


def raise_fd_limit(needed: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit to its ceiling; warn if it stays below ``needed``.
    Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _ceiling(hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("fd_limit.raise_failed", soft=soft, hard=hard, error=str(exc))
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            "fd_limit.low",
            soft=soft,
            hard=hard,
            needed=needed,
            hint="raise the hard limit (ulimit -Hn, systemd LimitNOFILE) or lower the "
            "max_connections caps",
        )
    return soft
