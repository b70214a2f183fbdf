"""MicroPython's ticks arithmetic at any power-of-two period, with a virtual
clock: for tests and the simulator to inject, and under firmware/ticks.py
on CPython. Laptop only (tools/deploy.py, HOST_ONLY): a board has its own
ticks functions, and this would only take its RAM.

    w = Wrapping()                          # a board's period, 2**30
    TimeBase(w.ticks_diff, w.ticks_add)     # injected where the core wants them
    w.wrap(count)                           # an unwrapped ms count as ticks
    w.advance(ms); w.ticks_ms()             # virtual time: `now` unwraps it

and, at module level, firmware/ticks.py's four functions for CPython: a
board's period over the monotonic clock.
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


_board = Wrapping()
ticks_add = _board.ticks_add
ticks_diff = _board.ticks_diff


def ticks_ms():
    return (time.monotonic_ns() // 1000000) & _board.mask


def ticks_us():
    return (time.monotonic_ns() // 1000) & _board.mask
