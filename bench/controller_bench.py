"""Controller: heap bytes per pulse and per minute under MicroPython.

The real controller (TimeBase + Zone + Wall + store) in RUN, in virtual time
with ticks wrapping at 2**30, through 18 minutes (3 per mode, a press
between), under the MicroPython unix port: gc.mem_alloc() is read around
every `ctl.run(now)`. "Per pulse" is every call that fires a pulse other than
a minute's last; "re-plan" is the minute's last pulse, which also asks the
wall for the next boundary and the mode for the next minute's plan.
tests/test_controller_alloc.py proves the per-pulse calls allocate nothing
with the heap locked; this reports the numbers.

    .venv/bin/python -m bench controller_bench
    .venv/bin/python bench/controller_bench.py
"""

import statistics
import tempfile

from tests.peers import MicroPython, micropython_binary

CODE = "from tests.portable_day import pulse_path_main; pulse_path_main()"


def measure(micropython, store_kind, directory, minutes=18):
    payload = {"store_kind": store_kind, "directory": directory, "lock": False, "minutes": minutes}
    return micropython.call_json(CODE, payload, timeout=600)


def rows():
    binary = micropython_binary()
    if binary is None:
        return [("controller (MicroPython unix port missing)", "micropython", "-", "skipped")]
    mp = MicroPython(binary)
    out = []
    for store_kind in ("memory", "file"):
        with tempfile.TemporaryDirectory() as d:
            got = measure(mp, store_kind, d)
            if store_kind == "file":
                # A reboot: the store finds the file; its first save opens it.
                rebooted = measure(mp, store_kind, d, minutes=1)
        per_pulse = got["per_pulse"]
        what = "controller: per pulse, %s store (median of %d)" % (store_kind, len(per_pulse))
        out.append((what, "micropython", statistics.median_low(per_pulse), "B"))
        out.append(("controller: per pulse, %s store (max)" % store_kind, "micropython", max(per_pulse), "B"))
        if store_kind == "file":
            out.append(("controller: first pulse after a reboot, file store", "micropython", rebooted["per_pulse"][0], "B"))
        else:
            by_mode = {}
            for used, name in zip(got["replan"], got["replan_modes"]):
                by_mode.setdefault(name, []).append(used)
            for name, used in by_mode.items():
                what = "controller: re-plan at :00, %s (median)" % name
                out.append((what, "micropython", statistics.median_low(used), "B"))
    return out


if __name__ == "__main__":
    for row in rows():
        print("%-52s %-12s %10s  %s" % row)
