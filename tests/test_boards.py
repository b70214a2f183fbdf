"""hardware/boards.py and the pieces it builds: pin maps and overrides, the
board functions over a fake `machine`/`network`, Wi-Fi's state machine, the
watchdog, and the unix board against real FIFOs, on CPython and under the
MicroPython unix port (its real target): coil lines reach a reader at once,
button levels are read without ever blocking the loop."""

import os
import queue
import subprocess
import sys
import threading
import time
import types

import pytest

from firmware.wrapping import PERIOD, Wrapping
from hardware import boards, boards_mcu
from hardware.boards import build
from hardware.boards_mcu import PIN_MAPS, PWM_HZ, pin_map
from hardware.hostio import FileLevel, LogPin, MemoryPin
from hardware.watchdog import Watchdog
from hardware.wifi import DOWN, JOINING, OFF, Wifi
from tests.conftest import micropython_port
from tests.peers import PORTS, ROOT

# -- pin maps -----------------------------------------------------------------


def test_the_pin_maps_of_the_issue():
    assert PIN_MAPS["esp32c3"] == {
        "coil_a": 5,
        "coil_b": 6,
        "button": 9,
        "led": 8,
        "button_active_low": True,
        "led_active_low": True,
    }
    assert PIN_MAPS["rp2"]["led"] == "LED"
    for name, pins in PIN_MAPS.items():
        used = [pins["coil_a"], pins["coil_b"], pins["button"], pins["led"]]
        assert len(set(used)) == 4, name


def test_overrides_apply_and_bad_ones_are_logged_and_ignored():
    logs = []
    pins = pin_map("esp32c3", {"coil_a": 3, "coil_b": 4, "led": None, "button_active_low": False}, logs.append)
    assert pins == dict(PIN_MAPS["esp32c3"], coil_a=3, coil_b=4, led=None, button_active_low=False)
    assert logs == []
    pins = pin_map("esp32", {"coil_a": "x", "coil_b": True, "buton": 4, "led_active_low": 1, "led": -1}, logs.append)
    assert pins == PIN_MAPS["esp32"]
    assert len(logs) == 5
    for key in ("pins.coil_a", "pins.coil_b", "pins.buton", "pins.led_active_low", "pins.led"):
        assert any(key in line for line in logs), key
    logs.clear()
    assert pin_map("rp2", {"coil_a": 13}, logs.append) == PIN_MAPS["rp2"]  # 13 is the button's
    assert "used twice" in logs[0]
    logs.clear()
    assert pin_map("rp2", [1, 2], logs.append) == PIN_MAPS["rp2"]
    assert logs
    assert pin_map("rp2", {"button": "BOOTSEL"})["button"] == "BOOTSEL"


def test_an_unknown_board_is_refused_by_name():
    with pytest.raises(ValueError, match="nano"):
        build({"board": "nano"})


# -- the board functions, over fake machine and network modules -------------


class FakePin:
    OUT, IN, PULL_UP, PULL_DOWN = "out", "in", "up", "down"
    made = []

    def __init__(self, n, mode=None, pull=None, value=None):
        self.n, self.mode, self.pull = n, mode, pull
        self.v = value
        FakePin.made.append(self)

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class FakePWM:
    def __init__(self, pin):
        self.pin = pin
        self.hz = None
        self.duties = []

    def freq(self, hz):
        self.hz = hz

    def duty_u16(self, d):
        self.duties.append(d)


class FakeWDT:
    made = []

    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0
        FakeWDT.made.append(self)

    def feed(self):
        self.feeds += 1


class FakeWLAN:
    PM_NONE = 17

    def __init__(self, iface=None):
        self.iface = iface
        self.on = False
        self.calls = []
        self.link = False
        self.stat = 0
        self.fail_connect = False

    def active(self, on=None):
        self.on = on

    def config(self, **kw):
        self.calls.append(("config", kw))

    def connect(self, ssid, password):
        self.calls.append(("connect", ssid, password))
        if self.fail_connect:
            raise OSError("Wifi Internal State Error")

    def disconnect(self):
        self.calls.append(("disconnect",))

    def isconnected(self):
        return self.link

    def status(self):
        return self.stat

    def ifconfig(self):
        return ("192.168.1.50", "255.255.255.0", "192.168.1.1", "192.168.1.1")


@pytest.fixture
def fake_machine(monkeypatch, tmp_path):
    FakePin.made = []
    FakeWDT.made = []
    wlans = []

    def make_wlan(iface):
        w = FakeWLAN(iface)
        wlans.append(w)
        return w

    machine = types.SimpleNamespace(Pin=FakePin, PWM=FakePWM, WDT=FakeWDT)
    network = types.SimpleNamespace(
        WLAN=make_wlan, STA_IF=0, STAT_WRONG_PASSWORD=-3, STAT_NO_AP_FOUND=-2, STAT_CONNECT_FAIL=-1
    )
    rp2 = types.SimpleNamespace(bootsel_button=lambda: 1)
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "network", network)
    monkeypatch.setitem(sys.modules, "rp2", rp2)
    # Boards keep their store in /data; here, in a temporary folder.
    made = []
    monkeypatch.setattr(boards_mcu, "make_store_dir", lambda path: made.append(path) or str(tmp_path / "data"))
    return types.SimpleNamespace(wlans=wlans, store_dirs=made)


def pin(n):
    return [p for p in FakePin.made if p.n == n][-1]


def test_esp32c3_supermini(fake_machine):
    logs = []
    board = build({"board": "esp32c3", "wifi": {"ssid": "home", "password": "pw"}}, logs.append)
    assert board.name == "esp32c3"
    assert (pin(5).mode, pin(5).v, pin(6).mode, pin(6).v) == ("out", 0, "out", 0)
    assert (pin(9).mode, pin(9).pull) == ("in", "up")
    pin(9).v = 1
    assert board.button.level() == 0  # pulled up: released
    pin(9).v = 0
    assert board.button.level() == 1
    board.led.poll(0)
    assert pin(8).v == 1  # active low: dark
    board.led.show(2)
    board.led.poll(0)
    assert pin(8).v == 0  # lit
    board.motor.pulse(1, now=0)
    assert (pin(5).v, pin(6).v) == (0, 1)
    board.motor.poll(31)
    assert (pin(5).v, pin(6).v) == (0, 0)
    wlan = fake_machine.wlans[0]
    assert wlan.on is True and ("config", {"pm": FakeWLAN.PM_NONE}) in wlan.calls
    assert board.wifi.ssid == "home" and set(board.wifi.failures) == {-1, -2, -3}
    assert fake_machine.store_dirs == ["/data"]
    # The watchdog starts with the first feed, not with the board.
    assert FakeWDT.made == []
    board.watchdog.feed()
    board.watchdog.feed()
    assert [(w.timeout, w.feeds) for w in FakeWDT.made] == [(8000, 2)]
    assert logs == []


def test_esp32_devkit_and_overrides_and_pwm_duty(fake_machine):
    board = build(
        {"board": "esp32", "pulse_ms": 40, "pulse_duty": 50, "pins": {"coil_a": 32, "coil_b": 33, "led": None}},
        print,
    )
    a, b = board.motor.a.pin, board.motor.b.pin
    assert isinstance(a, FakePWM) and (a.pin.n, b.pin.n) == (32, 33)
    assert a.hz == PWM_HZ and a.pin.v == 0
    board.motor.pulse(0, now=0)
    assert a.duties[-1] == 65535 * 50 // 100 and b.duties[-1] == 0
    assert board.motor.poll(39) == 40
    board.motor.poll(40)
    assert a.duties[-1] == 0
    assert isinstance(board.led.out.pin, MemoryPin)  # no LED: an LED nobody sees
    assert (pin(0).mode, pin(0).pull) == ("in", "up")
    assert board.wifi.state == OFF  # no ssid: never joins
    assert board.wifi.poll(0) is None


def test_rp2_pico_w(fake_machine):
    board = build({"board": "rp2", "watchdog_ms": 0, "wifi": {"ssid": "x"}}, print)
    assert (pin(14).mode, pin(15).mode, pin(13).pull) == ("out", "out", "up")
    assert pin("LED").mode == "out"
    board.led.poll(0)
    assert pin("LED").v == 0  # active high: dark
    assert board.watchdog is None
    board = build({"board": "rp2", "pins": {"button": "BOOTSEL"}}, print)
    assert board.button.level() == 1  # rp2.bootsel_button


def test_bad_numbers_are_logged_and_defaulted(fake_machine):
    logs = []
    board = build({"board": "esp32c3", "pulse_ms": 0, "pulse_duty": 150, "watchdog_ms": 99999}, logs.append)
    assert board.motor.pulse_ms == 31
    assert not isinstance(board.motor.a.pin, FakePWM)
    board.watchdog.feed()
    assert FakeWDT.made[0].timeout == 8000
    named = [line.split(":")[0] for line in logs]
    for key in ("config pulse_ms", "config pulse_duty", "config watchdog_ms", "config wifi"):
        assert named.count(key) == 1, (key, logs)


def test_board_code_imports_machine_only_inside_functions():
    for rel in ("boards", "motor", "button", "led", "wifi", "watchdog", "pins", "hostio"):
        text = (ROOT / "hardware" / (rel + ".py")).read_text()
        for line in text.splitlines():
            if line.startswith(("import ", "from ")):
                assert "machine" not in line and "network" not in line, (rel, line)


# -- Wi-Fi ------------------------------------------------------------------


def wifi_setup(**kw):
    clock = Wrapping(PERIOD, PERIOD - 10000)
    wlan = FakeWLAN()
    logs = []
    wifi = Wifi(wlan, "home", "pw", (-1, -2, -3), logs.append, clock.ticks_diff, clock.ticks_add)
    for k, v in kw.items():
        setattr(wifi, k, v)
    return clock, wlan, wifi, logs


def run_until(clock, wifi, ms):
    """Poll as the loop would, at the wakes it asks for; count the polls."""
    end = clock.now + ms
    polls = 0
    wake = clock.ticks_ms()
    while clock.now < end:
        wait = clock.ticks_diff(wake, clock.ticks_ms())
        clock.advance(max(wait, 1))
        wake = wifi.poll(clock.ticks_ms())
        polls += 1
    return polls


def test_wifi_joins_and_rejoins_after_a_loss():
    clock, wlan, wifi, logs = wifi_setup()
    assert wifi.poll(clock.ticks_ms()) is not None
    assert wlan.calls == [("connect", "home", "pw")] and wifi.state == JOINING
    wlan.link = True
    run_until(clock, wifi, 1000)
    assert wifi.connected() and "192.168.1.50" in logs[-1]
    wlan.link = False
    now = clock.advance(wifi.up_check_ms)
    retry = wifi.poll(now)
    assert wifi.state == DOWN and wifi.drops == 1 and "lost" in logs[-1]
    assert clock.ticks_diff(retry, now) == wifi.first_backoff_ms
    calls = len(wlan.calls)
    assert wifi.poll(clock.advance(wifi.first_backoff_ms - 1)) == retry  # not yet
    assert len(wlan.calls) == calls
    wifi.poll(clock.advance(1))
    assert wlan.calls[calls:] == [("disconnect",), ("connect", "home", "pw")]
    assert wifi.state == JOINING


def test_wifi_backs_off_doubling_to_the_maximum():
    clock, wlan, wifi, logs = wifi_setup()
    wlan.stat = -2  # no AP found, at once, every time
    wake = wifi.poll(clock.ticks_ms())
    starts = [clock.now]  # the first attempt, at once
    for _ in range(400):
        clock.now += max(1, clock.ticks_diff(wake, clock.ticks_ms()))
        before = len(wlan.calls)
        wake = wifi.poll(clock.ticks_ms())
        assert len(wlan.calls) - before <= 2  # at most disconnect + connect
        if wlan.calls and wlan.calls[-1][0] == "connect" and len(wlan.calls) > before:
            starts.append(clock.now)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    waits = [g - wifi.check_ms for g in gaps]
    assert waits[:5] == [2000, 4000, 8000, 16000, 32000]
    assert max(waits) == wifi.max_backoff_ms
    assert waits[-3:] == [wifi.max_backoff_ms] * 3
    assert any("join failed" in line for line in logs)
    assert not any("home" in line for line in logs)  # the SSID is never logged
    wlan.stat = 0
    wlan.link = True
    run_until(clock, wifi, wifi.max_backoff_ms + 1000)
    assert wifi.connected() and wifi.backoff == wifi.first_backoff_ms


def test_wifi_gives_up_an_attempt_after_the_timeout_and_survives_errors():
    clock, wlan, wifi, logs = wifi_setup(connect_timeout_ms=5000)
    wlan.fail_connect = True
    wifi.poll(clock.ticks_ms())
    assert wifi.state == DOWN and "Internal State" in logs[-1]
    wlan.fail_connect = False
    run_until(clock, wifi, 2100)
    assert wifi.state == JOINING
    joined = wifi.since
    while wifi.state == JOINING:
        clock.advance(100)
        wifi.poll(clock.ticks_ms())
    assert 5000 <= clock.ticks_diff(clock.ticks_ms(), joined) < 5100
    assert wifi.state == DOWN and "no link after 5000 ms" in logs[-1]


def test_wifi_answers_the_ticks_it_wants_polling_at():
    clock, wlan, wifi, _ = wifi_setup()
    now = clock.ticks_ms()
    assert clock.ticks_diff(wifi.poll(now), now) == wifi.check_ms
    wlan.link = True
    now = clock.advance(wifi.check_ms)
    assert clock.ticks_diff(wifi.poll(now), now) == wifi.up_check_ms


def test_watchdog_is_lazy():
    made = []

    class Dog:
        def __init__(self, t):
            made.append(t)
            self.fed = 0

        def feed(self):
            self.fed += 1

    dog = Watchdog(Dog, 5000)
    assert made == []
    dog.feed()
    dog.feed()
    assert made == [5000] and dog.wdt.fed == 2


# -- the unix board against real FIFOs --------------------------------------

# The board in a loop, as device code: the same file runs on CPython and on
# the MicroPython unix port. It reads the button before anyone writes to it
# (it must not block), reports each level change, then pulses both ways.
UNIX_SCRIPT = """
import sys
try:
    from time import sleep_ms
except ImportError:
    import time

    def sleep_ms(ms):
        time.sleep(ms / 1000)

from firmware.ticks import ticks_diff, ticks_ms, ticks_us
from hardware.boards import build

board = build(CONFIG)
slowest = [0]


def level():
    t = ticks_us()
    v = board.button.level()
    d = ticks_diff(ticks_us(), t)
    if d > slowest[0]:
        slowest[0] = d
    return v


for i in range(5):
    level()
print("ready", level())
seen = [0]
start = ticks_ms()
while ticks_diff(ticks_ms(), start) < 15000 and seen[-3:] != [0, 1, 0]:
    v = level()
    if v != seen[-1]:
        seen.append(v)
        print("level", v)
    sleep_ms(5)
# The writer has gone: the FIFO must neither block nor read as end-of-file.
for i in range(50):
    level()
    sleep_ms(2)
m = board.motor
for pol in (0, 1):
    t0 = ticks_ms()
    m.pulse(pol)
    while m.poll(ticks_ms()) is not None:
        sleep_ms(1)
    print("pulse", pol, ticks_diff(ticks_ms(), t0))
print("done", len(seen), slowest[0], board.store_dir)
board.close()
"""


def interpreters():
    out = [pytest.param([sys.executable, "-u", "-c"], id="cpython")]
    for port, _, _ in PORTS:
        out.append(pytest.param(port, id=port, marks=pytest.mark.peer))
    return out


def command(which, micropython):
    if micropython is not None:
        return [micropython.binary, "-c"], micropython.env()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return which, env


class Lines:
    """A process's stdout, line by line, with timeouts."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def next(self, timeout=20):
        line = self.q.get(timeout=timeout)
        self.all.append(line)
        return line


def read_fifo(path, into):
    def run():
        with open(path, "rb") as f:
            for line in f:
                into.append((time.monotonic(), line.decode().rstrip("\n")))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture
def mp_or_none(request):
    which = request.node.callspec.params["which"]
    return micropython_port(which) if isinstance(which, str) else None


@pytest.mark.parametrize("which", interpreters())
def test_unix_board_coil_lines_and_a_button_fifo_that_never_blocks(which, mp_or_none, tmp_path):
    coil = tmp_path / "coil.fifo"
    button = tmp_path / "button.fifo"
    os.mkfifo(coil)
    os.mkfifo(button)
    config = {"board": "unix", "pulse_ms": 31, "unix": {"coil_log": str(coil), "button": str(button)}}
    lines = []
    reader = read_fifo(coil, lines)
    argv, env = command(which, mp_or_none)
    proc = subprocess.Popen(
        argv + [UNIX_SCRIPT.replace("CONFIG", repr(config))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        out = Lines(proc.stdout)
        # No writer has ever opened the button FIFO: reading it answered.
        assert out.next() == "ready 0", proc.stderr.read() if proc.poll() is not None else ""
        with open(button, "wb", buffering=0) as w:  # never blocks: the board holds it
            w.write(b"1\n")
            assert out.next() == "level 1"
            time.sleep(0.1)
            w.write(b"0\r\n")
            assert out.next() == "level 0"
        pulses = [out.next(), out.next()]
        done = out.next().split()
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    reader.join(timeout=10)
    # At boot both pins are written low (a killed run may have left one high).
    assert [text for _, text in lines] == ["A 0", "B 0", "A 1", "A 0", "B 1", "B 0"]
    for p in pulses:
        assert p.split()[:2] in (["pulse", "0"], ["pulse", "1"]) and int(p.split()[2]) >= 31
    assert done[0] == "done" and done[1] == "3"
    assert done[3] == "data" and (tmp_path / "data").is_dir()


# The coil log's reader goes away: the lines are dropped, the clock goes on.
EPIPE_SCRIPT = """
from hardware.boards import build
board = build(CONFIG, log=lambda s: print("log", s))
m = board.motor
i = 0
while i < 40:
    m.pulse(i & 1, now=0)
    m.poll(100)
    i += 1
    if i == 1:
        import sys
        sys.stdin.readline()  # the test closes the reader now
print("alive", m.pulses)
"""


@pytest.mark.parametrize("which", interpreters())
def test_unix_board_outlives_the_coil_reader(which, mp_or_none, tmp_path):
    coil = tmp_path / "coil.fifo"
    os.mkfifo(coil)
    config = {"board": "unix", "unix": {"coil_log": str(coil)}}
    argv, env = command(which, mp_or_none)
    proc = subprocess.Popen(
        argv + [EPIPE_SCRIPT.replace("CONFIG", repr(config))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    with open(coil, "rb") as f:
        assert f.readline() == b"A 0\n"  # boot: both pins low
        assert f.readline() == b"B 0\n"
        assert f.readline() == b"A 1\n"
        assert f.readline() == b"A 0\n"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == "alive 40"
    assert sum(1 for line in lines if line.startswith("log coil log")) == 1


def test_unix_board_on_regular_files(tmp_path):
    coil = tmp_path / "coil.log"
    coil.write_text("B 0\n")  # a previous run's
    button = tmp_path / "button.txt"
    button.write_text("1\n1\n0\n")
    board = build({"board": "unix", "unix": {"coil_log": str(coil), "button": str(button), "store_dir": str(tmp_path / "s")}})
    assert [board.button.level() for _ in range(4)] == [1, 0, 0, 0]
    board.motor.pulse(0, now=0)
    board.motor.poll(31)
    board.close()
    assert coil.read_text() == "B 0\nA 0\nB 0\nA 1\nA 0\n"  # appended, as a restart continues the log
    assert board.store_dir == str(tmp_path / "s") and (tmp_path / "s").is_dir()


def test_a_button_path_that_appears_later(tmp_path):
    path = tmp_path / "later.fifo"
    logs = []
    level = FileLevel(str(path), retry=3, log=logs.append)
    assert [level.level() for _ in range(5)] == [0] * 5
    assert len(logs) == 1 and "later.fifo" in logs[0]
    os.mkfifo(path)
    # Within `retry` calls it opens the FIFO; a writer then is heard.
    for _ in range(4):
        level.level()
    assert level.file is not None and "open" in logs[-1]
    with open(path, "wb", buffering=0) as w:
        w.write(b"1\n")
    assert level.level() == 1
    level.close()


def test_the_unix_board_without_a_button_or_with_an_led_log(tmp_path):
    coil = tmp_path / "c.log"
    led_log = tmp_path / "led.log"
    board = build({"board": "unix", "unix": {"coil_log": str(coil), "led_log": str(led_log), "store_dir": str(tmp_path)}})
    assert board.button.level() == 0
    assert board.wifi is None and board.watchdog is None
    board.led.blink(2)
    t = 0
    while t < 2000:
        board.led.poll(t)
        t += 10
    board.close()
    assert led_log.read_text() == "L 0\nL 1\nL 0\nL 1\nL 0\n"  # off at boot, then two blinks


def test_log_pins_write_only_changes():
    class Sink:
        def __init__(self):
            self.lines = []

        def write(self, line):
            self.lines.append(line)

    sink = Sink()
    pin = LogPin(sink, "B")
    pin.value(0)  # the first level is written: a killed run may have left it high
    pin.value(0)
    pin.value(1)
    pin.value(1)
    pin.value(0)
    assert sink.lines == [b"B 0\n", b"B 1\n", b"B 0\n"]
    assert pin.value() == 0



def test_before_the_first_sync_the_clock_for_sntp_still_runs(tmp_path, monkeypatch):
    # The first SNTP exchange measures its round trip from our own T1 and
    # T4: a clock standing still there (a constant) would make it 0 and
    # leave the first time half a round trip late.
    from firmware import clock as shell
    from firmware import config
    from firmware.tz import Zone
    from hardware import boards

    monkeypatch.chdir(tmp_path)
    cfg = config.load(str(tmp_path / "absent.json"), log=lambda line: None)
    cfg["board"] = "unix"
    cfg["unix"] = {"coil_log": "coil.log", "button": None, "store_dir": "data", "led_log": None}
    clock = shell.Clock(cfg, config.parse_hands(cfg["hands"]), boards.build(cfg, log=lambda line: None), Zone(cfg["tz"]))
    first = clock.utc_ms()
    time.sleep(0.05)
    assert clock.utc_ms() - first >= 50
    assert first >= shell._BUILD_UTC_MS
