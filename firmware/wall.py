"""Local minute boundaries on the tick counter: the time base plus the zone.

The controller asks once a minute, or after the time jumped: "when, in
ticks, is the next local minute boundary, and what must the hands show
then?" Everything with epoch-sized numbers (> 2**30, heap ints on a board)
happens here, once a minute; the per-pulse path only compares ticks.
"""

MINUTE_MS = 60000
HALF_DAY_S = 43200


def target_at(local_ms):
    """The dial position at a local instant: seconds past 12:00:00."""
    return (local_ms // 1000) % HALF_DAY_S


def next_local_boundary(zone, utc_ms):
    """(utc_ms, local_ms) of the first local minute boundary after `utc_ms`.

    Local time may jump before that boundary (a DST transition): then the
    boundary is the first whole local minute of the new offset, and its local
    time is read in that offset, so the target includes the jump.
    """
    utc_s = utc_ms // 1000
    offset_ms = zone.offset(utc_s) * 1000
    local = utc_ms + offset_ms
    local_b = local - local % MINUTE_MS + MINUTE_MS
    utc_b = local_b - offset_ms
    change = zone.next_transition(utc_s)
    if change is not None and change[0] * 1000 <= utc_b:
        new_ms = change[1] * 1000
        at_ms = change[0] * 1000 + new_ms
        local_b = -((-at_ms) // MINUTE_MS) * MINUTE_MS  # round up to a minute
        utc_b = local_b - new_ms
    return utc_b, local_b


class Wall:
    """The next minute boundary in ticks, from a time base and a zone."""

    def __init__(self, timebase, zone):
        self.timebase = timebase
        self.zone = zone

    def boundary(self, now_ticks):
        """(ticks, target, local_minutes) of the next local minute boundary
        after now, or None while the time is unknown. `target` is the dial
        position the hands must show once its :00 pulse is done;
        `local_minutes` counts local minutes since the epoch (a small int
        until 3011) for the mode schedule."""
        utc = self.timebase.utc_ms(now_ticks)
        if utc is None:
            return None
        utc_b, local_b = next_local_boundary(self.zone, utc)
        return self.timebase.ticks_at(utc_b, now_ticks), target_at(local_b), local_b // MINUTE_MS

    def synced(self):
        return self.timebase.synced
