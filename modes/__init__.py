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

# Button order; each name is its module, each module has one Mode class.
NAMES = ("normal", "vetinari", "hesitate", "rush", "stumble", "gravity")
_CLASSES = ("Normal", "Vetinari", "Hesitate", "Rush", "Stumble", "Gravity")
_SMALL = sys.implementation.name == "micropython"


def get(name, **params):
    """A new mode by name, with its parameters checked."""
    if name not in NAMES:
        raise ValueError("unknown mode %r (known: %s)" % (name, ", ".join(NAMES)))
    if _SMALL:
        _drop_others(name)
    cls = _CLASSES[NAMES.index(name)]
    return getattr(__import__("modes." + name, None, None, (cls,)), cls)(**params)


def _drop_others(name):
    # A mode object already made keeps its own code; only the module table
    # forgets it, so the collector can take a mode's code once nothing
    # plays it any more.
    package = sys.modules[__name__]
    for other in NAMES:
        if other != name and ("modes." + other) in sys.modules:
            del sys.modules["modes." + other]
            try:
                delattr(package, other)
            except AttributeError:
                pass
