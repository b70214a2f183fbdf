"""The phone page's request handling (firmware/web.py over firmware/remote.py)
as a pure core: a request in, an answer out, over the real controller,
time base and zone in virtual time (sim/world.py, through sim/web.py's
WorldClock, as `python -m sim --web` serves it). No sockets here:
tests/test_web_e2e.py puts the same code on a port on the unix port.
"""

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import modes
from firmware import remote, web
from firmware.tz import Zone
from sim.web import WorldClock, zone_table
from sim.world import World
from tests.test_flash_faults import wrong_boundaries
from tools import zones

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
START = 1780308000000  # 2026-06-01 10:00Z
PASSWORD = "open-sesame-42"
AUTH = web.credentials(PASSWORD)
CYCLE = ("normal", "vetinari", "rush", "stumble")
STATUS_KEYS = {"mode", "modes", "state", "hands", "local", "lead_s", "tz", "synced_ago_s", "error_bound_ms", "schedule"}


@pytest.fixture(scope="module", autouse=True)
def table(tmp_path_factory):
    saved = remote.ZONES
    remote.ZONES = zone_table(str(tmp_path_factory.mktemp("zones")))
    yield remote.ZONES
    remote.ZONES = saved


def make(hands=None, mode="normal", tz=CET):
    world = World(START, tz=tz, mode=mode, cycle=CYCLE, hands=hands)
    clock = WorldClock(world, tz)
    return world, clock, web.Web(clock, PASSWORD)


def call(w, world, method, path, body=None, auth=AUTH, ctype="application/json"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    status, headers, data, file = w.handle(method, path, auth, ctype, body or b"", world.ticks())
    return status, headers, (json.loads(data) if data is not None and headers.get("Content-Type") == "application/json" else data), file


def test_status_says_what_the_contract_names():
    world, clock, w = make()
    world.run_until(START + 90000)
    status, headers, st_, file = call(w, world, "GET", "/api/status")
    assert status == 200 and file is None and headers["Cache-Control"] == "no-store"
    assert STATUS_KEYS <= set(st_)
    assert st_["mode"] == "normal" and st_["modes"] == list(CYCLE) and st_["state"] == "run"
    assert st_["tz"] == CET and st_["schedule"] == [] and st_["version"] == remote.VERSION
    # True local time as zoneinfo has it, and the hands the controller believes.
    local = datetime.fromtimestamp(world.true_ms / 1000, timezone.utc).astimezone(ZoneInfo("Europe/Berlin"))
    assert st_["local"] == local.strftime("%H:%M:%S")
    p = world.controller.p
    assert st_["hands"] == "%02d:%02d:%02d" % (p // 3600 or 12, p // 60 % 60, p % 60)
    assert abs(st_["lead_s"]) <= 60  # normal mode: within the minute's own seconds
    assert isinstance(st_["synced_ago_s"], int) and st_["synced_ago_s"] >= 0
    assert isinstance(st_["error_bound_ms"], int) and st_["error_bound_ms"] > 0
    assert PASSWORD not in json.dumps(st_)


def test_before_the_first_time_local_and_lead_are_null():
    world = World(START, tz=CET, hands="10:00:00")
    world.ntp_outage(START + 3600000)
    w = web.Web(WorldClock(world, CET), PASSWORD)
    status, _, st_, _ = call(w, world, "GET", "/api/status")
    assert status == 200 and st_["local"] is None and st_["lead_s"] is None and st_["synced_ago_s"] is None
    assert st_["error_bound_ms"] is None and st_["state"] == "no time" and st_["hands"] == "10:00:00"


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/api/status"), ("GET", "/zones.txt"), ("POST", "/api/mode"), ("GET", "/nope")])
@pytest.mark.parametrize("auth", [None, "", web.credentials("wrong-password"), "Basic " + "bm9ib2R5Om9wZW4tc2VzYW1lLTQy", AUTH + "x", "Bearer x"])
def test_every_path_needs_the_password(method, path, auth):
    world, _, w = make()
    status, headers, body, file = call(w, world, method, path, {"mode": "rush"}, auth=auth)
    assert status == 401 and file is None
    assert headers["WWW-Authenticate"].startswith('Basic realm="clock"')
    assert "password" in body["error"] and PASSWORD not in json.dumps(body)
    assert world.controller.choice == "normal"


def test_the_page_and_the_zone_table_are_files_sent_in_pieces():
    world, _, w = make()
    status, headers, body, file = call(w, world, "GET", "/")
    assert (status, body, file) == (200, None, web.PAGE) and headers["Content-Type"].startswith("text/html")
    status, headers, body, file = call(w, world, "GET", "/zones.txt")
    assert (status, body, file) == (200, None, remote.ZONES)


def test_five_wrong_passwords_in_a_minute_lock_everyone_out_for_a_minute():
    world, _, w = make()
    bad = web.credentials("guess-guess")
    t = START + 1000
    for i in range(4):
        world.run_until(t + i * 10000)
        assert call(w, world, "GET", "/api/status", auth=bad)[0] == 401
    assert call(w, world, "GET", "/api/status")[0] == 200  # the right one still works meanwhile
    world.run_until(t + 50000)
    status, headers, body, _ = call(w, world, "GET", "/api/status", auth=bad)
    assert status == 429 and headers["Retry-After"] == "60"
    assert call(w, world, "GET", "/api/status")[0] == 429  # everyone: the guesser may know a user's password is coming
    world.run_until(t + 50000 + 59000)
    assert call(w, world, "POST", "/api/mode", {"mode": "rush"})[0] == 429
    assert world.controller.choice == "normal"
    world.run_until(t + 50000 + 60001)
    assert call(w, world, "GET", "/api/status")[0] == 200


def test_wrong_passwords_spread_over_more_than_a_minute_never_lock():
    world, _, w = make()
    bad = web.credentials("guess-guess")
    for i in range(12):
        world.run_until(START + 1000 + i * 15001)
        assert call(w, world, "GET", "/api/status", auth=bad)[0] == 401
    assert call(w, world, "GET", "/api/status")[0] == 200


@given(events=st.lists(st.tuples(st.booleans(), st.integers(0, 40000)), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_lockout_follows_its_rule(events):
    """A model of the rule: 429 to all within 60 s of a fifth wrong password
    that came within a minute of the first of those five."""
    world, _, w = make()
    t = START + 1000
    failures = []
    locked_until = None
    for wrong, gap in events:
        t += gap
        world.run_until(t)
        status = call(w, world, "GET", "/api/status", auth=web.credentials("nope-nope") if wrong else AUTH)[0]
        if locked_until is not None and t < locked_until:
            assert status == 429
            continue
        locked_until = None
        if not wrong:
            assert status == 200
            continue
        failures = (failures + [t])[-5:]
        if len(failures) == 5 and t - failures[0] < 60000:
            assert status == 429
            locked_until = t + 60000
            failures = []
        else:
            assert status == 401


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_post_that_is_not_json_is_refused_415(ctype):
    """A form on another site can post text/plain or a form to the clock
    without asking; it cannot say application/json without the browser
    asking the clock first (CORS), which the clock never allows."""
    world, _, w = make()
    status, _, body, _ = call(w, world, "POST", "/api/mode", b'{"mode": "rush"}', ctype=ctype)
    assert status == 415 and "application/json" in body["error"]
    assert world.controller.choice == "normal"


@pytest.mark.parametrize("body, status, why", [
    (b"x" * 2049, 413, "over 2048 bytes"),
    (b"{nope", 400, "not JSON"),
    (b"\xff\xfe", 400, "not JSON"),
    (b'["rush"]', 400, 'like {"mode": ...}'),
    (b'{"name": "rush"}', 400, 'like {"mode": ...}'),
    (b'{"mode": "fast"}', 400, "'fast' is not one of normal, vetinari, rush, stumble"),
    (b'{"mode": 3}', 400, "is not one of"),
])
def test_bad_changes_get_one_line_naming_the_fault_and_change_nothing(body, status, why):
    world, _, w = make()
    got, headers, answer, _ = call(w, world, "POST", "/api/mode", body)
    assert got == status and why in answer["error"] and "\n" not in answer["error"]
    assert world.controller.choice == "normal" and world.store.settings.get("mode") == "normal"


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/mode", 405), ("POST", "/api/status", 405), ("POST", "/", 405), ("DELETE", "/api/zone", 405),
    ("GET", "/admin", 404), ("POST", "/api/reboot", 404), ("GET", "/api/status?x=1", 200), ("GET", "/index.html", 200),
])
def test_methods_and_paths(method, path, status):
    world, _, w = make()
    got, headers, body, _ = call(w, world, method, path, {"mode": "rush"})
    assert got == status
    if status == 405:
        assert headers["Allow"] in ("GET", "POST")


def test_a_mode_picked_on_the_page_plays_and_is_saved():
    world, _, w = make()
    world.run_until(START + 90000)
    status, _, st_, _ = call(w, world, "POST", "/api/mode", {"mode": "rush"})
    assert status == 200 and st_["mode"] == "rush" and st_["choice"] == "rush"
    assert world.store.settings["mode"] == "rush" and world.store.mode == "rush"
    world.run_until(START + 400000)
    assert world.mode_changes[-1][1] == "rush"
    assert wrong_boundaries(world, Zone(CET), START + 90000, START + 400000) == []
    # A power cut: the board comes back in the page's mode.
    world.power_off()
    world.power_on()
    assert world.controller.choice == "rush"


def test_the_page_mode_overrides_a_schedule_window_until_it_ends():
    world, clock, w = make()
    world.run_until(START + 30000)
    # 12:00-13:00 local (CEST: 10:00Z is 12:00) plays stumble.
    status, _, st_, _ = call(w, world, "POST", "/api/schedule", {"schedule": [{"from": "12:00", "to": "13:00", "mode": "stumble"}]})
    assert status == 200 and st_["schedule"] == [{"from": "12:00", "to": "13:00", "mode": "stumble"}]
    assert world.store.settings["schedule"] == st_["schedule"]
    world.run_until(START + 150000)
    assert call(w, world, "GET", "/api/status")[2]["mode"] == "stumble"
    call(w, world, "POST", "/api/mode", {"mode": "vetinari"})
    world.run_until(START + 270000)
    assert call(w, world, "GET", "/api/status")[2]["mode"] == "vetinari"


@pytest.mark.parametrize("schedule, why", [
    ("nightly", "schedule: must be a list"),
    ([{"from": "23:00", "to": "7:60", "mode": "normal"}], "schedule[0].to"),
    ([{"from": "23:00", "to": "07:00", "mode": "fast"}], "schedule[0].mode: unknown mode 'fast'"),
    ([{"from": "23:00", "to": "23:00", "mode": "normal"}], "schedule[0]: from and to are equal"),
])
def test_a_bad_schedule_is_refused_with_the_entry_named(schedule, why):
    world, _, w = make()
    status, _, body, _ = call(w, world, "POST", "/api/schedule", {"schedule": schedule})
    assert status == 400 and why in body["error"]
    assert "schedule" not in world.store.settings and world.controller.schedule == ()


def test_a_zone_by_name_or_rule_moves_the_hands_to_the_new_local_time(table):
    world, clock, w = make()
    world.run_until(START + 30000)
    status, _, st_, _ = call(w, world, "POST", "/api/zone", {"tz": "America/New_York"})
    assert status == 200 and st_["tz"] == "EST5EDT,M3.2.0,M11.1.0" and st_["zone"] == "America/New_York"
    assert abs(st_["lead_s"] - 6 * 3600) < 60  # the hands are 6 hours ahead now
    # Round the dial (6 hours at 7 s a second) is faster than 6 hours' wait.
    gap = world.controller.gap  # ms between race pulses
    race_s = (43200 - st_["lead_s"]) * gap // (1000 - gap)
    assert st_["state"] == "race" and abs(st_["right_in_s"] - race_s) <= 2
    assert world.store.settings["tz"] == "EST5EDT,M3.2.0,M11.1.0" and world.store.settings["zone"] == "America/New_York"
    t = world.true_ms + race_s * 1000 + 60000
    world.run_until(t + 180000)
    assert call(w, world, "GET", "/api/status")[2]["lead_s"] in range(-60, 61)
    assert wrong_boundaries(world, Zone("EST5EDT,M3.2.0,M11.1.0"), t, t + 180000) == []
    status, _, st_, _ = call(w, world, "POST", "/api/zone", {"tz": CET})
    assert status == 200 and st_["zone"] is None and "zone" not in world.store.settings and st_["tz"] == CET


@pytest.mark.parametrize("text, why", [
    ("Europe/Berln", "Europe/Berln is not in the zone table"),
    ("Mars/Olympus", "not in the zone table"),
    ("bogus", "neither a zone name nor a POSIX rule"),
    ("", "want an IANA name"),
    (5, "want an IANA name"),
    ("x" * 65, "want an IANA name"),
])
def test_a_bad_zone_is_refused_and_nothing_changes(text, why):
    world, clock, w = make()
    status, _, body, _ = call(w, world, "POST", "/api/zone", {"tz": text})
    assert status == 400 and why in body["error"] and "\n" not in body["error"]
    assert clock.tz == CET and "tz" not in world.store.settings


def test_every_zone_in_the_table_is_found_with_the_rule_deploy_gives(table):
    text = open(table, encoding="utf-8").read()
    names = [line.split(" ")[0] for line in text.splitlines()]
    assert names == sorted(names, key=str.encode) and len(names) > 500
    for line in text.splitlines():
        name, rule = line.split(" ", 1)
        assert remote.lookup(name) == rule == zones.resolve(name)
    assert remote.lookup("Europe/Berlin") == CET
    for missing in ("", "A", "Zzz", "Europe/Berlin2", "Europe/Berli", "Africa/Abidja", "~"):
        assert remote.lookup(missing) is None


names_st = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@given(names=st.sets(names_st, max_size=60), probes=st.lists(names_st, max_size=20))
@settings(max_examples=150, deadline=None)
def test_the_bisection_finds_exactly_what_the_table_holds(tmp_path_factory, names, probes):
    path = tmp_path_factory.mktemp("t") / "zones.txt"
    rules = {name: "R%d" % i for i, name in enumerate(sorted(names, key=str.encode))}
    path.write_bytes(b"".join(("%s %s\n" % (n, rules[n])).encode() for n in sorted(names, key=str.encode)))
    for probe in list(names) + probes:
        assert remote.lookup(probe, str(path)) == rules.get(probe)


def test_no_zone_table_means_rules_only(tmp_path):
    assert remote.lookup("Europe/Berlin", str(tmp_path / "absent.txt")) is None


def hms(p):
    return "%02d:%02d:%02d" % (p // 3600 or 12, p // 60 % 60, p % 60)


@given(shown=st.integers(0, 43199), mode=st.sampled_from(CYCLE), at_ms=st.integers(0, 59999))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_typed_hands_are_taken_and_the_clock_is_right_after_the_catch_up(shown, mode, at_ms):
    """The hands really show `shown` (mis-set by hand); the user types it
    at any instant; the clock takes it, races or waits the faster way, and
    from then on every minute is right on the real hands."""
    world, clock, w = make(mode=mode)
    world.run_until(START + 60000 + at_ms)
    world.rotor.shown = shown  # what the hands really show now, whatever the firmware believed
    status, _, st_, _ = call(w, world, "POST", "/api/hands", {"hands": hms(shown)})
    assert status == 200 and st_["hands"] == hms(shown)
    assert st_["state"] in ("run", "race", "wait")
    # The faster way takes at most half a day / 7 (a race) or 6 hours (a wait).
    end = world.true_ms + 6 * 3600000 + 180000
    settled = None
    t = world.true_ms
    while t < end:
        t += 60000
        world.run_until(t)
        if world.controller.state == 1 and settled is None:  # RUN
            settled = t
        if settled is not None and t > settled + 180000:
            break
    assert settled is not None
    assert wrong_boundaries(world, Zone(CET), settled + 60000, world.true_ms) == []
    assert world.rotor.shown == world.controller.p  # the real hands are where the firmware believes


@pytest.mark.parametrize("text, why", [
    ("10:07", "want what they show as HH:MM:SS"), ("10:07:3a", "HH:MM:SS"), ("24:00:00", "not a time on a dial"),
    ("10:60:00", "not a time on a dial"), ("", "HH:MM:SS"), (None, "HH:MM:SS"), ("1:2:3:4", "HH:MM:SS"), ("١٠:٠٧:٣١", "HH:MM:SS"),
])
def test_bad_hands_are_refused(text, why):
    world, _, w = make()
    before = world.controller.p
    status, _, body, _ = call(w, world, "POST", "/api/hands", {"hands": text})
    assert status == 400 and why in body["error"]
    assert world.controller.p == before


methods = st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "get", ""]) | st.text(max_size=8)
paths = st.sampled_from(["/", "/api/status", "/api/mode", "/api/hands", "/api/zone", "/api/schedule", "/zones.txt"]) | st.text(max_size=40)
auths = st.sampled_from([AUTH, None]) | st.text(max_size=40)
ctypes = st.sampled_from(["application/json", "application/json; charset=utf-8", None]) | st.text(max_size=30)
bodies = st.binary(max_size=300) | st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(
    st.sampled_from(["mode", "hands", "tz", "schedule", "x"]),
    st.none() | st.integers() | st.text(max_size=20) | st.lists(st.dictionaries(st.sampled_from(["from", "to", "mode"]), st.text(max_size=6)), max_size=3),
    max_size=3))


@given(requests=st.lists(st.tuples(methods, paths, auths, ctypes, bodies), min_size=1, max_size=8))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_request_gets_a_status_and_never_breaks_the_clock(requests):
    world, clock, w = make()
    world.run_until(START + 30000)
    for method, path, auth, ctype, body in requests:
        status, headers, data, file = w.handle(method, path, auth, ctype, body, world.ticks())
        assert status in (200, 400, 401, 404, 405, 413, 415, 429)
        if status != 200:
            error = json.loads(data)["error"]
            assert isinstance(error, str) and "\n" not in error and PASSWORD not in error
        world.run_until(world.true_ms + 1000)
    # Whatever was asked, the clock is right again soon after (a zone or
    # hands typed may have made it race or wait; the normal path is checked
    # above): its state is one the controller knows, and it keeps ticking.
    assume(clock.tz == CET and world.controller.state == 1)
    t = world.true_ms
    world.run_until(t + 180000)
    assert wrong_boundaries(world, Zone(CET), t + 60000, t + 180000) == []


def test_the_page_fits_a_phone_and_uses_only_the_api():
    from sim.web import PAGE

    page = open(PAGE, encoding="utf-8").read()
    assert 'name="viewport" content="width=device-width' in page
    for path in ("/api/status", "/api/mode", "/api/hands", "/api/zone", "/api/schedule", "/zones.txt"):
        assert '"%s"' % path in page
    assert "application/json" in page and "setInterval(refresh" in page
    assert len(page.encode()) < 12000  # sent in pieces, but a phone on a weak signal loads it whole


def test_the_simulator_serves_the_same_page_for_the_simulated_clock():
    """`python -m sim --web PORT`'s server, on loopback, over a Preview."""
    from sim.preview import Clock, Preview
    from sim.web import PageServer
    from tests.webclient import request

    preview = Preview(Clock(start_ms=START), tz=CET, mode="normal")
    server = PageServer(preview, 0, PASSWORD).start()
    try:
        status, headers, data = request(server.port, "GET", "/api/status")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
        status, headers, data = request(server.port, "GET", "/api/status", password=PASSWORD)
        st_ = json.loads(data)
        assert status == 200 and st_["state"] == "run" and st_["tz"] == CET
        status, _, data = request(server.port, "POST", "/api/mode", {"mode": "rush"}, PASSWORD)
        assert status == 200 and json.loads(data)["mode"] == "rush" and preview.world.controller.choice == "rush"
        status, _, data = request(server.port, "POST", "/api/mode", b"mode=rush", PASSWORD, ctype="text/plain")
        assert status == 415
        status, headers, data = request(server.port, "GET", "/", password=PASSWORD)
        assert status == 200 and data.startswith(b"<!doctype html>") and headers["Content-Type"].startswith("text/html")
        status, _, data = request(server.port, "GET", "/zones.txt", password=PASSWORD)
        assert status == 200 and b"\nEurope/Berlin CET-1CEST,M3.5.0,M10.5.0/3\n" in data
        status, _, data = request(server.port, "POST", "/api/zone", {"tz": "Europe/London"}, PASSWORD)
        assert status == 200 and json.loads(data)["zone"] == "Europe/London"
        preview.toggle_power()
        assert request(server.port, "GET", "/api/status", password=PASSWORD)[0] == 503
    finally:
        server.stop()


def test_the_simulators_web_option_wants_a_port():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sim", "--web", "eighty"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--web: not a port number" in proc.stderr


def test_requests_with_no_password_are_asked_for_one_and_never_lock_anyone_out():
    """A first visit, a browser's preflight, a link on another page: no
    Authorization at all. Counting those would let anyone lock the owner out."""
    world, _, w = make()
    for _ in range(12):
        status, headers, body, _ = call(w, world, "GET", "/", auth=None)
        assert status == 401 and "log in" in body["error"] and headers["WWW-Authenticate"].startswith("Basic")
    assert call(w, world, "GET", "/api/status")[0] == 200


def test_a_schedule_has_at_most_16_windows_and_is_saved_tidy():
    world, _, w = make()
    many = [{"from": "%02d:00" % h, "to": "%02d:30" % h, "mode": "normal"} for h in range(17)]
    status, _, body, _ = call(w, world, "POST", "/api/schedule", {"schedule": many})
    assert status == 400 and body["error"] == "schedule: at most 16 windows, not 17"
    status, _, st_, _ = call(w, world, "POST", "/api/schedule", {"schedule": [{"from": "7:05", "to": "08:00", "mode": "rush", "colour": "red"}]})
    assert status == 200 and world.store.settings["schedule"] == [{"from": "07:05", "to": "08:00", "mode": "rush"}] == st_["schedule"]


def test_a_change_made_with_no_room_left_for_the_status_says_so_briefly(monkeypatch):
    """Taken, but the heap cannot build the whole status just then: 200 and
    {"changed": true} (the page asks for the status again), never 503,
    which the page would send again (typed hands a second late are a
    second wrong)."""
    world, _, w = make()

    def no_room(clock, now):
        raise MemoryError

    monkeypatch.setattr(remote, "status", no_room)
    status, _, body, _ = call(w, world, "POST", "/api/mode", {"mode": "rush"})
    assert (status, body) == (200, {"changed": True}) and world.controller.choice == "rush"


def test_picking_the_chosen_mode_inside_a_window_overrides_the_window_and_otherwise_writes_nothing():
    world, _, w = make()
    world.run_until(START + 30000)
    settings_before = dict(world.store.settings)
    assert call(w, world, "POST", "/api/mode", {"mode": "normal"})[0] == 200  # chosen and playing: nothing to do
    assert world.store.settings == settings_before
    call(w, world, "POST", "/api/schedule", {"schedule": [{"from": "12:00", "to": "13:00", "mode": "stumble"}]})
    world.run_until(START + 150000)
    assert call(w, world, "GET", "/api/status")[2]["mode"] == "stumble"
    call(w, world, "POST", "/api/mode", {"mode": "normal"})  # the chosen mode, to override the window
    world.run_until(START + 270000)
    assert call(w, world, "GET", "/api/status")[2]["mode"] == "normal"
