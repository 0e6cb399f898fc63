"""Type stub for the C extension built from _cwsscan.c by `make native`."""

from array import array

def scan(
    buf: bytes | bytearray,
    pos: int,
    last_seq: int,
    now_us: int,
    counts: array[int],
    lats: bytearray,
    /,
) -> tuple[int, int]: ...
