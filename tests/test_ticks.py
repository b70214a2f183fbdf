"""firmware/ticks.py: MicroPython's ticks arithmetic on both runtimes.

The edge cases are those of MicroPython's own tests/extmod/ticks_diff.py and
ticks_add.py, pinned for a board's 2**30 period; the real thing (the unix
port's time.ticks_add/ticks_diff, period 2**62 on the 64-bit port, 2**30 on
the 32-bit one) is the reference for `Wrapping` at that period, and
`Wrapping(2**30)` gives the same answers under the unix port as here."""

import json
import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from firmware import ticks, wrapping
from firmware.wrapping import Wrapping

P = 2**30  # a board's period
H = 2**29
PERIODS = [4, 2**16, 2**30, 2**62]


# --- the module's own functions on CPython: a board's period -----------------


def test_cpython_ticks_wrap_like_a_board():
    add, diff = ticks.ticks_add, ticks.ticks_diff
    MAX = add(0, -1)
    assert MAX == P - 1 == wrapping.PERIOD - 1
    half = MAX // 2 + 1
    # MicroPython's tests/extmod/ticks_diff.py
    assert diff(1, 0) == 1 and diff(0, 1) == -1
    assert diff(0, MAX) == 1 and diff(MAX, 0) == -1
    assert diff(0, MAX - 1) == 2
    assert diff(half, 1) == half - 1
    assert diff(half, 0) == -half
    assert diff(half + 100, 1 + 100) == half - 1
    assert diff(half + 100, 0 + 100) == -half
    assert diff(half - 100, add(1, -100)) == half - 1
    assert diff(half - 100, add(0, -100)) == -half
    # MicroPython's tests/extmod/ticks_add.py
    assert add(20, 12) == 32 and add(20, -12) == 8
    assert add(MAX, 1) == 0 and add(0, -H + 1) == H + 1
    for bad in (H, -H, P, -P, 2**64, -(2**64)):
        with pytest.raises(OverflowError, match="ticks interval overflow"):
            add(0, bad)


def test_cpython_ticks_ms_and_us():
    for now in (ticks.ticks_ms, ticks.ticks_us):
        a = now()
        time.sleep(0.002)
        b = now()
        assert 0 <= a < P and 0 <= b < P
        assert 0 < ticks.ticks_diff(b, a) < (200 if now is ticks.ticks_ms else 200_000)


# --- Wrapping: any power-of-two period ---------------------------------------


def edges(period):
    half = period // 2
    return [0, 1, half - 1, half, half + 1, period - 2, period - 1]


@given(st.integers(0, P - 1), st.integers(-H + 1, H - 1))
@example(P - 1, 1)  # across the wrap, forwards
@example(0, -1)  # and backwards
@example(P - 1, H - 1)  # the longest step forward, from the last tick
@example(0, -H + 1)  # the longest step back, from the first
@example(H, H - 1)
@example(H - 1, -H + 1)
@example(H, 0)
def test_board_period_round_trips(t, d):
    for add, diff in ((ticks.ticks_add, ticks.ticks_diff), (Wrapping().ticks_add, Wrapping().ticks_diff)):
        u = add(t, d)
        assert u == (t + d) % P
        assert diff(u, t) == d
        assert diff(t, u) == -d


@given(st.sampled_from(PERIODS), st.data())
def test_wrapping_round_trips(period, data):
    w = Wrapping(period)
    half = period // 2
    t = data.draw(st.one_of(st.sampled_from(edges(period)), st.integers(0, period - 1)))
    d = data.draw(st.one_of(st.sampled_from([-half + 1, -1, 0, 1, half - 1]), st.integers(-half + 1, half - 1)))
    u = w.ticks_add(t, d)
    assert 0 <= u < period
    assert u == (t + d) % period
    assert w.ticks_diff(u, t) == d
    assert w.ticks_diff(t, u) == -d


@given(st.sampled_from(PERIODS), st.integers(), st.integers())
@example(P, P - 1, 0)
@example(P, 0, P - 1)
@example(P, H, 0)
@example(P, 0, H)
@example(P, -1, 0)
def test_wrapping_diff_range(period, a, b):
    d = Wrapping(period).ticks_diff(a, b)
    assert -period // 2 <= d < period // 2
    assert (d - (a - b)) % period == 0


@pytest.mark.parametrize("period", PERIODS)
def test_wrapping_add_overflow_edges(period):
    w = Wrapping(period)
    half = period // 2
    assert w.ticks_add(0, half - 1) == half - 1
    assert w.ticks_add(0, -half + 1) == half + 1
    for bad in (half, -half, half + 1, -half - 1, period, 2**70):
        with pytest.raises(OverflowError, match="ticks interval overflow"):
            w.ticks_add(5, bad)
    with pytest.raises(TypeError):
        w.ticks_add(0, 1.5)


def test_wrapping_virtual_clock():
    w = Wrapping(now=P - 2)
    assert w.ticks_ms() == P - 2
    assert w.advance(3) == 1 == w.ticks_ms() == w.wrap(P + 1)
    assert w.ticks_diff(w.ticks_ms(), P - 2) == 3
    assert w.now == P + 1  # the unwrapped count stays for the test to read


@pytest.mark.parametrize("period", [0, 1, 2, 3, 6, 2**30 + 1])
def test_wrapping_refuses_bad_periods(period):
    with pytest.raises(ValueError):
        Wrapping(period)


# --- against the real thing: the MicroPython unix port -----------------------

MP_CASES = """
import sys, json, time
from firmware import ticks
from firmware.wrapping import Wrapping
def run(f, *a):
    try:
        return f(*a)
    except OverflowError as e:
        return "OverflowError: " + str(e)
cases = json.loads(sys.stdin.read())
native_period = time.ticks_add(0, -1) + 1
w30 = Wrapping(1 << 30)
wn = Wrapping(native_period)
out = {
    "period": native_period,
    "reexported": [ticks.ticks_add is time.ticks_add, ticks.ticks_diff is time.ticks_diff,
                   ticks.ticks_ms is time.ticks_ms, ticks.ticks_us is time.ticks_us],
    "w30": [[run(w30.ticks_add, t, d), run(w30.ticks_diff, t, d)] for t, d in cases["w30"]],
    "native": [[run(time.ticks_add, t, d), run(time.ticks_diff, t, d) if -native_period <= d < native_period else None]
               for t, d in cases["native"]],
    "wn": [[run(wn.ticks_add, t, d), run(wn.ticks_diff, t, d) if -native_period <= d < native_period else None]
           for t, d in cases["native"]],
}
print(json.dumps(out))
"""


def cases_for(period):
    half = period // 2
    deltas = [0, 1, -1, 2, -2, half - 1, -half + 1, half, -half, half + 1, -half - 1, period - 1, -period + 1]
    return [[t, d] for t in edges(period) for d in deltas]


def here(w, cases, diff_ok=lambda d: True):
    def run(f, *a):
        try:
            return f(*a)
        except OverflowError as e:
            return "OverflowError: " + str(e)

    return [[run(w.ticks_add, t, d), run(w.ticks_diff, t, d) if diff_ok(d) else None] for t, d in cases]


def test_same_as_micropython(micropython):
    # The port's own period (checked below): 2**62 on the 64-bit unix port,
    # 2**30 on the 32-bit one, as on a board (small ints are 31-bit there).
    native = 2**30 if micropython.bits == 32 else 2**62
    cases = {"w30": cases_for(P), "native": cases_for(native)}
    out = micropython.call_json(MP_CASES, cases)
    assert out["period"] == native
    assert out["reexported"] == [True] * 4
    # Wrapping(2**30) is the same arithmetic on both runtimes...
    assert out["w30"] == here(Wrapping(P), cases["w30"])
    # ...and Wrapping at the port's own period is MicroPython's ticks_add and
    # ticks_diff exactly (overflow and message included), there and here.
    assert out["native"] == out["wn"]
    assert out["native"] == here(Wrapping(native), cases["native"], lambda d: -native <= d < native)
    assert any(isinstance(a, str) for a, _ in out["native"])  # the overflow edge was hit


def test_cpython_functions_wrap_at_a_boards_period():
    # The module's own functions (what device code imports on CPython)
    # wrap at 2**30, as a board's ticks_ms does.
    assert wrapping.PERIOD == P == 2**30
    assert ticks.ticks_add(P - 1, 1) == 0
    assert ticks.ticks_add(0, -1) == P - 1
    assert ticks.ticks_diff(0, P - 1) == 1
    assert ticks.ticks_diff(P - 1, 0) == -1
    assert ticks.ticks_diff(P // 2 - 1, 0) == P // 2 - 1
    assert ticks.ticks_diff(P // 2, 0) == -(P // 2)
