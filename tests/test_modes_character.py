"""Each mode's character over a whole minute, and from mid-minute states.

Random modes are judged statistically over many seeded minutes; seeds are
fixed, so the tests are deterministic and cannot flake.
"""

import modes

MINUTE = 60000
GAP = 125


def gaps_of(ts, now_ms=0):
    return [b - a for a, b in zip([now_ms] + ts, ts)]


def minutes(name, count, seed=1, **params):
    """`count` whole-minute plans of a mode from one generator, as gap lists."""
    mode = modes.get(name, **params)
    rng = modes.Rng(seed)
    return [gaps_of(mode.plan(0, 0, rng, GAP)) for _ in range(count)]


def chi2_uniform(counts):
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def ks_distance(a, b):
    """Two-sample Kolmogorov-Smirnov statistic."""
    a, b = sorted(a), sorted(b)
    i = j = 0
    worst = 0.0
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            i += 1
        else:
            j += 1
        worst = max(worst, abs(i / len(a) - j / len(b)))
    return worst


# -- normal ------------------------------------------------------------------

def test_normal_ticks_on_every_whole_second():
    assert modes.get("normal").plan(0, 0, modes.Rng(1), GAP) == [1000 * k for k in range(1, 61)]


def test_normal_mid_minute_waits_for_its_second_or_races_to_it():
    normal = modes.get("normal")
    assert normal.plan(30400, 30, modes.Rng(1), GAP) == [1000 * k for k in range(31, 61)]
    # Ahead by 20 s: the hand stands still until :21 is due.
    assert normal.plan(500, 20, modes.Rng(1), GAP)[0] == 21000
    # Behind by 10 s: it races at the motor's limit, then meets the seconds.
    ts = normal.plan(10000, 0, modes.Rng(1), GAP)
    assert gaps_of(ts, 10000)[:5] == [GAP] * 5
    assert ts[-30:] == [1000 * k for k in range(31, 61)]


# -- vetinari ----------------------------------------------------------------

def test_vetinari_gaps_spread_over_500_to_1500():
    gaps = [g for minute in minutes("vetinari", 1000) for g in minute]
    assert min(gaps) >= 500 and max(gaps) <= 1500
    # Ten bins of 100 ms; chi-square 0.999 quantile at 9 degrees: 27.9.
    counts = [0] * 10
    for g in gaps:
        counts[min((g - 500) // 100, 9)] += 1
    assert chi2_uniform(counts) < 27.9, counts
    assert min(gaps) < 510 and max(gaps) > 1490


def test_vetinari_no_position_in_the_minute_is_special():
    plans = minutes("vetinari", 2000, seed=3)
    everything = [g for minute in plans for g in minute]
    for position in range(60):
        at = [minute[position] for minute in plans]
        # KS critical value for 2000 vs 120000 samples at alpha 0.001/60
        # (Bonferroni: 60 positions are tested at once): ~0.054.
        assert ks_distance(at, everything) < 0.054, position
        assert abs(sum(at) / len(at) - 1000) < 30, position


def correlation(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5


def test_vetinari_neighbouring_gaps_are_unrelated():
    # A long gap must not announce a short one next: with 60 gaps summing to
    # a minute every pair correlates at -1/59, and no pair more than that.
    plans = minutes("vetinari", 2000, seed=5)
    for position in range(59):
        r = correlation([m[position] for m in plans], [m[position + 1] for m in plans])
        assert abs(r + 1 / 59) < 0.1, (position, r)


def test_vetinari_keeps_its_character_mid_minute():
    mode = modes.get("vetinari")
    rng = modes.Rng(11)
    for second in range(0, 60, 7):
        ts = mode.plan(second * 1000 + 300, second, rng, GAP)
        gaps = gaps_of(ts, second * 1000 + 300)
        assert all(480 <= g <= 1500 for g in gaps), gaps
        assert len(set(gaps)) > len(gaps) // 2  # irregular, not a metronome


def test_vetinari_bounds_are_parameters():
    gaps = [g for minute in minutes("vetinari", 200, min_ms=900, max_ms=1100) for g in minute]
    assert min(gaps) >= 900 and max(gaps) <= 1100
    assert min(gaps) < 905 and max(gaps) > 1095  # the whole range is used


# -- hesitate ----------------------------------------------------------------

def test_hesitate_ticks_fast_then_waits_once():
    pause_positions = []
    for gaps in minutes("hesitate", 600):
        long_gaps = [i for i, g in enumerate(gaps) if g > 1000]
        assert len(long_gaps) == 1
        assert 1900 <= gaps[long_gaps[0]] <= 2000
        # The rest is imperceptibly faster than a second.
        assert all(975 <= g < 1000 for i, g in enumerate(gaps) if i != long_gaps[0])
        pause_positions.append(long_gaps[0])
    # The pause falls anywhere: every sixth of the minute gets its share.
    counts = [0] * 6
    for p in pause_positions:
        counts[p // 10] += 1
    assert chi2_uniform(counts) < 20.5, counts  # 0.999 quantile, 5 degrees
    assert min(pause_positions) <= 2 and max(pause_positions) >= 57


def test_hesitate_pauses_are_parameters():
    for gaps in minutes("hesitate", 50, pauses=3, pause_ms=500):
        assert sum(1 for g in gaps if g > 1000) == 3


def test_hesitate_mid_minute_still_hesitates_at_most_once_more():
    mode = modes.get("hesitate")
    rng = modes.Rng(4)
    for second in range(1, 59, 3):
        now = second * 1000 + 10
        gaps = gaps_of(mode.plan(now, second, rng, GAP), now)
        slow = [g for g in gaps if g > 1000]
        assert len(slow) <= 2, gaps  # the minute's pause, and the hand's surplus
        assert sum(1 for g in gaps if g < 1000) >= len(gaps) - 2


# -- rush --------------------------------------------------------------------

def test_rush_races_to_59_then_waits_for_the_minute():
    ts = modes.get("rush").plan(0, 0, modes.Rng(1), GAP)
    assert ts == [500 * k for k in range(1, 60)] + [60000]
    assert gaps_of(ts)[-1] == 30500


def test_rush_mid_minute_races_from_now():
    ts = modes.get("rush").plan(20000, 20, modes.Rng(1), GAP)
    assert ts == [20000 + 500 * k for k in range(1, 40)] + [60000]


def test_rush_behind_squeezes_the_race_evenly():
    ts = modes.get("rush").plan(50000, 10, modes.Rng(1), GAP)
    gaps = gaps_of(ts, 50000)
    assert max(gaps) - min(gaps) <= 1 and ts[-1] == 60000


def test_rush_speed_is_a_parameter():
    ts = modes.get("rush", race_ms=250).plan(0, 0, modes.Rng(1), GAP)
    assert ts[:3] == [250, 500, 750] and ts[58] == 14750


# -- stumble -----------------------------------------------------------------

def test_stumble_ticks_slow_with_one_quick_double_step():
    positions = []
    for gaps in minutes("stumble", 600):
        quick = [i for i, g in enumerate(gaps) if g < 1000]
        assert len(quick) == 1
        assert gaps[quick[0]] == 150
        assert all(1000 < g <= 1020 for i, g in enumerate(gaps) if i != quick[0])
        positions.append(quick[0])
    counts = [0] * 6
    for p in positions:
        counts[p // 10] += 1
    assert chi2_uniform(counts) < 20.5, counts


def test_stumble_quick_step_respects_the_motor():
    gaps = minutes("stumble", 1, quick_ms=50)[0]
    assert min(gaps) == GAP


# -- gravity -----------------------------------------------------------------

def test_gravity_falls_fast_and_climbs_slow():
    gaps = minutes("gravity", 1)[0]
    assert all(g < 1000 for g in gaps[:30])  # 12 down to 6
    assert all(g > 1000 for g in gaps[30:])  # 6 back up to 12
    assert gaps.index(min(gaps)) in (14, 15) and gaps.index(max(gaps)) in (44, 45)
    assert min(gaps) == 600 and max(gaps) == 1400
    assert gaps == minutes("gravity", 1, seed=99)[0]  # no randomness


def test_gravity_mid_minute_keeps_its_shape():
    now = 10000
    gaps = gaps_of(modes.get("gravity").plan(now, 10, modes.Rng(1), GAP), now)
    falling, climbing = gaps[: 30 - 10], gaps[30 - 10 :]
    assert max(falling) < min(climbing)
