"""Faults injected into the deployed firmware, one at a time, on both unix
ports (the 32-bit one under the heap cap): the clock logs each, shows it,
keeps every minute right, and recovers by itself when the fault ends.

The I/O faults come from tests/shims/fail_io.c, an LD_PRELOAD shim built
here for the port's word size: while a flag file exists, writes to the
store's files fail with EIO, or socket() fails with EMFILE. The harness
(deploy, chronyd, the coil and button FIFOs, the rotor replay) is the end
to end test's (tests/test_firmware_e2e.py).
"""

import os
import random
import subprocess
import time

import pytest

from firmware.store import HALF_DAY, newest
from tests.conftest import need
from tests.peers import ROOT
from tests.test_firmware_e2e import (  # noqa: F401 (board is a fixture)
    Rotor,
    assert_motor_limits,
    board,
    check_boundaries,
    hms,
    next_boundary,
    replay,
    set_hands,
    target,
    true_ms,
    wait_for_console,
    wait_until_true,
)

ALL_PORTS = pytest.mark.parametrize("board", ["64bit", "32bit"], indirect=True)


def word_bits(binary):
    """32 or 64: the ELF class of `binary` (the shim must match it)."""
    with open(binary, "rb") as f:
        return 32 if f.read(5)[4] == 1 else 64


@pytest.fixture
def shim(board, tmp_path):
    path = tmp_path / "fail_io.so"
    bits = ["-m32"] if word_bits(board.binary) == 32 else []
    built = subprocess.run(
        ["cc", *bits, "-shared", "-fPIC", "-o", str(path), str(ROOT / "tests/shims/fail_io.c"), "-ldl"],
        capture_output=True,
        text=True,
    )
    need(built.returncode == 0, "a C compiler for the fault shim (gcc; gcc-multilib for 32-bit): " + built.stderr.strip()[-200:])
    return path


def console_of(board):
    return open(board.log).read()


def saved_position(board):
    """What the store's file holds now, as the firmware would load it."""
    data = (board.folder / "data" / "state" / "position.bin").read_bytes()
    found = newest(data)
    return None if found is None else found[0]


@ALL_PORTS
@pytest.mark.timeout(600)
def test_failing_store_writes_cost_no_minute_and_no_position(board, shim, tmp_path):
    """The flash fails (EIO) for two minutes: the clock ticks on with the
    position in RAM, logs it, shows the problem pattern; when writes work
    again the record on flash is the hands' position again."""
    flag = tmp_path / "fail-writes"
    board.env = {"LD_PRELOAD": str(shim), "FAIL_WRITES_MATCH": str(board.folder / "data"), "FAIL_WRITES_WHILE": str(flag)}
    hands, first = board.boot_in_sync("vetinari")
    boot_rotor = (hands, (hands - 1) % 2)
    time.sleep(5)
    flag.touch()  # from here on every write to data/ fails
    boundaries = [first, first + 60000]
    wait_until_true(boundaries[0] - 20000)
    stale = saved_position(board)
    wait_for_console(board, "store: cannot write (OSError", after="clock: board", timeout_s=60)
    wait_until_true(boundaries[1] + 2000)
    assert saved_position(board) == stale  # nothing reached the flash meanwhile
    flag.unlink()
    boundaries.append(first + 120000)
    # The longest wait between two tries is 512 saves; here, after 2 minutes,
    # it is under 128.
    wait_for_console(board, "store: writing again", after="store: cannot write", timeout_s=150)
    on_flash = saved_position(board)
    shown = replay(board.watcher.pulses(), Rotor(*boot_rotor)).shown
    assert (on_flash - shown) % HALF_DAY in (0, 1, HALF_DAY - 1), (on_flash, shown)
    wait_until_true(boundaries[-1] + 1000)
    board.stop()
    pulses = board.watcher.pulses()
    console = console_of(board)
    assert "Traceback" not in console and "MemoryError" not in console, console[-3000:]
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(*boot_rotor), boundaries) == [], console[-3000:]


@ALL_PORTS
@pytest.mark.timeout(600)
def test_a_damaged_position_record_keeps_the_hands_still_until_set_hands(board):
    """Random bytes in the position file: no position is made up. The hands
    stand still (with the problem pattern and a log line) however long the
    time is known, until set-hands; then the clock is right."""
    rng = random.Random()
    hands = target(true_ms() + 3000)
    board.deploy("normal", hms(hands))
    state = board.folder / "data" / "state"
    state.mkdir(parents=True)
    while True:
        junk = bytes(rng.randrange(256) for _ in range(rng.choice([3, 8])))
        if newest(junk) is None and junk != bytes(8):
            break
    (state / "position.bin").write_bytes(junk)
    physical = (hands + rng.randrange(1, HALF_DAY)) % HALF_DAY  # where the hands really are
    board.start()
    wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=60)
    time.sleep(10)
    console = console_of(board)
    assert "the saved position cannot be read" in console, console
    assert board.watcher.pulses() == []  # the time is known, the position is not
    assert (state / "position.bin").read_bytes() == junk  # not overwritten by a guess
    rotor_at_boot = (physical, 0)
    knob = set_hands(board, rotor_at_boot)
    wait_for_console(board, "clock: run", after="button: long_press", timeout_s=900)
    boundaries = [next_boundary(true_ms() + 2000) + 60000 * k for k in range(2)]
    wait_until_true(boundaries[-1] + 1000)
    board.stop()
    pulses = board.watcher.pulses()
    console = console_of(board)
    assert "Traceback" not in console, console[-3000:]
    assert_motor_limits(pulses)
    rotor = replay([p for p in pulses if p[0] < knob], Rotor(*rotor_at_boot))
    assert rotor.shown % 60 == 0
    rotor.shown = 0  # the knob turned to 12:00
    assert check_boundaries([p for p in pulses if p[0] >= knob], rotor, boundaries) == [], console[-3000:]


@ALL_PORTS
@pytest.mark.timeout(600)
def test_a_task_that_fails_is_started_again_and_the_hands_go_on(board, shim, tmp_path):
    """socket() fails (EMFILE) for a minute: the NTP task raises, is logged
    and started again after a backoff, and the hands keep every minute."""
    flag = tmp_path / "fail-sockets"
    board.env = {"LD_PRELOAD": str(shim), "FAIL_SOCKETS_WHILE": str(flag)}
    hands, first = board.boot_in_sync("normal")
    wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=60)
    flag.touch()
    # Started again after 1 s, the task's fresh policy asks at once, and
    # fails again: the second wait is twice the first.
    wait_for_console(board, "again in 2000 ms", after="clock: board", timeout_s=240)
    flag.unlink()
    last = next_boundary(true_ms() + 1000)
    boundaries = list(range(first, last + 1, 60000))
    wait_until_true(last + 1000)
    board.stop()
    pulses = board.watcher.pulses()
    console = console_of(board)
    assert "Traceback" not in console, console[-3000:]
    assert "clock: the ntp task failed (OSError: [Errno 24] EMFILE); again in 1000 ms" in console, console[-3000:]
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]


@ALL_PORTS
@pytest.mark.timeout(300)
def test_a_board_that_cannot_be_built_boots_in_safe_mode(board):
    """"board": "esp32" on a host (deployed with --force): building it
    raises; the boot starts again at once in safe mode, on the board the
    port suggests, and the clock finds the time and ticks."""
    hands = target(true_ms() + 3000)
    board.deploy("vetinari", hms(hands), board_name="esp32", force=True)
    board.start()
    wait_for_console(board, "ntp: time from", after="starting again in safe mode", timeout_s=60)
    time.sleep(5)
    board.stop()
    console = console_of(board)
    assert "boot: failed (" in console, console
    assert "board unix" in console, console
    assert board.watcher.pulses(), console


@pytest.mark.parametrize("board", ["64bit"], indirect=True)
@pytest.mark.timeout(300)
def test_three_boots_that_died_make_a_safe_boot_and_a_run_clears_the_count(board):
    """boots.txt counts boots that stopped before the clock ran (a hang the
    watchdog ended, a crash): at three the next boot is safe from the start;
    a minute of running clock sets the count back to 0."""
    hands = target(true_ms() + 3000)
    board.deploy("vetinari", hms(hands))
    boots = board.folder / "boots.txt"
    boots.write_text("3\n")
    board.start()
    wait_for_console(board, "ntp: time from", after="safe mode", timeout_s=60)
    assert boots.read_text() == "4\n"  # this boot counts until it has run a while
    deadline = time.monotonic() + 90
    while boots.read_text() != "0\n" and time.monotonic() < deadline:
        time.sleep(1)
    board.stop()
    console = console_of(board)
    assert "boot: 3 boots in a row stopped before the clock ran; safe mode" in console, console
    assert boots.read_text() == "0\n", console[-2000:]
    assert board.watcher.pulses(), console
    assert "Traceback" not in console, console
