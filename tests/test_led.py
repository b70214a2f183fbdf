"""hardware/led.py: each controller state has its own pattern (off while
running), the mode blinks n times and the pattern resumes, active-low LEDs,
the ticks wrap; the same pin trace under the MicroPython unix port."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware.controller as controller
from firmware.wrapping import PERIOD
from firmware.states import STATE_NAMES
from hardware.led import Led
from hardware.led import _BLINK_MS as BLINK_MS
from hardware.led import _BLINK_PAUSE_MS as BLINK_PAUSE_MS
from hardware.led import _PATTERNS as PATTERNS
from hardware.led import _PROBLEM as PROBLEM

# The LED driven by ops in virtual time, polled every `step` ms; the pin's
# changes are logged with their times. The same on both runtimes.
TRACE = """
from firmware.wrapping import Wrapping
from hardware.led import Led


class TracePin:
    def __init__(self, clock, log):
        self.clock = clock
        self.log = log

    def value(self, v):
        self.log.append([self.clock.now, v])


def trace(ops, start, step, active_low):
    clock = Wrapping(1 << 30, start)
    log = []
    led = Led(TracePin(clock, log), active_low=active_low, ticks_diff=clock.ticks_diff, ticks_add=clock.ticks_add)
    wakes = 0
    for op, arg in ops:
        if op == "show":
            led.show(arg)
        elif op == "blink":
            led.blink(arg)
        elif op == "problem":
            led.problem(clock.ticks_ms(), arg)
        else:
            end = clock.now + arg
            while clock.now < end:
                wake = led.poll(clock.ticks_ms())
                if wake is not None:
                    # The wake it answers is never in the past.
                    assert clock.ticks_diff(wake, clock.ticks_ms()) > 0
                    wakes += 1
                clock.advance(step)
    return [log, wakes]
"""
MP_TRACE = TRACE + """
import json, sys
print(json.dumps([trace(*case) for case in json.loads(sys.stdin.read())]))
"""
_ns = {}
exec(TRACE, _ns)
trace = _ns["trace"]

NEAR_WRAP = PERIOD - 3000


def lit_intervals(log, active_low=False):
    """[(on_at, off_at)] from the pin log (the first entry is the initial off)."""
    on = 0 if active_low else 1
    out = []
    since = None
    for t, v in log:
        if v == on and since is None:
            since = t
        elif v != on and since is not None:
            out.append((since, t))
            since = None
    return out


def durations(log, start=0):
    """The on and off durations in turn, from the first lighting on."""
    iv = lit_intervals(log)
    out = []
    for i, (a, b) in enumerate(iv):
        out.append(b - a)
        if i + 1 < len(iv):
            out.append(iv[i + 1][0] - b)
    return out


def test_every_controller_state_has_a_pattern():
    assert len(PATTERNS) == len(STATE_NAMES)
    assert max(getattr(controller, n) for n in ("NO_TIME", "RUN", "RACE", "WAIT", "SET_RUN", "SET_HOLD")) == len(PATTERNS) - 1


@pytest.mark.parametrize("state", [0, 1, 2, 3, 4, 5])
def test_each_state_plays_its_pattern(state):
    log, _ = trace([["show", state], ["run", 10000]], NEAR_WRAP, 1, False)
    pattern = PATTERNS[state]
    got = durations(log)
    if not pattern:
        assert lit_intervals(log) == []
        return
    want = [pattern[i % len(pattern)] for i in range(len(got))]
    assert got == want
    assert len(got) >= 4
    assert log[1][0] == NEAR_WRAP  # shown at once, on the first poll


def test_running_normally_is_dark_and_the_patterns_are_distinct():
    assert PATTERNS[controller.RUN] == ()
    signatures = {}
    for state in (controller.NO_TIME, controller.RACE, controller.WAIT, controller.SET_RUN):
        log, _ = trace([["show", state], ["run", 8000]], 0, 1, False)
        signatures[state] = tuple(durations(log)[:4])
    assert len(set(signatures.values())) == 4
    # Set-hands is a double flash: two short flashes close together.
    on1, off1, on2, off2 = signatures[controller.SET_RUN]
    assert on1 == on2 < off1 < off2
    # "No time yet" is slow, "catching up" fast.
    assert sum(signatures[controller.NO_TIME][:2]) > 4 * sum(signatures[controller.RACE][:2])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.sampled_from([0, 1, 2, 3, 4]), st.integers(1, 20), st.sampled_from([0, NEAR_WRAP]))
def test_blink_n_then_the_pattern_resumes(n, state, step, start):
    log, _ = trace([["show", state], ["run", 3000], ["blink", n], ["run", 12000]], start, step, False)
    # The blinks start at the first poll after blink(): find them by time.
    t0 = start + ((3000 + step - 1) // step) * step
    iv = [(a, b) for a, b in lit_intervals(log) if a >= t0]
    blinks = iv[:n]
    assert len(blinks) == n

    def at(event, scheduled):
        # Pin changes happen at polls: at the schedule or less than a step late.
        return scheduled <= event < scheduled + step

    for i, (a, b) in enumerate(blinks):
        assert at(a, t0 + 2 * BLINK_MS * i)
        assert at(b, t0 + 2 * BLINK_MS * i + BLINK_MS)
    # Then the state's pattern, from its start, after the pause.
    resume = t0 + 2 * BLINK_MS * n + BLINK_PAUSE_MS
    rest = iv[n:]
    pattern = PATTERNS[state]
    if not pattern:
        assert rest == []
        return
    assert at(rest[0][0], resume)
    assert at(rest[0][1], resume + pattern[0])
    if len(pattern) > 1:
        assert at(rest[1][0], resume + pattern[0] + pattern[1])  # no drift
    # A pin lit at blink() time (mid-pattern) goes dark at once, not later.
    assert all(b <= t0 or a >= t0 for a, b in lit_intervals(log))


def test_the_same_state_again_does_not_restart_the_pattern():
    plain, _ = trace([["show", 0], ["run", 6000]], 0, 5, False)
    again, _ = trace([["show", 0], ["run", 700], ["show", 0], ["run", 1300], ["show", 0], ["run", 4000]], 0, 5, False)
    assert again == plain
    # Another state does restart it, at once.
    other, _ = trace([["show", 0], ["run", 700], ["show", 2], ["run", 1000]], 0, 5, False)
    assert [700, 1] in other


def test_a_state_change_during_the_blinks_waits_for_them():
    log, _ = trace([["blink", 2], ["run", 100], ["show", 2], ["run", 3000]], 0, 1, False)
    iv = lit_intervals(log)
    assert iv[:2] == [(0, 250), (500, 750)]
    resume = 2 * 2 * BLINK_MS + BLINK_PAUSE_MS
    assert iv[2] == (resume, resume + PATTERNS[2][0])


def test_active_low_inverts_the_pin():
    log, _ = trace([["show", 2], ["run", 1000]], 0, 1, True)
    assert log[0] == [0, 1]  # dark at construction: the pin high
    assert lit_intervals(log, active_low=True)[:2] == [(0, 100), (200, 300)]


def test_steady_states_ask_for_no_wake():
    _, wakes = trace([["show", 1], ["run", 5000]], 0, 10, False)
    assert wakes == 0
    _, wakes = trace([["show", 2], ["run", 5000]], 0, 10, False)
    assert wakes > 0


def test_a_late_loop_resynchronises():
    # Polled after 10 s of silence, the pattern restarts from now, rather
    # than replaying 100 missed phases.
    class Pin:
        def __init__(self):
            self.changes = 0

        def value(self, v):
            self.changes += 1

    pin = Pin()
    led = Led(pin)
    led.show(2)
    led.poll(0)
    changes = pin.changes
    wake = led.poll(10000)
    assert pin.changes - changes <= 1
    assert wake == 10000 + PATTERNS[2][1]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([0, 1, 2, 3, 4]), st.integers(1, 20), st.sampled_from([0, NEAR_WRAP]))
def test_a_config_problem_shows_then_the_state_takes_over(state, step, start):
    # Shown whatever the state (RUN would be dark), until its time is up;
    # a state change meanwhile does not end it.
    log, _ = trace([["show", state], ["problem", 6000], ["run", 3000], ["show", (state + 1) % 5], ["run", 9000]], start, step, False)
    got = durations([entry for entry in log if entry[0] < start + 6000])[:-1]  # the last is cut short
    want = [PROBLEM[i % len(PROBLEM)] for i in range(len(got))]
    assert all(abs(g - w) <= step for g, w in zip(got, want)), (got, want)
    assert len(got) >= 10
    after = [(a, b) for a, b in lit_intervals(log) if a >= start + 6000 + sum(PROBLEM)]
    pattern = PATTERNS[(state + 1) % 5]
    if not pattern:
        assert after == []
    else:
        assert after and all(abs((b - a) - pattern[0]) <= step for a, b in after)


@pytest.mark.peer
def test_the_same_trace_under_micropython(micropython):
    cases = [
        [[["show", s], ["run", 5000], ["blink", n], ["run", 6000], ["show", (s + 2) % 6], ["run", 4000]], start, step, low]
        for s, n, start, step, low in [
            (0, 3, 0, 1, False),
            (2, 1, NEAR_WRAP, 7, True),
            (3, 6, PERIOD - 1, 20, False),
            (4, 2, 12345, 3, False),
            (1, 4, NEAR_WRAP, 10, True),
        ]
    ]
    cases.append([[["show", 1], ["problem", 4000], ["run", 2000], ["blink", 2], ["run", 6000]], NEAR_WRAP, 5, False])
    got = micropython.call_json(MP_TRACE, cases)
    want = [trace(*case) for case in cases]
    assert got == [[[list(e) for e in log], w] for log, w in want]
    assert sum(len(log) for log, _ in want) > 100


ALLOC = """
import micropython
from hardware.led import Led

class Pin:
    def value(self, v):
        pass

led = Led(Pin())
led.show(4)
led.blink(3)
led.problem(0, 9000)  # made before the lock: the end is one ticks value
lit = [0]


def run():
    t = 0
    n = 0
    while t < 20000:
        led.poll(t)
        n += led.lit
        t += 10
    return n


micropython.heap_lock()
try:
    lit[0] = run()
finally:
    micropython.heap_unlock()
print(lit[0] > 0)
"""


@pytest.mark.peer
def test_poll_allocates_nothing_on_micropython(micropython):
    assert micropython.run(ALLOC).split() == ["True"]
