"""Tick plans: when, within one minute, the second hand should step.

Pure, deterministic, integer milliseconds, no I/O: the same code runs on
CPython and on MicroPython. The contract (DESIGN.md section 5):

    modes.NAMES                      # mode names, in button order
    m = modes.get(name, **params)    # ValueError: unknown name or bad param
    ts = m.plan(now_ms, second, rng, min_gap_ms)
"""

from modes.rng import Rng
from modes.normal import Normal
from modes.vetinari import Vetinari
from modes.hesitate import Hesitate
from modes.rush import Rush
from modes.stumble import Stumble
from modes.gravity import Gravity

_CLASSES = (Normal, Vetinari, Hesitate, Rush, Stumble, Gravity)
NAMES = tuple(cls.NAME for cls in _CLASSES)


def get(name, **params):
    """A new mode by name, with its parameters checked."""
    for cls in _CLASSES:
        if cls.NAME == name:
            return cls(**params)
    raise ValueError("unknown mode %r (known: %s)" % (name, ", ".join(NAMES)))
