"""hesitate: ticks imperceptibly faster than 1 s (about 983 ms), then at one
random moment waits about one extra second.
"""

from modes import base
from modes.shape import MINUTE_MS, even_gaps, pick, remaining, settle


class Mode(base.Mode):
    NAME = "hesitate"
    PARAMS = (
        ("pauses", 1, 0, 10, "pauses per minute"),
        ("pause_ms", 1000, 1, 10000, "extra wait of each pause"),
    )

    def check(self):
        if self.pauses * self.pause_ms > 30000:
            raise ValueError("hesitate: pauses * pause_ms must be <= 30000")

    def plan(self, now_ms, second, rng, min_gap_ms):
        count = remaining(now_ms, second, min_gap_ms)
        # The whole minute: 60 even, slightly short gaps, plus the pauses at
        # random positions; this minute's share is its tail from `second` on.
        gaps = even_gaps(MINUTE_MS - self.pauses * self.pause_ms, 60)
        for position in pick(rng, self.pauses, 60):
            gaps[position] += self.pause_ms
        tail = gaps[second:]
        # If the hand is ahead of that schedule, the surplus becomes one more
        # hesitation at a random moment: it is this mode's nature to wait.
        return settle(tail, now_ms, min_gap_ms, rng.below(count))
