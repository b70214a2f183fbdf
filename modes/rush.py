"""rush: races to :59 at double speed (59 pulses 500 ms apart), waits there
about 30 s, then steps onto :00 exactly on the minute.
"""

from modes import base
from modes.shape import MINUTE_MS, fit, remaining


class Mode(base.Mode):
    NAME = "rush"
    PARAMS = (("race_ms", 500, 1, 1000, "gap between ticks while racing"),)

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        # Race from now to :59. When time is short the race is squeezed
        # evenly over what is left (no wait at :59 then); fit() slows it to
        # the motor's limit when race_ms is faster than that.
        pace = self.race_ms
        if pace * count > MINUTE_MS - now_ms:
            pace = (MINUTE_MS - now_ms) // count
        times = [now_ms + (i + 1) * pace for i in range(count)]
        times[-1] = MINUTE_MS
        return fit(times, now_ms, min_gap_ms)
