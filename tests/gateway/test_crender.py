"""The C ExecutionReport renderer (`_crender.c`, native build) against the Python one.

``er_body(..., accelerate=False)`` is the reference. Whatever the C renderer returns
must be exactly the reference's bytes; where a number leaves its exact integer range
(huge values, grids finer than 1e-18, an average price that is not a whole number of
asset units) it must step aside, and er_body then gives the reference's answer. For
ordinary orders it must not step aside. Runs on the native build only.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Instrument, OrderStatus, OrdType, Side, TimeInForce
from gateway.fix import translate
from gateway.fix.translate import OrderState, er_body
from gateway.orders import OrderView

_crender = pytest.importorskip("gateway.fix._crender", reason="C renderer: native build only")

BASE = Instrument.from_decimals("BTC-USD", "BTC", "USD", "0.01", "0.0001")
TS_US = 1_763_928_000_123_456


@dataclasses.dataclass
class Case:
    inst: Instrument
    view: OrderView
    state: OrderState
    exec_type: bytes
    fix42: bool
    ts_us: int
    options: dict[str, object]


def _instrument(tick: tuple[int, int], lot: tuple[int, int]) -> Instrument:
    # the symbol names the grids: er_body caches grids per symbol
    return dataclasses.replace(
        BASE,
        symbol=f"T{tick[0]}E{tick[1]}L{lot[0]}E{lot[1]}",
        tick_size=Decimal(tick[0]).scaleb(-tick[1]),
        lot_size=Decimal(lot[0]).scaleb(-lot[1]),
    )


@st.composite
def cases(
    draw: st.DrawFn,
    ints: st.SearchStrategy[int],
    scales: st.SearchStrategy[int],
    texts: st.SearchStrategy[str],
    exact_avg: bool,
    mants: st.SearchStrategy[int],
    timestamps: st.SearchStrategy[int],
) -> Case:
    inst = _instrument((draw(mants), draw(scales)), (draw(mants), draw(scales)))
    ord_type = draw(st.sampled_from([OrdType.LIMIT, OrdType.MARKET]))
    view = OrderView(
        draw(ints),
        draw(st.sampled_from(["ACC1", "ACC-é"])),
        inst.symbol,
        draw(texts),
        draw(st.sampled_from([Side.BUY, Side.SELL])),
        ord_type,
        draw(st.sampled_from(list(TimeInForce))),
        draw(ints),
        draw(ints),
        draw(st.sampled_from([0, 0, 12345])),
        post_only=draw(st.booleans()),
    )
    filled = draw(st.one_of(st.just(0), ints))
    if exact_avg and filled:
        # notional of a whole number of asset units per lot step: AvgPx is exact
        lot_step = inst.lot_size
        avg = draw(st.integers(0, 10**9))
        notional = int(Decimal(avg) * lot_step * filled)
        if Decimal(notional) != Decimal(avg) * lot_step * filled or notional >= 2**63:
            notional = 0
            filled = 0
    else:
        notional = draw(ints)
    state = OrderState(
        draw(st.sampled_from(list(OrderStatus))),
        draw(ints),
        draw(ints),
        draw(ints),
        filled,
        notional,
    )
    options: dict[str, object] = {
        "clordid": draw(st.one_of(st.just(""), texts)),
        "orig_clordid": draw(st.one_of(st.just(""), texts)),
        "last_qty": draw(st.one_of(st.just(0), ints)),
        "last_px": draw(ints),
        "commission": draw(ints),
        "liquidity": draw(st.sampled_from([0, 1, 2])),
        "text": draw(st.one_of(st.just(""), texts)),
    }
    return Case(
        inst,
        view,
        state,
        draw(st.sampled_from([b"0", b"F", b"4", b"5", b"C", b"8"])),
        draw(st.booleans()),
        draw(timestamps),
        options,
    )


def _render(case: Case, accelerate: bool, exec_id: str = "17-0-1") -> bytes:
    return er_body(
        case.view,
        case.state,
        case.inst,
        exec_id,
        case.exec_type,
        case.ts_us,
        case.fix42,
        accelerate=accelerate,
        **case.options,  # type: ignore[arg-type]
    )


WIDE = cases(
    ints=st.one_of(
        st.integers(0, 10**7),
        st.integers(-(10**12), 10**12),
        st.integers(-(2**80), 2**80),
        st.sampled_from([2**63 - 1, 2**63, -(2**63), 10**20, 10**20 - 1]),
    ),
    scales=st.integers(0, 22),
    texts=st.text(max_size=20),
    exact_avg=False,
    mants=st.sampled_from([1, 1, 2, 5, 25, 3, 7, 1000, 123456789, 10**12]),
    # time.gmtime takes years 1 to beyond 10**4; C writes 1970 to 9999
    timestamps=st.one_of(
        st.integers(-62_135_596_800_000_000, 253_402_300_799_999_999),
        st.integers(253_402_300_800_000_000, 10**18),
        st.sampled_from(
            [-1, 0, 253_402_300_799_999_999, 951_782_400_000_000, 4_107_456_000_000_000]
        ),
    ),
)

ORDINARY = cases(
    ints=st.integers(0, 10**9),
    scales=st.integers(0, 10),
    texts=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
    exact_avg=True,
    mants=st.sampled_from([1, 1, 1, 2, 5, 25, 3, 7, 1000, 123456789]),
    timestamps=st.integers(0, 253_402_300_799_999_999),
)


@settings(max_examples=1500, deadline=None)
@given(WIDE)
def test_c_renderer_equals_the_reference_or_steps_aside(case: Case) -> None:
    assert _render(case, accelerate=True) == _render(case, accelerate=False)


@settings(max_examples=500, deadline=None)
@given(ORDINARY)
def test_c_renderer_takes_every_ordinary_report(case: Case) -> None:
    taken: list[bytes | None] = []
    c_er_body = translate._crender_er_body
    assert c_er_body is not None

    def recording(*args: object) -> bytes | None:
        out = c_er_body(*args)  # type: ignore[arg-type]
        taken.append(out)
        return out

    translate._crender_er_body = recording  # type: ignore[assignment]
    try:
        fast = _render(case, accelerate=True)
    finally:
        translate._crender_er_body = c_er_body
    assert len(taken) == 1 and taken[0] is not None, "the C renderer stepped aside"
    assert fast == _render(case, accelerate=False)


def test_c_renderer_checks_its_arguments() -> None:
    grids = (1, 4, 1, 2, 1, 8)
    args: list[object] = [1, "c", "", "1-0", False, b"0", b"0", b"", True, grids]
    args += [1, 1, 0, 0, 1, 0, 0, TS_US, 0, 0, ""]
    assert _crender.er_body(*args) is not None
    with pytest.raises(TypeError):
        _crender.er_body(*args[:-1])
    for position, wrong in ((1, b"bytes"), (5, "str"), (9, (1, 2)), (10, "1"), (17, b"1")):
        bad = list(args)
        bad[position] = wrong
        with pytest.raises(TypeError):
            _crender.er_body(*bad)
