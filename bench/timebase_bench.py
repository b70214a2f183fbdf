"""Time base: holdover through a day without NTP, and the cost of a call.

Virtual time: a device whose ticks run 40 ppm fast or slow (exact integer
arithmetic, wrapping at 2**30 as on a board) learns from SNTP samples every
64..1024 s (uniformly drawn) with +-3 ms of uniform noise, for N hours; then
NTP goes silent for 24 h. The error is |shown UTC - true UTC| at the end of
that day, the median (and worst) over 11 noise seeds. The numbers are the
same on MicroPython (integer arithmetic; tests/test_timebase.py checks the
two runtimes agree exactly), so they are computed once, on CPython. "Uncorrected" is
the same day on the raw oscillator: what a time base that only sets the
phase would show.

    .venv/bin/python -m bench timebase_bench
    .venv/bin/python bench/timebase_bench.py
"""

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from firmware.timebase import TimeBase  # noqa: E402

PERIOD = 2**30
HALF = 2**29
HOUR = 3600000
DAY = 24 * HOUR
T0 = 1780000000000
SEEDS = range(1, 12)


def ticks_diff(a, b):
    return ((a - b + HALF) % PERIOD) - HALF


def ticks_add(t, d):
    return (t + d) % PERIOD


def holdover_error(ppb, seed, learn_h, poll=(64, 1024), noise_ms=3):
    """|error| in ms after learn_h hours of samples and then 24 h without."""
    rnd = random.Random(seed)
    start = PERIOD - HOUR  # the ticks wrap during learning

    def ticks(tau):
        return (start + tau * (10**9 + ppb) // 10**9) % PERIOD

    tb = TimeBase(ticks_diff, ticks_add)
    tau = 0
    while tau < learn_h * HOUR:
        tb.add_sample(ticks(tau), T0 + tau + rnd.randint(-noise_ms, noise_ms), 20 + rnd.randint(0, 5))
        tau += rnd.randint(*poll) * 1000
    end = tau + DAY
    for t in range(tau, end + 1, HOUR):  # the controller reads the clock
        tb.utc_ms(ticks(t))
    return abs(tb.utc_ms(ticks(end)) - (T0 + end))


def uncorrected_error(ppb):
    """The raw oscillator's error over one day."""
    tau0 = 5 * HOUR
    a = (tau0 * (10**9 + ppb)) // 10**9
    b = ((tau0 + DAY) * (10**9 + ppb)) // 10**9
    return abs((b - a) - DAY)


CALLS = """
import time
from firmware.timebase import TimeBase
P = 1 << 30
H = 1 << 29
def diff(a, b):
    return ((a - b + H) % P) - H
def add(t, d):
    return (t + d) % P
try:
    clock = time.perf_counter_ns
except AttributeError:
    clock = time.time_ns
tb = TimeBase(diff, add)
T0 = 1780000000000
tick = P - 3600000
t = 0
n = 400
t0 = clock()
for i in range(n):
    tb.add_sample((tick + t + t // 25000) % P, T0 + t + (i * 7) % 5 - 2, 20)
    t += 300000
sample_ns = (clock() - t0) // n
t0 = clock()
for i in range(n):
    tb.utc_ms((tick + t + i * 60000) % P)
utc_ns = (clock() - t0) // n
t0 = clock()
for i in range(n):
    tb.ticks_at(T0 + t + i * 60000, (tick + t) % P)
at_ns = (clock() - t0) // n
print(sample_ns, utc_ns, at_ns)
"""


def call_costs():
    rows = []
    runtimes = [("cpython", [sys.executable])]
    mp = Path(sys.executable).parent / "micropython"
    if mp.exists():
        runtimes.append(("micropython", [str(mp)]))
    for name, argv in runtimes:
        env = {"PYTHONPATH": str(ROOT), "MICROPYPATH": str(ROOT) + ":.frozen"}
        samples = []
        for _ in range(5):
            out = subprocess.run(argv + ["-c", CALLS], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
            samples.append([int(x) for x in out.stdout.split()])
        for i, what in enumerate(("add_sample (24-bin fit)", "utc_ms", "ticks_at")):
            rows.append(("timebase: one %s call" % what, name, statistics.median(s[i] for s in samples), "ns"))
    return rows


def rows():
    out = []
    for learn_h in (3, 6):
        for ppm in (40, -40):
            errors = [holdover_error(ppm * 1000, seed, learn_h) for seed in SEEDS]
            out.append(
                (
                    "holdover 24 h, %+d ppm, after %d h learning: median" % (ppm, learn_h),
                    "cpython",
                    statistics.median(errors),
                    "ms",
                )
            )
            out.append(
                (
                    "holdover 24 h, %+d ppm, after %d h learning: max/%d" % (ppm, learn_h, len(SEEDS)),
                    "cpython",
                    max(errors),
                    "ms",
                )
            )
    for ppm in (40, -40):
        errors = [holdover_error(ppm * 1000, seed, 3, poll=(1024, 1024)) for seed in SEEDS]
        out.append(
            ("holdover 24 h, %+d ppm, 3 h at 1024 s polls: median" % ppm, "cpython", statistics.median(errors), "ms")
        )
    for ppm in (40, -40):
        out.append(("uncorrected 24 h, %+d ppm (raw oscillator)" % ppm, "cpython", uncorrected_error(ppm * 1000), "ms"))
    out.extend(call_costs())
    return out


if __name__ == "__main__":
    for row in rows():
        print("%-52s %-12s %10s  %s" % row)
