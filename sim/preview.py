"""The simulator's core: the hands, the mode and the minute's plan.

No pygame here. Time comes from an injected source, `now()`, that returns
local wall time as integer milliseconds (UTC ms plus the zone's offset), so
`now() // 1000 % 43200` is the position the hands must show at a minute
boundary. The random generator is injected too. The drawing layer only reads
this state, so the firmware's controller can later take this class's place.

For now this plays plans from `modes/` directly: a plan for each whole
minute, a fresh plan from the current position when the mode changes.
"""

import modes

MINUTE_MS = 60000
HALF_DAY_S = 43200
# A jump forward longer than this (a laptop waking up) sets the hands at
# once instead of replaying every pulse; a jump backward always does.
RESYNC_MS = 3600 * 1000


def target(local_ms):
    """The dial position at a local moment: seconds past 12:00:00."""
    return (local_ms // 1000) % HALF_DAY_S


class Preview:
    """Hands that follow a mode's plan, pulse by pulse, in sync with `now()`.

    State, all integers: `p` the dial position, `minute_start` the local ms
    at which the current minute began, `plan` that minute's pulse times in ms
    since `minute_start` (the pulses already made included), `done` how many
    of them have been made, `t` the local ms up to which time has run.
    """

    def __init__(self, now, mode=modes.NAMES[0], rng=None, min_gap_ms=125):
        self.now = now
        self.mode = modes.get(mode)
        self.rng = rng if rng is not None else modes.Rng(1)
        self.min_gap_ms = min_gap_ms
        self.sync()

    def sync(self):
        """Set the hands to where the mode's whole-minute plan has them now."""
        t = self.now()
        self.t = t
        self.minute_start = t - t % MINUTE_MS
        self.plan = self._plan(0, 0)
        now_ms = t - self.minute_start
        self.done = sum(1 for at in self.plan if at <= now_ms)
        self.p = (target(self.minute_start) + self.done) % HALF_DAY_S

    @property
    def now_ms(self):
        """Where time is within the current minute (may pass 60000 in a race)."""
        return self.t - self.minute_start

    def advance(self):
        """Run time up to `now()`; return the pulses made, as (local_ms, p_after)."""
        t = self.now()
        if t < self.t or t - self.t > RESYNC_MS:
            self.sync()
            return []
        pulses = []
        while True:
            if self.done == len(self.plan):
                # The minute's last pulse has landed on :00; after a race it
                # landed late, and the new minute starts that much in.
                late = self.plan[-1] - MINUTE_MS
                self.minute_start += MINUTE_MS
                self.plan = self._plan(late, self.p % 60)
                self.done = 0
            at = self.minute_start + self.plan[self.done]
            if at > t:
                break
            self.done += 1
            self.p = (self.p + 1) % HALF_DAY_S
            pulses.append((at, self.p))
        self.t = t
        return pulses

    def press(self):
        """The button: the next mode, re-planned from where the hands are now."""
        self.advance()
        names = modes.NAMES
        self.mode = modes.get(names[(names.index(self.mode.name) + 1) % len(names)])
        self.plan = self.plan[: self.done] + self._plan(self.now_ms, self.p % 60)

    def _plan(self, now_ms, second):
        try:
            return self.mode.plan(now_ms, second, self.rng, self.min_gap_ms)
        except ValueError:
            # No lawful plan fits what is left of the minute: the hand is
            # behind, so it races at the motor's limit and reaches :00 a
            # little late; the next minute's plan absorbs the delay.
            gap = self.min_gap_ms
            return [now_ms + gap * (i + 1) for i in range(60 - second)]
