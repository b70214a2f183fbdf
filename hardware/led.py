"""The status LED: what the clock is doing, in blink patterns.

    led = Led(pin, active_low=False)
    led.show(state)    # the controller, on a state change (its constants)
    led.blink(n)       # the controller, after a mode change: n short blinks
    led.problem(now, ms)  # main, at boot with a config problem: for ms
    led.poll(now)      # the loop, every 10-50 ms: sets the pin; returns the
                       # ticks of the next change, or None when steady

| state (controller) | pattern | meaning |
| --- | --- | --- |
| RUN | off | all is well (a wall clock: no light at night) |
| NO_TIME | 0.5 s on, 1.5 s off | no time yet (no Wi-Fi, no NTP answer) |
| RACE | 0.1 s on, 0.1 s off | catching up: the hands race to the time |
| WAIT | 0.1 s flash every second | catching up: the hands are ahead and wait |
| SET_RUN, SET_HOLD | two 0.1 s flashes a second | set-hands procedure |
| after a mode change | n blinks of 0.25 s, then the state's pattern | mode number n |
| first 3 min after boot, whatever the state | three 0.1 s flashes every 1.6 s | config.json has a problem (an unknown key, a bad value: the log names it) |

Nobody reads a wall clock's log, but the person who has just plugged it in
watches the light: so a config problem shows there, for a while, then the
state's pattern takes over (the clock runs on the defaults meanwhile).

A pattern is a tuple of durations, on and off in turn, starting with on,
repeated; () is steady off. `poll` only indexes them: no allocation. A
state change restarts the pattern, so the new state shows at once; the
same state again (the controller re-decides every minute) changes nothing.
`blink(n)` plays over the state's pattern, which resumes afterwards.
"""

from firmware.states import RUN
from firmware.ticks import ticks_add, ticks_diff
from hardware.pins import Out

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_OFF = const(())
_SLOW = const((500, 1500))
_FAST = const((100, 100))
_FLASH = const((100, 900))
_DOUBLE = const((100, 150, 100, 650))
_PATTERNS = const((_SLOW, _OFF, _FAST, _FLASH, _DOUBLE, _DOUBLE))  # indexed by state (firmware/states.py)
_PROBLEM = const((100, 100, 100, 100, 100, 1100))  # unlike any state's pattern
_PROBLEM_MS = const(180000)  # how long a config problem shows after boot

_BLINK_MS = const(250)  # each of the n blinks, on and off
_BLINK_PAUSE_MS = const(750)  # dark after the last blink, before the pattern


class Led:
    def __init__(self, pin, active_low=False, ticks_diff=ticks_diff, ticks_add=ticks_add):
        self.out = Out(pin, active_low=active_low)
        self.diff = ticks_diff
        self.add = ticks_add
        self.state = RUN
        self.pattern = _OFF
        self.phase = 0  # index into the pattern (or into the blinks)
        self.blinks = 0  # phases of the mode blink still to play (2n)
        self.next = 0  # ticks of the next phase change
        self.restart = True  # start the current pattern at the next poll
        self.problem_end = None  # ticks at which the config problem stops showing
        self.lit = 0
        self.out.set(0)

    def show(self, state):
        if state == self.state:
            return
        self.state = state
        if self.problem_end is None:
            self._pattern_of_state()

    def _pattern_of_state(self):
        state = self.state
        self.pattern = _PATTERNS[state] if 0 <= state < len(_PATTERNS) else _OFF
        if not self.blinks:
            self.restart = True

    def problem(self, now, ms=_PROBLEM_MS):
        """Show _PROBLEM instead of the state's pattern for `ms` from `now`
        (0: end it). Called again while it shows, it only lasts longer: a
        problem that lasts renews it without restarting the pattern."""
        self.problem_end = self.add(now, ms)
        if self.pattern != _PROBLEM:
            self.pattern = _PROBLEM
            if not self.blinks:
                self.restart = True

    def blink(self, n):
        """Blink n times (the mode's number), then back to the pattern."""
        if n < 1:
            return
        self.blinks = 2 * n
        self.restart = True

    def poll(self, now):
        # _PROBLEM never rests, so polls come at least every phase: its end
        # is seen within one.
        if self.problem_end is not None and self.diff(now, self.problem_end) >= 0:
            self.problem_end = None
            self._pattern_of_state()
        if self.restart:
            self.restart = False
            self.phase = 0
            return self._enter(now)
        if self.blinks == 0 and not self.pattern:
            return None
        diff = self.diff
        # A loop that was late more than a whole phase resynchronises rather
        # than replaying the phases it missed.
        late = diff(now, self.next)
        if late < 0:
            return self.next
        if late > 2000:
            self.next = now
        if self.blinks:
            self.blinks -= 1
            if self.blinks == 0:
                self.phase = 0  # the state's pattern, from its start
        else:
            self.phase += 1
            if self.phase >= len(self.pattern):
                self.phase = 0
        return self._enter(self.next)

    def _enter(self, start):
        """Light (or not) the current phase, which starts at `start`."""
        if self.blinks:
            on = self.blinks & 1 == 0  # 2n, 2n-2, ... on; odd: off
            ms = _BLINK_MS
            if self.blinks == 1:
                ms = _BLINK_MS + _BLINK_PAUSE_MS
        else:
            pattern = self.pattern
            if not pattern:
                self._light(0)
                return None
            on = self.phase & 1 == 0
            ms = pattern[self.phase]
        self._light(1 if on else 0)
        self.next = self.add(start, ms)
        return self.next

    def _light(self, level):
        if level != self.lit:
            self.lit = level
            self.out.set(level)
