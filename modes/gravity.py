"""gravity: fast while the hand falls (12 to 6), slow while it climbs back
(6 to 12). The gap while moving from second j to j+1 is
1000 - swing_ms * sin(2 pi (j + 0.5) / 60) ms: shortest at 3, longest at 9.
"""

from modes import base
from modes.shape import remaining, settle


class Mode(base.Mode):
    NAME = "gravity"
    PARAMS = (("swing_ms", 400, 0, 875, "how far gaps swing from 1000 ms"),)

    def gap(self, second):
        """The gap from `second` to the next, from 1000 * sin at its middle."""
        # round(1000 * sin(2 pi (j + 0.5) / 60)) for seconds j in 0..14, a
        # quarter turn. The other quarters mirror it, so the 60 gaps of a minute add
        # up to exactly 60000 ms with integer arithmetic on every runtime (no
        # floats on the board). A constant in the code, not a global: no
        # name in a board's name table (ARCHITECTURE.md, Memory).
        quarter = (52, 156, 259, 358, 454, 545, 629, 707, 777, 839, 891, 934, 966, 988, 999)
        k = second % 30
        s = quarter[k if k < 15 else 29 - k]
        # The magnitude is rounded, then signed: the falling and the
        # climbing halves mirror exactly.
        d = (self.swing_ms * s + 500) // 1000
        return 1000 - d if second < 30 else 1000 + d

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        gaps = [self.gap(second + i) for i in range(count)]
        return settle(gaps, now_ms, min_gap_ms)
