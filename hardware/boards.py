"""Boards: pin maps and the drivers built on them.

    board = build(config)           # config["board"] picks the function
    board.motor                     # hardware.motor.Motor
    board.button                    # a level reader: board.button.level()
    board.led                       # hardware.led.Led (always; dark if no LED)
    board.wifi                      # hardware.wifi.Wifi, or None (unix)
    board.watchdog                  # hardware.watchdog.Watchdog, or None (unix)
    board.store_dir                 # where firmware.store.FileStore keeps its files

Pin maps (GPIO numbers; "LED" is the Pico W's LED on the Wi-Fi chip):

| board | coil A | coil B | button | LED |
| --- | --- | --- | --- | --- |
| esp32c3 (SuperMini) | 5 | 6 | 9, the BOOT button, active low | 8, active low |
| esp32 (DevKit v1, WROOM-32) | 25 | 26 | 0, the BOOT button, active low | 2, active high |
| rp2 (Pico W) | 14 (pin 19) | 15 (pin 20) | 13 (pin 17) to GND (pin 18), active low | "LED" |

Why these: on the SuperMini the BOOT button and the blue LED are on the
board, and GPIO 5/6 are free and side by side. On the DevKit, GPIO 25/26
are plain outputs (no strapping role, not the flash's, not input-only) next
to each other on the header; GPIO 0 and 2 are the board's BOOT button and
LED, usable once booted. On the Pico W, GP13 and GND sit side by side (pins
17 and 18), so a button needs no extra wire, and GP14/GP15 follow them;
`"button": "BOOTSEL"` uses the BOOTSEL button instead (rp2.bootsel_button).

Config (all optional but `board`; read once, at boot):

    "board": "esp32c3",
    "pulse_ms": 31,
    "pulse_duty": 100,          # percent; under 100 drives the coil by PWM
    "watchdog_ms": 8000,        # 0: no watchdog
    "pins": {"coil_a": 5, "coil_b": 6, "button": 9, "led": 8,
             "button_active_low": true, "led_active_low": true},
    "unix": {"coil_log": "coil.fifo", "button": "button.fifo",
             "store_dir": "data", "led_log": null}

`pins` overrides single entries of the board's map; `"led": null` means no
LED. An unknown key or a bad value is logged with its name and the board's
default kept, so a typo never stops the clock.

`machine` and `network` are imported only inside the functions that need
them, so this module imports on the unix port and on CPython.

The builders are split by where they run: hardware/boards_mcu.py (the pin
maps, machine.Pin, PWM, Wi-Fi, the watchdog) and hardware/boards_unix.py
(the host's files); only the one the config names is loaded, so a board
never interns the other's names (ARCHITECTURE.md, Memory).

Boot only: what they build keeps no reference to these modules (no
function or class of them lives on in the board: the Board class is
hardware/board.py), so firmware/main.py drops them from memory once the
board is built.
"""

import os

from firmware.main import load_module  # by name: a board interns only its own builders' names
from hardware.motor import Motor
from hardware.pins import FULL_DUTY

DEFAULT_WATCHDOG_MS = 8000


def config_number(config, key, default, lowest, highest, log):
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        log("config %s: %r is not an integer in %d..%d; %d used" % (key, value, lowest, highest, default))
        return default
    return value


def build_motor(config, make_pin, make_pwm, pins, log):
    # Defaults as literals, not globals: each global is a name in the board's
    # name table for good, even after this module is gone.
    pulse_ms = config_number(config, "pulse_ms", 31, 1, 1000, log)
    duty = config_number(config, "pulse_duty", 100, 1, 100, log)
    if duty < 100 and make_pwm is not None:
        a = make_pwm(pins["coil_a"])
        b = make_pwm(pins["coil_b"])
        return Motor(a, b, pulse_ms=pulse_ms, duty_u16=FULL_DUTY * duty // 100)
    return Motor(make_pin(pins["coil_a"]), make_pin(pins["coil_b"]), pulse_ms=pulse_ms)


def make_store_dir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass  # it exists (or cannot be made, which FileStore will report)
    return path


def build(config, log=print):
    """The board that `config["board"]` names."""
    name = config.get("board", "esp32c3")
    mcu_boards = ("esp32c3", "esp32", "rp2")
    if name == "unix":
        return load_module("hardware.boards_unix").unix(config, log)
    if name in mcu_boards:
        return load_module("hardware.boards_mcu").mcu(name, config, log)
    raise ValueError("config board: %r is not one of %s" % (name, ", ".join(sorted(mcu_boards + ("unix",)))))
