"""Time base: holdover through a day without NTP, and the cost of a call.

Virtual time: a device whose ticks run 40 ppm fast or slow (exact integer
arithmetic, wrapping at 2**30 as on a board) learns from SNTP samples every
64..1024 s (uniformly drawn) with +-3 ms of uniform noise, for N hours; then
NTP goes silent for 24 h. The error is |shown UTC - true UTC| at the end of
that day, the median (and worst) over 11 noise seeds. The numbers are the
same on MicroPython (integer arithmetic; tests/test_timebase.py checks the
two runtimes agree exactly), so they are computed once, on CPython. "Uncorrected" is
the same day on the raw oscillator: what a time base that only sets the
phase would show. Then the reviewer's cases: one of four servers taken in
turn being a falseticker (STEPs, and the worst error read every minute
after the first hour), and a crystal going from 40 to 45 ppm at hour 12
with an 80 ms spike every ~40 samples and a day's outage from hour 48
(worst error at its end over the 11 seeds, and whether error_bound_ms
covered it).

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


def falseticker_steps(off_ms, seed=1, hours=24):
    """STEPs, and the worst |error| read every minute after the first
    hour, when one of four servers taken in turn is `off_ms` wrong."""
    rnd = random.Random(seed)
    start = PERIOD - HOUR

    def ticks(tau):
        return (start + tau * (10**9 + 40000) // 10**9) % PERIOD

    tb = TimeBase(ticks_diff, ticks_add)
    tau = 0
    i = 0
    steps = 0
    worst = 0
    while tau < hours * HOUR:
        off = off_ms if i % 4 == 3 else 0
        if tb.add_sample(ticks(tau), T0 + tau + off + rnd.randint(-3, 3), 20 + rnd.randint(0, 5)) == "step":
            steps += 1
        nxt = tau + rnd.randint(64, 1024) * 1000
        if tau > HOUR:
            for t in range(tau, nxt, 60000):
                worst = max(worst, abs(tb.utc_ms(ticks(t)) - (T0 + t)))
        tau = nxt
        i += 1
    return steps, worst


def drift_and_spikes(seed=1):
    """The crystal goes from 40 to 45 ppm at hour 12; every ~40 samples a
    reply is 80 ms off; NTP stops at hour 48 for a day. (|error|, bound)
    at the end of that day."""
    rnd = random.Random(seed)
    start = PERIOD - HOUR
    at = 12 * HOUR

    def ticks(tau):
        if tau <= at:
            return (start + tau * (10**9 + 40000) // 10**9) % PERIOD
        return (start + (at * (10**9 + 40000) + (tau - at) * (10**9 + 45000)) // 10**9) % PERIOD

    tb = TimeBase(ticks_diff, ticks_add)
    tau = 0
    while tau < 48 * HOUR:
        spike = 80 if rnd.randint(1, 40) == 1 else 0
        tb.add_sample(ticks(tau), T0 + tau + spike + rnd.randint(-3, 3), 20 + rnd.randint(0, 5))
        tau += rnd.randint(64, 1024) * 1000
    end = tau + DAY
    for t in range(tau, end + 1, HOUR):
        tb.utc_ms(ticks(t))
    return abs(tb.utc_ms(ticks(end)) - (T0 + end)), tb.error_bound_ms(ticks(end))


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
    for off in (1000, 300):
        steps, worst = falseticker_steps(off)
        out.append(("1 of 4 servers %d ms off, 24 h: STEPs" % off, "cpython", steps, ""))
        out.append(("1 of 4 servers %d ms off, 24 h: worst error" % off, "cpython", worst, "ms"))
    errors = []
    bounds = []
    for seed in SEEDS:
        err, bound = drift_and_spikes(seed)
        errors.append(err)
        bounds.append(bound)
    out.append(("40->45 ppm at h12, 80 ms spikes, outage h48: max/11", "cpython", max(errors), "ms"))
    out.append(("  ... error_bound_ms then: min/11", "cpython", min(bounds), "ms"))
    out.append(("  ... seeds where |error| > bound", "cpython", sum(e > b for e, b in zip(errors, bounds)), ""))
    for ppm in (40, -40):
        out.append(("uncorrected 24 h, %+d ppm (raw oscillator)" % ppm, "cpython", uncorrected_error(ppm * 1000), "ms"))
    out.extend(call_costs())
    return out


if __name__ == "__main__":
    for row in rows():
        print("%-52s %-12s %10s  %s" % row)
