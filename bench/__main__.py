"""Print every benchmark section as one table: `python -m bench [SECTION...]`."""

import importlib
import sys
import time

SECTIONS = ("modes_bench", "tz_bench", "sntp_bench", "timebase_bench", "controller_bench", "scenario_bench", "sim_bench", "firmware_bench", "memory_bench")


def main(argv):
    wanted = argv or list(SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        print("unknown section: %s (known: %s)" % (", ".join(unknown), ", ".join(SECTIONS)), file=sys.stderr)
        return 2
    print("%-52s %-12s %14s  %s" % ("what", "runtime", "value", "unit"))
    print("-" * 92)
    for name in wanted:
        started = time.monotonic()
        module = importlib.import_module("bench." + name)
        for what, runtime, value, unit in module.rows():
            shown = ("%.1f" % value) if isinstance(value, float) else str(value)
            print("%-52s %-12s %14s  %s" % (what, runtime, shown, unit), flush=True)
        print("  (%s took %.1f s)" % (name, time.monotonic() - started), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
