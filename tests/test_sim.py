"""The simulator: its pure core (sim/preview.py) on a fake clock, then the
pygame shell (drawing, events, the loop, --screenshot) under SDL's dummy
video driver."""

import calendar
import math
import struct
import subprocess
import sys

import pytest

import modes
from tests.conftest import need
from tests.peers import ROOT
from sim.preview import HALF_DAY_S, MINUTE_MS, Preview, target

GAP = 125


def local_ms(y, mo, d, h, mi, s, ms=0):
    """A local wall time as integer ms (the preview's clock counts these)."""
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000 + ms


class FakeClock:
    """An injected time source that only moves when told to."""

    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def run_until(preview, clock, end, step):
    """Move the clock to `end` in steps of `step` ms; collect the pulses."""
    pulses = []
    while clock.t < end:
        clock.t = min(clock.t + step, end)
        pulses += preview.advance()
    return pulses


# The pure core ------------------------------------------------------------


@pytest.mark.parametrize("name", modes.NAMES)
@pytest.mark.parametrize("step", [1, 37, 1000])
def test_a_whole_minute_plays_the_modes_plan(name, step):
    start = local_ms(2026, 3, 29, 9, 41, 0)
    clock = FakeClock(start)
    preview = Preview(clock, mode=name, rng=modes.Rng(7), min_gap_ms=GAP)
    expected = modes.get(name).plan(0, 0, modes.Rng(7), GAP)

    pulses = run_until(preview, clock, start + MINUTE_MS, step)

    assert [at - start for at, _ in pulses] == expected
    first = target(start)
    assert [p for _, p in pulses] == [(first + k) % HALF_DAY_S for k in range(1, 61)]
    assert preview.p == target(start + MINUTE_MS)


def test_the_hands_start_in_sync_with_the_clock():
    # normal ticks on every whole second, so mid-minute it shows the time.
    now = local_ms(2026, 1, 5, 17, 3, 27, 456)
    preview = Preview(FakeClock(now), mode="normal")
    assert preview.p == target(now) == (5 * 3600 + 3 * 60 + 27)
    # A pulse due at this very moment has been made.
    preview = Preview(FakeClock(now - 456), mode="normal")
    assert preview.p == target(now) and preview.done == 27
    # Any mode starts where its whole-minute plan has it at this moment.
    preview = Preview(FakeClock(now), mode="rush", rng=modes.Rng(3))
    made = sum(1 for at in modes.get("rush").plan(0, 0, modes.Rng(3), GAP) if at <= 27456)
    assert preview.done == made
    assert preview.p == target(now - 27456) + made


@pytest.mark.parametrize("name", modes.NAMES)
@pytest.mark.parametrize("press_at", [0, 1, 13_370, 30_000, 45_500, 59_000])
def test_press_changes_mode_and_replans_from_where_the_hands_are(name, press_at):
    start = local_ms(2026, 7, 1, 23, 59, 0)
    clock = FakeClock(start)
    preview = Preview(clock, mode=name, rng=modes.Rng(11), min_gap_ms=GAP)
    before = run_until(preview, clock, start + press_at, 50)
    following = modes.NAMES[(modes.NAMES.index(name) + 1) % len(modes.NAMES)]
    second = preview.p % 60
    rng = modes.Rng()
    rng.setstate(preview.rng.getstate())

    preview.press()

    assert preview.mode.name == following
    assert len(before) == second == preview.done
    assert preview.plan[preview.done :] == modes.get(following).plan(press_at, second, rng, GAP)
    after = run_until(preview, clock, start + MINUTE_MS, 50)
    assert len(before) + len(after) == 60
    assert after[-1] == (start + MINUTE_MS, target(start + MINUTE_MS))  # :00 right on the minute
    assert preview.p == 0  # midnight shows 12:00:00


def test_a_press_too_late_for_any_plan_races_to_the_minute():
    start = local_ms(2026, 2, 2, 8, 0, 0)
    clock = FakeClock(start)
    preview = Preview(clock, mode="normal", min_gap_ms=GAP)
    run_until(preview, clock, start + 59_950, 50)
    assert preview.p % 60 == 59  # one pulse, due at 60000, fits no 125 ms gap
    preview.press()
    pulses = run_until(preview, clock, start + 2 * MINUTE_MS, 10)
    # The pulse onto :00 comes as soon as the motor allows, a little late...
    assert pulses[0] == (start + 59_950 + GAP, target(start + MINUTE_MS))
    # ...and the next minute is whole again, exactly on its boundary.
    assert len(pulses) == 61
    assert pulses[-1] == (start + 2 * MINUTE_MS, target(start + 2 * MINUTE_MS))


@pytest.mark.parametrize("name", modes.NAMES)
def test_the_hands_are_right_at_every_minute_for_many_minutes(name):
    begin = local_ms(2026, 10, 25, 11, 52, 17, 333)  # crosses 12:00 (p wraps)
    clock = FakeClock(begin)
    preview = Preview(clock, mode=name, rng=modes.Rng(5), min_gap_ms=GAP)
    steps = modes.Rng(99)
    boundary = begin - begin % MINUTE_MS
    checked = 0
    for minute in range(17):
        boundary += MINUTE_MS
        while clock.t < boundary:
            clock.t = min(clock.t + steps.between(1, 400), boundary)
            preview.advance()
            if steps.below(500) == 0:
                preview.press()
        assert preview.p == target(boundary), minute
        checked += 1
    assert checked == 17
    # A single long jump of simulated time lands right too.
    clock.t = boundary + 45 * MINUTE_MS
    preview.advance()
    assert preview.p == target(clock.t)


def test_a_clock_going_back_sets_the_hands_at_once():
    now = local_ms(2026, 10, 25, 3, 0, 5, 100)
    clock = FakeClock(now)
    preview = Preview(clock, mode="normal")
    clock.t -= 3600 * 1000  # the end of summer time
    assert preview.advance() == []
    assert preview.p == target(clock.t)


# The pygame shell ---------------------------------------------------------


@pytest.fixture
def pg(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    monkeypatch.setenv("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError:
        pygame = None
    need(pygame, "pygame-ce (pip package pygame-ce)")
    yield pygame
    pygame.quit()


def near(colour, reference, tolerance=8):
    """The face is scaled down after drawing, so its colour shifts a little."""
    return all(abs(a - b) <= tolerance for a, b in zip(tuple(colour)[:3], reference))


def polar(center, deg, dist):
    """The pixel `dist` from `center` at `deg` clockwise from 12 o'clock."""
    a = math.radians(deg)
    return round(center[0] + dist * math.sin(a)), round(center[1] - dist * math.cos(a))


def hour_hand_at(image, view, hours):
    """Whether the hour hand covers the dial at `hours` (a float on the 12-hour dial)."""
    from sim import draw

    return near(image.get_at(polar(view.center, hours * 30, 0.35 * view.radius)), draw.INK)


def hand_points(view, second):
    """Points under the second hand at `second`, and opposite it."""
    reach = 0.75 * view.radius
    return polar(view.center, second * 6, reach), polar(view.center, second * 6 + 180, reach)


@pytest.mark.parametrize("second", [15, 40])
def test_a_frame_shows_the_dial_the_second_hand_and_the_plan(pg, second):
    from sim import draw
    from sim.app import WINDOW_SIZE

    now = local_ms(2026, 5, 1, 10, 10, second, 500)
    preview = Preview(FakeClock(now), mode="normal")
    surface = pg.Surface(WINDOW_SIZE)
    view = draw.View(WINDOW_SIZE)
    view.draw(surface, preview)

    w, h = WINDOW_SIZE
    colours = {tuple(surface.get_at((x, y)))[:3] for x in range(0, w, 7) for y in range(0, h, 7)}
    assert len(colours) > 10  # not one uniform colour
    face = sum(
        1
        for x in range(view.center[0] - view.radius, view.center[0] + view.radius, 3)
        for y in range(view.center[1] - view.radius, view.center[1] + view.radius, 3)
        if near(surface.get_at((x, y)), draw.FACE)
    )
    assert face * 9 > 0.5 * 3.14 * view.radius**2  # most of the dial is face
    on, off = hand_points(view, second)
    assert tuple(surface.get_at(on))[:3] == draw.RED
    assert tuple(surface.get_at(off))[:3] != draw.RED
    # The strip: made pulses dim, pulses to come bright, the cursor red.
    y = view.bar.centery
    assert tuple(surface.get_at((view.x_of(1000 * (second - 5)), y)))[:3] == draw.DONE
    assert tuple(surface.get_at((view.x_of(1000 * (second + 5)), y)))[:3] == draw.TO_COME
    assert tuple(surface.get_at((view.x_of(1000 * second + 500), y)))[:3] == draw.RED


def test_keys_and_a_click_on_the_button_change_the_mode(pg):
    from sim.app import App

    pg.init()
    app = App(Preview(FakeClock(local_ms(2026, 5, 1, 10, 10, 3)), mode=modes.NAMES[0]))
    seen = [app.preview.mode.name]
    for key in (pg.K_SPACE, pg.K_m):
        app.handle(pg.event.Event(pg.KEYDOWN, key=key, mod=0, unicode=""))
        seen.append(app.preview.mode.name)
    outside = (app.view.button.right + 5, app.view.button.bottom + 5)
    app.handle(pg.event.Event(pg.MOUSEBUTTONDOWN, pos=outside, button=1))
    assert app.preview.mode.name == seen[-1]
    app.handle(pg.event.Event(pg.MOUSEBUTTONDOWN, pos=app.view.button.center, button=1))
    seen.append(app.preview.mode.name)
    assert seen == list(modes.NAMES[:4])
    assert app.running
    app.handle(pg.event.Event(pg.KEYDOWN, key=pg.K_ESCAPE, mod=0, unicode=""))
    assert not app.running


def test_the_loop_handles_events_and_follows_its_clock(pg):
    from sim import app as sim_app

    clock = FakeClock(local_ms(2026, 5, 1, 10, 10, 3, 200))
    app = sim_app.App(Preview(clock, mode="normal"))
    sim_app.open_window()
    clock.t += 2000
    sim_app.run(app, frames=2)
    assert app.preview.p == target(clock.t)  # normal ran to :05
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONDOWN, pos=app.view.button.center, button=1))
    sim_app.run(app, frames=2)
    assert app.preview.mode.name == modes.NAMES[1]
    pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_q, mod=0, unicode=""))
    sim_app.run(app)  # returns once q is read
    assert not app.running


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def run_sim(*args):
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_screenshot_writes_a_png_of_the_window(pg, tmp_path):
    from sim import draw
    from sim.app import WINDOW_SIZE

    out = tmp_path / "frame.png"
    done = run_sim("--screenshot", str(out), "--mode", "normal", "--at", "2026-03-29T00:50:15.5Z")
    assert done.returncode == 0, done.stderr
    assert png_size(out) == WINDOW_SIZE
    image = pg.image.load(str(out))
    view = draw.View(WINDOW_SIZE)
    on, off = hand_points(view, 15)
    assert tuple(image.get_at(on))[:3] == draw.RED
    assert tuple(image.get_at(off))[:3] != draw.RED
    # --at without --tz is UTC: the hour hand is just short of 1 o'clock.
    assert hour_hand_at(image, view, 50 / 60)
    assert not hour_hand_at(image, view, 1 + 50 / 60)


@pytest.mark.parametrize(
    "at, utc_hours, cet_hours",
    [("2026-03-29T00:59:59Z", 59 / 60, 1 + 59 / 60), ("2026-03-29T01:00:30Z", 1, 3)],  # spring forward
)
def test_screenshot_shows_local_time_in_the_given_zone(pg, tmp_path, at, utc_hours, cet_hours):
    from sim import draw
    from sim.app import WINDOW_SIZE

    try:
        import firmware.tz  # noqa: F401  (until it exists, --tz shows UTC)

        hours = cet_hours
    except ImportError:
        hours = utc_hours
    out = tmp_path / "tz.png"
    done = run_sim("--screenshot", str(out), "--tz", "CET-1CEST,M3.5.0,M10.5.0/3", "--at", at)
    assert done.returncode == 0, done.stderr
    view = draw.View(WINDOW_SIZE)
    image = pg.image.load(str(out))
    assert hour_hand_at(image, view, hours)
    assert not hour_hand_at(image, view, hours + 1)


@pytest.mark.parametrize(
    "args, word",
    [
        (["--mode", "no-such-mode"], "no-such-mode"),
        (["--at", "yesterday"], "yesterday"),
        (["--tz", "CET-1CEST,"], "--tz"),
    ],
)
def test_a_bad_argument_is_a_usage_error(tmp_path, args, word):
    if args[0] == "--tz":
        pytest.importorskip("firmware.tz")
    out = tmp_path / "no.png"
    done = run_sim("--screenshot", str(out), *args)
    assert done.returncode == 2
    assert word in done.stderr.strip().splitlines()[-1]
    assert not out.exists()
