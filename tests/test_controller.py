"""The controller in virtual time: days, DST nights, power cuts, buttons.

Each run drives the real controller, time base and zone in sim/world.py and
judges the pulses by the contract: the minute-accuracy invariant, the motor
limits, polarity = p % 2, and hands that really are where p says.
"""

import datetime

import pytest

from firmware.states import SET_RUN

import modes
from firmware.wall import target_at
from firmware.tz import Zone
from sim.scenario import summarise
from sim.world import World

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
SYDNEY = "AEST-10AEDT,M10.1.0,M4.1.0/3"
GAP = 125
RACE_S_PER_S = GAP / (1000 - GAP)  # racing closes 1 s of lag in this long


def utc_ms(*args):
    return int(datetime.datetime(*args, tzinfo=datetime.timezone.utc).timestamp() * 1000)


def run(start, seconds, tz="UTC0", events=(), **kw):
    world = World(start, tz=tz, **kw)
    # As the scenario runner does: a budget past the end, for the last :00.
    world.run_until(start + seconds * 1000 + 100, [(start + int(at * 1000), action(world)) for at, action in events])
    scenario = {"tz": tz, "start_ms": start, "duration_s": seconds}
    return world, summarise(world, scenario)


def assert_motor_limits(world):
    times = [p[0] for p in world.pulses]
    assert all(b - a >= GAP for a, b in zip(times, times[1:]))
    for (_, polarity, after), nxt in zip(world.pulses, world.pulses[1:]):
        assert polarity == (after - 1) % 2
        assert nxt[2] == (after + 1) % 43200  # p moves by exactly one per pulse
    assert world.rotor.shown == world.store.p  # no step was ever lost


@pytest.mark.parametrize("mode", modes.NAMES)
@pytest.mark.parametrize("ppm", [-40, 0, 40])
def test_every_minute_right_for_a_day(mode, ppm):
    start = utc_ms(2026, 7, 1, 0, 0)
    world, summary = run(start, 86400, tz=CET, mode=mode, oscillator_ppm=ppm, seed=5)
    assert summary["minutes_checked"] == 1440
    assert summary["minutes_right"] == 1440, summary["recoveries"][:3]
    assert summary["worst_boundary_error_ms"] <= 20
    assert_motor_limits(world)


@pytest.mark.parametrize(
    "tz, start, forward",
    [
        (CET, utc_ms(2026, 3, 29, 0, 30), True),  # Europe, spring forward
        (CET, utc_ms(2026, 10, 25, 0, 30), False),  # Europe, fall back
        (SYDNEY, utc_ms(2026, 10, 3, 15, 30), True),  # Sydney, spring forward in October
        (SYDNEY, utc_ms(2026, 4, 4, 15, 30), False),  # Sydney, fall back in April
    ],
)
def test_dst_night_races_or_stands_still(tz, start, forward):
    world, summary = run(start, 4 * 3600, tz=tz, mode="vetinari", seed=9)
    assert_motor_limits(world)
    assert len(summary["recoveries"]) == 1, summary["recoveries"]
    window_s = summary["recoveries"][0][2]
    # The optimal bound: race an hour at the motor's limit, or stand an hour.
    optimal_s = 3600 * RACE_S_PER_S if forward else 3600
    assert optimal_s - 60 <= window_s <= optimal_s + 60
    assert not summary["unrecovered_at_end"]
    pulses = summary["pulses"]
    expected = 4 * 3600 + (3600 if forward else -3600)
    assert pulses == expected


@pytest.mark.parametrize("cut_at_s", [600.0, 631.777, 659.99, 660.0, 675.031])
@pytest.mark.parametrize("cut_s", [0.2, 95.5, 3600 * 2])
def test_power_cut_loses_nothing(cut_at_s, cut_s):
    start = utc_ms(2026, 6, 1, 10, 0)
    world, summary = run(
        start,
        3 * 3600,
        tz=CET,
        mode="hesitate",
        events=[(cut_at_s, lambda w: w.power_off), (cut_at_s + cut_s, lambda w: w.power_on)],
    )
    assert_motor_limits(world)
    assert world.boots == 2
    assert not summary["unrecovered_at_end"]
    # The window spans the cut itself, then the race that closes the lag
    # (1/7 s per s behind), plus up to a minute for the mode to take over
    # at a boundary it can make exactly.
    for _, _, window_s in summary["recoveries"]:
        assert window_s <= cut_s + cut_s * RACE_S_PER_S + 120
    # No pulse while the power was off.
    off, on = start + cut_at_s * 1000, start + (cut_at_s + cut_s) * 1000
    assert not [p for p in world.pulses if off < p[0] < on]


def test_button_changes_mode_at_once_and_keeps_the_minute():
    start = utc_ms(2026, 6, 1, 10, 0)
    presses = [(30.5 + 61 * i, lambda w: (lambda: w.press("press"))) for i in range(12)]
    world, summary = run(start, 15 * 60, mode="normal", events=presses)
    assert [name for _, name in world.mode_changes][:7] == list(modes.NAMES) + ["normal"]
    assert summary["minutes_right"] == summary["minutes_checked"] == 15
    assert_motor_limits(world)
    # The new rhythm starts at once: rush races right after the press.
    rush_at = [t for t, name in world.mode_changes if name == "rush"][0]
    after = [p[0] for p in world.pulses if p[0] > rush_at][:5]
    assert all(b - a == 500 for a, b in zip(after, after[1:]))


def test_hands_given_at_first_boot_are_brought_to_time():
    start = utc_ms(2026, 6, 1, 10, 0, 0)
    world, summary = run(start, 3600, tz="UTC0", hands="09:59:00", mode="normal")
    # One minute behind: race 60 s at 8/s (about 9 s), then the mode.
    assert summary["recoveries"] == [] or summary["recoveries"][0][2] <= 60
    assert world.rotor.shown == world.store.p == target_at(start + 3600 * 1000)


def stop_the_second_hand_at_12(world):
    """Set-hands' first steps, as a user: a long press, and a press when the
    second hand, going round, points at 12."""
    world.press("long_press")
    t = world.true_ms
    while world.rotor.shown % 60 != 0:
        t += 50
        world.run_until(t)
    world.press("press")
    world.run_until(t + 3000)
    assert world.rotor.shown % 60 == 0  # it stopped there


def set_hands_as_a_user(rotor_polarity):
    """The whole procedure; returns the coil swap it learnt."""
    start = utc_ms(2026, 6, 1, 10, 0, 0)
    # The config is wrong: the hands really show 07:13:27, not what it says,
    # and the rotor rests after a pulse of either polarity.
    world = World(start, tz=CET, hands="12:00:00", mode="normal")
    world.rotor.shown = 7 * 3600 + 13 * 60 + 27
    world.rotor.last_polarity = rotor_polarity
    world.run_until(start + 5000)
    stop_the_second_hand_at_12(world)
    # Turn the knob to 12:00 (the second hand does not move with it).
    world.rotor.shown = 0
    world.press("long_press")
    world.run_until(world.true_ms + 3 * 3600 * 1000)
    zone = Zone(CET)
    now = world.true_ms
    assert world.rotor.shown == world.store.p
    # At the next boundary the hands are exactly right.
    b = now - now % 60000 + 60000
    world.run_until(b)
    assert world.rotor.shown == target_at(b + zone.offset(b // 1000) * 1000)
    # The report keeps polarity = p % 2 whatever the coil's swap; one of the
    # two rotor states needs the swap, the other not.
    assert all(p[1] == (p[2] - 1) % 2 for p in world.pulses)
    assert world.controller.swap == world.store.swap
    return world.controller.swap


@pytest.mark.parametrize("rotor_polarity", [0, 1])
def test_set_hands_procedure_with_only_the_button_and_the_knob(rotor_polarity):
    assert set_hands_as_a_user(rotor_polarity) in (0, 1)


def test_set_hands_learns_the_coil_swap_for_one_rotor_state_only():
    assert {set_hands_as_a_user(polarity) for polarity in (0, 1)} == {0, 1}


def test_set_hands_left_alone_is_cancelled_and_keeps_counting():
    # A double press while setting is two presses (as on the board: there
    # every press acts at once): stop, go round again; then 15 idle minutes
    # cancel, and the clock carries on from where the hands really are.
    start = utc_ms(2026, 6, 1, 10, 0, 0)
    world = World(start, tz=CET, mode="normal")
    world.run_until(start + 5000)
    world.press("long_press")
    world.run_until(start + 9000)  # the hand runs about 16 steps ahead
    world.press("double_press")
    assert world.controller.state == SET_RUN  # stopped and sent round again
    world.run_until(start + 1500000)
    summary = summarise(world, {"tz": CET, "start_ms": start, "duration_s": 1500})
    assert world.rotor.shown == world.store.p
    # Wrong while being set and until the cancel (15 min), then a wait for
    # the time to catch up with the steps the hand ran ahead.
    assert len(summary["recoveries"]) == 1 and summary["recoveries"][0][2] <= 20 * 60, summary["recoveries"]
    assert not summary["unrecovered_at_end"]


def test_schedule_plays_normal_at_night_and_a_press_overrides_it():
    from firmware.schedule import parse_schedule

    schedule = parse_schedule([{"from": "23:00", "to": "07:00", "mode": "normal"}])
    start = utc_ms(2026, 6, 1, 20, 30)  # 22:30 CEST
    events = [(2 * 3600 + 5.5, lambda w: (lambda: w.press("press")))]  # 00:30:05.5 local
    world, summary = run(start, 10 * 3600, tz=CET, mode="vetinari", events=events, schedule=schedule)
    changes = [(round((t - start) / 60000), name) for t, name in world.mode_changes]
    assert changes[0] == (0, "vetinari")
    assert (30, "normal") in changes  # 23:00 local
    assert (120, "hesitate") in changes  # the press: next after vetinari, overriding the window
    assert (510, "hesitate") not in changes and changes[-1][1] == "hesitate"  # 07:00: the choice stays
    assert summary["minutes_right"] == summary["minutes_checked"]
    assert_motor_limits(world)


def test_shuffle_draws_a_mode_each_hour_the_same_after_a_reboot():
    start = utc_ms(2026, 6, 1, 0, 0)
    cycle = list(modes.NAMES) + ["shuffle"]
    world, summary = run(start, 12 * 3600, cycle=cycle, mode="shuffle", seed=3)
    hours = {}
    for t, name in world.mode_changes:
        hours[(t - start) // 3600000] = name
    assert len(set(hours.values())) >= 3  # it really shuffles
    assert all((t - start) % 3600000 == 0 for t, _ in world.mode_changes[1:])  # on the hour
    again, _ = run(start, 12 * 3600, cycle=cycle, mode="shuffle", seed=3,
                   events=[(5 * 3600 + 17.3, lambda w: w.power_off), (5 * 3600 + 30, lambda w: w.power_on)])
    assert [n for _, n in again.mode_changes] == [n for _, n in world.mode_changes]
    assert summary["minutes_right"] == summary["minutes_checked"]


def test_a_mode_that_cannot_be_loaded_keeps_the_old_one_and_the_minutes(monkeypatch):
    # On a board a mode's code is imported when first played; a full heap
    # (MemoryError) or a damaged file must not stop the clock.
    start = utc_ms(2026, 6, 1, 10, 0, 0)
    world = World(start, tz=CET, mode="normal")
    world.run_until(start + 65000)
    real_get = modes.get
    failing = {"on": True}

    def get(name, **params):
        if name == "vetinari" and failing["on"]:
            raise MemoryError("memory allocation failed")
        return real_get(name, **params)

    monkeypatch.setattr(modes, "get", get)
    world.press("press")  # normal -> vetinari, which cannot be loaded now
    assert world.controller.unloaded == "vetinari (MemoryError)"  # for the shell to log
    world.controller.unloaded = None  # (as the shell does once it has)
    world.run_until(start + 185000)
    assert world.controller.mode.name == "normal"
    failing["on"] = False  # memory again: the next minute's decision loads it
    world.run_until(start + 305000)
    assert world.controller.mode.name == "vetinari" and world.controller.unloaded is None
    summary = summarise(world, {"tz": CET, "start_ms": start, "duration_s": 300})
    assert summary["minutes_wrong"] == 0 and world.rotor.shown == world.store.p


def test_an_unreadable_position_keeps_the_hands_still_until_set_hands():
    """The store had a record but cannot read it (firmware/store.py,
    `damaged`): the clock does not make a position up. The time is known,
    yet no pulse comes (the LED shows the problem) until set-hands; then
    the clock is right, and the record is whole again."""
    start = utc_ms(2026, 6, 1, 10, 0, 0)
    world = World(start, tz=CET, mode="normal")
    world.run_until(start + 5000)
    world.power_off()
    world.store.p = None  # the record is gone ...
    world.store.damaged = True  # ... but was there: unreadable
    world.rotor.shown = 4 * 3600 + 17 * 60 + 9  # where the hands really are
    world.power_on()
    assert world.controller.lost
    world.run_until(start + 20 * 60 * 1000)
    assert world.pulses[-1][0] <= start + 5000  # twenty minutes, hands still
    assert world.store.p is None  # nothing guessed was written
    stop_the_second_hand_at_12(world)
    world.rotor.shown = 0  # the knob turned to 12:00
    world.press("long_press")
    assert not world.controller.lost and world.store.p == 0
    world.run_until(world.true_ms + 3 * 3600 * 1000)
    b = world.true_ms - world.true_ms % 60000 + 60000
    world.run_until(b)
    assert world.rotor.shown == world.store.p == target_at(b + Zone(CET).offset(b // 1000) * 1000)
