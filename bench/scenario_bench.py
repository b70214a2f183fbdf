"""Scenario runner speed: virtual seconds simulated per wall second.

A 32-hour day (the longest local day, around a DST change is 25 h; 32 h
covers a day plus margins) in each mode, through the same code path as
`python -m sim scenario`. Median of 3 runs per mode.
"""

import statistics
import time

import modes
from sim import scenario

DAY_S = 32 * 3600
RUNS = 3


def rows():
    out = []
    ratios = []
    for name in modes.NAMES:
        spec = scenario.load(
            '{"start": "2026-10-24T12:00:00Z", "duration_s": %d, "tz": "CET-1CEST,M3.5.0,M10.5.0/3",'
            ' "mode": "%s", "oscillator_ppm": 40}' % (DAY_S, name)
        )
        times = []
        for _ in range(RUNS):
            began = time.perf_counter()
            scenario.run(spec)
            times.append(time.perf_counter() - began)
        ratio = DAY_S / statistics.median(times)
        ratios.append(ratio)
        out.append(("scenario runner, 32 h day: %s" % name, "cpython", ratio, "virtual s per wall s, median"))
    out.append(("scenario runner, 32 h day: all modes", "cpython", statistics.median(ratios), "virtual s per wall s, median"))
    return out
