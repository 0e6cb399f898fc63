"""Journal pruning that keeps what a live journal follower still needs.

After a snapshot the gateway deletes the snapshots but the ``keep`` newest and the
segments before the older kept one: recovery needs no more. A follower behind that
point would lose the records it reads next. So the gateway keeps, on top, the newest
snapshot at or before the follower's stored position (it restores that one on a
restart) and the segments after it, as long as those extra files fit in
``max_bytes``. Beyond that the follower is given up (a dead one must not fill the
disk): everything is pruned as without a follower, and the caller logs it.

Runs in the snapshot child (gateway/snapshots.py), never on the event loop.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from engine.journal import segment_files, snapshot_files

__all__ = ["Retention", "prune_journal"]


@dataclass(frozen=True, slots=True)
class Retention:
    """Keep the journal from follower_seq on, if that costs at most max_bytes more."""

    follower_seq: int
    max_bytes: int


def prune_journal(directory: Path, keep: int, retention: Retention | None) -> bool:
    """Delete the files neither recovery nor the follower needs. False when the
    follower's files were over the cap and deleted too (it will stop with JournalGap)."""
    snaps = snapshot_files(directory)
    if not snaps:
        return True
    oldest_kept = snaps[-keep:][0][0]
    segments = segment_files(directory)
    old_snaps = [path for _, path in snaps[:-keep]]
    old_segments = [
        path for i, (_, path) in enumerate(segments[:-1]) if segments[i + 1][0] <= oldest_kept + 1
    ]
    extra: set[Path] = set()
    kept_all = True
    if retention is not None:
        extra = _needed(retention, snaps, segments, oldest_kept) & {*old_snaps, *old_segments}
        if _size(extra) > retention.max_bytes:
            extra, kept_all = set(), False
    for path in [*old_snaps, *old_segments]:
        if path not in extra:
            path.unlink(missing_ok=True)
    return kept_all


def _needed(
    retention: Retention,
    snaps: list[tuple[int, Path]],
    segments: list[tuple[int, Path]],
    oldest_kept: int,
) -> set[Path]:
    """The snapshot and segments the follower at follower_seq reads from (restart
    included): from the newest snapshot at or before it, or from seq 1 if none is."""
    seq = retention.follower_seq
    if seq >= oldest_kept:
        return set()
    below = [(s, path) for s, path in snaps if s <= seq]
    if below:
        base, snapshot = below[-1]
        needed = {snapshot}
    else:
        from_start = bool(segments) and segments[0][0] == 1
        base, needed = (0 if from_start else seq), set()
    for i, (_, path) in enumerate(segments):
        following = segments[i + 1][0] if i + 1 < len(segments) else None
        if following is None or following > base + 1:
            needed.add(path)
    return needed


def _size(paths: set[Path]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total
