"""The hardware watchdog: started at boot (start_early), or by the first feed.

    dog = Watchdog(make, timeout_ms=8000)   # make(t) -> machine.WDT(timeout=t)
    dog.feed()                              # from the clock's own loop

A machine.WDT cannot be stopped once started (not even by a soft reset on
some ports). The boot starts one first thing (firmware/boot.py, with
`start_early`), so a boot that hangs or crashes resets the board rather
than leave it at the REPL, and hands it to the board's Watchdog; building
a board alone (at the REPL, for tinkering) starts none: then the first
`feed()` does. `"watchdog_ms": 0` means none at all (for work at the REPL).

Feed it from the loop that drives the pulses, and let that loop wake at
least every few seconds (cap its sleep), so a stuck clock task resets the
board even while the other tasks still run. 8 s suits every port (the
RP2040's limit is 8388 ms) and is far beyond any pause the clock makes.
"""


class Watchdog:
    def __init__(self, make, timeout_ms=8000):
        self.make = make
        self.timeout_ms = timeout_ms
        self.wdt = None

    def feed(self):
        wdt = self.wdt
        if wdt is None:
            wdt = self.wdt = self.make(self.timeout_ms)
        wdt.feed()


def machine_watchdog(timeout_ms=8000):
    """A Watchdog over machine.WDT (on a board)."""

    def make(t):
        import machine

        return machine.WDT(timeout=t)

    return Watchdog(make, timeout_ms)


def start_early(timeout_ms, log=print):
    """A machine.WDT running from now, for the boot (firmware/boot.py), so
    a boot that hangs or crashes resets the board instead of leaving it at
    the REPL; None on a host (no machine.WDT there) or for 0. The board's
    Watchdog then feeds this one."""
    if not timeout_ms:
        return None
    try:
        import machine

        make = machine.WDT
    except (ImportError, AttributeError):  # the unix port, CPython
        return None
    try:
        return make(timeout=timeout_ms)
    except Exception as e:
        log("boot: no watchdog (%s: %s)" % (type(e).__name__, e))
        return None


def power_on():
    """Whether this boot follows a power-on, not a reset (the watchdog's, a
    crash's, machine.reset()). False where the port cannot tell (unix)."""
    try:
        import machine

        return machine.reset_cause() == machine.PWRON_RESET
    except Exception:
        return False
