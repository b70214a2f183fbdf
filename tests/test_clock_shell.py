"""firmware/clock.py's and firmware/boot.py's own logic, on CPython: the
task supervisor, the first time from a burst of agreeing replies, the boot
counter and the safe config. (The shell running whole is the end-to-end
tests' and the fault tests'.)
"""

import asyncio
import types

import pytest

from firmware import boot, sntp
from firmware import clock as shell
from firmware.store import FileStore


@pytest.fixture(autouse=True)
def sleep_ms(monkeypatch):
    # MicroPython's asyncio.sleep_ms, on CPython's asyncio (fast: 1 ms is 0.1 ms).
    async def sleep(ms):
        await asyncio.sleep(ms / 10000)

    monkeypatch.setattr(asyncio, "sleep_ms", sleep, raising=False)


class Led:
    def __init__(self):
        self.problems = []

    def problem(self, now, ms):
        self.problems.append(ms)


class Motor:
    busy = False

    def __init__(self):
        self.stops = 0

    def stop(self):
        self.stops += 1

    def poll(self, now):
        self.busy = False


def fake_clock(lines):
    clock = object.__new__(shell.Clock)
    clock.board = types.SimpleNamespace(led=Led(), motor=Motor(), watchdog=None, wifi=None)
    clock.store = types.SimpleNamespace(close=lambda: lines.append("store closed"))

    def reset():
        lines.append("reset")
        raise SystemExit(3)

    clock.board.reset = reset
    return clock


def test_a_mode_that_could_not_be_loaded_is_logged_once(monkeypatch):
    lines = []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    clock.ctl = types.SimpleNamespace(unloaded="rush (MemoryError)", mode=types.SimpleNamespace(name="hesitate"), state=shell.SET_RUN, p=0)
    clock.state, clock.mode = shell.SET_RUN, "hesitate"  # nothing else changed
    clock.note()
    clock.note()
    assert lines == ["clock: mode rush (MemoryError) could not be loaded; hesitate plays, tried again at the next minute"]
    assert clock.ctl.unloaded is None


def test_a_failing_task_is_started_again_with_doubling_waits(monkeypatch):
    lines = []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    runs = []

    async def body():
        runs.append(1)
        if len(runs) <= 3:
            raise OSError(24, "EMFILE")

    asyncio.run(clock.supervise("ntp", body))
    assert len(runs) == 4  # three failures, then it ran to its end
    waits = [line.rsplit("again in ", 1)[1] for line in lines]
    assert waits == ["1000 ms", "2000 ms", "4000 ms"]
    assert lines[0] == "clock: the ntp task failed (OSError: [Errno 24] EMFILE); again in 1000 ms"
    assert clock.board.led.problems == [shell._TASK_SHOW_MS] * 3


def test_the_clock_loop_failing_again_and_again_resets_the_board(monkeypatch):
    lines = []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)

    async def body():
        raise MemoryError("memory allocation failed")

    with pytest.raises(SystemExit) as stopped:
        asyncio.run(clock.supervise("clock", body))
    assert stopped.value.code == 3
    assert lines.count("clock: the clock task failed (MemoryError: memory allocation failed); again in 100 ms") == shell._CLOCK_FAILURES - 1
    assert lines[-3:] == ["clock: the clock loop failed 5 times (MemoryError: memory allocation failed); resetting", "store closed", "reset"]
    assert clock.board.motor.stops == shell._CLOCK_FAILURES  # the coil off each time


def test_a_pulse_under_way_runs_its_length_before_the_coil_is_stopped():
    lines = []
    clock = fake_clock(lines)
    motor = clock.board.motor
    motor.busy = True
    polls = []
    motor.poll = lambda now: polls.append(now) or setattr(motor, "busy", len(polls) < 3)
    asyncio.run(clock.end_pulse())
    assert len(polls) == 3 and motor.stops == 1


# -- the first time: a burst of agreeing replies -----------------------------------


def sample(utc_ms, rx_ticks, delay_ms):
    s = object.__new__(sntp.Sample)
    s.t4_ms, s.offset_ms = utc_ms, 0
    s.rx_ticks = rx_ticks
    s.delay_ms, s.delay_us = delay_ms, delay_ms * 1000
    return s


def burst_of(replies, monkeypatch):
    lines = []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    given = list(replies)

    async def ask(name):
        return given.pop(0) if given else sntp.SntpError("no more")

    clock.ask = ask
    return asyncio.run(clock.ask_burst("ntp.test")), len(replies) - len(given), lines


def test_the_first_time_needs_two_replies_that_agree(monkeypatch):
    a = sample(1_000_000, 100, 20)
    b = sample(1_001_020, 1110, 4)  # 1 s later by both clocks, 10 ms apart: agrees (22 allowed)
    got, asked, _ = burst_of([a, b], monkeypatch)
    assert got is b and asked == 2  # the shorter round trip of the two


def test_a_reply_read_late_is_not_taken(monkeypatch):
    # A stall of 8 s: the round trip says so, and the reply is not used.
    stalled = sample(1_000_000, 100, 8000)
    a = sample(1_001_000, 1100 + 4000, 6)  # disagrees with b by 4 s
    b = sample(1_002_000, 2100, 5)
    c = sample(1_003_000, 3100, 7)
    got, asked, lines = burst_of([stalled, a, b, c], monkeypatch)
    assert got is b and asked == 4
    assert lines == ["ntp: ntp.test: 8000 ms round trip is too long to take the time from"]


def test_no_two_that_agree_is_no_time(monkeypatch):
    replies = [sample(1_000_000 + k * 1000, 100 + k * 1300, 5) for k in range(shell._BURST)]
    got, asked, _ = burst_of(replies, monkeypatch)
    assert isinstance(got, sntp.SntpError) and "no two of 4 replies from ntp.test agree" in got.reason


def test_a_failed_query_ends_the_burst_with_its_error(monkeypatch):
    err = sntp.SntpTimeout("no reply")
    got, asked, _ = burst_of([err], monkeypatch)
    assert got is err and asked == 1


@pytest.mark.parametrize("gap, delays, ok", [(0, (10, 10), True), (20, (10, 10), True), (21, (10, 10), False), (-500, (990, 0), True)])
def test_agreement_is_within_half_the_round_trips(gap, delays, ok):
    a = sample(5000 + gap, 1000, delays[0])
    b = sample(5000, 1000, delays[1])
    assert shell.agree(a, b) is ok


def test_agreement_is_wrap_safe():
    period = 1 << 30  # CPython's ticks wrap as a board's do
    a = sample(10_000_000, 5, 4)
    b = sample(9_999_000, (5 - 1000) % period, 4)
    assert shell.agree(a, b)


# -- the boot counter and the safe config -------------------------------------------


def test_boots_are_counted_until_one_runs_and_a_power_on_starts_afresh(tmp_path, monkeypatch):
    monkeypatch.setattr(boot, "log", lambda line: None)
    path = str(tmp_path / "boots.txt")
    assert [boot.count_boot(path) for _ in range(4)] == [0, 1, 2, 3]
    assert boot.count_boot(path, fresh=True) == 0  # plugged in: no failure known
    assert open(path).read() == "1\n"
    (tmp_path / "boots.txt").write_text("garbage")
    assert boot.count_boot(path) == 0


def test_no_flash_for_the_count_is_no_count_and_no_crash(tmp_path, monkeypatch):
    lines = []
    monkeypatch.setattr(boot, "log", lines.append)
    assert boot.count_boot(str(tmp_path / "missing" / "boots.txt")) == 0
    assert lines and lines[0].startswith("boot: cannot count boots in")


def test_the_safe_config_keeps_what_finds_and_drives_the_hands(monkeypatch):
    from firmware import config

    cfg, problems = config.check({"board": "unix", "ntp": ["10.0.0.1"], "dns": "10.0.0.2", "tz": "CET-1CEST,M3.5.0,M10.5.0/3",
                                  "mode": "rush", "schedule": [{"from": "23:00", "to": "07:00", "mode": "normal"}],
                                  "pulse_ms": 50, "hands": "03:00:00"}, platform="linux")
    assert problems == []
    safe = boot.safe_config(cfg)
    assert (safe["ntp"], safe["dns"], safe["tz"], safe["hands"], safe["pulse_ms"]) == (["10.0.0.1"], "10.0.0.2", cfg["tz"], "03:00:00", 50)
    assert safe["mode"] == "normal" and safe["schedule"] == []
    # A board the port is not: its own defaults, not the other board's pins.
    other, _ = config.check({"board": "esp32", "pins": {"coil_a": 4}, "pulse_ms": 50}, platform="linux")
    safe = boot.safe_config(other)
    assert safe["board"] == config.default_board() and safe["pins"] == {} and safe["pulse_ms"] == 31


def test_a_failing_store_is_logged_once_shown_while_it_lasts_and_its_end_said(monkeypatch):
    lines = []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    store = types.SimpleNamespace(failures=0, failing=None, pending_mode=None)
    clock.store = store
    clock.store_failures = 0
    clock.store_failing = False
    clock.settings_retry = 0
    clock.check_store(0)
    assert lines == [] and clock.board.led.problems == []
    for k in range(3):  # a failure, and two failed tries after it
        store.failures += 1
        store.failing = "OSError: [Errno 5] EIO"
        clock.check_store(k)
    assert lines == ["store: cannot write (OSError: [Errno 5] EIO); the position is kept in RAM, trying again"]
    assert clock.board.led.problems == [shell._STORE_SHOW_MS] * 3  # renewed at each try
    store.failing = None
    clock.check_store(5)
    clock.check_store(6)
    assert lines[1:] == ["store: writing again"]
    assert clock.board.led.problems[-1] == 0  # the pattern ends


@pytest.mark.parametrize("saved, want", [({"config": {"watchdog_ms": 0}}, 0), ({"config": {"watchdog_ms": 100}}, 8000),
                                         ({"config": {"watchdog_ms": 8000}}, 8000), (None, 8000), ("garbage", 8000)])
def test_the_boots_watchdog_is_the_longest_unless_the_config_has_none(tmp_path, saved, want):
    # A short one from the config could reset every boot before its first feed.
    import json

    if saved == "garbage":
        (tmp_path / "checked.json").write_text("{")
    elif saved is not None:
        (tmp_path / "checked.json").write_text(json.dumps(saved))
    assert boot.early_watchdog_ms(str(tmp_path) + "/config.json") == want


def test_a_mode_the_flash_did_not_take_is_tried_again_each_minute_between_pulses(tmp_path, monkeypatch):
    """Never from a pulse (the store's save() runs in one): from the loop,
    with no pulse under way or due within 200 ms, once a minute, until it
    is written; the problem shows meanwhile and its end is said."""
    lines = []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    store = FileStore(str(tmp_path))
    store.reset(10)
    blocker = tmp_path / "settings.json.tmp"
    blocker.mkdir()  # the mode cannot be written
    clock.store, clock.store_failures, clock.store_failing, clock.settings_retry = store, 0, False, 0
    store.save_settings("rush")
    clock.wake = 1000000
    clock.check_store(0)  # noted, and tried again at once: fails again
    assert store.pending_mode == "rush" and store.failures == 2
    assert lines == ["store: cannot write (%s); the position is kept in RAM, trying again" % store.failing]
    blocker.rmdir()
    store.save(11)  # a pulse's save: the position is written, the mode is not retried there
    assert store.pending_mode == "rush" and store.failing is not None
    clock.check_store(59999)  # within the minute: not yet
    assert store.pending_mode == "rush"
    clock.board.motor.busy = True
    clock.check_store(60000)  # a pulse under way: not now
    clock.board.motor.busy = False
    clock.wake = 60100
    clock.check_store(60000)  # one due within 200 ms: not now
    assert store.pending_mode == "rush"
    clock.wake = 1000000
    clock.check_store(60001)  # written
    clock.check_store(60002)
    assert store.pending_mode is None and lines[-1] == "store: writing again"
    assert FileStore(str(tmp_path)).load() == (11, "rush", 0)


def booting_clock(monkeypatch, lines, settings):
    """A clock in CET with no schedule, whose store loaded `settings`."""
    from firmware.tz import Zone

    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    clock.tz, clock.zone_name = "CET-1CEST,M3.5.0,M10.5.0/3", None
    clock.zone = Zone(clock.tz)
    clock.ctl = types.SimpleNamespace(schedule=[], wall=types.SimpleNamespace(zone=clock.zone))
    clock.store = types.SimpleNamespace(settings=settings, settings_path="data/settings.json")
    return clock


def test_the_zone_and_schedule_picked_on_the_page_win_over_the_config_at_boot(monkeypatch):
    lines = []
    window = [{"from": "23:00", "to": "07:00", "mode": "normal"}]
    clock = booting_clock(monkeypatch, lines, {"mode": "rush", "tz": "EST5EDT,M3.2.0,M11.1.0", "zone": "America/New_York", "schedule": window})
    clock.resume_settings()
    assert clock.tz == "EST5EDT,M3.2.0,M11.1.0" and clock.zone_name == "America/New_York"
    assert clock.ctl.wall.zone is clock.zone and clock.zone.offset(1780308000) == -4 * 3600
    assert clock.ctl.schedule == [(23 * 60, 7 * 60, "normal")] and lines == []


@pytest.mark.parametrize("saved", [{"tz": "bogus"}, {"schedule": [{"from": "25:00", "to": "07:00", "mode": "normal"}]}, {"schedule": "x"}])
def test_a_saved_zone_or_schedule_that_no_longer_parses_is_said_and_the_config_kept(monkeypatch, saved):
    lines = []
    clock = booting_clock(monkeypatch, lines, dict(saved, mode="rush"))
    clock.resume_settings()
    assert clock.tz == "CET-1CEST,M3.5.0,M10.5.0/3" and clock.ctl.schedule == []
    assert len(lines) == 1 and lines[0].startswith("store: data/settings.json: the saved ") and "is not usable (" in lines[0]


def test_the_page_and_mqtt_tasks_run_their_module_or_say_once_it_is_missing(monkeypatch):
    lines, ran = [], []
    monkeypatch.setattr(shell, "log", lines.append)
    clock = fake_clock(lines)
    clock.cfg = {"web": {"port": 80}, "mqtt": {"host": "broker.lan"}}

    async def run(got_clock, section):
        ran.append((got_clock is clock, section))

    loaded = []

    def load_module(name):
        loaded.append(name)
        if name == "firmware.mqttlink":
            raise ImportError("no module named 'firmware.mqttlink'")
        return types.SimpleNamespace(run=run)

    monkeypatch.setattr(shell, "load_module", load_module)
    asyncio.run(clock.supervise("web", clock.service("web")))
    asyncio.run(clock.supervise("mqtt", clock.service("mqtt")))  # returns: not started again and again
    assert loaded == ["firmware.webserver", "firmware.mqttlink"]
    assert ran == [(True, {"port": 80})]
    assert lines == ["mqtt: not started: no module named 'firmware.mqttlink' (deploy again)"]

