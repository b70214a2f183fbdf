"""The per-pulse path allocates nothing on MicroPython.

Under the unix port, `tests/portable_day.pulse_path` drives the real
controller in RUN through 18 minutes of every mode (ticks wrapping at 2**30)
and runs every `ctl.run(now)` that fires a pulse, except a minute's last one
(whose re-plan may allocate), inside `micropython.heap_lock()`: any
allocation there raises MemoryError. With a MemoryStore and a FileStore
(seek, write of a preallocated bytearray, flush).

The unix port is 64-bit: its small ints reach 2**62, so heap_lock cannot see
the heap ints a 32-bit board makes for values >= 2**30 (DESIGN.md section 3).
A CPython test covers that: every number the per-pulse path computes is an
int subclass whose arithmetic checks the result stays below 2**30.
"""

import pytest

import modes
from firmware.controller import RUN, Controller
from firmware.store import FileStore, MemoryStore
from firmware.timebase import TimeBase
from firmware.tz import Zone
from firmware.wall import HALF_DAY_S, Wall
from tests.portable_day import PERIOD, START_MS, CountingMotor

CODE = "from tests.portable_day import pulse_path_main; pulse_path_main()"


@pytest.mark.parametrize("store_kind", ["memory", "file"])
def test_per_pulse_run_allocates_nothing_under_heap_lock(micropython, tmp_path, store_kind):
    got = micropython.call_json(CODE, {"store_kind": store_kind, "directory": str(tmp_path), "lock": True})
    assert got["failed"] == [], "a per-pulse run() allocated: %r" % (got,)
    minutes = len(got["replan"])
    assert minutes == 18 and got["states"] == [RUN] * minutes
    # Every pulse but the 18 minute-ending ones ran with the heap locked.
    assert got["locked"] == got["pulses"] - minutes > 1000
    assert got["motor"] == got["pulses"] and got["repeats"] == 0
    assert got["loaded"] == got["p"]
    # The presses went round all the modes (6 presses, 6 modes).
    assert got["mode"] == "vetinari"
    if store_kind == "file":
        assert (tmp_path / "state" / "position.bin").stat().st_size == 8


def test_heap_lock_does_catch_an_allocation(micropython):
    # The harness itself is honest: a motor that appends to a list makes the
    # locked calls fail at once.
    code = """
import json
import tests.portable_day as d
Base = d.CountingMotor
class Listing(Base):
    def __init__(self):
        Base.__init__(self)
        self.log = []
    def pulse(self, polarity):
        self.log.append((polarity, self.n))
        Base.pulse(self, polarity)
d.CountingMotor = Listing
print(json.dumps(d.pulse_path(minutes=2)))
"""
    got = micropython.call_json(code, {})
    assert got["failed"] and got["locked"] == 0


def test_file_store_io_allocates_nothing(micropython, tmp_path):
    # The store's own I/O on the unix port, in isolation: seek, write of a
    # bytearray, flush, with the file already open.
    code = """
import micropython, sys
from firmware.store import FileStore
s = FileStore(sys.argv[1])
s.reset(43198)
def go():
    n = 0
    for p in (43199, 0, 1, 2, 3):
        micropython.heap_lock()
        try:
            s.save(p)
        except MemoryError:
            n += 1
        micropython.heap_unlock()
    return n
print(go(), s.load()[0])
"""
    failed, loaded = micropython.run(code, args=(str(tmp_path),)).split()
    assert (failed, loaded) == ("0", "3")


def test_measured_bytes_per_pulse_are_zero(micropython, tmp_path):
    # Without the lock, gc.mem_alloc() around each call: the per-pulse calls
    # show 0 bytes, the minute's re-plan shows the plan's (the bench reports
    # both). This also proves the measurement can see an allocation.
    got = micropython.call_json(CODE, {"store_kind": "file", "directory": str(tmp_path), "lock": False})
    assert len(got["per_pulse"]) > 1000
    assert set(got["per_pulse"]) == {0}
    assert min(got["replan"]) > 0


def test_first_pulse_after_a_reboot_allocates_nothing(micropython, tmp_path):
    # First boot writes the file; the second boot loads it and its first
    # pulse is the first save of that FileStore.
    first = micropython.call_json(CODE, {"store_kind": "file", "directory": str(tmp_path), "lock": True, "minutes": 2})
    assert first["failed"] == []
    second = micropython.call_json(CODE, {"store_kind": "file", "directory": str(tmp_path), "lock": True})
    assert second["failed"] == []


# -- no value >= 2**30 in the per-pulse path (CPython) -------------------------

LIMIT = 1 << 30
checking = False


class Small(int):
    """An int whose arithmetic, while `checking`, insists on a result that a
    32-bit MicroPython board holds as a small int: -2**30 <= r < 2**30."""

    def _ok(self, r):
        if checking and not -LIMIT <= r < LIMIT:
            raise OverflowError("per-pulse value %d does not fit a 31-bit small int" % r)
        return Small(r)


def _binary(name):
    op = getattr(int, name)

    def method(self, other):
        r = op(int(self), int(other)) if isinstance(other, int) else NotImplemented
        return r if r is NotImplemented else self._ok(r)

    return method


for _name in ("add", "sub", "mul", "floordiv", "mod", "lshift", "rshift", "and", "or", "xor"):
    setattr(Small, "__%s__" % _name, _binary("__%s__" % _name))
    setattr(Small, "__r%s__" % _name, _binary("__r%s__" % _name))
Small.__neg__ = lambda self: self._ok(-int(self))


def small_diff(a, b):
    # The board's ticks_diff/ticks_add are C; their results are small ints.
    return Small(((int(a) - int(b) + (1 << 29)) % PERIOD) - (1 << 29))


def small_add(t, d):
    return Small((int(t) + int(d)) % PERIOD)


def taint(ctl):
    for name in ("p", "index", "minute_start", "boundary", "target", "last_pulse", "due", "wake", "pulses"):
        value = getattr(ctl, name)
        if isinstance(value, int):
            setattr(ctl, name, Small(value))
    ctl.plan = [Small(t) for t in ctl.plan]


def test_small_int_checker_catches_a_big_value():
    global checking
    checking = True
    try:
        with pytest.raises(OverflowError):
            Small(43199) * 40503
        with pytest.raises(OverflowError):
            40503 * Small(43199)
        assert Small(43199) * 55 == 43199 * 55
    finally:
        checking = False


@pytest.mark.parametrize("store_kind", ["memory", "file"])
def test_per_pulse_values_fit_a_small_int(tmp_path, store_kind):
    global checking
    store = FileStore(str(tmp_path)) if store_kind == "file" else MemoryStore()
    tb = TimeBase(small_diff, small_add)
    now = PERIOD - 90000
    utc0 = START_MS + (10 * 3600 + 59 * 60 + 20) * 1000 + 250  # 23:59:20 CET: p crosses 43199 -> 0
    tb.add_sample(now, utc0, 20)
    zone = Zone("CET-1CEST,M3.5.0,M10.5.0/3")
    local_s = utc0 // 1000 + zone.offset(utc0 // 1000)
    ctl = Controller(Wall(tb, zone), CountingMotor(), store, small_diff, small_add, hands=local_s % HALF_DAY_S)
    wake = ctl.start(Small(now))
    checked = 0
    p_start = ctl.p
    for minute in range(len(modes.NAMES) * 2):
        taint(ctl)
        while True:
            last = ctl.index + 1 >= len(ctl.plan)
            if not last:
                checking = True
            try:
                wake = ctl.run(wake)
            finally:
                checking = False
            if last:
                break
            checked += 1
        assert ctl.state == RUN
        if minute % 2:
            ctl.press(wake)
    # Through 43199 -> 0 (that pulse is a :00 one; 43199 itself is saved
    # by the per-pulse path).
    assert checked > 600 and p_start > 43100 and ctl.p < 1000
    if store_kind == "file":
        store.close()
        assert FileStore(str(tmp_path)).load()[0] == ctl.p
