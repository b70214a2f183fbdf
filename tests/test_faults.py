"""Faults injected into the deployed firmware, one at a time, on both unix
ports (the 32-bit one under the heap cap): the clock logs each, shows it,
keeps every minute right, and recovers by itself when the fault ends.

The I/O faults come from tests/shims/fail_io.c, an LD_PRELOAD shim built
here for the port's word size: while a flag file exists, writes to the
store's files fail (EIO, ENOSPC), the store's folder is read-only (EROFS),
or socket() fails with EMFILE. The harness
(deploy, chronyd, the coil and button FIFOs, the rotor replay) is the end
to end test's (tests/test_firmware_e2e.py).
"""

import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from firmware.store import HALF_DAY, FileStore, newest
from tests.conftest import need
from tests.peers import ROOT
from tests.test_firmware_e2e import (  # noqa: F401 (board is a fixture)
    HEAP_CAP,
    NAMED_CAP,
    CoilWatcher,
    Rotor,
    assert_motor_limits,
    board,
    check_boundaries,
    hms,
    next_boundary,
    replay,
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
    """The flash fails (EIO, or ENOSPC: full) for two minutes: the clock ticks on with the
    position in RAM and logs it; when writes work again the record on
    flash is the hands' position again. (The LED's problem pattern for it
    is tests/test_clock_shell.py's; a damaged record's, below, is seen.)"""
    flag = tmp_path / "fail-writes"
    # A worn flash (EIO) on one port, a full one (ENOSPC) on the other: the
    # store takes both alike, and a run each would double the time.
    errno = 5 if word_bits(board.binary) == 64 else 28
    board.env = {
        "LD_PRELOAD": str(shim),
        "FAIL_WRITES_MATCH": str(board.folder / "data"),
        "FAIL_WRITES_WHILE": str(flag),
        "FAIL_WRITES_ERRNO": str(errno),
    }
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
    said = r"store: cannot write \(OSError: (\[Errno %d\] \w+|%d)\)" % (errno, errno)
    assert re.search(said, console_of(board)), console_of(board)[-3000:]
    flag.unlink()
    # The longest wait between two tries is 512 saves; here, after 2 minutes,
    # it is under 128.
    wait_for_console(board, "store: writing again", after="store: cannot write", timeout_s=150)
    on_flash = saved_position(board)
    shown = replay(board.watcher.pulses(), Rotor(*boot_rotor)).shown
    assert (on_flash - shown) % HALF_DAY in (0, 1, HALF_DAY - 1), (on_flash, shown)
    board.stop()
    pulses = board.watcher.pulses()
    console = console_of(board)
    assert "Traceback" not in console and "MemoryError" not in console, console[-3000:]
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(*boot_rotor), boundaries) == [], console[-3000:]


@ALL_PORTS
@pytest.mark.timeout(600)
def test_a_read_only_store_from_the_first_boot_costs_no_minute_and_no_mode(board, shim, tmp_path):
    """The store's folder is read-only from the first boot on (a mount gone
    read-only): the clock takes the config's hands, keeps its position in
    RAM and says so; a press changes the mode all the same. When the flash
    takes writes again, the position and the mode picked meanwhile are
    written."""
    flag = tmp_path / "read-only"
    flag.touch()
    board.env = {"LD_PRELOAD": str(shim), "FAIL_WRITES_MATCH": str(board.folder / "data"), "FAIL_READONLY_WHILE": str(flag)}
    hands, first = board.boot_in_sync("vetinari")
    wait_for_console(board, "store: cannot write (OSError", after="clock: board", timeout_s=60)
    wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=60)
    board.press()
    wait_for_console(board, "button: press", after="clock: board", timeout_s=10)
    boundaries = [first, first + 60000, first + 120000]
    wait_until_true(boundaries[0] + 2000)
    assert not (board.folder / "data" / "settings.json").exists()
    flag.unlink()
    # The waits between tries double from the boot on: the next is under
    # 128 saves away; the mode is tried again once a minute.
    wait_for_console(board, "store: writing again", after="store: cannot write", timeout_s=200)
    on_flash = saved_position(board)
    shown = replay(board.watcher.pulses(), Rotor(hands, (hands - 1) % 2)).shown
    wait_until_true(boundaries[-1] + 2000)
    board.stop()
    console = console_of(board)
    picked = re.findall(r"clock: \w+, mode (\w+)", console)[-1]
    assert picked != "vetinari", console[-3000:]
    assert json.loads((board.folder / "data" / "settings.json").read_text()) == {"mode": picked}
    assert (on_flash - shown) % HALF_DAY in (0, 1, HALF_DAY - 1), (on_flash, shown)
    assert re.search(r"store: cannot write \(OSError: (\[Errno 30\] EROFS|30)\)", console), console[-3000:]
    assert "Traceback" not in console and "MemoryError" not in console, console[-3000:]
    pulses = board.watcher.pulses()
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]


@pytest.mark.parametrize(
    "board, damage",
    [("64bit", "a megabyte"), ("32bit", "a directory")],
    indirect=["board"],
)
@pytest.mark.timeout(600)
def test_settings_that_cannot_be_read_or_written_are_said_and_cost_no_minute(board, damage):
    """settings.json is a megabyte of JSON, or a directory: the clock boots
    in the config's mode and says why; a press still changes the mode (the
    save fails on a directory, and is said); every minute is right."""
    hands = target(true_ms() + 3000)
    board.deploy("vetinari", hms(hands))
    FileStore(str(board.folder / "data")).reset(hands)  # a clock that ran before
    settings_file = board.folder / "data" / "settings.json"
    if damage == "a directory":
        settings_file.mkdir()
    else:
        settings_file.write_text(json.dumps({"mode": "rush", "pad": "x" * 1000000}))
    board.start()
    first = next_boundary(true_ms() + 30000)
    wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=60)
    assert "store: data/settings.json cannot be read (" in console_of(board)  # said at boot, before the board's line
    board.press()
    wait_for_console(board, "button: press", after="clock: board", timeout_s=10)
    boundaries = [first, first + 60000]
    wait_until_true(boundaries[-1] + 2000)
    board.stop()
    console = console_of(board)
    modes = re.findall(r"clock: \w+, mode (\w+)", console)
    assert modes[0] == "vetinari" and modes[-1] != "vetinari", console[-3000:]
    if damage == "a directory":
        # The mode cannot be saved there: said, and still failing (the
        # problem pattern lasts) rather than said to be mended.
        assert "store: cannot write (OSError" in console, console[-3000:]
        assert "store: writing again" not in console, console[-3000:]
    else:
        assert "store: cannot write" not in console, console[-3000:]
        assert json.loads(settings_file.read_text()) == {"mode": modes[-1]}  # written afresh over the damaged one
    assert "Traceback" not in console and "MemoryError" not in console, console[-3000:]
    pulses = board.watcher.pulses()
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]


@pytest.mark.parametrize("board", ["32bit"], indirect=True)  # the board-like port; the 64-bit one is the same code
@pytest.mark.timeout(600)
def test_a_stalled_processor_catches_up_and_the_minutes_after_are_right(board):
    """The whole process stops for 8 s (SIGSTOP, as a stalled processor or
    a debugger): no pulse then; after it the clock finds the hands behind,
    catches up, and the next minutes are right."""
    hands, first = board.boot_in_sync("normal")
    wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=60)
    wait_until_true(first + 20000)
    board.proc.send_signal(signal.SIGSTOP)
    time.sleep(8)
    board.proc.send_signal(signal.SIGCONT)
    resumed = true_ms()
    boundaries = [first, next_boundary(resumed + 10000), next_boundary(resumed + 10000) + 60000]
    wait_until_true(boundaries[-1] + 2000)
    board.stop()
    console = console_of(board)
    pulses = board.watcher.pulses()
    assert "Traceback" not in console, console[-3000:]
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]


@ALL_PORTS
@pytest.mark.timeout(300)
def test_a_damaged_position_record_keeps_the_hands_still_until_set_hands(board):
    """Random bytes in the position file: no position is made up. The hands
    stand still (with the problem pattern and a log line) however long the
    time is known, and the record is left as it is, until the user sets
    the hands: a long press starts set-hands at once. (The whole procedure,
    to the minutes right after it, is tests/test_controller.py's in virtual
    time, and the end-to-end tour's on the unix ports.)"""
    rng = random.Random()
    hands = target(true_ms() + 3000)
    led_fifo = board.folder.parent / "led.fifo"
    os.mkfifo(led_fifo)
    led = CoilWatcher(str(led_fifo))
    led.start()
    board.deploy("normal", hms(hands), unix={"coil_log": str(board.coil_fifo), "button": str(board.button_fifo), "led_log": str(led_fifo)})
    state = board.folder / "data" / "state"
    state.mkdir(parents=True)
    while True:
        junk = bytes(rng.randrange(256) for _ in range(rng.choice([3, 8])))
        if newest(junk) is None and junk != bytes(8):
            break
    (state / "position.bin").write_bytes(junk)
    board.start()
    wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=60)
    time.sleep(10)
    console = console_of(board)
    assert "store: the saved position cannot be read" in console, console
    assert board.watcher.pulses() == []  # the time is known, the position is not
    assert (state / "position.bin").read_bytes() == junk  # not overwritten by a guess
    # The problem pattern (hardware/led.py): 100 ms flashes, where "no
    # time" or "run" would light it for 500 ms or not at all.
    lit = [b - a for (a, x), (b, y) in zip(led.lines, led.lines[1:]) if x == "L 1" and y == "L 0"]
    assert sum(1 for ms in lit if 50 <= ms <= 200) >= 3, led.lines
    led.stopped = True
    board.press(hold_s=1.5)  # long press: set-hands, the second hand goes round
    time.sleep(3)
    board.stop()
    steps = board.watcher.pulses()
    assert len(steps) >= 4, console_of(board)[-2000:]
    assert all(b - a >= 480 for (a, _), (b, _) in zip(steps, steps[1:]))  # at set-hands' pace
    assert "Traceback" not in console_of(board)


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
    # (MicroPython names no errno it has no name for: "OSError: 24".)
    assert re.search(r"clock: the ntp task failed \(OSError: (\[Errno 24\] EMFILE|24)\); again in 1000 ms", console), console[-3000:]
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


@ALL_PORTS
@pytest.mark.timeout(600)
def test_a_resolver_that_never_answers_costs_no_minute(board):
    """One NTP server by a name the resolver never answers, one by a name it
    does: lookups are DNS queries of the firmware's own, so the silent one
    costs no pulse; it backs off, and the log suggests an IP address."""
    from tests.test_dns import Resolver

    if board.heap_cap == HEAP_CAP:
        board.heap_cap = NAMED_CAP  # the DNS client and its names, loaded too
    with Resolver({"ntp.test": [127, 0, 0, 1]}) as resolver:
        hands = target(true_ms() + 3000)
        port = board.server.port
        board.deploy("vetinari", hms(hands), ntp=["never.test:%d" % port, "ntp.test:%d" % port], dns=resolver.address)
        board.start()
        wait_for_console(board, "ntp: time from ntp.test", after="clock: board", timeout_s=90)
        first = next_boundary(true_ms() + 5000)
        boundaries = [first, first + 60000]
        wait_until_true(boundaries[-1] + 1000)
        wait_for_console(board, "next try in 2 min", after="clock: board", timeout_s=150)  # it backs off
        board.stop()
        asked = list(resolver.asked)
    pulses = board.watcher.pulses()
    console = console_of(board)
    assert "Traceback" not in console, console[-3000:]
    hint = "ntp: never.test:%d: cannot resolve never.test (no answer from %s within 2000 ms); next try in 1 min" % (port, resolver.address.split(":")[0])
    assert hint + " (an IP address in config.json's ntp needs no lookup)" in console, console[-3000:]
    assert asked.count("ntp.test") == 1  # cached after that
    assert 2 <= asked.count("never.test") <= 4, asked
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], console[-3000:]
