"""vetinari: every gap drawn afresh between min_ms and max_ms (Terry
Pratchett's Lord Vetinari's clock), yet 60 of them make exactly one minute.
The bounds must lie symmetrically about 1000 ms, the mean gap of a minute;
give one and the other follows (min_ms=600 means 600..1400).

How: gaps come in pairs (m + u, m - u) with u uniform, so each pair sums to
2m and every gap on its own is uniform over [m - w, m + w]; a shuffle then
hides the pairing, so no position in the minute differs from another. From a
whole minute m is 1000 and w 500: every gap uniform over 500..1500 ms.
"""

from modes import base
from modes.shape import MINUTE_MS, even_gaps, remaining, settle


def _whole(value, lowest, highest):
    # Anything else is left for Mode to refuse, naming the parameter given.
    return isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= highest


class Mode(base.Mode):
    NAME = "vetinari"
    PARAMS = (
        ("min_ms", 500, 1, 999, "shortest gap between ticks"),
        ("max_ms", 1500, 1001, 1999, "longest gap between ticks"),
    )

    def __init__(self, **params):
        # One bound names the other: min_ms=600 means 600..1400.
        for given, other in ((0, 1), (1, 0)):
            key, _default, lowest, highest, _meaning = self.PARAMS[given]
            missing = self.PARAMS[other][0]
            if missing not in params and _whole(params.get(key), lowest, highest):
                params[missing] = 2000 - params[key]
        super().__init__(**params)

    def check(self):
        # Pairs (1000 + u, 1000 - u) keep every minute exact; bounds that
        # are not symmetric about 1000 could not all be reached.
        if self.min_ms + self.max_ms != 2000:
            raise ValueError(
                "vetinari: min_ms and max_ms must be symmetric about 1000 (min_ms + max_ms == 2000), got %d and %d"
                % (self.min_ms, self.max_ms)
            )

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        left = MINUTE_MS - now_ms
        # A hand ahead of time stands still first, then ticks around 1 s.
        wait = left - count * 1000
        if wait < 0:
            wait = 0
        gaps = even_gaps(left - wait, count)
        mean = gaps[0]  # gaps are mean or mean + 1
        low = self.min_ms if self.min_ms > min_gap_ms else min_gap_ms
        if mean < low:
            low = min_gap_ms  # behind: still irregular, within the motor's limit
        width = self.max_ms - mean - (1 if gaps[-1] > mean else 0)
        if mean - low < width:
            width = mean - low
        if width < 0:
            width = 0
        for i in range(0, count - 1, 2):
            u = rng.between(-width, width)
            gaps[i] += u
            gaps[i + 1] -= u
        rng.shuffle(gaps)
        gaps[0] += wait
        return settle(gaps, now_ms, min_gap_ms)
