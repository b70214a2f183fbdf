"""Shared plan arithmetic: checking a state, and bending a mode's wish into
a plan that obeys the rules of DESIGN.md section 5.

A mode states what it would like (pulse times, or gaps between pulses); these
helpers make it lawful: exactly `60 - second` pulses, the last at exactly
60000, the first no sooner than `now_ms + min_gap_ms`, every gap at least
`min_gap_ms`. Everything is integer milliseconds; this runs once a minute, not
once a pulse.
"""

MINUTE_MS = 60000


def remaining(now_ms, second, min_gap_ms):
    """Check a planning state; return how many pulses the minute still needs.

    Raises ValueError for an argument out of range, and when no plan exists:
    `(60 - second) * min_gap_ms > 60000 - now_ms`.
    """
    if not isinstance(now_ms, int) or not 0 <= now_ms < MINUTE_MS:
        raise ValueError("now_ms must be an int in [0, 60000), got %r" % (now_ms,))
    if not isinstance(second, int) or not 0 <= second <= 59:
        raise ValueError("second must be an int in [0, 59], got %r" % (second,))
    if not isinstance(min_gap_ms, int) or min_gap_ms < 1:
        raise ValueError("min_gap_ms must be an int >= 1, got %r" % (min_gap_ms,))
    count = 60 - second
    if count * min_gap_ms > MINUTE_MS - now_ms:
        raise ValueError(
            "no plan: %d pulses at %d ms apart do not fit in the %d ms left"
            % (count, min_gap_ms, MINUTE_MS - now_ms)
        )
    return count


def even_gaps(total, count):
    """`count` gaps that differ by at most 1 ms and sum to exactly `total`."""
    return [((i + 1) * total) // count - (i * total) // count for i in range(count)]


def fit(times, now_ms, min_gap_ms):
    """Clamp wished pulse times, in place, into the lawful corridor.

    Each time moves as little as it must: no sooner than the previous pulse
    plus the minimum gap (or `now_ms` plus the gap for the first), and no
    later than leaves room for the pulses after it before 60000. The last
    pulse is exactly 60000. Needs a feasible state (see `remaining`); then the
    corridor is never empty, so the result always obeys the rules.
    """
    count = len(times)
    earliest = now_ms + min_gap_ms
    for i in range(count):
        latest = MINUTE_MS - (count - 1 - i) * min_gap_ms
        t = times[i]
        if t < earliest:
            t = earliest
        if t > latest:
            t = latest
        times[i] = t
        earliest = t + min_gap_ms
    times[count - 1] = MINUTE_MS
    return times


def settle(gaps, now_ms, min_gap_ms, wait_at=0):
    """Turn wished gaps into lawful pulse times that end at exactly 60000.

    The gaps run from `now_ms`: the first is the time to the first pulse.
    If they add up to less than the time left, the hand is ahead of its
    schedule: the surplus becomes a wait before gap `wait_at` (a clock that is
    ahead stands still). If they add up to more, the hand is behind: every gap
    shrinks in proportion, so the mode's rhythm keeps its shape, only faster.
    The list is reused for the times.
    """
    left = MINUTE_MS - now_ms
    total = 0
    for gap in gaps:
        total += gap
    if total < left:
        gaps[wait_at] += left - total
        total = left
    # Running sums become times, scaled by left/total when behind. (The
    # product can pass 2**30, a heap int on a board: only when scaling.)
    run = now_ms
    for i in range(len(gaps)):
        run += gaps[i]
        gaps[i] = run
    if total != left:
        for i in range(len(gaps)):
            gaps[i] = now_ms + ((gaps[i] - now_ms) * left) // total
    return fit(gaps, now_ms, min_gap_ms)


def pick(rng, k, n):
    """k distinct positions in [0, n), drawn uniformly, in draw order."""
    chosen = []
    while len(chosen) < k:
        position = rng.below(n)
        if position not in chosen:
            chosen.append(position)
    return chosen
