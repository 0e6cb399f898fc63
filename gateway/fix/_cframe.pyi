"""Type stub for the C extension built from _cframe.c by `make native`."""

from collections.abc import Mapping

def frame(
    buf: bytearray, pos: int, max_body_length: int, data_tags: Mapping[int, int], /
) -> tuple[list[bytes], bytes, dict[int, bytes], tuple[int, ...], int] | None: ...
def encode(
    begin: bytes,
    comp: bytes,
    msg_type: bytes,
    seq: int,
    sending_time: bytes,
    extra: bytes,
    body: bytes,
    /,
) -> bytes: ...
