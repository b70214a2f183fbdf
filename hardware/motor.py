"""The Lavet stepper driver: two coil pins, one pulse at a time.

    motor = Motor(pin_a, pin_b, pulse_ms=31)
    motor.pulse(polarity)      # the controller: drive A (0) or B (1), at once
    motor.poll(now)            # the loop: ends the pulse when pulse_ms is up
    motor.idle(now, next_due)  # the loop: gc.collect() in a long idle gap

A Lavet motor steps when its coil gets a pulse of the other polarity than the
last one. The coil sits between pin A and pin B (through a series resistor):
A high and B low is one polarity, B high and A low the other, both low is
rest. So both pins are low between pulses, and never both high: that would
be no pulse at all and wastes current.

Non-blocking. `pulse()` raises the pin and records when the pulse ends; it
returns at once. `poll(now)` lowers it once `pulse_ms` have passed and
answers the ticks at which it wants to run again (the end of the running
pulse), or None when the coil rests. The asyncio loop on the board sleeps
until the earlier of the controller's wake and `motor.end` while
`motor.busy`:

    now = ticks_ms()
    motor.poll(now)
    if ticks_diff(now, wake) >= 0:
        wake = ctl.run(now)             # may call motor.pulse()
    nxt = wake
    if motor.busy and ticks_diff(motor.end, wake) < 0:
        nxt = motor.end
    else:
        motor.idle(now, ctl.due)        # collect only in a long gap
    await asyncio.sleep_ms(max(0, ticks_diff(nxt, ticks_ms())))

A pulse asked for while one runs ends the running one first (both low),
then starts: the controller counted that step already, and its pulses are
at least `min_gap_ms` (125) apart, far more than `pulse_ms`, so this only
happens when the loop was late to end the last pulse. It never refuses: a
refused pulse would be a lost step for good.

The garbage collector. The pulse path allocates nothing, so it can never
trigger a collection itself; but a collection triggered by another task
(SNTP, Wi-Fi) just before a pulse is due delays it by the collection's
length (milliseconds on an ESP32). `idle()` collects at quiet moments, when
no pulse runs and the next one is more than `gc_gap_ms` away, at most once
every `gc_every_ms`, so the heap stays roomy and automatic collections are
rare. Call it when the loop is about to sleep with the coil at rest.
"""

import gc

from firmware.ticks import ticks_add, ticks_diff, ticks_ms
from hardware.pins import FULL_DUTY, Out


class Motor:
    def __init__(
        self,
        pin_a,
        pin_b,
        pulse_ms=31,
        duty_u16=FULL_DUTY,
        gc_gap_ms=200,
        gc_every_ms=1000,
        ticks_ms=ticks_ms,
        ticks_diff=ticks_diff,
        ticks_add=ticks_add,
    ):
        if not 1 <= pulse_ms <= 1000:
            raise ValueError("pulse_ms must be in 1..1000")
        self.a = Out(pin_a, duty_u16=duty_u16)
        self.b = Out(pin_b, duty_u16=duty_u16)
        self.pulse_ms = pulse_ms
        self.gc_gap_ms = gc_gap_ms
        self.gc_every_ms = gc_every_ms
        self.ticks_ms = ticks_ms
        self.diff = ticks_diff
        self.add = ticks_add
        self.busy = False
        self.end = 0  # ticks at which the running pulse ends
        self.polarity = 0  # of the last pulse
        # Set-hands may find the second hand one step round on its shaft
        # from the firmware's numbering: then the pins trade roles (as if
        # the coil's wires were swapped), and the controller's polarity,
        # p % 2, still alternates for the rotor.
        self.swap = 0
        self.pulses = 0
        self.cut = 0  # pulses ended early by a new one (the loop was late)
        self.collected = None  # ticks of the last gc.collect() in idle()
        self.collections = 0
        self.a.set(0)
        self.b.set(0)

    def pulse(self, polarity, now=None):
        """Drive pin A (polarity 0) or B (polarity 1) for pulse_ms."""
        if self.busy:
            self.cut += 1
            self._rest()
        if now is None:
            now = self.ticks_ms()
        self.end = self.add(now, self.pulse_ms)
        polarity = (polarity ^ self.swap) & 1
        self.polarity = polarity
        self.busy = True
        self.pulses += 1
        if polarity:
            self.b.set(1)
        else:
            self.a.set(1)

    def poll(self, now):
        """End the pulse if its time is up; the ticks to come back, or None."""
        if not self.busy:
            return None
        if self.diff(now, self.end) >= 0:
            self._rest()
            return None
        return self.end

    def stop(self):
        """Both pins low now (shutdown, or before a reset)."""
        self._rest()

    def idle(self, now, next_due=None):
        """gc.collect() if this is a long quiet gap; True if it collected.

        `next_due` is the ticks of the next pulse (the controller's `due`),
        or None when none is planned (waiting, no time yet)."""
        if self.busy:
            return False
        diff = self.diff
        if next_due is not None and diff(next_due, now) <= self.gc_gap_ms:
            return False
        last = self.collected
        if last is not None and 0 <= diff(now, last) < self.gc_every_ms:
            return False  # (a negative diff: so long ago that ticks wrapped)
        gc.collect()
        self.collected = now
        self.collections += 1
        return True

    def _rest(self):
        # Lower the driven pin first; the other one is low already.
        if self.polarity:
            self.b.set(0)
            self.a.set(0)
        else:
            self.a.set(0)
            self.b.set(0)
        self.busy = False
