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

The CPython ones are firmware/wrapping.py's arithmetic at a board's
period; that module (laptop only: a board has its own) also gives tests
and the simulator a virtual clock at any period.
"""

try:
    from time import ticks_add, ticks_diff, ticks_ms, ticks_us
except ImportError:  # CPython: a board's period, from the monotonic clock
    # Named at run time: an import statement would put this laptop-only
    # module's name into every board's name table (firmware.main.load_module).
    # Four lookups, not one module global: that global's name would be
    # interned as well.
    from firmware.main import load_module

    ticks_add = load_module("firmware.wrapping").ticks_add
    ticks_diff = load_module("firmware.wrapping").ticks_diff
    ticks_ms = load_module("firmware.wrapping").ticks_ms
    ticks_us = load_module("firmware.wrapping").ticks_us
