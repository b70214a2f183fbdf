"""Monotonic ticks with MicroPython's semantics, on both runtimes.

    from firmware.ticks import ticks_ms, ticks_us, ticks_add, ticks_diff

On MicroPython these are `time`'s own functions. On CPython they are
equivalents that behave as a board's do (extmod/modtime.c):

- ticks wrap at PERIOD = 2**30, like every 32-bit board (12.4 days of ms),
  so firmware run on CPython meets the wrap as a board would (the unix
  port wraps at 2**62);
- `ticks_diff(end, start)` is the signed distance in [-2**29, 2**29);
- `ticks_add(ticks, delta)` raises OverflowError("ticks interval overflow")
  unless -2**29 < delta < 2**29, as MicroPython does (checked against the
  unix port in tests/test_ticks.py), so that both
  ticks_diff(ticks_add(t, d), t) == d and ticks_diff(t, ticks_add(t, d)) == -d
  hold for every delta it accepts.

`Wrapping(period=PERIOD, now=0)` is the same arithmetic for any power-of-two
period, with a virtual clock, for tests and the simulator to inject:

    w = Wrapping()                          # a board's period, 2**30
    TimeBase(w.ticks_diff, w.ticks_add)     # injected where the core wants them
    w.wrap(count)                           # an unwrapped ms count as ticks
    w.advance(ms); w.ticks_ms()             # virtual time: `now` unwraps it
"""

import time

PERIOD = 1 << 30  # a board's ticks period; a long int on a board: not per pulse


class Wrapping:
    """MicroPython's ticks arithmetic at an explicit `period` (a power of two),
    plus a virtual clock: `now` is an unwrapped ms count that `ticks_ms()`
    reads wrapped, moved by `advance(ms)` or by assigning it."""

    def __init__(self, period=PERIOD, now=0):
        if period < 4 or period & (period - 1):
            raise ValueError("ticks period must be a power of two >= 4")
        self.period = period
        self.mask = period - 1
        self.half = period >> 1
        self.now = now

    def wrap(self, count):
        """An unwrapped count as ticks: 0 <= result < period."""
        return count & self.mask

    def ticks_ms(self):
        return self.now & self.mask

    def advance(self, ms):
        self.now += ms
        return self.now & self.mask

    def ticks_add(self, ticks, delta):
        # MicroPython refuses a delta that ticks_diff could not give back.
        if not -self.half < delta < self.half:
            raise OverflowError("ticks interval overflow")
        return (ticks + delta) & self.mask

    def ticks_diff(self, end, start):
        return ((end - start + self.half) & self.mask) - self.half


try:
    from time import ticks_add, ticks_diff, ticks_ms, ticks_us
except ImportError:  # CPython: a board's period, from the monotonic clock
    _board = Wrapping()
    ticks_add = _board.ticks_add
    ticks_diff = _board.ticks_diff

    def ticks_ms():
        return (time.monotonic_ns() // 1000000) & _board.mask

    def ticks_us():
        return (time.monotonic_ns() // 1000) & _board.mask
