"""Cost of planning one whole minute, per mode, on CPython and MicroPython."""

import statistics
import time

import modes
from tests.peers import MicroPython, micropython_binary

REPEATS = 301

MP_CODE = """
import gc, time, modes
for name in modes.NAMES:
    mode = modes.get(name)
    rng = modes.Rng(1)
    mode.plan(0, 0, rng, 125)
    times = []
    allocs = []
    for _ in range(%d):
        gc.collect()
        gc.disable()
        before = gc.mem_alloc()
        t0 = time.ticks_us()
        mode.plan(0, 0, rng, 125)
        t1 = time.ticks_us()
        allocs.append(gc.mem_alloc() - before)
        gc.enable()
        times.append(time.ticks_diff(t1, t0))
    times.sort()
    allocs.sort()
    print(name, times[len(times) // 2], allocs[len(allocs) // 2])
""" % REPEATS


def rows():
    out = []
    for name in modes.NAMES:
        mode = modes.get(name)
        rng = modes.Rng(1)
        samples = []
        for _ in range(REPEATS):
            t0 = time.perf_counter_ns()
            mode.plan(0, 0, rng, 125)
            samples.append((time.perf_counter_ns() - t0) / 1000)
        out.append(("plan one minute: %s" % name, "cpython", statistics.median(samples), "us median"))
    binary = micropython_binary()
    if binary is None:
        out.append(("plan one minute (MicroPython missing)", "micropython", "-", "skipped"))
        return out
    for line in MicroPython(binary).run(MP_CODE, timeout=600).split("\n"):
        if line.strip():
            name, us, alloc = line.split()
            out.append(("plan one minute: %s" % name, "micropython", float(us), "us median"))
            out.append(("plan one minute: %s" % name, "micropython", int(alloc), "bytes allocated, median"))
    return out
