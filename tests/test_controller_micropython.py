"""The controller in virtual time for a simulated day under the MicroPython
unix port gives the same pulses as under CPython.

`tests/portable_day.py` wires the firmware's own TimeBase, Zone, Wall,
MemoryStore and Controller to a virtual oscillator whose ticks wrap at 2**30
five minutes into the run, NTP samples every 64 s with deterministic noise,
button presses and the CET->CEST jump. Both runtimes print one line per
pulse, sync and press; the lines must be identical. The day is also checked
on its own: pulse count, polarity, motor limits, the minute-accuracy
invariant against zoneinfo, the DST race and the wrap.
"""

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from firmware.controller import RACE, RUN
from tests.portable_day import PERIOD, START_MS, run_day, ticks_diff

BERLIN = ZoneInfo("Europe/Berlin")
DST_MS = 1774746000000  # 2026-03-29T01:00:00Z, CET -> CEST

MP_CODE = """
import sys
print(sys.implementation.name)
from tests.portable_day import main
main()
"""

CONFIGS = {
    # The day the brief asks for: 24 h over the spring-forward.
    "day": {},
    # Another oscillator and seed, no noise, the wrap later in the run.
    "fast-6h": {"hours": 6, "ppm": 41, "seed": 99, "noise_ms": 0, "mode": "gravity", "origin": PERIOD - 3600000},
}


def on_cpython(kw):
    lines = []
    run_day(lines.append, **kw)
    return lines


def on_micropython(micropython, kw):
    out = micropython.run(MP_CODE, stdin=json.dumps(kw), timeout=120).splitlines()
    assert out[0] == "micropython"
    return out[1:]


def local_seconds(utc_ms):
    """Local seconds of the day in Europe/Berlin, from IANA data (not firmware.tz)."""
    t = datetime.fromtimestamp(utc_ms / 1000, timezone.utc).astimezone(BERLIN)
    return t.hour * 3600 + t.minute * 60 + t.second


def pulses_of(lines):
    return [tuple(int(x) for x in line.split()[1:]) for line in lines if line.startswith("P ")]


@pytest.fixture(scope="module")
def cp_day():
    return on_cpython(CONFIGS["day"])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_micropython_gives_the_same_pulses(micropython, name, cp_day):
    kw = CONFIGS[name]
    want = cp_day if name == "day" else on_cpython(kw)
    got = on_micropython(micropython, kw)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, "line %d differs: micropython %r, cpython %r" % (i, g, w)
    assert len(got) == len(want)
    # Enough happened for the comparison to mean something.
    assert len(pulses_of(want)) > 20000
    assert any(line.startswith("B ") for line in want)


def test_the_day_itself_is_right(cp_day):
    lines = cp_day
    pulses = pulses_of(lines)
    end = lines[-1].split()
    assert end[0] == "E"
    count, p_end, state_end = int(end[1]), int(end[2]), int(end[3])
    assert count == len(pulses)

    # Count: the hands advance by the local time that passed, 24 h + the
    # hour lost in spring; a mode's plan may leave the hand mid-minute early
    # or late, never by more than a minute.
    elapsed_local = 86400 + 3600
    assert local_seconds(START_MS + 86400000) - local_seconds(START_MS) == 3600
    assert abs(count - elapsed_local) <= 60
    p_start = local_seconds(START_MS) % 43200
    assert p_end == (p_start + count) % 43200
    assert state_end == RUN

    # Polarity is the position's parity (no set-hands, so no swap).
    assert all(pol == p % 2 for _, _, pol, p, _ in pulses)
    # Positions follow one another.
    assert all(b[3] == (a[3] + 1) % 43200 for a, b in zip(pulses, pulses[1:]))
    # Motor limits: >= 125 ms between starts, in ticks and in true time (the
    # oscillator runs slow, so true gaps are no shorter than tick gaps).
    assert all(ticks_diff(b[1], a[1]) >= 125 for a, b in zip(pulses, pulses[1:]))
    assert all(b[0] - a[0] >= 125 for a, b in zip(pulses, pulses[1:]))

    # The ticks wrapped at 2**30 early in the run.
    wraps = [i for i, (a, b) in enumerate(zip(pulses, pulses[1:])) if b[1] < a[1]]
    assert len(wraps) == 1 and pulses[wraps[0]][0] - START_MS < 6 * 60000

    # Minute accuracy: every :00 pulse in RUN state starts within 20 ms of a
    # local minute boundary (CET/CEST offsets are whole hours, so a whole
    # UTC minute) and leaves the hands on the local time there.
    checked = 0
    for t, _, _, p, state in pulses:
        if state != RUN or (p + 1) % 60 != 0:
            continue
        boundary = (t + 30000) // 60000 * 60000
        assert abs(t - boundary) <= 20, (t, boundary)
        assert (p + 1) % 43200 == local_seconds(boundary) % 43200
        checked += 1
    assert checked >= 1440 - 15  # all but the minutes of the DST race

    # The spring-forward: the local minute 02:00 CET does not exist, so from
    # 00:59Z the next boundary is 03:00 CEST and the hands race an hour
    # ahead at the motor's limit. Outside that window, every pulse is RUN
    # (but one: see test_a_press_in_the_last_gap_keeps_the_boundary).
    race = [pulse for pulse in pulses if pulse[4] == RACE and DST_MS - 60000 <= pulse[0] < DST_MS + 15 * 60000]
    assert 3600 <= len(race) <= 3600 * 1000 // (1000 - 125) + 60
    assert race[0][0] - (DST_MS - 60000) < 1000
    others = [pulse for pulse in pulses if pulse[4] != RUN and not DST_MS - 60000 <= pulse[0] < DST_MS + 15 * 60000]
    assert len(others) <= 1

    # The presses moved through the modes in button order.
    import modes

    names = [line.split()[3] for line in lines if line.startswith("B ") and line.split()[2] == "press"]
    first = modes.NAMES.index("vetinari")
    assert names == [modes.NAMES[(first + i + 1) % len(modes.NAMES)] for i in range(len(names))]


@pytest.mark.parametrize("mode", ["normal", "vetinari"])
def test_a_press_in_the_last_gap_keeps_the_boundary(mode):
    # Ten quiet minutes, then a press 100 ms before the :00 pulse is due.
    lines = []
    press_at = 5 * 60000 + 59900
    run_day(lines.append, hours=1, presses=[(press_at, "press")], mode=mode, noise_ms=0, ppm=0)
    pulses = pulses_of(lines)
    onto_00 = [t for t, _, _, p, _ in pulses if (p + 1) % 60 == 0]
    assert len(onto_00) >= 55
    for t in onto_00:
        boundary = (t + 30000) // 60000 * 60000
        assert abs(t - boundary) <= 20, "the :00 pulse at %+d ms from its boundary" % (t - boundary)
