"""The clock over a flash that fails, in virtual time: the real controller,
time base and FileStore (sim/world.py), with the position file's writes
failing (EIO) for a while starting at any instant, and a power cut at any
instant after. The store keeps the position in RAM while the flash fails,
so no minute is lost then; once writes work again (within the longest
backoff, 512 saves) the record on flash is the hands' again, and a power
cut after that comes back right. A cut while the flash still fails is the
one thing no firmware can mend (nothing reached the flash); the clock
shows the problem pattern meanwhile (tests/test_clock_shell.py).
"""

import bisect
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modes
from firmware.store import FileStore, newest
from firmware.tz import Zone
from firmware.wall import target_at
from sim.world import World
from tests.test_store import failing_store, position_file, read_bytes

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
START = 1780308000000  # 2026-06-01 10:00Z
MINUTE = 60000
BUDGET_MS = 20
GAP = 125
RACE_S_PER_S = GAP / (1000 - GAP)
# The longest backoff is 512 saves; every mode pulses 60 times a minute,
# so that is under 9 minutes (10 with a mode's uneven minutes).
LONGEST_BACKOFF_MS = 600000


def wrong_boundaries(world, zone, lo, hi):
    """The local minute boundaries in [lo, hi] whose :00 pulse is missing."""
    times = [p[0] for p in world.pulses]
    wrong = []
    b = lo - lo % MINUTE + MINUTE
    while b <= hi:
        offset = zone.offset(b // 1000) * 1000
        if (b + offset) % MINUTE == 0:
            target = target_at(b + offset)
            i = bisect.bisect_left(times, b - BUDGET_MS)
            if not any(world.pulses[j][2] == target for j in range(i, len(times)) if times[j] <= b + BUDGET_MS):
                wrong.append(b)
        b += MINUTE
    return wrong


@given(
    mode=st.sampled_from(modes.NAMES),
    seed=st.integers(0, 2**32),
    fail_at_ms=st.integers(60000, 1800000),
    fail_ms=st.integers(1, 3600000),
    cut_after_ms=st.integers(0, 600000),
    dark_ms=st.integers(200, 3600000),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_flash_that_fails_for_a_while_costs_no_minute_and_a_later_cut_loses_nothing(mode, seed, fail_at_ms, fail_ms, cut_after_ms, dark_ms):
    zone = Zone(CET)
    with tempfile.TemporaryDirectory() as d:
        fail = [False]
        world = World(START, tz=CET, mode=mode, seed=seed, store=failing_store(d, fail))
        world.run_until(START + fail_at_ms)
        fail[0] = True
        world.run_until(world.true_ms + fail_ms)
        failures = world.store.failures
        fail[0] = False
        healed = world.true_ms
        # Within the longest backoff the store writes again, by itself.
        world.run_until(healed + LONGEST_BACKOFF_MS)
        assert world.store.failing is None
        assert failures >= 1 or not [p for p in world.pulses if START + fail_at_ms < p[0] < healed]  # the fault was met
        assert newest(read_bytes(position_file(d)))[0] in (world.controller.p, (world.controller.p - 1) % 43200)
        world.run_until(world.true_ms + cut_after_ms)
        cut = world.true_ms
        assert wrong_boundaries(world, zone, START + 2 * MINUTE, cut) == []  # the failure cost no minute
        world.power_off()
        world.run_until(cut + dark_ms)
        world.store.close()
        world.store = FileStore(d)  # the board's RAM is gone; the flash is what is left
        world.power_on()
        # Back within the optimal mend of the lag (race it or stand it out),
        # plus a sync and a minute for the mode to take over.
        mend_s = min(dark_ms / 1000 * RACE_S_PER_S, 43200 - dark_ms / 1000)
        back = world.true_ms + int((mend_s + 180) * 1000)
        world.run_until(back + 10 * MINUTE)
        assert wrong_boundaries(world, zone, back, world.true_ms - 2000) == []
        assert world.rotor.shown == world.controller.p
        world.store.close()
