"""hardware/button.py: random contact bounce and press durations give exactly
the intended events; a button held at boot gives none until released; the
same events under the MicroPython unix port; the pin wrapper."""

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from firmware.wrapping import PERIOD, Wrapping
from hardware.button import DOUBLE_PRESS, LONG_PRESS, PRESS, Button, FuncLevel, PinLevel

# The button fed a list of (ticks, level) polls, the same on both runtimes.
FEED = """
from firmware.wrapping import Wrapping
from hardware.button import Button


def feed(polls, kw):
    clock = Wrapping(1 << 30)
    b = Button(ticks_diff=clock.ticks_diff, **kw)
    out = []
    for t, level in polls:
        e = b.poll(t & clock.mask, level)
        if e is not None:
            out.append([t, e])
    return out
"""
# Compact on stdin (the unix port's heap is small): the start, the poll
# step and the levels as a string of 0s and 1s.
MP_FEED = FEED + """
import json, sys
out = []
for start, step, levels, kw in json.loads(sys.stdin.read()):
    polls = [(start + i * step, 1 if levels[i] == "1" else 0) for i in range(len(levels))]
    out.append(feed(polls, kw))
print(json.dumps(out))
"""
_ns = {}
exec(FEED, _ns)
feed = _ns["feed"]

DEBOUNCE, LONG, DOUBLE = Button.debounce_ms, Button.long_press_ms, Button.double_click_ms
# Each bounce burst lasts at most BOUNCE ms in all, every run in it shorter
# than the debounce; the button is polled every 5..MAX_STEP ms. An accepted
# edge then lies DEBOUNCE..EDGE_MAX ms after the contact first moved (the
# settled level is first seen up to a step late, and accepted up to a step
# after the debounce), so durations kept CLEAR of each threshold are
# unambiguous, and events come within a known window.
BOUNCE = 30
MAX_STEP = 20
EDGE_MAX = BOUNCE + DEBOUNCE + 2 * MAX_STEP
CLEAR = EDGE_MAX + MAX_STEP + 10
MIN_PHASE = EDGE_MAX + 10  # shortest hold or gap: a real press or release


def bounce_runs():
    return st.lists(st.integers(1, 10), max_size=6).filter(lambda runs: sum(runs) <= BOUNCE)


short_hold = st.integers(MIN_PHASE, LONG - CLEAR)
long_hold = st.integers(LONG + CLEAR, 3000)
quick_gap = st.integers(MIN_PHASE, DOUBLE - CLEAR)
slow_gap = st.integers(DOUBLE + CLEAR, 1500)

# Glitches: flips shorter than the debounce in the middle of a hold (a
# contact that drops out) or of a gap (noise on the line).
glitches = st.lists(st.integers(1, DEBOUNCE - 1), max_size=4)

press_strategy = st.tuples(
    st.one_of(short_hold, long_hold),
    st.one_of(quick_gap, slow_gap),
    bounce_runs(),  # at the press
    bounce_runs(),  # at the release
    glitches,  # while held
    glitches,  # while released, after
)


def timeline(boot_hold, presses, boot_bounce=()):
    """Segments (start, level) of the physical contact and the press times.

    A bounce burst starts at the edge: alternating runs of the new and the
    old level, then the new level for good."""
    segs = []
    marks = []  # (press start, release start) of each press
    t = 0

    def edge(at, level, runs):
        lv = level
        for r in runs:
            segs.append((at, lv))
            at += r
            lv ^= 1
        segs.append((at, level))

    if boot_hold:
        segs.append((0, 1))
        t = boot_hold
        edge(t, 0, boot_bounce)
    else:
        segs.append((0, 0))
    def glitch(start, length, level, lengths):
        # Each glitch DEBOUNCE after the last, clear of the phase's edges.
        at = start + EDGE_MAX
        for g in lengths:
            if at + g + DEBOUNCE > start + length:
                break
            segs.append((at, level ^ 1))
            segs.append((at + g, level))
            at += g + DEBOUNCE

    t += MIN_PHASE
    for press in presses:
        hold, gap, down_runs, up_runs = press[:4]
        held_glitches, gap_glitches = press[4:] if len(press) > 4 else ((), ())
        edge(t, 1, down_runs)
        glitch(t, hold, 1, held_glitches)
        marks.append((t, t + hold))
        t += hold
        edge(t, 0, up_runs)
        glitch(t, gap, 0, gap_glitches)
        t += gap
    return segs, marks, t + DOUBLE + CLEAR + 200


def sample(segs, end, start, steps):
    """Poll the contact from 0 to `end`, every steps[i % len] ms."""
    polls = []
    t = 0
    i = 0
    j = 0
    while t <= end:
        while j + 1 < len(segs) and segs[j + 1][0] <= t:
            j += 1
        polls.append((start + t, segs[j][1]))
        t += steps[i % len(steps)]
        i += 1
    return polls


def expected(presses):
    want = []
    i = 0
    while i < len(presses):
        hold, gap = presses[i][0], presses[i][1]
        if hold > LONG:
            want.append((LONG_PRESS, i))
            i += 1
        elif i + 1 < len(presses) and gap < DOUBLE:
            want.append((DOUBLE_PRESS, i + 1))  # fires on the second press
            i += 2
        else:
            want.append((PRESS, i))
            i += 1
    return want


NEAR_WRAP = PERIOD - 1500


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.just(0), st.integers(1, 4000)),
    bounce_runs(),
    st.lists(press_strategy, max_size=8),
    st.lists(st.integers(5, MAX_STEP), min_size=1, max_size=5),
    st.sampled_from([0, NEAR_WRAP, 777]),
)
@example(0, [], [(200, 200, [], [])], [10], NEAR_WRAP)  # a clean double... of one press: a single
@example(0, [], [(200, 200, [5, 5, 5], [3]), (200, 600, [], [])], [10], NEAR_WRAP)
@example(0, [], [(400, 1000, [], [], [40], [30, 49, 20, 45])], [5], 0)  # glitches: one press
@example(2500, [4, 4], [(1500, 600, [], [])], [20], 0)  # held at boot, then a long press
def test_bounce_and_durations_give_exactly_the_intended_events(boot_hold, boot_bounce, presses, steps, start):
    segs, marks, end = timeline(boot_hold, presses, boot_bounce)
    polls = sample(segs, end, start, steps)
    got = feed(polls, {})
    want = expected(presses)
    assert [e for _, e in got] == [e for e, _ in want]
    for (t, event), (_, i) in zip(got, want):
        t -= start
        down, up = marks[i]
        if event == LONG_PRESS:
            # On the threshold while still held, not on release.
            assert down + DEBOUNCE + LONG <= t < down + EDGE_MAX + LONG + MAX_STEP
            assert t < up
        elif event == DOUBLE_PRESS:
            assert down + DEBOUNCE <= t < down + EDGE_MAX  # at the second press
        else:
            # The single waits out the double-click window after release.
            assert up + DEBOUNCE + DOUBLE <= t < up + EDGE_MAX + DOUBLE + MAX_STEP


def test_held_at_boot_fires_nothing_until_released():
    # Held 5 s from power-up, with bounce at release: no long press, nothing.
    segs, _, end = timeline(5000, [], [3, 7, 2, 9])
    polls = sample(segs, end + 3000, 0, [10])
    assert feed(polls, {}) == []
    # Then it works as usual.
    segs, _, end = timeline(5000, [(200, 700, [2, 2], [5])])
    assert [e for _, e in feed(sample(segs, end, 0, [10]), {})] == [PRESS]


def test_never_released_never_fires():
    polls = [(t, 1) for t in range(0, 20000, 10)]
    assert feed(polls, {}) == []


def test_a_glitch_shorter_than_the_debounce_is_not_a_press():
    polls = [(t, 0) for t in range(0, 1000, 10)]
    polls += [(t, 1) for t in range(1000, 1040, 10)]  # 40 ms
    polls += [(t, 0) for t in range(1040, 3000, 10)]
    assert feed(polls, {}) == []
    polls[100:106] = [(t, 1) for t in range(1000, 1060, 10)]  # seen over 50 ms: a press
    assert [e for _, e in feed(polls, {})] == [PRESS]
    # Glitches far apart are each too short, however many there are.
    polls = [(t, 1 if t % 500 < 40 else 0) for t in range(0, 5000, 10)]
    assert feed(polls, {}) == []


def test_a_double_whose_second_press_is_held_is_not_also_a_long_press():
    segs, _, end = timeline(0, [(150, 150, [], []), (2500, 800, [], [])])
    assert [e for _, e in feed(sample(segs, end, 0, [10]), {})] == [DOUBLE_PRESS]


def test_timings_from_constructor_and_class_attributes():
    class Slow(Button):
        long_press_ms = 2000

    segs, _, end = timeline(0, [(1500, 800, [], [])])
    polls = sample(segs, end, 0, [10])
    assert [e for _, e in feed(polls, {})] == [LONG_PRESS]
    assert [e for _, e in feed(polls, {"long_press_ms": 2000})] == [PRESS]
    b = Slow()
    got = [b.poll(t, v) for t, v in polls]
    assert [e for e in got if e] == [PRESS]
    assert Button.long_press_ms == 1000
    # A wider double-click window turns two singles into a double.
    segs, _, end = timeline(0, [(150, 450, [], []), (150, 900, [], [])])
    polls = sample(segs, end, 0, [10])
    assert [e for _, e in feed(polls, {})] == [PRESS, PRESS]
    assert [e for _, e in feed(polls, {"double_click_ms": 600})] == [DOUBLE_PRESS]
    with pytest.raises(ValueError):
        Button(debounce_ms=0)
    with pytest.raises(ValueError):
        Button(debounce_ms=1000, long_press_ms=1000)


def test_pin_level_is_active_low_by_default():
    class Pin:
        v = 1

        def value(self):
            return self.v

    pin = Pin()
    level = PinLevel(pin)
    assert level.level() == 0  # pulled up: released
    pin.v = 0
    assert level.level() == 1  # to ground: pressed
    assert PinLevel(pin, active_low=False).level() == 0
    assert FuncLevel(lambda: True).level() == 1
    assert FuncLevel(lambda: 0).level() == 0


@pytest.mark.peer
def test_the_same_events_under_micropython(micropython):
    rng = random.Random(11)
    cases = []
    for _ in range(60):
        presses = []
        for _ in range(rng.randrange(6)):
            hold = rng.choice([rng.randrange(MIN_PHASE, 900), rng.randrange(1200, 2500)])
            gap = rng.choice([rng.randrange(MIN_PHASE, 300), rng.randrange(500, 1200)])
            runs = [rng.randrange(1, 6) for _ in range(rng.randrange(5))]
            presses.append((hold, gap, runs, runs[::-1]))
        segs, _, end = timeline(rng.choice([0, 1500]), presses, [2, 3])
        start = rng.choice([0, NEAR_WRAP])
        kw = rng.choice([{}, {"debounce_ms": 30, "double_click_ms": 300}])
        step = rng.randrange(5, MAX_STEP + 1)
        cases.append([start, step, sample(segs, end, start, [step]), kw])
    got = micropython.call_json(MP_FEED, [[c[0], c[1], "".join(str(v) for _, v in c[2]), c[3]] for c in cases])
    want = [feed(polls, kw) for _, _, polls, kw in cases]
    assert got == want
    assert sum(len(w) for w in want) > 60


ALLOC = """
import micropython
from hardware.button import Button

b = Button()
levels = bytes([0] * 10 + [1] * 30 + [0] * 60 + [1] * 150 + [0] * 10 + [1, 0] * 20 + [0] * 50)
events = [0]


def run():
    i = 0
    n = 0
    while i < len(levels):
        if b.poll(i * 10, levels[i]) is not None:
            n += 1
        i += 1
    return n


micropython.heap_lock()
try:
    events[0] = run()
finally:
    micropython.heap_unlock()
print(events[0])
"""


@pytest.mark.peer
def test_poll_allocates_nothing_on_micropython(micropython):
    # Polled every 10-20 ms for years: it must not feed the collector.
    assert micropython.run(ALLOC).split() == ["2"]  # a press and a long press
