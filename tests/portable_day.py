"""A virtual day for the real controller, in plain Python that runs unchanged
on CPython and on the MicroPython unix port (no bisect, no dataclasses, no
f-strings, no floats).

The pieces are the firmware's own: TimeBase + Zone + Wall + a store +
Controller. Around them: a virtual oscillator whose ticks run `ppm` off true
time and wrap at 2**30 as a board's do (starting `origin` ticks, by default a
few minutes before the wrap), an SNTP sample every `poll_ms` with
deterministic noise from `modes.Rng`, timed button presses, and a motor that
reports every pulse. Time jumps from event to event.

`run_day(out, ...)` calls `out(line)` with one text line per event:

    P true_ms ticks polarity p_before state     a pulse starts
    S true_ms result                            an SNTP sample was folded in
    B true_ms kind mode                         a button event, and the mode after it
    E pulses p state mode                       the end

so two runtimes can be compared line by line. Under MicroPython:

    micropython -c "from tests.portable_day import main; main()" < params.json
"""

import modes
from firmware.controller import Controller
from firmware.memstore import MemoryStore
from firmware.timebase import TimeBase
from firmware.tz import Zone
from firmware.wall import HALF_DAY_S, Wall

PERIOD = 1 << 30  # a board's ticks_ms wraps here; a heap int on a board
HALF = 1 << 29
MASK = PERIOD - 1  # the largest small int on a 32-bit board
PPM = 1000000

START_MS = 1774699200000  # 2026-03-28T12:00:00Z; CET->CEST at 2026-03-29T01:00Z
DAY_MS = 86400000


# A board's time.ticks_diff/ticks_add in Python (the 64-bit port's own wrap
# at 2**62, not 2**30). The controller calls them on every pulse, and the
# heap_lock tests run them on the 32-bit port too, so they must allocate
# nothing there: for ticks in [0, 2**30) and |d| < 2**29 (what
# time.ticks_add accepts) every operand and intermediate is a small int, in
# [-2**30, 2**30). The obvious ((a - b + HALF) % PERIOD) - HALF and
# (t + d) % PERIOD allocated on every call: PERIOD = 2**30 is a heap int
# there, and an operation on a heap int makes one even when the result is
# small; a - b + HALF reaches 1.5 * 2**30. Adding HALF modulo 2**30 is xor
# with HALF (the carry leaves the 30 bits), so: mask, then xor. The results
# are those formulas' for any ints (tests/test_controller_alloc.py checks
# both claims).


def ticks_diff(a, b):
    return (((a - b) & MASK) ^ HALF) - HALF


def ticks_add(t, d):
    return ((t - HALF + d) & MASK) ^ HALF


class Oscillator:
    """The board's ticks_ms as a function of true UTC ms."""

    def __init__(self, boot_ms, origin, ppm):
        self.boot_ms = boot_ms
        self.origin = origin
        self.ppm = ppm

    def ticks(self, true_ms):
        return (self.origin + (true_ms - self.boot_ms) * (PPM + self.ppm) // PPM) % PERIOD

    def true_at(self, ticks, true_now):
        """The first true ms, not before `true_now`, at which ticks reach `ticks`."""
        d = ticks_diff(ticks, self.ticks(true_now))
        if d <= 0:
            return true_now
        t = true_now - ((-d * PPM) // (PPM + self.ppm))  # ceil(d / (1 + ppm))
        while ticks_diff(ticks, self.ticks(t)) > 0:
            t += 1
        while t - 1 > true_now and ticks_diff(ticks, self.ticks(t - 1)) <= 0:
            t -= 1
        return t


class Motor:
    """Reports each pulse with the true time, the ticks and the position it
    starts from (the controller counts p on only after the pulse began)."""

    def __init__(self, day):
        self.day = day

    def pulse(self, polarity):
        day = self.day
        ctl = day.ctl
        day.out("P %d %d %d %d %d" % (day.true_ms, day.now_ticks, polarity, ctl.p, ctl.state))
        day.pulses += 1


class Day:
    def __init__(
        self,
        out,
        start_ms=START_MS,
        tz="CET-1CEST,M3.5.0,M10.5.0/3",
        mode="vetinari",
        seed=7,
        ppm=-23,
        origin=PERIOD - 5 * 60000,
        poll_ms=64000,
        noise_ms=3,
        delay_ms=20,
        min_gap_ms=125,
        store=None,
    ):
        self.out = out
        self.true_ms = start_ms
        self.osc = Oscillator(start_ms, origin, ppm)
        self.now_ticks = self.osc.ticks(start_ms)
        self.zone = Zone(tz)
        self.poll_ms = poll_ms
        self.noise_ms = noise_ms
        self.delay_ms = delay_ms
        self.noise = modes.Rng(seed + 1000)
        self.pulses = 0
        local_s = start_ms // 1000 + self.zone.offset(start_ms // 1000)
        self.timebase = TimeBase(ticks_diff, ticks_add)
        self.store = store if store is not None else MemoryStore()
        self.ctl = None
        self.ctl = Controller(
            Wall(self.timebase, self.zone),
            Motor(self),
            self.store,
            ticks_diff,
            ticks_add,
            mode=mode,
            min_gap_ms=min_gap_ms,
            seed=seed,
            hands=local_s % HALF_DAY_S,
        )
        self.wake = self.ctl.start(self.now_ticks)
        self.next_poll = start_ms  # ask NTP at once

    def _at(self, true_ms):
        self.true_ms = true_ms
        self.now_ticks = self.osc.ticks(true_ms)
        return self.now_ticks

    def sync(self):
        half = self.delay_ms // 2
        noise = self.noise.below(2 * self.noise_ms + 1) - self.noise_ms
        sample_ticks = self.osc.ticks(self.true_ms + half)
        result = self.timebase.add_sample(sample_ticks, self.true_ms + half + noise, self.delay_ms)
        self.out("S %d %s" % (self.true_ms, result))
        self.next_poll = self.true_ms + self.poll_ms
        if result == "first" or result == "step":
            self.wake = self.ctl.resync(self.now_ticks)

    def button(self, kind):
        ctl = self.ctl
        now = self.now_ticks
        if kind == "press":
            self.wake = ctl.press(now)
        elif kind == "long_press":
            self.wake = ctl.long_press(now)
        else:
            self.wake = ctl.double_press(now)
        self.out("B %d %s %s" % (self.true_ms, kind, ctl.mode.name))

    def run_until(self, end_ms, events=()):
        """Advance to `end_ms` (inclusive); `events`: (true ms, kind) in order."""
        i = 0
        while True:
            t = self.osc.true_at(self.wake, self.true_ms)
            if self.next_poll < t:
                t = self.next_poll
            if i < len(events) and events[i][0] < t:
                t = events[i][0]
            if t > end_ms:
                self._at(end_ms)
                return
            if t < self.true_ms:
                t = self.true_ms
            self._at(t)
            if i < len(events) and events[i][0] <= t:
                self.button(events[i][1])
                i += 1
            elif t >= self.next_poll:
                self.sync()
            else:
                self.wake = self.ctl.run(self.now_ticks)

    def finish(self):
        ctl = self.ctl
        self.out("E %d %d %d %s" % (self.pulses, ctl.p, ctl.state, ctl.mode.name))


# Button events of the standard day, as (ms after the start, kind): a press
# on a boundary's far side, one mid-minute, one during the DST race (01:00Z is
# 13 h after the start), a harmless double press, and one near a boundary.
PRESSES = (
    (3600000 + 1234, "press"),
    (5 * 3600000 + 17 * 60000 + 13500, "press"),
    (13 * 3600000 + 100000, "press"),
    (17 * 3600000 + 5, "double_press"),
    (20 * 3600000 + 59900, "press"),
    (22 * 3600000 + 30 * 60000 + 7, "press"),
)


def run_day(out, hours=24, presses=PRESSES, **kw):
    """The standard virtual day; returns the Day for inspection."""
    day = Day(out, **kw)
    start = day.true_ms
    events = []
    for at, kind in presses:
        events.append((start + at, kind))
    day.run_until(start + hours * 3600000, events)
    day.finish()
    return day


def main():
    """Under either runtime: JSON keyword arguments on stdin, lines on stdout."""
    import json
    import sys

    kw = json.loads(sys.stdin.read() or "{}")
    if "presses" in kw:
        kw["presses"] = [tuple(e) for e in kw["presses"]]
    run_day(print, **kw)


# -- the per-pulse path's allocations (MicroPython only) ---------------------


class CountingMotor:
    """A motor that records without allocating: counts, and checks that the
    polarity alternates."""

    def __init__(self):
        self.n = 0
        self.last = -1
        self.repeats = 0

    def pulse(self, polarity):
        if polarity == self.last:
            self.repeats += 1
        self.last = polarity
        self.n += 1


def _run_locked(ctl, now):
    # Any allocation inside raises MemoryError while the heap is locked.
    import micropython

    micropython.heap_lock()
    try:
        wake = ctl.run(now)
    except MemoryError:
        micropython.heap_unlock()
        return -1
    micropython.heap_unlock()
    return wake


def pulse_path(store_kind="memory", directory="/tmp", lock=True, minutes=18, press_every=3):
    """Drive a controller in RUN through `minutes` minutes in virtual time
    (ticks wrap at 2**30 ninety seconds in), the modes changed by a press
    every `press_every` minutes. Every run() call that fires a pulse other
    than a minute's last (whose re-plan may allocate) runs with the heap
    locked (`lock`), or else with gc.mem_alloc() read around it.

    Returns a dict: locked calls, failed (MemoryError) calls with their
    state, per-pulse and re-plan byte counts (when measuring), and the
    counts that show the run did what it should."""
    import gc

    from firmware.controller import RUN
    from firmware.store import FileStore

    store = FileStore(directory) if store_kind == "file" else MemoryStore()
    tb = TimeBase(ticks_diff, ticks_add)
    now = PERIOD - 90000
    utc0 = START_MS + 20250
    tb.add_sample(now, utc0, 20)
    zone = Zone("CET-1CEST,M3.5.0,M10.5.0/3")
    motor = CountingMotor()
    local_s = utc0 // 1000 + zone.offset(utc0 // 1000)
    ctl = Controller(Wall(tb, zone), motor, store, ticks_diff, ticks_add, mode="vetinari", hands=local_s % HALF_DAY_S)
    wake = ctl.start(now)
    locked = 0
    failed = []
    per_pulse = []
    replan = []
    replan_modes = []
    states = []
    done_minutes = 0
    gc.collect()
    while done_minutes < minutes:
        now = wake
        due = ctl.due
        pulse_call = ctl.state == RUN and due is not None and ticks_diff(now, due) >= 0
        last_of_minute = pulse_call and ctl.index + 1 >= len(ctl.plan)
        if pulse_call and not last_of_minute and lock:
            w = _run_locked(ctl, now)
            if w == -1:
                failed.append([ctl.index, len(ctl.plan), ctl.mode.name])
                return {"failed": failed, "locked": locked}
            wake = w
            locked += 1
            continue
        gc.disable()
        before = gc.mem_alloc()
        wake = ctl.run(now)
        used = gc.mem_alloc() - before
        gc.enable()
        if pulse_call and not last_of_minute:
            per_pulse.append(used)
        elif last_of_minute:
            replan.append(used)
            replan_modes.append(ctl.mode.name)
            done_minutes += 1
            states.append(ctl.state)
            if done_minutes % press_every == 0:
                wake = ctl.press(now)
            gc.collect()
    loaded = store.load()
    return {
        "failed": failed,
        "locked": locked,
        "per_pulse": per_pulse,
        "replan": replan,
        "replan_modes": replan_modes,
        "states": states,
        "pulses": ctl.pulses,
        "motor": motor.n,
        "repeats": motor.repeats,
        "p": ctl.p,
        "loaded": loaded[0] if loaded else None,
        "mode": ctl.mode.name,
    }


def pulse_path_main():
    import json
    import sys

    print(json.dumps(pulse_path(**json.loads(sys.stdin.read() or "{}"))))
