"""normal: a pulse on every whole second, like any quartz clock."""

from modes import base
from modes.shape import fit, remaining


class Mode(base.Mode):
    NAME = "normal"

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        # Position k is due at k seconds. A hand that is ahead waits for its
        # second; one that is behind races at the motor's limit until it meets
        # the seconds again (fit does both).
        times = [(second + 1 + i) * 1000 for i in range(count)]
        return fit(times, now_ms, min_gap_ms)
