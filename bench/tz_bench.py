"""Cost of Zone.offset(): what the controller pays once a minute.

Two cases, on CPython and on the MicroPython unix port:
- "per minute": consecutive minutes of a week, as the clock asks; the cached
  window answers (two comparisons).
- "cold": instants scattered over two centuries, so every call recomputes
  its window (four years of transitions): the worst case, paid in practice
  only when a transition is crossed.
Each figure is the median, over repeated runs, of the mean time per call,
in nanoseconds. Run it with `python -m bench.tz_bench`.
"""

import random

from firmware.tz import Zone
from tests.peers import MicroPython, micropython_binary

TZ = "CET-1CEST,M3.5.0,M10.5.0/3"
START = 1774742400  # 2026-03-29 00:00 UTC: the week crosses a DST change
RUNS = 9


def instants():
    minutes = [START + 60 * i for i in range(7 * 24 * 60)]
    pick = random.Random(1)
    scattered = [pick.randrange(-2208988800, 4102444800) for _ in range(2000)]
    return minutes, scattered


# Runs unchanged on both interpreters: ticks_us where there is one.
TIMER = """
import json, sys
try:
    from time import ticks_us, ticks_diff
except ImportError:
    from time import perf_counter_ns
    def ticks_us():
        return perf_counter_ns() // 1000
    def ticks_diff(a, b):
        return a - b
from firmware.tz import Zone

def per_call_us(tz, instants, runs, fresh):
    means = []
    for _ in range(runs):
        zone = Zone(tz)
        began = ticks_us()
        if fresh:
            # A new Zone per call defeats the cache; its construction is
            # timed separately and subtracted.
            for t in instants:
                Zone(tz).offset(t)
        else:
            for t in instants:
                zone.offset(t)
        means.append(ticks_diff(ticks_us(), began) / len(instants))
    means.sort()
    return means[len(means) // 2]

def construct_us(tz, count, runs):
    means = []
    for _ in range(runs):
        began = ticks_us()
        for _ in range(count):
            Zone(tz)
        means.append(ticks_diff(ticks_us(), began) / count)
    means.sort()
    return means[len(means) // 2]

def measure(tz, minutes, scattered, runs):
    warm = per_call_us(tz, minutes, runs, False)
    cold = per_call_us(tz, scattered, runs, True) - construct_us(tz, len(scattered), runs)
    return [warm, cold]
"""


def measure_cpython(minutes, scattered):
    namespace = {}
    exec(TIMER, namespace)
    return namespace["measure"](TZ, minutes, scattered, RUNS)


def measure_micropython(minutes, scattered):
    binary = micropython_binary()
    if binary is None:
        return None
    code = TIMER + "\nargs = json.loads(sys.stdin.read())\nprint(json.dumps(measure(*args)))\n"
    return MicroPython(binary).call_json(code, [TZ, minutes, scattered, RUNS], timeout=300)


def rows():
    minutes, scattered = instants()
    out = []
    for runtime, measure in (("cpython", measure_cpython), ("micropython", measure_micropython)):
        result = measure(minutes, scattered)
        if result is None:
            out.append(("tz offset() per call", runtime, "missing", "micropython binary not found"))
            continue
        warm, cold = result
        # Nanoseconds: the cached call is well under a microsecond, which
        # the table's one decimal would show as 0.0 us.
        out.append(("tz offset() per call, once a minute (cached)", runtime, 1000.0 * warm, "ns median"))
        out.append(("tz offset() per call, cold (window recomputed)", runtime, 1000.0 * cold, "ns median"))
    return out


if __name__ == "__main__":
    for row in rows():
        print(row)
