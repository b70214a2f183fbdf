"""hardware/motor.py: one pin at a time, pulse_ms long, ended by poll, across
the ticks wrap; the same traces under the MicroPython unix port, and no
allocation there in pulse() and poll()."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hardware.motor as motor_module
from firmware.wrapping import PERIOD, Wrapping
from hardware.motor import Motor

# The motor driven by a list of ops in virtual time, as a program that runs
# the same way on both runtimes. Every pin change is logged with its time.
TRACE = """
from firmware.wrapping import Wrapping
from hardware.motor import Motor


class TracePin:
    def __init__(self, name, clock, log):
        self.name = name
        self.clock = clock
        self.log = log

    def value(self, v):
        self.log.append([self.clock.now, self.name, v])


def trace(ops, pulse_ms, start):
    clock = Wrapping(1 << 30, start)
    log = []
    m = Motor(TracePin("A", clock, log), TracePin("B", clock, log), pulse_ms=pulse_ms,
              ticks_ms=clock.ticks_ms, ticks_diff=clock.ticks_diff, ticks_add=clock.ticks_add)
    del log[:]  # the initial "both low"
    answers = []
    for op, arg in ops:
        if op == "pulse":
            m.pulse(arg)
        elif op == "wait":
            clock.advance(arg)
        else:
            got = m.poll(clock.ticks_ms())
            answers.append(None if got is None else clock.ticks_diff(got, clock.ticks_ms()))
    return [log, answers, m.pulses, m.cut]
"""
MP_TRACE = TRACE + """
import json, sys
cases = json.loads(sys.stdin.read())
print(json.dumps([trace(ops, pulse_ms, start) for ops, pulse_ms, start in cases]))
"""
_ns = {}
exec(TRACE, _ns)
trace = _ns["trace"]

NEAR_WRAP = PERIOD - 40  # the pulse straddles the 2**30 wrap

ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("pulse"), st.integers(0, 1)),
        st.tuples(st.just("wait"), st.integers(0, 80)),
        st.tuples(st.just("poll"), st.just(0)),
    ),
    max_size=60,
)


def check_trace(ops, pulse_ms, log):
    """The invariants, from the pin log alone."""
    level = {"A": 0, "B": 0}
    high_since = {}
    for i, (t, name, v) in enumerate(log):
        other = "B" if name == "A" else "A"
        if v:
            assert level[other] == 0, "both pins high at %d" % t
            high_since[name] = t
        elif level[name]:
            # A pulse ends by poll no sooner than pulse_ms, or early only
            # because a new pulse was asked for at that very moment.
            if t - high_since[name] < pulse_ms:
                nxt = log[i + 1 : i + 2]
                assert nxt and nxt[0][0] == t and nxt[0][2] == 1, "pulse cut short at %d" % t
        level[name] = v
    return level


@settings(max_examples=300, deadline=None)
@given(ops_strategy, st.integers(1, 60), st.sampled_from([0, NEAR_WRAP, PERIOD - 1, 12345]))
@example([("pulse", 0), ("wait", 30), ("poll", 0), ("wait", 1), ("poll", 0)], 31, NEAR_WRAP)
@example([("pulse", 0), ("pulse", 1), ("wait", 31), ("poll", 0)], 31, PERIOD - 1)
def test_one_pin_at_a_time_and_pulse_ms_long(ops, pulse_ms, start):
    log, answers, pulses, cut = trace(ops, pulse_ms, start)
    check_trace(ops, pulse_ms, log)
    # Replay with a model: which pin is high, and until when.
    now = start
    high = None  # (name, end)
    want_answers = []
    for op, arg in ops:
        if op == "pulse":
            high = ("B" if arg else "A", now + pulse_ms)
        elif op == "wait":
            now += arg
        else:
            if high is not None and now >= high[1]:
                high = None
            want_answers.append(None if high is None else high[1] - now)
    assert answers == want_answers
    assert pulses == sum(1 for op, _ in ops if op == "pulse")
    # The pin that is high at the end is the model's.
    level = {"A": 0, "B": 0}
    for _, name, v in log:
        level[name] = v
    assert level == {"A": int(high is not None and high[0] == "A"), "B": int(high is not None and high[0] == "B")}


def test_polarity_zero_drives_a_and_one_drives_b():
    log, answers, _, _ = trace([("pulse", 0), ("wait", 31), ("poll", 0), ("pulse", 1), ("wait", 31), ("poll", 0)], 31, NEAR_WRAP)
    assert [(name, v) for _, name, v in log] == [("A", 1), ("A", 0), ("B", 1), ("B", 0)]
    assert [t - NEAR_WRAP for t, _, _ in log] == [0, 31, 31, 62]


def test_a_pulse_during_a_pulse_ends_the_running_one_first():
    log, _, pulses, cut = trace([("pulse", 0), ("wait", 10), ("pulse", 1)], 31, 0)
    assert [(t, name, v) for t, name, v in log] == [(0, "A", 1), (10, "A", 0), (10, "B", 1)]
    assert (pulses, cut) == (2, 1)


def test_pins_start_low_and_stop_lowers_them():
    log = []

    class Pin:
        def __init__(self, name):
            self.name = name

        def value(self, v):
            log.append((self.name, v))

    m = Motor(Pin("A"), Pin("B"))
    assert log == [("A", 0), ("B", 0)]
    m.pulse(1)
    m.stop()
    assert log[2:] == [("B", 1), ("B", 0)]  # A was low: no call
    assert not m.busy


def test_on_off_pins_and_pwm_pins():
    log = []

    class OnOff:
        def on(self):
            log.append("on")

        def off(self):
            log.append("off")

    class Pwm:
        def duty_u16(self, d):
            log.append(d)

    clock = Wrapping(PERIOD, 0)
    m = Motor(OnOff(), Pwm(), pulse_ms=31, duty_u16=30000, ticks_ms=clock.ticks_ms)
    del log[:]
    m.pulse(0)
    clock.advance(31)
    m.poll(clock.ticks_ms())
    m.pulse(1)
    clock.advance(31)
    m.poll(clock.ticks_ms())
    assert log == ["on", "off", 30000, 0]


def test_a_pin_without_a_known_method_is_refused():
    with pytest.raises(TypeError):
        Motor(object(), object())
    with pytest.raises(ValueError):
        Motor(Wrapping(), Wrapping(), pulse_ms=0)


class _Gc:
    def __init__(self):
        self.count = 0

    def collect(self):
        self.count += 1


@pytest.fixture
def fake_gc(monkeypatch):
    fake = _Gc()
    monkeypatch.setattr(motor_module, "gc", fake)
    return fake


class _Quiet:
    def value(self, v):
        pass


def test_idle_collects_only_in_a_long_quiet_gap(fake_gc):
    clock = Wrapping(PERIOD, NEAR_WRAP)
    m = Motor(_Quiet(), _Quiet(), ticks_ms=clock.ticks_ms, ticks_diff=clock.ticks_diff, ticks_add=clock.ticks_add)
    now = clock.ticks_ms()
    assert not m.idle(now, clock.ticks_add(now, 200))  # next pulse too near
    m.pulse(0)
    assert not m.idle(now, clock.ticks_add(now, 900))  # a pulse runs
    clock.advance(31)
    now = clock.ticks_ms()
    m.poll(now)
    assert m.idle(now, clock.ticks_add(now, 201))  # quiet, and 201 ms to go
    assert fake_gc.count == 1
    clock.advance(999)
    now = clock.ticks_ms()
    assert not m.idle(now, None)  # collected less than gc_every_ms ago
    clock.advance(1)
    now = clock.ticks_ms()
    assert m.idle(now, None)  # no pulse planned: a gap without end
    assert fake_gc.count == 2
    # So long ago that ticks wrapped past half a period: collects again.
    clock.advance(PERIOD // 2 + 5)
    assert m.idle(clock.ticks_ms(), None)
    assert fake_gc.count == 3


def test_idle_really_collects():
    m = Motor(_Quiet(), _Quiet())
    assert m.idle(0, None) is True
    assert m.collections == 1


@pytest.mark.peer
def test_the_same_traces_under_micropython(micropython):
    import random

    rng = random.Random(5)
    cases = []
    for _ in range(200):
        ops = []
        for _ in range(rng.randrange(40)):
            r = rng.random()
            if r < 0.3:
                ops.append(["pulse", rng.randrange(2)])
            elif r < 0.7:
                ops.append(["wait", rng.randrange(60)])
            else:
                ops.append(["poll", 0])
        cases.append([ops, rng.randrange(1, 50), rng.choice([0, NEAR_WRAP, PERIOD - 1])])
    got = micropython.call_json(MP_TRACE, cases)
    want = [trace([tuple(op) for op in ops], p, s) for ops, p, s in cases]
    assert got == [[[list(e) for e in log], a, n, c] for log, a, n, c in want]
    assert sum(len(log) for log, _, _, _ in want) > 300


ALLOC = """
import micropython
from firmware.ticks import ticks_ms
from hardware.motor import Motor

class Pin:
    def __init__(self):
        self.v = 0
    def value(self, v):
        self.v = v

m = Motor(Pin(), Pin(), pulse_ms=1)
m.pulse(0)
m.poll(ticks_ms())


def run():
    count = 0
    i = 0
    while i < 200:  # (a range object would allocate)
        m.pulse(i & 1)
        while m.poll(ticks_ms()) is not None:
            count += 1
        i += 1
    return count


count = 0  # a new global inside the lock would grow the module's dict
micropython.heap_lock()
try:
    count = run()
finally:
    micropython.heap_unlock()
print(m.pulses, m.a.pin.v, m.b.pin.v, count > 0)
"""


@pytest.mark.peer
def test_pulse_and_poll_allocate_nothing_on_micropython(micropython):
    # Under heap_lock any allocation raises MemoryError.
    assert micropython.run(ALLOC).split() == ["201", "0", "0", "True"]


def test_swap_trades_the_pins_roles():
    # Set-hands may learn that the coil's roles are swapped: polarity 0 then
    # drives pin B, and the controller's p % 2 still alternates for the rotor.
    a, b = FakePinForSwap(), FakePinForSwap()
    from hardware.motor import Motor

    m = Motor(a, b, pulse_ms=31, ticks_ms=lambda: 0)
    m.swap = 1
    m.pulse(0, now=0)
    assert b.level == 1 and a.level == 0
    m.poll(31)
    m.pulse(1, now=200)
    assert a.level == 1 and b.level == 0


class FakePinForSwap:
    def __init__(self):
        self.level = 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
