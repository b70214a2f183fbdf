"""stumble: ticks slightly slower than 1 s (about 1014 ms), with one random
quick double-step, two ticks in a rush, as if the hand tripped.
"""

from modes import base
from modes.shape import MINUTE_MS, even_gaps, pick, remaining, settle


class Mode(base.Mode):
    NAME = "stumble"
    PARAMS = (
        ("stumbles", 1, 0, 10, "quick double-steps per minute"),
        ("quick_ms", 150, 1, 999, "gap of the quick step"),
    )

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        quick = self.quick_ms if self.quick_ms > min_gap_ms else min_gap_ms
        # The whole minute: quick gaps at random positions, the rest slow and
        # even; this minute's share is its tail from `second` on.
        slow = even_gaps(MINUTE_MS - self.stumbles * quick, 60 - self.stumbles)
        gaps = [0] * 60
        for position in pick(rng, self.stumbles, 60):
            gaps[position] = quick
        j = 0
        for i in range(60):
            if gaps[i] == 0:
                gaps[i] = slow[j]
                j += 1
        return settle(gaps[second:], now_ms, min_gap_ms)
