"""Tick plans: when, within one minute, the second hand should step.

Pure, deterministic, integer milliseconds, no I/O: the same code runs on
CPython and on MicroPython. The contract (DESIGN.md section 5):

    modes.NAMES                      # mode names, in button order
    m = modes.get(name, **params)    # ValueError: unknown name or bad param
    ts = m.plan(now_ms, second, rng, min_gap_ms)

Each mode's module is imported when that mode is first asked for, and on
MicroPython the ones not asked for last are dropped again: a board's heap
holds the code of the mode it plays, not of all six (ARCHITECTURE.md,
Memory).
"""

import sys

from modes.rng import Rng  # noqa: F401 (part of the contract: modes.Rng)

# Button order. Each name is its module, and each module's one class is
# called Mode: one name for all six in a board's table of interned names,
# which is never freed and grows in blocks (ARCHITECTURE.md, Memory).
NAMES = ("normal", "vetinari", "hesitate", "rush", "stumble", "gravity")


def get(name, **params):
    """A new mode by name, with its parameters checked."""
    if name not in NAMES:
        raise ValueError("unknown mode %r (known: %s)" % (name, ", ".join(NAMES)))
    if sys.implementation.name == "micropython":
        # Forget the other modes' modules. A mode object already made keeps
        # its own code; only the module table forgets it, so the collector
        # can take a mode's code once nothing plays it any more.
        package = sys.modules[__name__]
        for other in NAMES:
            if other != name and ("modes." + other) in sys.modules:
                del sys.modules["modes." + other]
                try:
                    delattr(package, other)
                except AttributeError:
                    pass
    return __import__("modes." + name, None, None, ("Mode",)).Mode(**params)
