"""The controller's states, by number: one list for the controller and the
status LED (hardware/led.py indexes its patterns by them), so hardware/
needs no import of the controller."""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


NO_TIME = const(0)
RUN = const(1)
RACE = const(2)
WAIT = const(3)
SET_RUN = const(4)
SET_HOLD = const(5)
STATE_NAMES = ("no time", "run", "race", "wait", "set hands", "set hands (held)")
