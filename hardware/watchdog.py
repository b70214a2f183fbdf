"""The hardware watchdog, started by the first feed.

    dog = Watchdog(make, timeout_ms=8000)   # make(t) -> machine.WDT(timeout=t)
    dog.feed()                              # from the clock's own loop

A machine.WDT cannot be stopped once started (not even by a soft reset on
some ports), so building the board does not start it: the first `feed()`
does, from the running firmware. A board imported at the REPL for
tinkering is then never reset under the user's hands.

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
