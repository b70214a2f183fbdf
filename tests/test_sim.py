"""The simulator window: its core (sim/preview.py: the firmware's controller in
the virtual world, the warp clock, the button's gestures, what the window
shows) on a fake clock, then the pygame shell (drawing, keys, clicks, the
loop, the tick sound, --screenshot) under SDL's dummy drivers, and last a
real window under Xvfb, captured from the X server's screen."""

import ctypes
import ctypes.util
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

import modes
from firmware import controller as ctl
from firmware.wall import target_at
from sim.__main__ import parse_utc
from sim.preview import LEAD_IN_MS, Clock, MouseButton, Preview, dial_text, local_zone
from sim.world import NtpTime
from tests.conftest import need
from tests.peers import ROOT

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
FRAME_MS = 16


class Fake:
    """An injected time source that only moves when told to."""

    def __init__(self, t=0):
        self.t = t

    def __call__(self):
        return self.t


def preview_at(iso, mode="normal", tz="UTC0", **kw):
    """A preview whose true time starts at `iso`, and its fake real clock."""
    real = Fake(1000)
    clock = Clock(real_ms=real, start_ms=parse_utc(iso))
    return Preview(clock, tz=tz, mode=mode, **kw), real


def frames(preview, real, n, step=FRAME_MS):
    """n frames of `step` real ms; the pulses they made."""
    made = []
    for _ in range(n):
        real.t += step
        made += preview.advance()
    return made


# The warp clock -----------------------------------------------------------


def test_the_clock_runs_warp_times_faster_than_real_time_and_never_back():
    real = Fake(500)
    clock = Clock(real_ms=real, start_ms=10_000)
    real.t += 40
    assert clock.now() == 10_040
    clock.set_warp(3600)
    real.t += 10
    assert clock.now() == 10_040 + 36_000
    clock.faster(1)
    assert clock.warp == 7200
    clock.faster(-2)
    assert clock.warp == 1800
    for _ in range(40):
        clock.faster(1)
    assert clock.warp == 86400  # the top of the scale, at least 3600x
    clock.faster(-100)
    assert clock.warp == 1


def test_a_live_clock_follows_its_reference_until_warped():
    real, ref = Fake(0), Fake(1_700_000_000_000)
    clock = Clock(real_ms=real, reference=ref)
    ref.t += 5000  # e.g. an NTP correction, or a laptop waking up
    assert clock.now() == 1_700_000_005_000
    ref.t -= 3000  # the computer's clock stepped back: true time does not
    assert clock.now() == 1_700_000_005_000
    clock.set_warp(60)
    real.t += 1000
    assert clock.now() == 1_700_000_065_000 and not clock.live


# The button's gestures: the mouse through the board's own decoder --------


def gestures(script, frame=FRAME_MS):
    """Run (real ms, "down" | "up") steps, polling every frame; the events."""
    button, out = MouseButton(0), []
    script = list(script)
    for now in range(frame, 3000, frame):
        while script and script[0][0] <= now:
            at, action = script.pop(0)
            out.append(button.press(at) if action == "down" else button.release(at))
        out.append(button.poll(now))
    return [e for e in out if e]


@pytest.mark.parametrize(
    "script, events",
    [
        ([(0, "down"), (120, "up")], ["press"]),
        ([(0, "down"), (5, "up")], ["press"]),  # shorter than a frame: not lost
        ([(0, "down"), (900, "up")], ["press"]),  # slow, but short of a long press
        ([(0, "down"), (1500, "up")], ["long_press"]),
        ([(0, "down"), (100, "up"), (300, "down"), (380, "up")], ["double_press"]),
        ([(0, "down"), (100, "up"), (600, "down"), (700, "up")], ["press", "press"]),
        ([(0, "down"), (100, "up"), (300, "down"), (1800, "up")], ["double_press"]),
        ([(0, "down"), (100, "up"), (104, "down"), (107, "up")], ["double_press"]),  # all within frames
    ],
)
def test_the_mouse_makes_short_long_and_double_presses_as_the_board_does(script, events):
    assert gestures(script) == events


def test_a_long_press_is_told_while_the_button_is_still_held():
    button = MouseButton(0)
    assert button.press(10) is None
    assert button.poll(26) is None  # the decoder accepts the press here
    assert button.held_fraction(526) == 0.5
    assert button.poll(1010) is None and button.poll(1026) == "long_press"
    assert button.poll(5000) is None and button.held_fraction(5000) == 0.0


# The core: the real controller behind the window ---------------------------


@pytest.mark.parametrize("name", modes.NAMES)
def test_the_window_starts_in_sync_with_a_minute_of_the_mode_under_way(name):
    preview, real = preview_at("2026-05-01T10:10:30Z", mode=name, seed=3)
    w = preview.world
    assert w.true_ms == parse_utc("2026-05-01T10:10:30Z")
    assert w.controller.state == ctl.RUN and preview.mode_name == name
    assert preview.pulses >= LEAD_IN_MS // 1000 - 31  # the lead-in's pulses were made
    # The plan strip: the controller's own plan in true time, all 60 pulses.
    strip = preview.strip()
    assert strip.start == parse_utc("2026-05-01T10:10:00Z") and strip.now == 30_000
    assert len(strip.done) + len(strip.to_come) == 60
    assert strip.to_come[-1] == 60_000 and all(at > 30_000 for at in strip.to_come)
    start, times, index = w.plan_true_ms()
    assert [t - start for t in times[index:]] == strip.to_come
    # Then every minute boundary finds the hands right, as the firmware keeps them.
    made = frames(preview, real, 30_000 // FRAME_MS)  # up to 10:11:00 exactly
    assert preview.shown == target_at(parse_utc("2026-05-01T10:11:00Z")) and preview.lead_s == 0
    assert len(made) == len(strip.to_come)


def test_a_press_changes_the_mode_through_the_controller():
    preview, real = preview_at("2026-05-01T10:10:03Z")
    for name in modes.NAMES[1:3]:
        preview.press()
        frames(preview, real, 2)
        assert preview.mode_name == name
    assert [n for _, n in preview.world.mode_changes] == list(modes.NAMES[:3])


def test_a_power_cut_stops_the_hands_and_power_on_brings_them_back():
    preview, real = preview_at("2026-05-01T10:10:03Z", mode="vetinari")
    real.t += 1
    preview.toggle_power()
    shown = preview.shown
    assert frames(preview, real, 100, step=1000) == []  # 100 s in the dark
    assert preview.shown == shown and preview.state is None and preview.lead_s <= -99
    assert preview.mode_name == "vetinari"
    preview.toggle_power()
    frames(preview, real, 1, step=parse_utc("2026-05-01T10:14:00Z") - preview.world.true_ms)
    assert preview.lead_s == 0  # raced back, and the minute is right again


def test_an_ntp_outage_is_switched_on_and_off():
    preview, real = preview_at("2026-05-01T10:10:03Z", oscillator_ppm=200)
    preview.toggle_ntp()
    assert preview.ntp_down
    frames(preview, real, 60, step=60_000)  # an hour without NTP
    assert preview.since_sync_s() >= 3600
    preview.toggle_ntp()
    frames(preview, real, 30, step=60_000)
    assert not preview.ntp_down and preview.since_sync_s() < 1100


def test_lead_and_lag_are_read_on_the_twelve_hour_dial():
    preview, _ = preview_at("2026-05-01T11:59:58Z")
    preview.world.rotor.shown = 3  # 12:00:03 against a true 11:59:58
    assert preview.lead_s == 5
    preview.world.rotor.shown = 43200 - 10
    assert preview.lead_s == -8
    assert dial_text(0) == "12:00:00" and dial_text(3723) == "1:02:03"


def test_the_zone_of_this_computer_is_a_posix_zone():
    from firmware.tz import Zone

    zone = Zone(local_zone())  # ValueError if the string is not POSIX
    now = int(time.time())
    assert zone.offset(now) == time.localtime(now).tm_gmtoff


def test_ntp_time_is_this_computers_clock_plus_the_measured_offset():
    class Reply:
        offset = 1.2345

    calls = []

    def request(host, port, timeout):
        calls.append((host, port, timeout))
        if len(calls) > 1:
            raise OSError("timed out")
        return Reply()

    source = NtpTime("ntp.example", 1234, request=request, clock=Fake(1_000_000))
    assert source() == 1_000_000
    assert source.query() and source() == 1_001_234 and source.answers == 1
    assert not source.query() and "timed out" in source.error
    assert source() == 1_001_234  # a failure keeps the last offset
    assert calls[0] == ("ntp.example", 1234, 1.0)


def fake_ntp_server(offset_s):
    """A one-socket SNTP server on loopback whose clock is `offset_s` ahead."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)

    def ntp_stamp(t):
        t += 2208988800
        return struct.pack("!II", int(t), int((t % 1) * 2**32))

    def serve():
        try:
            data, peer = sock.recvfrom(512)
        except OSError:
            return
        now = time.time() + offset_s
        reply = bytes([0x24, 2, 6, 0xEC]) + bytes(8) + b"TEST" + ntp_stamp(now) + data[40:48]
        sock.sendto(reply + ntp_stamp(now) + ntp_stamp(now), peer)

    threading.Thread(target=serve, daemon=True).start()
    return sock


def test_ntp_time_through_ntplib_against_a_server_on_loopback():
    try:
        import ntplib
    except ImportError:
        ntplib = None
    need(ntplib, "ntplib (pip package ntplib)")
    sock = fake_ntp_server(offset_s=5)
    try:
        source = NtpTime("127.0.0.1", sock.getsockname()[1], timeout_s=3)
        assert source.query(), source.error
        assert abs(source.offset_ms - 5000) < 200
    finally:
        sock.close()


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


def face_share(image, view, offset=(0, 0)):
    """The share of the dial's disc that is face colour."""
    from sim import draw

    cx, cy = view.center[0] + offset[0], view.center[1] + offset[1]
    r = view.radius
    face = sum(
        1
        for x in range(cx - r, cx + r, 3)
        for y in range(cy - r, cy + r, 3)
        if near(image.get_at((x, y)), draw.FACE)
    )
    return face * 9 / (math.pi * r * r)


def key(pg, k, text=""):
    return pg.event.Event(pg.KEYDOWN, key=k, mod=0, unicode=text)


def make_app(pg, iso="2026-05-01T10:10:03Z", mode="normal", **kw):
    from sim.app import App, open_window

    preview, real = preview_at(iso, mode=mode, **kw)
    surface = open_window()
    return App(preview), real, surface


@pytest.mark.parametrize("second", [15, 40])
def test_a_frame_shows_the_dial_the_second_hand_and_the_plan(pg, second):
    from sim import draw

    app, real, surface = make_app(pg, "2026-05-01T10:10:%02d.5Z" % second)
    app.step(surface)
    view = app.view
    w, h = surface.get_size()
    colours = {tuple(surface.get_at((x, y)))[:3] for x in range(0, w, 7) for y in range(0, h, 7)}
    assert len(colours) > 10  # not one uniform colour
    assert face_share(surface, view) > 0.5  # most of the dial is face
    on, off = hand_points(view, second)
    assert tuple(surface.get_at(on))[:3] == draw.RED
    assert tuple(surface.get_at(off))[:3] != draw.RED
    # The strip: made pulses dim, pulses to come bright, the cursor red.
    y = view.bar.centery
    assert tuple(surface.get_at((view.x_of(1000 * (second - 5)), y)))[:3] == draw.DONE
    assert tuple(surface.get_at((view.x_of(1000 * (second + 5)), y)))[:3] == draw.TO_COME
    assert tuple(surface.get_at((view.x_of(1000 * second + 500), y)))[:3] == draw.RED


def test_keys_and_a_click_on_the_button_change_the_mode(pg):
    app, real, surface = make_app(pg)
    p = app.preview
    for k in (pg.K_SPACE, pg.K_m):
        app.handle(key(pg, k))
    assert [n for _, n in p.world.mode_changes] == list(modes.NAMES[:3])
    # A click beside the button does nothing; on it, a short press once 400 ms passed.
    b = app.view.button
    app.handle(pg.event.Event(pg.MOUSEBUTTONDOWN, pos=(b.left - 30, b.bottom + 30), button=1))
    app.handle(pg.event.Event(pg.MOUSEBUTTONDOWN, pos=b.center, button=1))
    real.t += 90
    app.handle(pg.event.Event(pg.MOUSEBUTTONUP, pos=b.center, button=1))
    for _ in range(30):
        real.t += FRAME_MS
        app.step(surface)
    assert [n for _, n in p.world.mode_changes] == list(modes.NAMES[:4])
    assert app.running
    app.handle(key(pg, pg.K_ESCAPE))
    assert not app.running


def test_l_enters_set_hands_and_d_is_two_presses_there(pg):
    app, real, surface = make_app(pg)
    app.handle(key(pg, pg.K_l))
    assert app.preview.state == ctl.SET_RUN
    before = app.preview.pulses
    for _ in range(120):  # about two seconds: the second hand goes round at 2 steps a second
        real.t += FRAME_MS
        app.step(surface)
    assert 3 <= app.preview.pulses - before <= 5
    app.handle(key(pg, pg.K_SPACE))
    assert app.preview.state == ctl.SET_HOLD
    # As a quick double click on the board: two presses (go round, stop).
    app.handle(key(pg, pg.K_d))
    assert app.preview.state == ctl.SET_HOLD


def test_holding_the_button_one_second_is_a_long_press_and_clicks_then_act_at_once(pg):
    app, real, surface = make_app(pg)
    b = app.view.button
    down = pg.event.Event(pg.MOUSEBUTTONDOWN, pos=b.center, button=1)
    up = pg.event.Event(pg.MOUSEBUTTONUP, pos=b.center, button=1)

    def do(*steps):
        for event, frames_after in steps:
            app.handle(event)
            for _ in range(frames_after):
                real.t += FRAME_MS
                app.step(surface)

    do((down, 70))
    assert app.preview.state == ctl.SET_RUN
    assert [n for _, n in app.preview.world.mode_changes] == ["normal"]  # no short press as well
    do((up, 60))
    # While the hands are set a click acts on release, as on the board (no
    # wait to tell a double click apart): two quick clicks stop, then restart.
    do((down, 5), (up, 2))
    assert app.preview.state == ctl.SET_HOLD
    do((down, 5), (up, 2))
    assert app.preview.state == ctl.SET_RUN


def count_pulses(pg, warp_key, n=60):
    app, real, surface = make_app(pg, mode="vetinari")
    app.handle(key(pg, warp_key))
    before = app.preview.pulses
    for _ in range(n):
        real.t += FRAME_MS
        app.step(surface)
    return app, app.preview.pulses - before


def test_warp_runs_the_controller_faster(pg):
    _, slow = count_pulses(pg, pg.K_1)  # 60 frames of 16 ms: about a second
    app, fast = count_pulses(pg, pg.K_5)  # ... at 3600x: about an hour
    assert slow <= 3
    assert abs(fast - 3600 * 60 * FRAME_MS // 1000) < 120
    assert app.preview.clock.warp == 3600 and app.preview.lead_s == 0
    app.handle(key(pg, pg.K_PLUS, "+"))
    assert app.preview.clock.warp == 7200
    app.handle(key(pg, pg.K_MINUS, "-"))
    app.handle(key(pg, pg.K_MINUS, "-"))
    assert app.preview.clock.warp == 1800


def test_p_stops_the_pulses_and_n_stops_ntp(pg):
    app, real, surface = make_app(pg)
    app.handle(key(pg, pg.K_3))  # 60x
    app.handle(key(pg, pg.K_p))
    before, shown = app.preview.pulses, app.preview.shown
    for _ in range(60):
        real.t += FRAME_MS
        app.step(surface)
    assert app.preview.pulses == before and app.preview.shown == shown
    app.handle(key(pg, pg.K_p))
    for _ in range(60):
        real.t += FRAME_MS
        app.step(surface)
    assert app.preview.pulses > before
    # Without NTP the clock ticks on from its time base (holdover)...
    app.handle(key(pg, pg.K_n))
    before = app.preview.pulses
    for _ in range(60):
        real.t += FRAME_MS
        app.step(surface)
    assert app.preview.ntp_down and app.preview.pulses > before
    # ...but a board that boots without it has no time: the hands wait.
    app.handle(key(pg, pg.K_p))
    app.handle(key(pg, pg.K_p))
    before = app.preview.pulses
    for _ in range(60):
        real.t += FRAME_MS
        app.step(surface)
    assert app.preview.pulses == before and app.preview.state == ctl.NO_TIME


def test_the_tick_is_synthesised_and_s_mutes_it(pg):
    app, real, surface = make_app(pg)
    assert app.ticker.works  # the dummy audio driver takes it
    for _ in range(130):
        real.t += FRAME_MS
        app.step(surface)
    assert app.clicks == 2  # two seconds, two ticks
    app.handle(key(pg, pg.K_s))
    for _ in range(130):
        real.t += FRAME_MS
        app.step(surface)
    assert app.clicks == 2 and app.sound.startswith("muted")


def test_no_audio_device_is_no_sound_and_no_crash(pg, monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    pg.mixer.quit()
    app, real, surface = make_app(pg)
    for _ in range(70):
        real.t += FRAME_MS
        app.step(surface)
    assert not app.ticker.works and app.clicks == 0 and app.sound.startswith("none")


def test_help_overlay_and_a_resized_window_with_a_round_dial(pg):
    app, real, surface = make_app(pg)
    app.step(surface)
    plain = pg.image.tobytes(surface, "RGB")
    app.handle(key(pg, pg.K_SLASH, "?"))
    app.step(surface)
    assert app.show_help and pg.image.tobytes(surface, "RGB") != plain
    app.handle(key(pg, pg.K_h))
    assert not app.show_help
    wide = pg.Surface((1200, 500))
    app.step(wide)
    assert app.view.size == (1200, 500)
    c, r = app.view.center, app.view.radius
    assert r >= 100 and c[0] - r >= 0 and c[0] + r <= 1200
    assert face_share(wide, app.view) > 0.5  # still a round dial, all of it in view


def test_a_frame_that_would_show_nothing_new_is_not_drawn(pg):
    app, real, surface = make_app(pg, "2026-05-01T10:10:03.2Z")
    for _ in range(60):
        real.t += FRAME_MS
        app.step(surface)
    # At 1x the marker and the cursor move about a pixel per 100 ms, and a
    # pulse comes once a second: about 10 of 60 frames need drawing.
    assert app.frames == 60 and 8 <= app.drawn <= 13
    drawn = app.drawn
    app.handle(pg.event.Event(pg.WINDOWEXPOSED))
    assert app.step(surface) and app.drawn == drawn + 1


def test_the_loop_handles_events_and_follows_its_clock(pg):
    from sim import app as sim_app

    app, real, _ = make_app(pg)
    pg.event.post(key(pg, pg.K_SPACE))
    sim_app.run(app, frames=2)
    assert app.preview.mode_name == modes.NAMES[1] and app.frames == 2
    pg.event.post(key(pg, pg.K_q))
    sim_app.run(app)  # returns once q is read
    assert not app.running


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def run_sim(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
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
    "at, hours",
    [
        ("2026-03-29T00:58:59Z", 1 + 59 / 60),  # 01:58:59 CET
        # Spring forward at 01:00Z: the boundary's target jumps to 3:00, so
        # the real controller races from 00:59Z (1:59:00) at a step per
        # 126 ms; 90 s later the hands show 2:10:54, far from 3.
        ("2026-03-29T01:00:30Z", 2 + 11 / 60),
        ("2026-03-29T01:30:00Z", 3.5),  # started after the race: 03:30 CEST
    ],
)
def test_screenshot_shows_local_time_in_the_given_zone(pg, tmp_path, at, hours):
    from sim import draw
    from sim.app import WINDOW_SIZE

    out = tmp_path / "tz.png"
    done = run_sim("--screenshot", str(out), "--tz", CET, "--at", at, "--mode", "vetinari")
    assert done.returncode == 0, done.stderr
    view = draw.View(WINDOW_SIZE)
    image = pg.image.load(str(out))
    assert hour_hand_at(image, view, hours)
    assert not hour_hand_at(image, view, hours + 1)
    assert not hour_hand_at(image, view, hours - 1)


@pytest.mark.parametrize(
    "args, word",
    [
        (["--mode", "no-such-mode"], "no-such-mode"),
        (["--at", "yesterday"], "yesterday"),
        (["--tz", "CET-1CEST,"], "--tz"),
        (["--frames", "0"], "--frames"),
        (["--ntp", "host:port"], "--ntp"),
    ],
)
def test_a_bad_argument_is_a_usage_error(tmp_path, args, word):
    out = tmp_path / "no.png"
    done = run_sim("--screenshot", str(out), *args)
    assert done.returncode == 2
    assert word in done.stderr.strip().splitlines()[-1]
    assert not out.exists()


def test_frames_runs_the_window_that_many_frames_and_exits(pg):
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    began = time.monotonic()
    done = run_sim("--frames", "30", "--mode", "rush", env=env)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < 30


# A real window under Xvfb -----------------------------------------------------


class XImage(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_int)
        for name in ("width", "height", "xoffset", "format")
    ] + [("data", ctypes.c_void_p)] + [
        (name, ctypes.c_int)
        for name in ("byte_order", "bitmap_unit", "bitmap_bit_order", "bitmap_pad", "depth", "bytes_per_line", "bits_per_pixel")
    ]


def capture_screen(pg, display):
    """The X server's whole screen as a pygame Surface (what xwd would read),
    through libX11's XGetImage; None if the display cannot be opened."""
    x11 = ctypes.CDLL(need(ctypes.util.find_library("X11"), "libX11 (Debian package libx11-6)"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XGetImage.restype = ctypes.POINTER(XImage)
    x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_int] * 2 + [ctypes.c_uint] * 2
    x11.XGetImage.argtypes += [ctypes.c_ulong, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return None
    try:
        w, h = x11.XDisplayWidth(dpy, 0), x11.XDisplayHeight(dpy, 0)
        image = x11.XGetImage(dpy, x11.XDefaultRootWindow(dpy), 0, 0, w, h, 0xFFFFFFFF, 2).contents  # ZPixmap
        assert image.bits_per_pixel == 32 and image.byte_order == 0  # BGRX, least significant byte first
        data = bytearray(ctypes.string_at(image.data, image.bytes_per_line * h))
        data[3::4] = b"\xff" * (len(data) // 4)  # X leaves the pad byte at 0: make it opaque
        return pg.image.frombuffer(data, (w, h), "BGRA", image.bytes_per_line).copy()
    finally:
        x11.XCloseDisplay(dpy)


def window_box(pg, screen):
    """The bounding box of everything not black (the root is black with -br)."""
    mask = pg.mask.from_threshold(screen, (0, 0, 0, 255), (1, 1, 1, 255))
    mask.invert()
    boxes = mask.get_bounding_rects()
    return boxes[0].unionall(boxes[1:]) if boxes else None


@pytest.mark.peer
def test_a_real_window_under_xvfb_shows_a_drawn_dial(pg, tmp_path):
    from sim import draw
    from sim.app import WINDOW_SIZE

    xvfb = need(shutil.which("Xvfb"), "Xvfb (Debian package xvfb)")
    server = subprocess.Popen(
        [xvfb, "-displayfd", "1", "-screen", "0", "1280x1024x24", "-br", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        display = ":" + server.stdout.readline().decode().strip()
        env = dict(os.environ, DISPLAY=display, SDL_AUDIODRIVER="dummy")
        env.pop("SDL_VIDEODRIVER", None)
        sim = subprocess.Popen(
            [sys.executable, "-m", "sim", "--frames", "240", "--mode", "vetinari"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        shot, box = None, None
        deadline = time.monotonic() + 30
        while sim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            screen = capture_screen(pg, display)
            box = screen and window_box(pg, screen)
            if box and box.size == WINDOW_SIZE:
                shot = screen  # the window is up; let it draw a few more frames
                time.sleep(0.5)
                shot = capture_screen(pg, display) or shot
                break
        _, err = sim.communicate(timeout=30)
        assert sim.returncode == 0, err.decode()
        assert shot is not None, "no window appeared on %s" % display
        pg.image.save(shot, str(tmp_path / "xvfb.png"))
        window = shot.subsurface(box)
        colours = {tuple(window.get_at((x, y)))[:3] for x in range(0, box.w, 5) for y in range(0, box.h, 5)}
        assert len(colours) > 30  # a drawing, not an empty window
        view = draw.View(WINDOW_SIZE)
        assert face_share(window, view) > 0.5  # the face colour fills the dial
        assert tuple(window.get_at((5, 5)))[:3] == draw.BACKGROUND
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


@pytest.mark.parametrize("display", [None, ":987"])
def test_without_a_display_it_says_so_and_exits_1(display):
    # SDL would fall back to drawing nowhere and the window would run for
    # ever, unseen: one line instead, naming what to run.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    if display:
        env["DISPLAY"] = display
    proc = subprocess.run([sys.executable, "-m", "sim"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("python -m sim:")]
    assert len(lines) == 1 and "--screenshot" in lines[0] and "scenario" in lines[0], proc.stderr


def test_help_names_the_scenario_command_and_it_has_its_own():
    top = subprocess.run([sys.executable, "-m", "sim", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert top.returncode == 0 and "python -m sim scenario FILE.json" in top.stdout
    sub = subprocess.run([sys.executable, "-m", "sim", "scenario", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert sub.returncode == 0 and sub.stdout.startswith("usage: python -m sim scenario") and "ntp_step" in sub.stdout


def test_the_status_says_how_long_until_right_and_why():
    from sim.preview import Clock, Preview

    start = 1774745820000  # 2026-03-29T00:57:00Z: spring forward at 01:00Z
    clock = Clock(real_ms=lambda: 0, start_ms=start)
    preview = Preview(clock, tz="CET-1CEST,M3.5.0,M10.5.0/3", mode="normal")
    preview.world.run_until(start + 3 * 60000 + 5000)  # just past the jump: racing an hour
    text = preview.state_text
    assert text.startswith("racing: right in ") and " min " in text, text
    minutes = int(text.split("right in ")[1].split(" min")[0])
    assert 7 <= minutes <= 9, text  # an hour at 8 steps a second: about 8.6 minutes
    preview.toggle_power()
    preview.toggle_power()
    preview.world.run_until(preview.world.true_ms + 5000)
    assert preview.state_text.startswith("catching up after the power cut: "), preview.state_text
    # The simulator knows the real hands: one lost step shows as a warning.
    preview.world.rotor.shown = (preview.world.rotor.shown + 3) % 43200
    assert preview.warning and "set-hands was stopped off 12" in preview.state_text and "3 s ahead" in preview.state_text
