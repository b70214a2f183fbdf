"""gravity: fast while the hand falls (12 to 6), slow while it climbs back
(6 to 12). The gap while moving from second j to j+1 is
1000 - swing_ms * sin(2 pi (j + 0.5) / 60) ms: shortest at 3, longest at 9.
"""

from modes.base import Mode
from modes.shape import remaining, settle

# round(1000 * sin(2 pi (j + 0.5) / 60)) for j in 0..14, a quarter turn. The
# other quarters mirror it, so the 60 gaps of a minute add up to exactly
# 60000 ms with integer arithmetic on every runtime (no floats on the board).
_SIN_QUARTER = (52, 156, 259, 358, 454, 545, 629, 707, 777, 839, 891, 934, 966, 988, 999)


def _sine(j):
    """1000 * sin at the middle of second j, from the quarter table."""
    k = j % 30
    value = _SIN_QUARTER[k if k < 15 else 29 - k]
    return value if j < 30 else -value


class Gravity(Mode):
    NAME = "gravity"
    PARAMS = (("swing_ms", 400, 0, 875, "how far gaps swing from 1000 ms"),)

    def gap(self, j):
        s = _sine(j)
        # Round the magnitude so the falling and the climbing halves mirror.
        d = (self.swing_ms * (s if s >= 0 else -s) + 500) // 1000
        return 1000 - d if s >= 0 else 1000 + d

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        gaps = [self.gap(second + i) for i in range(count)]
        return settle(gaps, now_ms, min_gap_ms)
